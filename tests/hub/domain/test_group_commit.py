"""Group commit: ``execute_many`` runs several commands in one transaction, one savepoint
each, and ``execute`` shares commits between concurrent callers (leader/follower)."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest

from contracts.errors import ErrorCode
from contracts.mqtt import Role
from hub.domain import engine as engine_module
from hub.domain.errors import DomainError
from hub.domain.tx import Tx
from hub.ports import Actor

KIOSK = Actor(role=Role.KIOSK, device_id="kiosk-1")


def _issue(request_id: str, service_code: str = "orientacion") -> tuple[Actor, str, dict, str]:
    return (KIOSK, "issue_ticket", {"service_code": service_code}, request_id)


def _fail_audit_for(monkeypatch, request_id: str, error: Exception) -> None:
    """Make one command fail *after* it has written its ticket, number and history (the audit
    row comes last), so only a savepoint rollback can leave no trace of it."""
    original = Tx.audit

    def audit(tx: Tx, **kwargs: Any) -> None:
        if tx.request_id == request_id:
            raise error
        original(tx, **kwargs)

    monkeypatch.setattr(Tx, "audit", audit)


def _request_rows(db_rows, request_id: str) -> dict[str, int]:
    return {
        "command_log": len(db_rows("SELECT 1 FROM command_log WHERE request_id = ?", request_id)),
        "audit_log": len(db_rows("SELECT 1 FROM audit_log WHERE request_id = ?", request_id)),
    }


def test_a_rejected_command_in_the_middle_writes_nothing_and_the_others_commit(
    engine, db_rows, monkeypatch
):
    _fail_audit_for(monkeypatch, "r2", DomainError(ErrorCode.INVALID_PAYLOAD, field="x"))
    outcomes = engine.execute_many([_issue("r1"), _issue("r2"), _issue("r3"), _issue("r4", "nope")])

    assert [o.status for o in outcomes] == ["ok", "error", "ok", "error"]
    assert outcomes[1].error.code == ErrorCode.INVALID_PAYLOAD
    assert outcomes[3].error.field == "service_code"
    # r2's number was rolled back with its savepoint: r3 gets the next one, no gap
    assert outcomes[0].result["ticket"]["number"] == "A001"
    assert outcomes[2].result["ticket"]["number"] == "A002"
    tickets = db_rows("SELECT number FROM tickets ORDER BY number")
    assert [t["number"] for t in tickets] == ["A001", "A002"]
    assert db_rows("SELECT last_number FROM ticket_sequences")[0]["last_number"] == 2
    assert len(db_rows("SELECT 1 FROM ticket_events")) == 2
    assert len(db_rows("SELECT 1 FROM outbox WHERE event_type = 'ticket.issued'")) == 2
    for rejected in ("r2", "r4"):
        assert _request_rows(db_rows, rejected) == {"command_log": 0, "audit_log": 0}
    for accepted in ("r1", "r3"):
        assert _request_rows(db_rows, accepted) == {"command_log": 1, "audit_log": 1}
    assert engine.queue_state("orientacion").waiting == 2


def test_an_unexpected_failure_in_one_command_is_an_internal_error_for_it_alone(
    engine, db_rows, monkeypatch
):
    _fail_audit_for(monkeypatch, "boom", RuntimeError("disk on fire"))
    outcomes = engine.execute_many([_issue("a"), _issue("boom"), _issue("b")])
    assert [o.status for o in outcomes] == ["ok", "error", "ok"]
    assert outcomes[1].error.code == ErrorCode.INTERNAL
    assert _request_rows(db_rows, "boom") == {"command_log": 0, "audit_log": 0}
    assert [t["number"] for t in db_rows("SELECT number FROM tickets ORDER BY number")] == [
        "A001",
        "A002",
    ]


def test_a_request_id_repeated_in_a_batch_is_a_replay_of_its_first_use(engine, db_rows):
    outcomes = engine.execute_many(
        [
            _issue("dup"),
            _issue("dup"),
            (KIOSK, "report_print", {"ticket_id": "x", "ok": True}, "dup"),  # other action
            _issue("bad", "nope"),  # rejected: stores nothing...
            _issue("bad"),  # ...so its retry is evaluated afresh, as sequentially
        ]
    )
    first, again, conflict, rejected, retried = outcomes
    assert first.ok and not first.replayed
    assert again.ok and again.replayed and again.result == first.result
    assert conflict.error.code == ErrorCode.REQUEST_ID_REUSED
    assert rejected.error.code == ErrorCode.UNKNOWN_SERVICE
    assert retried.ok and not retried.replayed
    assert retried.result["ticket"]["number"] == "A002"
    assert len(db_rows("SELECT 1 FROM tickets")) == 2
    assert len(db_rows("SELECT 1 FROM command_log")) == 2
    # and a later single execute replays the batch's answer too
    later = engine.execute(
        actor=KIOSK, action="issue_ticket", params={"service_code": "orientacion"}, request_id="dup"
    )
    assert later.replayed and later.result == first.result


def test_a_batch_matches_the_same_commands_run_one_by_one(engine_factory, tmp_path):
    commands = [
        _issue("s1"),
        _issue("s2", "penal"),
        _issue("s1"),
        _issue("s3", "nope"),
        (
            KIOSK,
            "issue_ticket",
            {"service_code": "victimas", "preference_category": "gestante"},
            "s4",
        ),
        (KIOSK, "issue_ticket", {"service_code": "orientacion", "dni": "123"}, "s5"),
        _issue("s6"),
    ]
    one_by_one = engine_factory(path=tmp_path / "seq.db")
    batched = engine_factory(path=tmp_path / "batch.db")
    sequential = [
        one_by_one.execute(actor=a, action=act, params=p, request_id=r) for a, act, p, r in commands
    ]
    grouped = batched.execute_many(commands)

    def view(outcome):
        ticket = (outcome.result or {}).get("ticket", {})
        return (
            outcome.status,
            outcome.replayed,
            outcome.error.code if outcome.error else None,
            ticket.get("number"),
            ticket.get("people_ahead"),
            sorted(outcome.changed_services),
        )

    assert [view(o) for o in grouped] == [view(o) for o in sequential]
    for engine in (one_by_one, batched):
        with engine._snapshot() as conn:
            counts = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in
                      ("tickets", "ticket_events", "audit_log", "outbox", "command_log")]  # fmt: skip
        assert counts == [4, 4, 4, 4, 4]


class _FailingCommit:
    """The engine's connection, except that COMMIT fails (as a full disk or I/O error would)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: Any):
        if sql == "COMMIT":
            raise sqlite3.OperationalError("disk I/O error")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def test_a_failed_commit_fails_every_command_of_the_batch_and_changes_nothing(
    engine, unchanged, db_rows
):
    real = engine._conn
    engine._conn = _FailingCommit(real)
    try:
        with unchanged():
            outcomes = engine.execute_many([_issue("c1"), _issue("c2"), _issue("c1")])
    finally:
        engine._conn = real
    assert [o.error.code if o.error else None for o in outcomes] == [ErrorCode.INTERNAL] * 3
    assert not any(o.changed_services or o.calls or o.prints for o in outcomes)
    assert not real.in_transaction
    # nothing was consumed: the retry gets the first number
    retry = engine.execute_many([_issue("c1")])[0]
    assert retry.ok and not retry.replayed and retry.result["ticket"]["number"] == "A001"


