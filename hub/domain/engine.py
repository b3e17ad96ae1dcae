"""HubEngine: the sede's queue (Module 03) on SQLite, behind ``hub.ports.QueueEngine``: the
unit of work (group commit, savepoints, replay of a request id) and the command dispatch. The
handlers live by subject (``tickets``, ``counters``, ``appointments``, ``intake``,
``central_config``) as keyword-only functions of a ``tx.Tx``; the read side is ``queries``.

Every accepted command atomically writes the change, its ticket/counter history, an audit
row, one outbox row per changed record and the stored answer for its request id, inside a
``BEGIN IMMEDIATE`` transaction and its own ``SAVEPOINT``; the caller publishes the returned
state changes, calls and print jobs only after the commit. Rejected commands roll back to their
savepoint and leave no trace (no audit, no outbox, no stored answer), so a retry of a rejected
request is evaluated afresh. Commands that arrive together share one transaction and one fsync
(group commit: ``execute_many``, and ``execute`` for concurrent callers, leader/follower). A
process lock serialises threads; ``BEGIN IMMEDIATE`` serialises processes sharing the file.

Citizens' DNIs are stored only in ``tickets.dni`` / ``appointments.dni`` (and, with names, in
the case intakes of ``hub.domain.intake``, whose outbox event is the one payload that carries
them to central); they never reach state, events, audit, answers or logs.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ValidationError

from contracts.errors import ErrorCode
from contracts.messages import (
    AmendCaseIntakeParams,
    CheckinAppointmentParams,
    CounterState,
    DisplayState,
    Empty,
    FinishAttentionParams,
    IssueTicketParams,
    OpenCaseIntakeParams,
    OpenCounterParams,
    PauseCounterParams,
    QueueState,
    ReportPrintParams,
    SedeInfo,
    SignInParams,
    TicketRef,
    TransferTicketParams,
)
from contracts.mqtt import ROLE_ACTIONS, Action, Role
from hub.config import SedeConfig, StaffUserConfig
from hub.domain import (
    appointments,
    central_config,
    central_records,
    counters,
    intake,
    outbox,
    queries,
    store,
    tickets,
)
from hub.domain.changes import recount_lines
from hub.domain.errors import DomainError
from hub.domain.projections import StateReader
from hub.domain.store import iso
from hub.domain.tx import Catalogue, Tx, dumps, error, new_id
from hub.ports import Actor, CommandOutcome

log = logging.getLogger(__name__)

SYSTEM_ACTOR = Actor(role=Role.ADMIN, device_id="hub")
DNI_RE_FIELDS = {"dni"}
#: Most commands one group commit takes from the queue of concurrent ``execute`` callers.
GROUP_COMMIT_MAX = 64

PARAMS: dict[Action, type[BaseModel]] = {
    Action.ISSUE_TICKET: IssueTicketParams,
    Action.CHECKIN_APPOINTMENT: CheckinAppointmentParams,
    Action.REPORT_PRINT: ReportPrintParams,
    Action.SIGN_IN: SignInParams,
    Action.SIGN_OUT: Empty,
    Action.OPEN_COUNTER: OpenCounterParams,
    Action.PAUSE_COUNTER: PauseCounterParams,
    Action.CLOSE_COUNTER: Empty,
    Action.CALL_NEXT: Empty,
    Action.CALL_TICKET: TicketRef,
    Action.RECALL: TicketRef,
    Action.START_ATTENTION: TicketRef,
    Action.FINISH_ATTENTION: FinishAttentionParams,
    Action.TRANSFER_TICKET: TransferTicketParams,
    Action.PARK_TICKET: TicketRef,
    Action.RESUME_TICKET: TicketRef,
    Action.CANCEL_TICKET: TicketRef,
    Action.REPRINT_TICKET: TicketRef,
    Action.OPEN_CASE_INTAKE: OpenCaseIntakeParams,
    Action.LIST_CASE_INTAKES: Empty,
    Action.AMEND_CASE_INTAKE: AmendCaseIntakeParams,
}

TICKET_ACTIONS = {Action.ISSUE_TICKET, Action.CHECKIN_APPOINTMENT, Action.REPORT_PRINT}

# command dispatch: the handlers, keyword-only, by subject
KIOSK_HANDLERS: dict[Action, Callable[..., None]] = {
    Action.ISSUE_TICKET: tickets.issue_ticket,
    Action.CHECKIN_APPOINTMENT: appointments.checkin_appointment,
    Action.REPORT_PRINT: tickets.report_print,
}
COUNTER_HANDLERS: dict[Action, Callable[..., None]] = {
    Action.SIGN_OUT: counters.sign_out,
    Action.OPEN_COUNTER: counters.open_counter,
    Action.PAUSE_COUNTER: counters.pause_counter,
    Action.CLOSE_COUNTER: counters.close_counter,
    Action.CALL_NEXT: tickets.call_next,
    Action.CALL_TICKET: tickets.call_ticket,
    Action.RECALL: tickets.recall,
    Action.START_ATTENTION: tickets.start_attention,
    Action.FINISH_ATTENTION: tickets.finish_attention,
    Action.TRANSFER_TICKET: tickets.transfer_ticket,
    Action.PARK_TICKET: tickets.park_ticket,
    Action.RESUME_TICKET: tickets.resume_ticket,
    Action.CANCEL_TICKET: tickets.cancel_ticket,
    Action.REPRINT_TICKET: tickets.reprint_ticket,
    Action.OPEN_CASE_INTAKE: intake.open_case_intake,
    Action.LIST_CASE_INTAKES: intake.list_case_intakes,
    Action.AMEND_CASE_INTAKE: intake.amend_case_intake,
}


@dataclass(frozen=True)
class _Prepared:
    """A command that passed every check made before the write lock."""

    actor: Actor
    action: Action
    parsed: BaseModel
    request_id: str
    staff: StaffUserConfig | None


@dataclass
class _Slot:
    """A command queued for group commit; ``outcome`` is set (under the writer lock) once its
    transaction has committed or been rolled back."""

    prepared: _Prepared | CommandOutcome
    outcome: CommandOutcome | BaseException | None = None


class HubEngine:
    """The queue engine of one sede. Thread-safe; several processes may share the file."""

    def __init__(
        self,
        config: SedeConfig,
        db_path: Path,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self._clock = clock or (lambda: datetime.now(UTC))
        # central's configuration, once pulled, replaces this TOML one (docs/sync.md):
        # housekeeping applies it, here at start and whenever a pull brings a new revision
        self._catalogue = Catalogue.of(config)
        self._hasher = PasswordHasher()
        self._lock = threading.RLock()  # the writer lock: one transaction at a time
        self._pending: deque[_Slot] = deque()  # commands waiting for the next group commit
        self._pending_lock = threading.Lock()
        self._conn = store.connect(self.db_path)
        now = self._now()
        store.migrate(self._conn, now=now)
        store.migrate_sync_tables(self._conn)  # intakes are taken offline, before any sync
        # the matters counters offer (central's once pulled), refreshed by housekeeping
        self._central = central_config.CentralWord(
            bootstrap=config,
            catalogue=self._catalogue,
            matters=central_records.matter_catalogue(self._conn),
        )
        self._last_due_limit = self._catalogue.due_limit(now)
        self._bootstrap(now)
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {store.WRITER_AUTOCHECKPOINT_PAGES}")
        self._checkpointer = store.Checkpointer(self.db_path)
        self.housekeeping()

    @property
    def config(self) -> SedeConfig:
        """The sede configuration in effect (the TOML's, or central's once pulled)."""
        return self._catalogue.config

    @property
    def catalogue(self) -> Catalogue:
        return self._catalogue

    # ------------------------------------------------------------------ infrastructure

    def _now(self) -> datetime:
        moment = self._clock()
        if moment.tzinfo is None:
            raise ValueError("the engine clock must return timezone-aware datetimes")
        return moment.astimezone(UTC)

    def _tx(self, now: datetime, actor: Actor, action: str, request_id: str | None) -> Tx:
        return Tx(
            self._conn,
            now,
            iso(now),
            actor,
            action,
            request_id,
            self._catalogue,
            self.sede_id,
            self.hub_epoch,
        )

    def _bootstrap(self, now: datetime) -> None:
        with self._lock:
            store.begin_immediate(self._conn)
            try:
                meta = store.hub_meta(self._conn)
                if "sede_id" not in meta:
                    store.set_hub_meta(self._conn, "sede_id", self.config.id)
                    # epoch: ms at creation. A restored or recreated file gets a new, larger
                    # epoch, so (sede, epoch, seq) never collides at central.
                    store.set_hub_meta(self._conn, "hub_epoch", str(int(now.timestamp() * 1000)))
                    store.set_hub_meta(
                        self._conn, "business_date", self._catalogue.business_date(now)
                    )
                elif meta["sede_id"] != self.config.id:
                    raise RuntimeError(
                        f"{self.db_path} belongs to sede {meta['sede_id']!r}, "
                        f"not {self.config.id!r}"
                    )
                for counter in self.config.counters:
                    self._conn.execute(
                        "INSERT INTO counters (counter_id, updated_at) VALUES (?, ?) "
                        "ON CONFLICT (counter_id) DO NOTHING",
                        (counter.id, iso(now)),
                    )
                recount_lines(self._conn, self._catalogue.services)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            meta = store.hub_meta(self._conn)
            self.sede_id = meta["sede_id"]
            self.hub_epoch = int(meta["hub_epoch"])

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction, so a state is consistent even while another process writes."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    def close(self) -> None:
        self._checkpointer.close()
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------------ commands

    def execute(
        self, *, actor: Actor, action: str, params: dict[str, Any], request_id: str
    ) -> CommandOutcome:
        """Run one command. Concurrent callers share commits (group commit, leader/follower):
        the caller queues its command; whoever takes the writer lock runs everything queued
        (up to ``GROUP_COMMIT_MAX``) in one transaction and hands each caller its outcome.
        A lone caller runs at once, alone, with no added wait."""
        prepared = self._prepare(actor, action, params, request_id)
        if isinstance(prepared, CommandOutcome):
            return prepared
        slot = _Slot(prepared)
        with self._pending_lock:
            self._pending.append(slot)
        while slot.outcome is None:
            with self._lock:
                if slot.outcome is not None:  # a leader ran it while we waited for the lock
                    break
                with self._pending_lock:
                    batch = [
                        self._pending.popleft()
                        for _ in range(min(GROUP_COMMIT_MAX, len(self._pending)))
                    ]
                try:
                    results = self._run_batch([queued.prepared for queued in batch])
                except BaseException as exc:  # never leave a follower waiting forever
                    results = [exc] * len(batch)
                for queued, result in zip(batch, results, strict=True):
                    queued.outcome = result
        if isinstance(slot.outcome, BaseException):
            raise slot.outcome
        return slot.outcome

    def execute_many(
        self, commands: Sequence[tuple[Actor, str, dict[str, Any], str]]
    ) -> list[CommandOutcome]:
        """Run ``(actor, action, params, request_id)`` commands in order in ONE transaction
        (one fsync), each inside its own savepoint: a rejected command writes nothing, an
        accepted one writes exactly what ``execute`` would. A request id repeated in the batch
        is a replay of its first use, as if run one after another. If the commit fails every
        outcome from the transaction becomes an ``internal`` error; nothing was applied."""
        prepared = [self._prepare(*command) for command in commands]
        with self._lock:
            results = self._run_batch(prepared)
        outcomes: list[CommandOutcome] = []
        for result in results:
            if isinstance(result, BaseException):
                outcomes.append(
                    CommandOutcome(status="error", error=error(ErrorCode.INTERNAL).body())
                )
            else:
                outcomes.append(result)
        return outcomes

    def _prepare(
        self, actor: Actor, action: str, params: dict[str, Any], request_id: str
    ) -> _Prepared | CommandOutcome:
        """Everything checked before the write lock: action, role, params; for sign-in a
        replay and the (slow on purpose) password check."""
        try:
            act = Action(action)
        except ValueError:
            return _fail(error(ErrorCode.UNKNOWN_ACTION))
        try:
            allowed = ROLE_ACTIONS[Role(actor.role)]
        except ValueError:
            allowed = frozenset()
        if act not in allowed:
            return _fail(error(ErrorCode.FORBIDDEN))
        try:
            parsed = PARAMS[act].model_validate(params)
        except ValidationError as exc:
            return _fail(_validation_error(exc))
        staff: StaffUserConfig | None = None
        if act is Action.SIGN_IN:
            with self._lock:  # a retried sign-in must not pay for argon2 again
                replay = self._replay(actor=actor, action=act, request_id=request_id)
            if replay is not None:
                return replay
            try:  # argon2 is deliberately slow: verify before taking the write lock
                staff = self._verify_staff(parsed)  # type: ignore[arg-type]
            except DomainError as exc:
                return _fail(exc)
        return _Prepared(actor, act, parsed, request_id, staff)

    def _run_batch(
        self, items: Sequence[_Prepared | CommandOutcome]
    ) -> list[CommandOutcome | BaseException]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT`` for every prepared command, each in its own
        savepoint. Caller holds ``self._lock``. An unexpected exception inside one command
        rolls back that command only and is returned in its place (``execute`` re-raises it
        in the caller's thread)."""
        results: list[CommandOutcome | BaseException] = list(items)  # type: ignore[arg-type]
        todo = [i for i, item in enumerate(items) if isinstance(item, _Prepared)]
        if not todo:
            return results
        wrote = False
        try:
            store.begin_immediate(self._conn)
            for index in todo:
                item = items[index]
                assert isinstance(item, _Prepared)
                self._conn.execute("SAVEPOINT command")
                try:
                    outcome, changed = self._run_one(item)
                except DomainError as exc:
                    self._conn.execute("ROLLBACK TO command")
                    self._conn.execute("RELEASE command")
                    results[index] = _fail(exc)
                    continue
                except Exception as exc:
                    log.exception(
                        "command failed",
                        extra={
                            "alegra_fields": {
                                "event": "engine_error",
                                "action": str(item.action),
                                "request_id": item.request_id,
                                "error": type(exc).__name__,
                            }
                        },
                    )
                    self._conn.execute("ROLLBACK TO command")
                    self._conn.execute("RELEASE command")
                    results[index] = exc
                    continue
                self._conn.execute("RELEASE command")
                wrote = wrote or changed
                results[index] = outcome
            self._conn.execute("COMMIT" if wrote else "ROLLBACK")
        except BaseException as exc:
            if self._conn.in_transaction:
                try:
                    self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rollback failed")
            if not isinstance(exc, Exception):
                raise
            log.exception(
                "group commit failed",
                extra={
                    "alegra_fields": {
                        "event": "engine_error",
                        "commands": len(todo),
                        "error": type(exc).__name__,
                    }
                },
            )
            for index in todo:  # nothing of this transaction was applied, nothing to publish
                results[index] = _fail(error(ErrorCode.INTERNAL))
        return results

    def _run_one(self, item: _Prepared) -> tuple[CommandOutcome, bool]:
        """One command inside the open transaction (and its savepoint); True when it wrote."""
        action, request_id = item.action, item.request_id
        replay = self._replay(actor=item.actor, action=action, request_id=request_id)
        if replay is not None:
            return replay, False
        tx = self._tx(self._now(), item.actor, str(action), request_id)
        if action in KIOSK_HANDLERS:
            KIOSK_HANDLERS[action](tx=tx, params=item.parsed)
        else:
            self._counter_command(tx, action, item.parsed, item.staff)
        outcome = tx.outcome
        self._conn.execute(
            "INSERT INTO command_log (request_id, actor_role, actor_device, action, "
            "response, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                request_id,
                str(item.actor.role),
                item.actor.device_id,
                str(action),
                dumps({"status": outcome.status, "result": outcome.result}),
                tx.now_iso,
            ),
        )
        return outcome, True

    def _counter_command(
        self, tx: Tx, action: Action, params: BaseModel, staff: StaffUserConfig | None
    ) -> None:
        counter_id = tx.actor.device_id
        if counter_id not in tx.catalogue.counters:
            raise error(ErrorCode.UNKNOWN_COUNTER)
        counter = queries.counter_row(tx.conn, counter_id)
        if action is Action.SIGN_IN:
            assert staff is not None
            counters.sign_in(tx=tx, counter=counter, staff=staff)
            return
        if counter["username"] is None:
            raise error(ErrorCode.NOT_SIGNED_IN)
        tx.username = counter["username"]
        COUNTER_HANDLERS[action](tx=tx, counter=counter, params=params)

    def _replay(self, *, actor: Actor, action: Action, request_id: str) -> CommandOutcome | None:
        row = self._conn.execute(
            "SELECT actor_role, actor_device, action, response FROM command_log "
            "WHERE request_id = ?",
            (request_id,),
        ).fetchone()
        if row is None:
            return None
        if (row["actor_role"], row["actor_device"]) != (str(actor.role), actor.device_id):
            return _fail(
                error(
                    ErrorCode.REQUEST_ID_REUSED,
                    "El identificador de solicitud ya fue usado por otro dispositivo.",
                    "request_id",
                )
            )
        if row["action"] != str(action):
            return _fail(
                error(
                    ErrorCode.REQUEST_ID_REUSED,
                    "El identificador de solicitud ya fue usado para otra acción.",
                    "request_id",
                )
            )
        stored = json.loads(row["response"])
        return CommandOutcome(status=stored["status"], result=stored["result"], replayed=True)

    def _verify_staff(self, params: SignInParams) -> StaffUserConfig:
        synced = self._synced_staff(params.username)
        if synced is False:  # central disabled or removed this user (revocation)
            raise error(ErrorCode.BAD_CREDENTIALS)
        user = synced or self._catalogue.staff.get(params.username)
        if user is None:
            raise error(ErrorCode.BAD_CREDENTIALS)
        try:
            self._hasher.verify(user.password_hash, params.password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise error(ErrorCode.BAD_CREDENTIALS) from None
        return user

    def _verify_staff(self, params: SignInParams) -> StaffUserConfig:
        synced = self._synced_staff(params.username)
        if synced is False:  # central disabled or removed this user (revocation)
            raise error(ErrorCode.BAD_CREDENTIALS)
        user = synced or self._catalogue.staff.get(params.username)
        if user is None:
            raise error(ErrorCode.BAD_CREDENTIALS)
        try:
            self._hasher.verify(user.password_hash, params.password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise error(ErrorCode.BAD_CREDENTIALS) from None
        return user

    def _synced_staff(self, username: str) -> StaffUserConfig | None | bool:
        """Central's word on a user (``central_records.staff_user``)."""
        with self._lock:
            return central_records.staff_user(self._conn, username)

    # ------------------------------------------------------------------ time-driven changes

    def housekeeping(self) -> CommandOutcome:
        """Day rollover (reset policy), central's word applied, and appointments entering
        their window."""
        with self._lock:
            now = self._now()
            store.begin_immediate(self._conn)
            try:
                tx = self._tx(now, SYSTEM_ACTOR, "housekeeping", None)
                today = tx.business_date()
                stored = store.hub_meta(self._conn).get("business_date", today)
                if today > stored:
                    tickets.roll_over(tx, stored, today)
                word = central_config.apply_central(tx, word=self._central)
                due = tx.due_limit()
                for (code,) in self._conn.execute(
                    "SELECT DISTINCT service_code FROM tickets WHERE status = 'waiting' "
                    "AND appointment_due_at > ? AND appointment_due_at <= ?",
                    (self._last_due_limit, due),
                ):
                    tx.outcome.changed_services.add(code)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            # central's word is taken up in memory only once it is committed
            self._central = word
            self._catalogue = word.catalogue
            self._last_due_limit = max(self._last_due_limit, due)
            return tx.outcome

    # ------------------------------------------------------------------ admin / seeding

    def add_appointment(
        self,
        *,
        code: str,
        service_code: str,
        scheduled_at: datetime,
        dni: str | None = None,
        appointment_id: str | None = None,
    ) -> str:
        """Record (or update, by id) an appointment; central feeds these through sync."""
        from contracts.messages import CheckinAppointmentParams as _Check

        try:
            _Check(dni=dni, appointment_code=code)
        except ValidationError as exc:
            raise _validation_error(exc) from None
        if service_code not in self._catalogue.services:
            raise error(ErrorCode.UNKNOWN_SERVICE, field="service_code")
        if scheduled_at.tzinfo is None:
            raise ValueError("scheduled_at must be timezone-aware")
        appointment_id = appointment_id or new_id()
        with self._lock:
            now = self._now()
            store.begin_immediate(self._conn)
            try:
                tx = self._tx(now, SYSTEM_ACTOR, "add_appointment", None)
                appointments.record_appointment(
                    tx=tx,
                    appointment_id=appointment_id,
                    code=code,
                    service_code=service_code,
                    scheduled_at=scheduled_at,
                    dni=dni,
                )
                self._conn.execute("COMMIT")
            except sqlite3.IntegrityError:
                self._conn.execute("ROLLBACK")
                raise error(
                    ErrorCode.CONFLICT, "Ya existe una cita con ese código.", "code"
                ) from None
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return appointment_id

    # ------------------------------------------------------------------ the outbox

    def outbox_pending(self, limit: int = 500) -> list[dict[str, Any]]:
        """Unsent outbox rows in sequence order (``outbox.pending_rows``)."""
        with self._lock:
            return outbox.pending_rows(self._conn, limit)

    def mark_outbox_sent(self, seqs: list[int]) -> None:
        """Mark outbox rows sent (``outbox.mark_sent``)."""
        with self._lock:
            outbox.mark_sent(self._conn, seqs, at=iso(self._now()))

    # ------------------------------------------------------------------ state for devices

    def sede_info(self) -> SedeInfo:
        # no lock: the state publisher renders config too
        return queries.sede_info(
            catalogue=self._catalogue, now=self._now(), matters=self._central.matters
        )

    def open_state_reader(self) -> StateReader:
        """A read-only connection of its own for rendering the published states off the
        writer's lock (hub.domain.projections); the caller closes it before the engine."""
        return StateReader(self, self.db_path)

    def queue_state(self, service_code: str) -> QueueState:
        with self._snapshot() as conn:
            payload = self.queue_state_json(conn, service_code)
        return QueueState.model_validate_json(payload)

    def queue_state_json(self, conn: sqlite3.Connection, service_code: str) -> bytes:
        """The service's ``QueueState`` as published, read on ``conn`` (inside a read
        transaction: the engine's own under ``queue_state``, or a ``StateReader``'s);
        ``queries.queue_state_json``. ``queue_state`` parses it, so the model checks it."""
        return queries.queue_state_json(
            conn, catalogue=self._catalogue, now=self._now(), service_code=service_code
        )

    def counter_state(self, counter_id: str) -> CounterState:
        if counter_id not in self._catalogue.counters:
            raise DomainError(ErrorCode.UNKNOWN_COUNTER, field="counter_id")
        with self._snapshot() as conn:
            return self.counter_state_on(conn, counter_id)

    def counter_state_on(self, conn: sqlite3.Connection, counter_id: str) -> CounterState:
        """``CounterState`` read on ``conn`` (inside a read transaction)."""
        return queries.counter_state(conn, catalogue=self._catalogue, counter_id=counter_id)

    def display_state(self) -> DisplayState:
        with self._snapshot() as conn:
            return self.display_state_on(conn)

    def display_state_on(self, conn: sqlite3.Connection) -> DisplayState:
        """``DisplayState`` read on ``conn`` (inside a read transaction)."""
        return queries.display_state(
            conn, catalogue=self._catalogue, messages=self._central.messages
        )

    def status(self) -> dict[str, Any]:
        queues = {code: self.queue_state(code) for code in self._catalogue.services}
        states = {cid: self.counter_state(cid) for cid in self._catalogue.counters}
        with self._lock:
            pending, oldest = outbox.backlog(self._conn)
            last_seq = self._conn.execute("SELECT MAX(seq) FROM outbox").fetchone()[0]
            meta = store.hub_meta(self._conn)
            version = store.schema_version(self._conn)
        return {
            "sede_id": self.sede_id,
            "hub_epoch": self.hub_epoch,
            "business_date": meta.get("business_date"),
            "schema_version": version,
            "db_path": str(self.db_path),
            "queues": {
                code: {
                    "waiting": q.waiting,
                    "preferential_waiting": q.preferential_waiting,
                    "longest_wait_s": q.longest_wait_s,
                    "served_today": q.served_today,
                    "open_counters": q.open_counters,
                    "estimated_wait_s": q.estimated_wait_s,
                }
                for code, q in queues.items()
            },
            "counters": {
                cid: {
                    "status": str(c.status),
                    "user": c.user_display_name,
                    "current": c.current.number if c.current else None,
                    "parked": len(c.parked),
                }
                for cid, c in states.items()
            },
            "outbox": {"pending": pending, "oldest_pending_at": oldest, "last_seq": last_seq},
        }


# ---------------------------------------------------------------------- module helpers


def _fail(error: DomainError) -> CommandOutcome:
    return CommandOutcome(status="error", error=error.body())


def _validation_error(exc: ValidationError) -> DomainError:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or None
    if first["loc"] and first["loc"][0] in DNI_RE_FIELDS:
        return DomainError(ErrorCode.INVALID_DNI, field="dni")
    if first["type"] == "extra_forbidden":
        message = f"Campo no admitido: {where}."
    elif first["type"] == "missing":
        message = f"Falta el campo obligatorio: {where}."
    else:
        message = f"Valor no válido en el campo {where}."
    # never echo the input: it may hold a DNI or a password
    return DomainError(ErrorCode.INVALID_PAYLOAD, message, field=where)