def _record_batches(engine, monkeypatch) -> list[int]:
    sizes: list[int] = []
    original = engine._run_batch

    def run_batch(items):
        sizes.append(len(items))
        return original(items)

    monkeypatch.setattr(engine, "_run_batch", run_batch)
    return sizes


def test_a_lone_caller_commits_alone(engine, monkeypatch):
    sizes = _record_batches(engine, monkeypatch)
    for index in range(5):
        outcome = engine.execute(
            actor=KIOSK,
            action="issue_ticket",
            params={"service_code": "orientacion"},
            request_id=f"lone-{index}",
        )
        assert outcome.ok
    assert sizes == [1] * 5


def test_concurrent_callers_share_one_commit_and_get_answers_only_after_it(
    engine, db_path, monkeypatch
):
    sizes = _record_batches(engine, monkeypatch)
    _fail_audit_for(monkeypatch, "t-3", RuntimeError("bug in one command"))
    answers: dict[int, Any] = {}
    committed_when_answered: dict[int, bool] = {}

    def kiosk(index: int) -> None:
        try:
            outcome = engine.execute(
                actor=Actor(role=Role.KIOSK, device_id=f"kiosk-{index}"),
                action="issue_ticket",
                params={"service_code": "orientacion"},
                request_id=f"t-{index}",
            )
        except RuntimeError as exc:  # an unexpected failure reaches its own caller only
            answers[index] = exc
            return
        answers[index] = outcome
        # a fresh connection sees the ticket: the answer came after the commit
        other = sqlite3.connect(db_path)
        try:
            number = outcome.result["ticket"]["number"]
            found = other.execute("SELECT 1 FROM tickets WHERE number = ?", (number,)).fetchone()
            committed_when_answered[index] = found is not None
        finally:
            other.close()

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(6)]
    with engine._lock:  # a leader busy with a commit: everybody queues behind it
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(engine._pending) < len(threads) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(engine._pending) == len(threads)
    for thread in threads:
        thread.join(10)
    assert sizes == [6]  # one transaction, one fsync for all six
    assert isinstance(answers.pop(3), RuntimeError)
    numbers = sorted(o.result["ticket"]["number"] for o in answers.values())
    assert numbers == ["A001", "A002", "A003", "A004", "A005"]
    assert all(committed_when_answered.values()) and len(committed_when_answered) == 5


def test_threads_through_execute_get_distinct_numbers_without_gaps(engine, monkeypatch):
    sizes = _record_batches(engine, monkeypatch)
    numbers: list[str] = []
    errors: list[Any] = []
    lock = threading.Lock()

    def kiosk(device: str) -> None:
        for index in range(50):
            outcome = engine.execute(
                actor=Actor(role=Role.KIOSK, device_id=device),
                action="issue_ticket",
                params={"service_code": "orientacion"},
                request_id=f"{device}-{index}",
            )
            with lock:
                (numbers if outcome.ok else errors).append(
                    outcome.result["ticket"]["number"] if outcome.ok else outcome.error
                )

    threads = [threading.Thread(target=kiosk, args=(f"k{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(numbers) == [f"A{n:03d}" for n in range(1, 401)]
    assert sum(sizes) == 400 and max(sizes) <= engine_module.GROUP_COMMIT_MAX
    assert engine.queue_state("orientacion").waiting == 400


@pytest.mark.parametrize("size", [0, 1])
def test_tiny_batches(engine, size):
    outcomes = engine.execute_many([_issue(f"tiny-{i}") for i in range(size)])
    assert len(outcomes) == size and all(o.ok for o in outcomes)
