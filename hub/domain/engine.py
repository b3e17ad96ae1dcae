"""HubEngine: the sede's queue (Module 03) on SQLite, behind ``hub.ports.QueueEngine``.

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import uuid6
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ValidationError

from contracts.errors import ErrorCode
from contracts.messages import (
    AmendCaseIntakeParams,
    CallEvent,
    CallView,
    CheckinAppointmentParams,
    CounterInfo,
    CounterState,
    CounterStatus,
    DisplayState,
    Empty,
    FinishAttentionParams,
    IssuedTicket,
    IssueTicketParams,
    MatterInfo,
    OpenCaseIntakeParams,
    OpenCounterParams,
    OpeningHours,
    Outcome,
    PauseCounterParams,
    PreferenceCategory,
    PrintJob,
    QueueState,
    ReportPrintParams,
    SedeInfo,
    ServiceInfo,
    SignInParams,
    TicketOrigin,
    TicketRef,
    TicketStatus,
    TicketView,
    TransferTicketParams,
)
from contracts.mqtt import ROLE_ACTIONS, Action, Role
from hub.config import ResetPolicy, SedeConfig, ServiceConfig, StaffUserConfig
from hub.domain import central_records, intake, ordering, outbox, store
from hub.domain.errors import DomainError
from hub.domain.store import iso
from hub.ports import Actor, CommandOutcome

if TYPE_CHECKING:
    from hub.domain.projections import StateReader

log = logging.getLogger(__name__)

SYSTEM_ACTOR = Actor(role=Role.ADMIN, device_id="hub")
ACTIVE = ("waiting", "called", "serving", "parked")
IN_HAND = ("called", "serving")
FINAL = ("done", "no_show", "cancelled")
RECENT_CALLS = 10
#: calls read at most per recent call shown (recalls of the same tickets are skipped)
RECENT_CALLS_SCAN = 10
QUEUE_STATE_MAX_TICKETS = 100  # the head of the line; `waiting` carries the full count
# flagged tickets further back than the head, listed apart so counters can reprint them
QUEUE_STATE_MAX_REPRINTS = 50
STATS_LOOKBACK_DAYS = 7
# the line order in SQL, rendered from hub.domain.ordering (its parameter: ordering.due_limit)
LINE_ORDER = ordering.order_sql()
_LINE_ORDER_NAMED = ordering.order_sql(due=":due")
# One waiting ticket as a TicketView JSON object (see TicketView and _view) from the tickets
# row joined to `line` (line.ticket_id, line.ahead: its place in the line order); the estimate
# is _estimate's twin. Times are stored as fixed-width ISO text with "+00:00"; "Z" as pydantic.
_TICKET_VIEW_JSON = (
    "json_object('ticket_id', id, 'number', number, 'service_code', service_code, "
    "'status', status, 'preference_category', preference_category, 'origin', origin, "
    "'issued_at', replace(issued_at, '+00:00', 'Z'), "
    "'arrived_at', replace(arrived_at, '+00:00', 'Z'), "
    "'called_at', replace(called_at, '+00:00', 'Z'), "
    "'started_at', replace(started_at, '+00:00', 'Z'), "
    "'counter_id', coalesce(counter_id, target_counter_id), 'recalls', recalls, "
    "'people_ahead', line.ahead, "
    "'estimated_wait_s', "
    "CASE WHEN :open > 0 THEN CAST(line.ahead * :per / :open + 0.5 AS INTEGER) END, "
    "'needs_reprint', json(CASE WHEN needs_reprint THEN 'true' ELSE 'false' END))"
)
# The head of a service's line, rendered by SQLite in one statement: the head's ids from the
# covering line index alone, numbered, then only those rows read. Second column: the flag.
QUEUE_TICKETS_JSON = (
    "SELECT " + _TICKET_VIEW_JSON + ", needs_reprint "  # noqa: S608
    "FROM (SELECT id AS ticket_id, row_number() OVER (ORDER BY " + _LINE_ORDER_NAMED + ") - 1 "
    "AS ahead FROM (SELECT id, preference_category, appointment_due_at, arrived_at "
    "FROM tickets WHERE status = 'waiting' AND service_code = :code "
    "ORDER BY " + _LINE_ORDER_NAMED + " LIMIT :limit)) AS line "
    "JOIN tickets ON tickets.id = line.ticket_id ORDER BY line.ahead"
)
# Who is ahead of a ticket in the common line: everyone waiting in a class <= its class.
COUNT_AHEAD_SQL = (
    "SELECT COUNT(*) FROM tickets WHERE status = 'waiting' AND service_code = ? "  # noqa: S608
    f"AND target_counter_id IS NULL AND id != ? AND ({ordering.class_sql()}) <= ?"
)
# How many waiting tickets of a service are flagged for reprint: ix_tickets_reprint alone.
QUEUE_REPRINTS_COUNT = (
    "SELECT COUNT(*) FROM tickets WHERE needs_reprint = 1 AND status = 'waiting' "
    "AND service_code = ?"
)
# The flagged tickets behind the head (place >= :skip), the first :limit of them in line
# order, two ways to the same rows; the engine runs one only when the line is longer than the
# head and someone behind it is flagged. The flagged ids come from the partial index
# ix_tickets_reprint, the places from the covering line index; only the listed rows are read.
# - few flagged: each one's place counted (one pass over the line index each, no sort);
QUEUE_REPRINTS_FEW_JSON = (
    "SELECT " + _TICKET_VIEW_JSON + " "  # noqa: S608
    "FROM (SELECT ticket_id, ahead FROM (SELECT f.id AS ticket_id, (SELECT COUNT(*) FROM "
    "tickets AS t WHERE t.status = 'waiting' AND t.service_code = :code AND "
    + ordering.key_sql("t", due=":due")
    + " < "
    + ordering.key_sql("f", due=":due")
    + ") AS ahead FROM tickets AS f WHERE f.needs_reprint = 1 AND f.status = 'waiting' "
    # LIMIT -1 (none) keeps SQLite from flattening this into the outer query, which would
    # count each place twice (once to filter, once to sort)
    "AND f.service_code = :code LIMIT -1) WHERE ahead >= :skip ORDER BY ahead LIMIT :limit) "
    "AS line "
    "JOIN tickets ON tickets.id = line.ticket_id ORDER BY line.ahead"
)
# - many flagged: the whole line numbered once (one sort), the flagged ones picked from it.
QUEUE_REPRINTS_JSON = (
    "SELECT " + _TICKET_VIEW_JSON + " "  # noqa: S608
    "FROM (SELECT ticket_id, ahead FROM (SELECT id AS ticket_id, row_number() OVER (ORDER BY "
    + _LINE_ORDER_NAMED
    + ") - 1 AS ahead FROM tickets WHERE status = 'waiting' AND service_code = :code) "
    "WHERE ahead >= :skip AND ticket_id IN (SELECT id FROM tickets WHERE needs_reprint = 1 "
    "AND status = 'waiting' AND service_code = :code) ORDER BY ahead LIMIT :limit) AS line "
    "JOIN tickets ON tickets.id = line.ticket_id ORDER BY line.ahead"
)
#: Up to this many flagged tickets in a line, QUEUE_REPRINTS_FEW_JSON: counting one place
#: costs about a sixth of numbering the whole line (300 and 2,000 waiting; a quarter at 130),
#: five about the same.
REPRINTS_COUNTED_MAX = 4
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


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def _new_id() -> str:
    return str(uuid6.uuid7())


def _error(code: ErrorCode, message: str | None = None, field: str | None = None) -> DomainError:
    return DomainError(code, message, field=field)


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


@dataclass
class _Tx:
    """One command in flight: what it saw and what the transport must publish afterwards."""

    conn: sqlite3.Connection
    now: datetime
    now_iso: str
    actor: Actor
    action: str
    request_id: str | None
    username: str | None = None
    outcome: CommandOutcome = field(default_factory=lambda: CommandOutcome(status="ok"))


class HubEngine:
    """The queue engine of one sede. Thread-safe; several processes may share the file."""

    def __init__(
        self,
        config: SedeConfig,
        db_path: Path,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self.db_path = Path(db_path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._tz = ZoneInfo(config.timezone)
        self._policy = config.queue
        self._services: dict[str, ServiceConfig] = {s.code: s for s in config.services}
        self._counters = {c.id: c for c in config.counters}
        self._staff: dict[str, StaffUserConfig] = {u.username: u for u in config.staff}
        # central's configuration, once pulled, replaces this TOML one (docs/sync.md):
        # housekeeping applies it, here at start and whenever a pull brings a new revision
        self._bootstrap_config = config
        self._offered = set(self._services)  # services a kiosk may issue (retired ones not)
        self._config_marker = ""
        self._messages: list[str] = []  # display messages valid now (from central)
        self._pruned_before = ""
        self._hasher = PasswordHasher()
        self._lock = threading.RLock()  # the writer lock: one transaction at a time
        self._pending: deque[_Slot] = deque()  # commands waiting for the next group commit
        self._pending_lock = threading.Lock()
        self._conn = store.connect(self.db_path)
        now = self._now()
        store.migrate(self._conn, now=now)
        store.migrate_sync_tables(self._conn)  # intakes are taken offline, before any sync
        # the matters counters offer (central's once pulled), refreshed by housekeeping
        self._matter_catalogue = central_records.matter_catalogue(self._conn)
        self._last_due_limit = ordering.due_limit(now, self._policy.appointment_window_min)
        self._bootstrap(now)
        self._conn.execute(f"PRAGMA wal_autocheckpoint = {store.WRITER_AUTOCHECKPOINT_PAGES}")
        self._checkpointer = store.Checkpointer(self.db_path)
        self.housekeeping()

    # ------------------------------------------------------------------ infrastructure

    def _now(self) -> datetime:
        moment = self._clock()
        if moment.tzinfo is None:
            raise ValueError("the engine clock must return timezone-aware datetimes")
        return moment.astimezone(UTC)

    def _business_date(self, moment: datetime) -> str:
        return moment.astimezone(self._tz).date().isoformat()

    def _day_start(self, business_date: str) -> str:
        local = datetime.combine(date.fromisoformat(business_date), time(0), self._tz)
        return iso(local)

    def _bootstrap(self, now: datetime) -> None:
        with self._lock:
            store.begin_immediate(self._conn)
            try:
                meta = self._meta()
                if "sede_id" not in meta:
                    self._set_meta("sede_id", self.config.id)
                    # epoch: ms at creation. A restored or recreated file gets a new, larger
                    # epoch, so (sede, epoch, seq) never collides at central.
                    self._set_meta("hub_epoch", str(int(now.timestamp() * 1000)))
                    self._set_meta("business_date", self._business_date(now))
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
                self._recount_lines()
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            meta = self._meta()
            self.sede_id = meta["sede_id"]
            self.hub_epoch = int(meta["hub_epoch"])

    def _recount_lines(self) -> None:
        self._conn.execute("DELETE FROM service_lines")
        self._conn.executemany(
            "INSERT INTO service_lines (service_code) VALUES (?)",
            [(code,) for code in self._services],
        )
        self._conn.execute(
            "UPDATE service_lines SET "
            "waiting_total = (SELECT COUNT(*) FROM tickets t WHERE t.status = 'waiting' "
            "AND t.service_code = service_lines.service_code), "
            "waiting_in_line = (SELECT COUNT(*) FROM tickets t WHERE t.status = 'waiting' "
            "AND t.service_code = service_lines.service_code AND t.target_counter_id IS NULL), "
            "preferential_in_line = (SELECT COUNT(*) FROM tickets t WHERE t.status = 'waiting' "
            "AND t.service_code = service_lines.service_code AND t.target_counter_id IS NULL "
            "AND t.preference_category != 'none')"
        )

    def _adjust_lines(
        self, tx: _Tx, before: Mapping[str, Any] | None, after: Mapping[str, Any]
    ) -> None:
        old, new = _line_slot(before), _line_slot(after)
        if old == new:
            return
        for slot, delta in ((old, -1), (new, 1)):
            if slot is None:
                continue
            service_code, in_line, preferential = slot
            tx.conn.execute(
                "UPDATE service_lines SET waiting_total = waiting_total + ?, "
                "waiting_in_line = waiting_in_line + ?, "
                "preferential_in_line = preferential_in_line + ? WHERE service_code = ?",
                (
                    delta,
                    delta if in_line else 0,
                    delta if in_line and preferential else 0,
                    service_code,
                ),
            )

    def _line_counts(self, conn: sqlite3.Connection, service_code: str) -> tuple[int, int, int]:
        row = conn.execute(
            "SELECT waiting_total, waiting_in_line, preferential_in_line FROM service_lines "
            "WHERE service_code = ?",
            (service_code,),
        ).fetchone()
        return (row[0], row[1], row[2]) if row else (0, 0, 0)

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction, so a state is consistent even while another process writes."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    def _meta(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._conn.execute("SELECT key, value FROM hub_meta")}

    def _set_meta(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO hub_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

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
                    CommandOutcome(status="error", error=_error(ErrorCode.INTERNAL).body())
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
            return _fail(_error(ErrorCode.UNKNOWN_ACTION))
        try:
            allowed = ROLE_ACTIONS[Role(actor.role)]
        except ValueError:
            allowed = frozenset()
        if act not in allowed:
            return _fail(_error(ErrorCode.FORBIDDEN))
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
                results[index] = _fail(_error(ErrorCode.INTERNAL))
        return results

    def _run_one(self, item: _Prepared) -> tuple[CommandOutcome, bool]:
        """One command inside the open transaction (and its savepoint); True when it wrote."""
        action, request_id = item.action, item.request_id
        replay = self._replay(actor=item.actor, action=action, request_id=request_id)
        if replay is not None:
            return replay, False
        now = self._now()
        tx = _Tx(self._conn, now, iso(now), item.actor, str(action), request_id)
        if action in TICKET_ACTIONS:
            self._kiosk_handlers[action](self, tx, item.parsed)
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
                _dumps({"status": outcome.status, "result": outcome.result}),
                tx.now_iso,
            ),
        )
        return outcome, True

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
                _error(
                    ErrorCode.REQUEST_ID_REUSED,
                    "El identificador de solicitud ya fue usado por otro dispositivo.",
                    "request_id",
                )
            )
        if row["action"] != str(action):
            return _fail(
                _error(
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
            raise _error(ErrorCode.BAD_CREDENTIALS)
        user = synced or self._staff.get(params.username)
        if user is None:
            raise _error(ErrorCode.BAD_CREDENTIALS)
        try:
            self._hasher.verify(user.password_hash, params.password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise _error(ErrorCode.BAD_CREDENTIALS) from None
        return user

    def _synced_staff(
        self, username: str, conn: sqlite3.Connection | None = None
    ) -> StaffUserConfig | None | bool:
        """Central's word on a user (``central_records.staff_user``). ``conn``: read there (a
        state snapshot) instead of on the writer connection."""
        if conn is not None:
            return central_records.staff_user(conn, username)
        with self._lock:
            return central_records.staff_user(self._conn, username)

    # ------------------------------------------------------------------ kiosk commands

    def _issue_ticket(self, tx: _Tx, params: IssueTicketParams) -> None:
        service = self._service(params.service_code, "service_code")
        self._check_open_hours(tx)
        ticket = self._create_ticket(
            tx,
            service=service,
            preference=params.preference_category,
            origin=TicketOrigin.WALK_IN,
            dni=params.dni,
        )
        self._answer_issued(tx, ticket, service)

    def _checkin_appointment(self, tx: _Tx, params: CheckinAppointmentParams) -> None:
        if params.dni is None and params.appointment_code is None:
            raise _error(ErrorCode.INVALID_PAYLOAD, "Indique el DNI o el código de la cita.", "dni")
        today = self._business_date(tx.now)
        tomorrow = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
        sql = (
            "SELECT * FROM appointments WHERE scheduled_at >= ? AND scheduled_at < ? "
            "AND status != 'cancelled'"
        )
        args: list[Any] = [self._day_start(today), self._day_start(tomorrow)]
        if params.appointment_code is not None:
            sql += " AND code = ?"
            args.append(params.appointment_code.upper())
        if params.dni is not None:
            sql += " AND dni = ?"
            args.append(params.dni)
        rows = tx.conn.execute(sql + " ORDER BY scheduled_at", args).fetchall()
        if not rows:
            raise _error(ErrorCode.UNKNOWN_APPOINTMENT)
        pending = [r for r in rows if r["status"] == "pending"]
        if not pending:
            raise _error(
                ErrorCode.INVALID_TRANSITION, "Su cita ya fue registrada; conserve su turno."
            )
        appointment = pending[0]
        service = self._service(appointment["service_code"], "service_code")
        self._check_open_hours(tx)
        ticket = self._create_ticket(
            tx,
            service=service,
            preference=PreferenceCategory.NONE,
            origin=TicketOrigin.APPOINTMENT,
            dni=appointment["dni"],
            appointment=appointment,
        )
        tx.conn.execute(
            "UPDATE appointments SET status = 'checked_in', ticket_id = ?, checked_in_at = ?, "
            "revision = revision + 1, updated_at = ? WHERE id = ?",
            (ticket["id"], tx.now_iso, tx.now_iso, appointment["id"]),
        )
        after = tx.conn.execute(
            "SELECT * FROM appointments WHERE id = ?", (appointment["id"],)
        ).fetchone()
        self._audit(
            tx,
            entity_type="appointment",
            entity_id=appointment["id"],
            before={"status": appointment["status"]},
            after={"status": "checked_in", "ticket_id": ticket["id"]},
        )
        self._outbox(
            tx, "appointment.checked_in", "appointment", appointment["id"], _appointment(after)
        )
        self._answer_issued(tx, ticket, service)

    def _report_print(self, tx: _Tx, params: ReportPrintParams) -> None:
        ticket = self._ticket_by_id(tx, params.ticket_id)
        if tx.actor.role != Role.ADMIN and ticket["issued_by_device"] != tx.actor.device_id:
            raise _error(
                ErrorCode.FORBIDDEN,
                "Solo el equipo que emitió el turno puede informar su impresión.",
            )
        after = self._update_ticket(
            tx,
            ticket,
            "print_reported",
            {"needs_reprint": 0 if params.ok else 1},
            details={"ok": params.ok, "error": params.error},
        )
        tx.outcome.result = {"ticket": self._view(after).model_dump(mode="json")}

    _kiosk_handlers: dict[Action, Callable[..., None]] = {
        Action.ISSUE_TICKET: _issue_ticket,
        Action.CHECKIN_APPOINTMENT: _checkin_appointment,
        Action.REPORT_PRINT: _report_print,
    }

    def _check_open_hours(self, tx: _Tx) -> None:
        if not self._policy.issue_outside_hours and not self.config.is_open(tx.now):
            raise _error(ErrorCode.SEDE_CLOSED)

    def _create_ticket(
        self,
        tx: _Tx,
        *,
        service: ServiceConfig,
        preference: PreferenceCategory,
        origin: TicketOrigin,
        dni: str | None,
        appointment: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        business_date = self._business_date(tx.now)
        # the sequence row is bumped inside this transaction: never max(n)+1, never reused
        seq = tx.conn.execute(
            "INSERT INTO ticket_sequences (service_code, business_date, last_number) "
            "VALUES (?, ?, 1) ON CONFLICT (service_code, business_date) "
            "DO UPDATE SET last_number = last_number + 1 RETURNING last_number",
            (service.code, business_date),
        ).fetchone()[0]
        ticket = {
            "id": _new_id(),
            "sede_id": self.sede_id,
            "business_date": business_date,
            "service_code": service.code,
            "number": f"{service.letter}{seq:03d}",
            "number_seq": seq,
            "status": "waiting",
            "preference_category": str(preference),
            "origin": str(origin),
            "appointment_id": appointment["id"] if appointment else None,
            "appointment_due_at": appointment["scheduled_at"] if appointment else None,
            "dni": dni,
            "issued_at": tx.now_iso,
            "arrived_at": tx.now_iso,
            "first_called_at": None,
            "called_at": None,
            "started_at": None,
            "finished_at": None,
            "counter_id": None,
            "target_counter_id": None,
            "issued_by_role": str(tx.actor.role),
            "issued_by_device": tx.actor.device_id,
            "served_by": None,
            "recalls": 0,
            "outcome": None,
            "note": None,
            "needs_reprint": 0,
            "revision": 1,
            "updated_at": tx.now_iso,
        }
        columns = ", ".join(ticket)
        marks = ", ".join("?" for _ in ticket)
        tx.conn.execute(f"INSERT INTO tickets ({columns}) VALUES ({marks})", tuple(ticket.values()))  # noqa: S608
        self._adjust_lines(tx, None, ticket)
        self._ticket_history(tx, None, ticket, "issued", {})
        tx.outcome.changed_services.add(service.code)
        tx.outcome.display_changed = True
        return ticket

    def _answer_issued(self, tx: _Tx, ticket: Mapping[str, Any], service: ServiceConfig) -> None:
        due = ordering.due_limit(tx.now, self._policy.appointment_window_min)
        klass = ordering.priority_class(ticket, due_limit=due)
        # a ticket issued now arrives last: everyone waiting in a class <= its class is ahead
        per_person, open_counters, (_, in_line, preferential) = self._service_pace(
            tx.conn, service.code
        )
        if klass == ordering.REGULAR:
            ahead = in_line - 1
        elif klass == ordering.PREFERENTIAL:
            ahead = preferential - 1
        else:
            ahead = self._count_ahead(tx, service.code, ticket["id"], due, klass)
        view = self._view(
            ticket, people_ahead=ahead, estimated=_estimate(ahead, per_person, open_counters)
        )
        issued = IssuedTicket(ticket=view, sede_name=self.config.name, service_name=service.name)
        # The kiosk prints from this answer (it carries everything a PrintJob would): no
        # PrintJob for a fresh ticket. PrintJobs are for reprints ordered from a counter.
        tx.outcome.result = issued.model_dump(mode="json")

    def _count_ahead(self, tx: _Tx, service_code: str, ticket_id: str, due: str, klass: int) -> int:
        return tx.conn.execute(COUNT_AHEAD_SQL, (service_code, ticket_id, due, klass)).fetchone()[0]

    # ------------------------------------------------------------------ counter commands

    def _counter_command(
        self, tx: _Tx, action: Action, params: BaseModel, staff: StaffUserConfig | None
    ) -> None:
        counter_id = tx.actor.device_id
        if counter_id not in self._counters:
            raise _error(ErrorCode.UNKNOWN_COUNTER)
        counter = self._counter_row(tx.conn, counter_id)
        if action is Action.SIGN_IN:
            assert staff is not None
            self._sign_in(tx, counter, staff)
            return
        if counter["username"] is None:
            raise _error(ErrorCode.NOT_SIGNED_IN)
        tx.username = counter["username"]
        handler = self._counter_handlers[action]
        handler(self, tx, counter, params)

    def _sign_in(self, tx: _Tx, counter: sqlite3.Row, staff: StaffUserConfig) -> None:
        tx.username = staff.username
        if staff.counters and counter["counter_id"] not in staff.counters:
            raise _error(ErrorCode.FORBIDDEN, "Su usuario no está habilitado en esta ventanilla.")
        if counter["username"] == staff.username:
            tx.outcome.result = self._counter_result(tx, counter["counter_id"])
            return  # already signed in here: nothing changes
        self._leave_other_counters(tx, staff.username, counter["counter_id"])
        if counter["username"] is not None:
            self._require_free_hands(tx, counter)
            self._end_session(tx, counter, "replaced")
        session = {
            "id": _new_id(),
            "sede_id": self.sede_id,
            "counter_id": counter["counter_id"],
            "username": staff.username,
            "signed_in_at": tx.now_iso,
            "signed_out_at": None,
            "end_reason": None,
            "revision": 1,
            "updated_at": tx.now_iso,
        }
        tx.conn.execute(
            "INSERT INTO counter_sessions (id, sede_id, counter_id, username, signed_in_at, "
            "signed_out_at, end_reason, revision, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            tuple(session.values()),
        )
        self._outbox(tx, "counter_session.started", "counter_session", session["id"], session)
        self._update_counter(
            tx,
            counter,
            "signed_in",
            {"username": staff.username, "session_id": session["id"]},
        )
        tx.outcome.result = self._counter_result(tx, counter["counter_id"])

    def _leave_other_counters(self, tx: _Tx, username: str, here: str) -> None:
        """One person, one counter: signing in here signs the user out of any other counter
        (closed, parked tickets back to their line, session ended "moved"), unless that
        counter holds a ticket in hand — then the sign-in is refused, so that nobody being
        attended there is silently dropped (docs/queue.md)."""
        others = tx.conn.execute(
            "SELECT * FROM counters WHERE username = ? AND counter_id != ? ORDER BY counter_id",
            (username, here),
        ).fetchall()
        for other in others:
            if self._in_hand(tx.conn, other["counter_id"]) is not None:
                config = self._counters.get(other["counter_id"])
                raise _error(
                    ErrorCode.SIGNED_IN_ELSEWHERE,
                    f"Su usuario tiene un turno en atención en "
                    f"{config.name if config else other['counter_id']}: finalícelo, derívelo o "
                    "póngalo en espera allí antes de cambiar de ventanilla.",
                )
            if other["status"] != "closed":
                other = self._close(tx, other)
            self._end_session(tx, other, "moved")
            other = self._counter_row(tx.conn, other["counter_id"])
            self._update_counter(tx, other, "signed_out", {"username": None, "session_id": None})

    def _sign_out(self, tx: _Tx, counter: sqlite3.Row, params: Empty) -> None:
        self._require_free_hands(tx, counter)
        if counter["status"] != "closed":
            counter = self._close(tx, counter)
        self._end_session(tx, counter, "signed_out")
        counter = self._counter_row(tx.conn, counter["counter_id"])
        self._update_counter(tx, counter, "signed_out", {"username": None, "session_id": None})
        tx.outcome.result = self._counter_result(tx, counter["counter_id"])

    def _end_session(self, tx: _Tx, counter: sqlite3.Row, reason: str) -> None:
        if counter["session_id"] is None:
            return
        tx.conn.execute(
            "UPDATE counter_sessions SET signed_out_at = ?, end_reason = ?, "
            "revision = revision + 1, updated_at = ? WHERE id = ?",
            (tx.now_iso, reason, tx.now_iso, counter["session_id"]),
        )
        row = tx.conn.execute(
            "SELECT * FROM counter_sessions WHERE id = ?", (counter["session_id"],)
        ).fetchone()
        self._outbox(tx, "counter_session.ended", "counter_session", row["id"], dict(row))

    def _open_counter(self, tx: _Tx, counter: sqlite3.Row, params: OpenCounterParams) -> None:
        configured = self._counters[counter["counter_id"]].services
        wanted = params.services if params.services is not None else list(configured)
        if not wanted:
            raise _error(ErrorCode.INVALID_PAYLOAD, "Indique al menos un servicio.", "services")
        for code in wanted:
            if code not in configured:
                raise _error(
                    ErrorCode.UNKNOWN_SERVICE,
                    "La ventanilla no atiende ese servicio.",
                    "services",
                )
        ordered = [code for code in configured if code in wanted]  # keep config order
        if counter["status"] == "paused":
            self._end_pause(tx, counter)
        since = counter["since"] if counter["status"] == "open" else tx.now_iso
        self._update_counter(
            tx,
            counter,
            "opened",
            {
                "status": "open",
                "pause_reason": None,
                "pause_id": None,
                "active_services": _dumps(ordered),
                "since": since,
            },
        )
        tx.outcome.changed_services.update(ordered)
        tx.outcome.changed_services.update(json.loads(counter["active_services"]))
        tx.outcome.result = self._counter_result(tx, counter["counter_id"])

    def _pause_counter(self, tx: _Tx, counter: sqlite3.Row, params: PauseCounterParams) -> None:
        if counter["status"] != "open":
            raise _error(ErrorCode.COUNTER_NOT_OPEN)
        self._require_free_hands(tx, counter)
        pause = {
            "id": _new_id(),
            "sede_id": self.sede_id,
            "counter_id": counter["counter_id"],
            "session_id": counter["session_id"],
            "reason": params.reason,
            "started_at": tx.now_iso,
            "ended_at": None,
            "revision": 1,
            "updated_at": tx.now_iso,
        }
        tx.conn.execute(
            "INSERT INTO counter_pauses (id, sede_id, counter_id, session_id, reason, "
            "started_at, ended_at, revision, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            tuple(pause.values()),
        )
        self._outbox(tx, "counter_pause.started", "counter_pause", pause["id"], pause)
        self._update_counter(
            tx,
            counter,
            "paused",
            {
                "status": "paused",
                "pause_reason": params.reason,
                "pause_id": pause["id"],
                "since": tx.now_iso,
            },
        )
        tx.outcome.changed_services.update(json.loads(counter["active_services"]))
        tx.outcome.result = self._counter_result(tx, counter["counter_id"])

    def _end_pause(self, tx: _Tx, counter: sqlite3.Row) -> None:
        if counter["pause_id"] is None:
            return
        tx.conn.execute(
            "UPDATE counter_pauses SET ended_at = ?, revision = revision + 1, updated_at = ? "
            "WHERE id = ?",
            (tx.now_iso, tx.now_iso, counter["pause_id"]),
        )
        row = tx.conn.execute(
            "SELECT * FROM counter_pauses WHERE id = ?", (counter["pause_id"],)
        ).fetchone()
        self._outbox(tx, "counter_pause.ended", "counter_pause", row["id"], dict(row))

    def _close_counter(self, tx: _Tx, counter: sqlite3.Row, params: Empty) -> None:
        if counter["status"] == "closed":
            raise _error(ErrorCode.COUNTER_NOT_OPEN, "La ventanilla ya está cerrada.")
        self._require_free_hands(tx, counter)
        self._close(tx, counter)
        tx.outcome.result = self._counter_result(tx, counter["counter_id"])

    def _close(self, tx: _Tx, counter: sqlite3.Row) -> sqlite3.Row:
        """Close a counter with free hands: end its pause, send its parked tickets back to
        their lines (original arrival kept), mark it closed."""
        if counter["status"] == "paused":
            self._end_pause(tx, counter)
        for ticket in tx.conn.execute(
            "SELECT * FROM tickets WHERE counter_id = ? AND status = 'parked'",
            (counter["counter_id"],),
        ).fetchall():
            self._update_ticket(
                tx,
                ticket,
                "returned_to_line",
                _back_to_line(ticket["service_code"], None),
                details={"reason": "counter_closed"},
            )
        self._update_counter(
            tx,
            counter,
            "closed",
            {
                "status": "closed",
                "pause_reason": None,
                "pause_id": None,
                "since": tx.now_iso,
            },
        )
        tx.outcome.changed_services.update(json.loads(counter["active_services"]))
        return self._counter_row(tx.conn, counter["counter_id"])

    def _call_next(self, tx: _Tx, counter: sqlite3.Row, params: Empty) -> None:
        self._require_callable(tx, counter)
        counter_id = counter["counter_id"]
        active = json.loads(counter["active_services"])
        due = ordering.due_limit(tx.now, self._policy.appointment_window_min)
        heads: dict[str, sqlite3.Row] = {}
        for code in active:
            row = tx.conn.execute(
                "SELECT * FROM tickets WHERE status = 'waiting' AND service_code = ? "  # noqa: S608
                f"AND target_counter_id IS NULL ORDER BY {LINE_ORDER} LIMIT 1",
                (code, due),
            ).fetchone()
            if row is not None:
                heads[code] = row
        direct = tx.conn.execute(
            "SELECT * FROM tickets WHERE target_counter_id = ? AND status = 'waiting'",
            (counter_id,),
        ).fetchall()
        weights = {code: self._counters[counter_id].services[code] for code in active}
        choice = ordering.choose_next(
            heads=heads,
            direct=direct,
            weights=weights,
            wrr_state=json.loads(counter["wrr_state"]),
            due_limit=due,
            aging_limit=iso(tx.now - timedelta(seconds=self._policy.aging_after_s)),
        )
        if choice is None:
            raise _error(ErrorCode.QUEUE_EMPTY)
        if choice.reason == "weighted":
            # scheduling state only; not a business event
            tx.conn.execute(
                "UPDATE counters SET wrr_state = ? WHERE counter_id = ?",
                (_dumps(choice.wrr_state), counter_id),
            )
        self._call(tx, counter, choice.ticket, reason=choice.reason)

    def _call_ticket(self, tx: _Tx, counter: sqlite3.Row, params: TicketRef) -> None:
        if params.ticket_id is None and params.number is None:
            raise _error(ErrorCode.INVALID_PAYLOAD, "Indique el turno a llamar.", "ticket_id")
        self._require_callable(tx, counter)
        ticket = self._ticket_by_ref(tx, params)
        if ticket["status"] != "waiting":
            raise _error(ErrorCode.INVALID_TRANSITION, "Ese turno no está en espera.")
        counter_id = counter["counter_id"]
        target = ticket["target_counter_id"]
        attends = ticket["service_code"] in json.loads(counter["active_services"])
        # a service central withdrew: its waiting tickets may be called by number anywhere
        attends = attends or ticket["service_code"] not in self._offered
        if (target is not None and target != counter_id) or (target is None and not attends):
            raise _error(
                ErrorCode.INVALID_TRANSITION, "Ese turno corresponde a otra ventanilla o servicio."
            )
        self._call(tx, counter, ticket, reason="specific")

    def _call(self, tx: _Tx, counter: sqlite3.Row, ticket: Mapping[str, Any], *, reason: str):
        after = self._update_ticket(
            tx,
            ticket,
            "called",
            {
                "status": "called",
                "counter_id": counter["counter_id"],
                "target_counter_id": None,
                "called_at": tx.now_iso,
                "first_called_at": ticket["first_called_at"] or tx.now_iso,
                "recalls": 0,
                "served_by": tx.username,
            },
            details={"reason": reason, "recalls": 0},
        )
        self._announce(tx, after)
        tx.outcome.result = {"ticket": self._view(after).model_dump(mode="json")}

    def _announce(self, tx: _Tx, ticket: Mapping[str, Any]) -> None:
        counter = self._counters[ticket["counter_id"]]
        tx.outcome.calls.append(
            CallEvent(
                call=CallView(
                    number=ticket["number"],
                    service_code=ticket["service_code"],
                    counter_id=counter.id,
                    counter_name=counter.name,
                    counter_number=counter.number,
                    called_at=store.parse_iso(ticket["called_at"]),  # type: ignore[arg-type]
                    recalls=ticket["recalls"],
                )
            )
        )
        tx.outcome.display_changed = True

    def _recall(self, tx: _Tx, counter: sqlite3.Row, params: TicketRef) -> None:
        ticket = self._held_ticket(tx, counter, params, ("called",))
        if ticket["recalls"] >= self._policy.max_recalls:
            after = self._update_ticket(
                tx,
                ticket,
                "no_show",
                {
                    "status": "no_show",
                    "outcome": str(Outcome.NO_SE_PRESENTO),
                    "finished_at": tx.now_iso,
                },
                details={"reason": "max_recalls", "recalls": ticket["recalls"]},
            )
            tx.outcome.result = {
                "ticket": self._view(after).model_dump(mode="json"),
                "no_show": True,
            }
            return
        after = self._update_ticket(
            tx,
            ticket,
            "recalled",
            {"recalls": ticket["recalls"] + 1, "called_at": tx.now_iso},
            details={"recalls": ticket["recalls"] + 1},
        )
        self._announce(tx, after)
        tx.outcome.result = {"ticket": self._view(after).model_dump(mode="json"), "no_show": False}

    def _start_attention(self, tx: _Tx, counter: sqlite3.Row, params: TicketRef) -> None:
        ticket = self._held_ticket(tx, counter, params, ("called",))
        after = self._update_ticket(
            tx, ticket, "started", {"status": "serving", "started_at": tx.now_iso}
        )
        tx.outcome.result = {"ticket": self._view(after).model_dump(mode="json")}

    def _finish_attention(
        self, tx: _Tx, counter: sqlite3.Row, params: FinishAttentionParams
    ) -> None:
        ticket = self._held_ticket(tx, counter, TicketRef(), IN_HAND)
        if params.outcome is not Outcome.NO_SE_PRESENTO and ticket["status"] != "serving":
            raise _error(
                ErrorCode.INVALID_TRANSITION,
                "Inicie la atención antes de finalizarla, o registre que no se presentó.",
            )
        status = "no_show" if params.outcome is Outcome.NO_SE_PRESENTO else "done"
        after = self._update_ticket(
            tx,
            ticket,
            "finished",
            {
                "status": status,
                "outcome": str(params.outcome),
                "note": params.note,
                "finished_at": tx.now_iso,
            },
            details={"outcome": str(params.outcome)},
        )
        tx.outcome.result = {"ticket": self._view(after).model_dump(mode="json")}

    def _transfer_ticket(self, tx: _Tx, counter: sqlite3.Row, params: TransferTicketParams) -> None:
        if params.to_service_code is None and params.to_counter_id is None:
            raise _error(
                ErrorCode.INVALID_PAYLOAD,
                "Indique el servicio o la ventanilla de destino.",
                "to_service_code",
            )
        ticket = self._held_ticket(tx, counter, TicketRef(), IN_HAND)
        service_code = ticket["service_code"]
        if params.to_service_code is not None:
            service_code = self._service(params.to_service_code, "to_service_code").code
        target = None
        if params.to_counter_id is not None:
            if params.to_counter_id not in self._counters:
                raise _error(ErrorCode.UNKNOWN_COUNTER, field="to_counter_id")
            if params.to_counter_id == counter["counter_id"]:
                raise _error(
                    ErrorCode.INVALID_TRANSITION,
                    "No puede derivar un turno a la misma ventanilla.",
                    "to_counter_id",
                )
            target = params.to_counter_id
        elif service_code == ticket["service_code"]:
            raise _error(
                ErrorCode.INVALID_TRANSITION,
                "El turno ya pertenece a ese servicio.",
                "to_service_code",
            )
        after = self._update_ticket(
            tx,
            ticket,
            "transferred",
            _back_to_line(service_code, target),
            details={
                "from_service": ticket["service_code"],
                "to_service": service_code,
                "from_counter": counter["counter_id"],
                "to_counter": target,
                "note": params.note,
            },
        )
        tx.outcome.result = {"ticket": self._view(after).model_dump(mode="json")}

    def _park_ticket(self, tx: _Tx, counter: sqlite3.Row, params: TicketRef) -> None:
        ticket = self._held_ticket(tx, counter, params, IN_HAND)
        after = self._update_ticket(tx, ticket, "parked", {"status": "parked"})
        tx.outcome.result = {"ticket": self._view(after).model_dump(mode="json")}

    def _resume_ticket(self, tx: _Tx, counter: sqlite3.Row, params: TicketRef) -> None:
        if params.ticket_id is None and params.number is None:
            parked = tx.conn.execute(
                "SELECT * FROM tickets WHERE counter_id = ? AND status = 'parked'",
                (counter["counter_id"],),
            ).fetchall()
            if len(parked) != 1:
                raise _error(
                    ErrorCode.INVALID_PAYLOAD if parked else ErrorCode.INVALID_TRANSITION,
                    "Indique el turno a retomar." if parked else "No hay turnos en espera aquí.",
                    "ticket_id",
                )
            ticket = parked[0]
        else:
            ticket = self._ticket_by_ref(tx, params)
        if ticket["status"] != "parked" or ticket["counter_id"] != counter["counter_id"]:
            raise _error(ErrorCode.INVALID_TRANSITION, "Ese turno no está en espera aquí.")
        self._require_callable(tx, counter)
        after = self._update_ticket(
            tx,
            ticket,
            "resumed",
            {"status": "serving", "started_at": ticket["started_at"] or tx.now_iso},
        )
        tx.outcome.result = {"ticket": self._view(after).model_dump(mode="json")}

    def _cancel_ticket(self, tx: _Tx, counter: sqlite3.Row, params: TicketRef) -> None:
        if params.ticket_id is None and params.number is None:
            ticket = self._held_ticket(tx, counter, params, IN_HAND)
        else:
            ticket = self._ticket_by_ref(tx, params)
            held_elsewhere = (
                ticket["status"] in ("called", "serving", "parked")
                and ticket["counter_id"] != counter["counter_id"]
            )
            if ticket["status"] in FINAL or held_elsewhere:
                raise _error(ErrorCode.INVALID_TRANSITION)
        after = self._update_ticket(
            tx, ticket, "cancelled", {"status": "cancelled", "finished_at": tx.now_iso}
        )
        tx.outcome.result = {"ticket": self._view(after).model_dump(mode="json")}

    def _reprint_ticket(self, tx: _Tx, counter: sqlite3.Row, params: TicketRef) -> None:
        if params.ticket_id is None and params.number is None:
            ticket = self._held_ticket(tx, counter, params, IN_HAND)
        else:
            ticket = self._ticket_by_ref(tx, params)
        if ticket["status"] in FINAL:
            raise _error(ErrorCode.INVALID_TRANSITION, "Ese turno ya terminó.")
        device = (
            ticket["issued_by_device"]
            if ticket["issued_by_role"] == str(Role.KIOSK)
            else counter["counter_id"]
        )
        after = self._update_ticket(
            tx, ticket, "reprint_requested", {}, details={"device_id": device}
        )
        service = self._services[after["service_code"]]
        view = self._view(after)
        tx.outcome.prints.append(
            (
                device,
                PrintJob(
                    ticket=view,
                    sede_name=self.config.name,
                    service_name=service.name,
                    reprint=True,
                ),
            )
        )
        tx.outcome.result = {"ticket": view.model_dump(mode="json"), "device_id": device}

    _counter_handlers: dict[Action, Callable[..., None]] = {
        Action.SIGN_OUT: _sign_out,
        Action.OPEN_COUNTER: _open_counter,
        Action.PAUSE_COUNTER: _pause_counter,
        Action.CLOSE_COUNTER: _close_counter,
        Action.CALL_NEXT: _call_next,
        Action.CALL_TICKET: _call_ticket,
        Action.RECALL: _recall,
        Action.START_ATTENTION: _start_attention,
        Action.FINISH_ATTENTION: _finish_attention,
        Action.TRANSFER_TICKET: _transfer_ticket,
        Action.PARK_TICKET: _park_ticket,
        Action.RESUME_TICKET: _resume_ticket,
        Action.CANCEL_TICKET: _cancel_ticket,
        Action.REPRINT_TICKET: _reprint_ticket,
        Action.OPEN_CASE_INTAKE: intake.open_case_intake,
        Action.LIST_CASE_INTAKES: intake.list_case_intakes,
        Action.AMEND_CASE_INTAKE: intake.amend_case_intake,
    }

    # ------------------------------------------------------------------ command helpers

    def _service(self, code: str, field_name: str) -> ServiceConfig:
        service = self._services.get(code)
        if service is None or code not in self._offered:
            raise _error(ErrorCode.UNKNOWN_SERVICE, field=field_name)
        return service

    def _counter_row(self, conn: sqlite3.Connection, counter_id: str) -> sqlite3.Row:
        return conn.execute("SELECT * FROM counters WHERE counter_id = ?", (counter_id,)).fetchone()

    def _in_hand(self, conn: sqlite3.Connection, counter_id: str) -> sqlite3.Row | None:
        return conn.execute(
            "SELECT * FROM tickets WHERE counter_id = ? AND status IN ('called', 'serving') "
            "ORDER BY called_at DESC LIMIT 1",
            (counter_id,),
        ).fetchone()

    def _require_free_hands(self, tx: _Tx, counter: sqlite3.Row) -> None:
        if self._in_hand(tx.conn, counter["counter_id"]) is not None:
            raise _error(
                ErrorCode.COUNTER_BUSY,
                "La ventanilla tiene un turno en curso: finalícelo, derívelo o póngalo en espera.",
            )

    def _require_callable(self, tx: _Tx, counter: sqlite3.Row) -> None:
        if counter["status"] != "open":
            raise _error(ErrorCode.COUNTER_NOT_OPEN)
        if self._in_hand(tx.conn, counter["counter_id"]) is not None:
            raise _error(ErrorCode.COUNTER_BUSY)

    def _ticket_by_id(self, tx: _Tx, ticket_id: str) -> sqlite3.Row:
        row = tx.conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise _error(ErrorCode.UNKNOWN_TICKET, field="ticket_id")
        return row

    def _ticket_by_ref(self, tx: _Tx, ref: TicketRef) -> sqlite3.Row:
        if ref.ticket_id is not None:
            row = self._ticket_by_id(tx, ref.ticket_id)
            if ref.number is not None and row["number"] != ref.number:
                raise _error(ErrorCode.UNKNOWN_TICKET, field="number")
            return row
        # numbers repeat across days: prefer a live ticket (latest day first), then today's
        row = (
            tx.conn.execute(
                "SELECT * FROM tickets WHERE status IN ('waiting', 'called', 'serving', 'parked') "
                "AND number = ? ORDER BY business_date DESC LIMIT 1",
                (ref.number,),
            ).fetchone()
            or tx.conn.execute(
                "SELECT * FROM tickets WHERE business_date = ? AND number = ?",
                (self._business_date(tx.now), ref.number),
            ).fetchone()
        )
        if row is None:
            raise _error(ErrorCode.UNKNOWN_TICKET, field="number")
        return row

    def _held_ticket(
        self, tx: _Tx, counter: sqlite3.Row, ref: TicketRef, statuses: tuple[str, ...]
    ) -> sqlite3.Row:
        """The ticket this counter is acting on: the one named, else the one in hand."""
        if ref.ticket_id is None and ref.number is None:
            ticket = self._in_hand(tx.conn, counter["counter_id"])
            if ticket is None:
                raise _error(
                    ErrorCode.INVALID_TRANSITION, "La ventanilla no tiene un turno en curso."
                )
        else:
            ticket = self._ticket_by_ref(tx, ref)
        if ticket["counter_id"] != counter["counter_id"] or ticket["status"] not in statuses:
            raise _error(ErrorCode.INVALID_TRANSITION)
        return ticket

    def _update_ticket(
        self,
        tx: _Tx,
        before: Mapping[str, Any],
        event_type: str,
        changes: Mapping[str, Any],
        *,
        details: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        after = dict(before)
        after.update(changes)
        after["revision"] = before["revision"] + 1
        after["updated_at"] = tx.now_iso
        assignments = ", ".join(f"{column} = ?" for column in (*changes, "revision", "updated_at"))
        cursor = tx.conn.execute(
            f"UPDATE tickets SET {assignments} WHERE id = ? AND revision = ?",  # noqa: S608
            (*changes.values(), after["revision"], tx.now_iso, before["id"], before["revision"]),
        )
        if cursor.rowcount != 1:
            raise _error(ErrorCode.CONFLICT)
        self._adjust_lines(tx, before, after)
        self._ticket_history(tx, before, after, event_type, details or {})
        out = tx.outcome
        out.changed_services.update({before["service_code"], after["service_code"]})
        for counter_id in (
            before["counter_id"],
            after["counter_id"],
            before["target_counter_id"],
            after["target_counter_id"],
        ):
            if counter_id is not None:
                out.changed_counters.add(counter_id)
        out.display_changed = True
        return after

    def _ticket_history(
        self,
        tx: _Tx,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any],
        event_type: str,
        details: Mapping[str, Any],
    ) -> None:
        event = {
            "ticket_id": after["id"],
            "id": _new_id(),
            "sede_id": self.sede_id,
            "event_type": event_type,
            "from_status": before["status"] if before else None,
            "to_status": after["status"],
            "service_code": after["service_code"],
            "counter_id": after["counter_id"]
            or (before["counter_id"] if before else None)
            or tx.actor.device_id,
            "username": tx.username,
            "details": _dumps(details),
            "request_id": tx.request_id,
            "at": tx.now_iso,
        }
        tx.conn.execute(
            "INSERT INTO ticket_events (ticket_id, id, sede_id, event_type, from_status, "
            "to_status, service_code, counter_id, username, details, request_id, at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            tuple(event.values()),
        )
        self._audit(
            tx,
            entity_type="ticket",
            entity_id=after["id"],
            before=_ticket_summary(before) if before else None,
            after=_ticket_summary(after),
        )
        self._outbox(
            tx,
            f"ticket.{event_type}",
            "ticket",
            after["id"],
            {"ticket": _ticket_record(after), "event": {**event, "details": details}},
        )

    def _update_counter(
        self, tx: _Tx, before: sqlite3.Row, event_type: str, changes: Mapping[str, Any]
    ) -> None:
        after = dict(before)
        after.update(changes)
        after["revision"] = before["revision"] + 1
        after["updated_at"] = tx.now_iso
        assignments = ", ".join(f"{column} = ?" for column in (*changes, "revision", "updated_at"))
        tx.conn.execute(
            f"UPDATE counters SET {assignments} WHERE counter_id = ?",  # noqa: S608
            (*changes.values(), after["revision"], tx.now_iso, before["counter_id"]),
        )
        summary_keys = ("status", "pause_reason", "active_services", "username")
        self._audit(
            tx,
            entity_type="counter",
            entity_id=before["counter_id"],
            before={k: before[k] for k in summary_keys},
            after={k: after[k] for k in summary_keys},
        )
        record = {k: v for k, v in after.items() if k != "wrr_state"}
        record["active_services"] = json.loads(after["active_services"])
        record["sede_id"] = self.sede_id
        self._outbox(tx, f"counter.{event_type}", "counter", before["counter_id"], record)
        tx.outcome.changed_counters.add(before["counter_id"])
        tx.outcome.display_changed = True

    def _audit(
        self,
        tx: _Tx,
        *,
        entity_type: str,
        entity_id: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> None:
        tx.conn.execute(
            "INSERT INTO audit_log (at, actor_role, actor_device, username, action, "
            "entity_type, entity_id, before, after, request_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                tx.now_iso,
                str(tx.actor.role),
                tx.actor.device_id,
                tx.username,
                tx.action,
                entity_type,
                entity_id,
                _dumps(before) if before is not None else None,
                _dumps(after) if after is not None else None,
                tx.request_id,
            ),
        )

    def _outbox(
        self,
        tx: _Tx,
        event_type: str,
        aggregate_type: str,
        aggregate_id: str,
        payload: Mapping[str, Any],
    ) -> None:
        outbox.write(
            tx.conn,
            event_type=event_type,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            payload=payload,
            at=tx.now_iso,
            sede_id=self.sede_id,
            hub_epoch=self.hub_epoch,
        )

    def _counter_result(self, tx: _Tx, counter_id: str) -> dict[str, Any]:
        return {"counter": self._counter_state(tx.conn, counter_id).model_dump(mode="json")}

    # ------------------------------------------------------------------ time-driven changes

    def housekeeping(self) -> CommandOutcome:
        """Day rollover (reset policy) and appointments entering their window."""
        with self._lock:
            now = self._now()
            store.begin_immediate(self._conn)
            try:
                tx = _Tx(self._conn, now, iso(now), SYSTEM_ACTOR, "housekeeping", None)
                today = self._business_date(now)
                stored = self._meta().get("business_date", today)
                if today > stored:
                    self._roll_over(tx, stored, today)
                self._apply_central(tx)
                due = ordering.due_limit(now, self._policy.appointment_window_min)
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
            self._last_due_limit = max(self._last_due_limit, due)
            return tx.outcome

    def _roll_over(self, tx: _Tx, previous: str, today: str) -> None:
        expired = 0
        if self._policy.reset is ResetPolicy.DAILY:
            for ticket in tx.conn.execute(
                "SELECT * FROM tickets WHERE status IN ('waiting', 'called', 'serving', "
                "'parked') AND business_date < ?",
                (today,),
            ).fetchall():
                self._update_ticket(
                    tx,
                    ticket,
                    "expired",
                    {"status": "cancelled", "finished_at": tx.now_iso},
                    details={"reason": "day_rollover"},
                )
                expired += 1
        self._set_meta("business_date", today)
        summary = {
            "from": previous,
            "to": today,
            "policy": str(self._policy.reset),
            "expired": expired,
        }
        self._audit(tx, entity_type="hub", entity_id=self.sede_id, before=None, after=summary)
        self._outbox(tx, "hub.day_rolled_over", "hub", self.sede_id, summary)
        tx.outcome.changed_services.update(self._services)
        tx.outcome.changed_counters.update(self._counters)
        tx.outcome.display_changed = True

    # ------------------------------------------------------------------ central's word

    def _apply_central(self, tx: _Tx) -> None:
        """Apply what the sync agent pulled from central (hub/domain/central_records.py): a new
        sede configuration, users revoked while signed in, display messages entering or
        leaving their validity window, and the appointment window. Runs in housekeeping's
        transaction; every change writes its audit and outbox rows."""
        saved = self._config_state()
        try:
            pulled = central_records.pulled_config(tx.conn, self._bootstrap_config)
            if pulled.marker != self._config_marker:
                if pulled.error:
                    log.warning(
                        "central configuration not applied",
                        extra={
                            "alegra_fields": {"event": "config_rejected", "error": pulled.error}
                        },
                    )
                    kept = central_records.config_from_json(
                        self._meta().get("sede_config_in_effect"), self._bootstrap_config
                    )
                    if not self._config_marker and kept is not None:
                        # a restart: keep running on the configuration the file was running on
                        self._reconfigure(
                            replace(tx, action="apply_central_config"), kept, quiet=True
                        )
                else:
                    if pulled.ignored:
                        log.warning(
                            "central configuration has fields this hub does not know: "
                            "applied without them; upgrade the hub",
                            extra={
                                "alegra_fields": {
                                    "event": "config_fields_ignored",
                                    "field": ", ".join(pulled.ignored),
                                }
                            },
                        )
                    new = pulled.config or self._bootstrap_config
                    # the file already runs on this revision (a restart, `hub status`): take it
                    # up in memory without recording it again
                    quiet = self._meta().get("sede_config_applied", "") == pulled.marker
                    self._reconfigure(replace(tx, action="apply_central_config"), new, quiet=quiet)
                    self._set_meta("sede_config_applied", pulled.marker)
                    self._set_meta("sede_config_in_effect", new.model_dump_json(exclude={"staff"}))
                self._config_marker = pulled.marker
            for counter_id, username in central_records.revoked_signed_in(tx.conn):
                if counter_id in self._counters:
                    revoke = replace(tx, action="revoke_user", username=username)
                    self._release_counter(revoke, counter_id, "revoked")
        except BaseException:
            self._restore_config_state(saved)
            raise
        messages = central_records.current_messages(
            central_records.display_messages(tx.conn), tx.now
        )
        if messages != self._messages:
            self._messages = messages
            tx.outcome.display_changed = True
        matters = central_records.matter_catalogue(tx.conn)
        if matters != self._matter_catalogue:  # central's catalogue pulled: republish config
            self._matter_catalogue = matters
            tx.outcome.config_changed = True
        day_start = self._day_start(self._business_date(tx.now))
        if day_start != self._pruned_before:
            central_records.prune_past_appointments(tx.conn, day_start)
            self._pruned_before = day_start
        # retained state of what no longer exists is cleared by the transport, not republished
        tx.outcome.changed_counters -= tx.outcome.removed_counters
        tx.outcome.changed_services -= tx.outcome.removed_services

    def _config_state(self) -> tuple[Any, ...]:
        return (
            self.config,
            self._tz,
            self._policy,
            self._services,
            self._counters,
            self._staff,
            self._offered,
            self._config_marker,
        )

    def _restore_config_state(self, state: tuple[Any, ...]) -> None:
        (
            self.config,
            self._tz,
            self._policy,
            self._services,
            self._counters,
            self._staff,
            self._offered,
            self._config_marker,
        ) = state

    def _reconfigure(self, tx: _Tx, new: SedeConfig, *, quiet: bool = False) -> None:
        """Switch to ``new``: removed counters are released (their tickets go back to the
        line), new counters get their row, open counters keep only services they still
        attend, services withdrawn while tickets are live keep working for those tickets.
        ``quiet``: the file was already switched (by an earlier run); only memory follows."""
        old_services, old_counters = self._services, self._counters
        kept_ids = {c.id for c in new.counters}
        removed = [counter_id for counter_id in old_counters if counter_id not in kept_ids]
        for counter_id in [] if quiet else removed:
            self._release_counter(tx, counter_id, "counter_removed")
        self.config = new
        self._tz = ZoneInfo(new.timezone)
        self._policy = new.queue
        self._services = {s.code: s for s in new.services}
        self._offered = set(self._services)
        self._services.update(
            central_records.orphan_services(tx.conn, self._services, old_services)
        )
        self._counters = {c.id: c for c in new.counters}
        self._staff = {u.username: u for u in new.staff}
        for counter in new.counters:
            tx.conn.execute(
                "INSERT INTO counters (counter_id, updated_at) VALUES (?, ?) "
                "ON CONFLICT (counter_id) DO NOTHING",
                (counter.id, tx.now_iso),
            )
            row = self._counter_row(tx.conn, counter.id)
            if quiet or row["status"] == "closed":
                continue  # opening takes the configured services afresh
            active = json.loads(row["active_services"])
            still = [code for code in counter.services if code in active] or list(counter.services)
            if still != active:
                self._update_counter(tx, row, "reconfigured", {"active_services": _dumps(still)})
                tx.outcome.changed_services.update(active)
        self._recount_lines()
        out = tx.outcome
        out.config_changed = True
        out.display_changed = True
        out.removed_counters.update(removed)
        out.removed_services.update(code for code in old_services if code not in self._services)
        out.changed_services.update(self._services)
        out.changed_counters.update(self._counters)
        if quiet:
            return
        summary = {
            "services": sorted(self._offered),
            "counters": sorted(self._counters),
            "source": "central" if new is not self._bootstrap_config else "toml",
        }
        before = {"services": sorted(old_services), "counters": sorted(old_counters)}
        self._audit(tx, entity_type="hub", entity_id=self.sede_id, before=before, after=summary)
        self._outbox(tx, "hub.config_applied", "hub", self.sede_id, summary)

    def _release_counter(self, tx: _Tx, counter_id: str, reason: str) -> None:
        """Free a counter whose user or whose place central withdrew: tickets in hand and
        parked go back to their line (arrival kept), the pause and session end and the user
        is signed out; for a removed counter, tickets sent to it return to the common line."""
        in_hand = tx.conn.execute(
            "SELECT * FROM tickets WHERE counter_id = ? AND status IN ('called', 'serving')",
            (counter_id,),
        ).fetchall()
        directed = []
        if reason == "counter_removed":
            directed = tx.conn.execute(
                "SELECT * FROM tickets WHERE target_counter_id = ? AND status = 'waiting'",
                (counter_id,),
            ).fetchall()
        for ticket in [*in_hand, *directed]:
            self._update_ticket(
                tx,
                ticket,
                "returned_to_line",
                _back_to_line(ticket["service_code"], None),
                details={"reason": reason},
            )
        counter = self._counter_row(tx.conn, counter_id)
        if counter["status"] != "closed":
            counter = self._close(tx, counter)
        if counter["username"] is not None:
            self._end_session(tx, counter, reason)
            counter = self._counter_row(tx.conn, counter_id)
            self._update_counter(tx, counter, "signed_out", {"username": None, "session_id": None})

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
        if service_code not in self._services:
            raise _error(ErrorCode.UNKNOWN_SERVICE, field="service_code")
        if scheduled_at.tzinfo is None:
            raise ValueError("scheduled_at must be timezone-aware")
        appointment_id = appointment_id or _new_id()
        with self._lock:
            now = self._now()
            store.begin_immediate(self._conn)
            try:
                tx = _Tx(self._conn, now, iso(now), SYSTEM_ACTOR, "add_appointment", None)
                self._conn.execute(
                    "INSERT INTO appointments (id, sede_id, code, dni, service_code, "
                    "scheduled_at, updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE "
                    "SET code = excluded.code, dni = excluded.dni, "
                    "service_code = excluded.service_code, scheduled_at = excluded.scheduled_at, "
                    "revision = revision + 1, updated_at = excluded.updated_at",
                    (
                        appointment_id,
                        self.sede_id,
                        code.upper(),
                        dni,
                        service_code,
                        iso(scheduled_at),
                        tx.now_iso,
                    ),
                )
                self._audit(
                    tx,
                    entity_type="appointment",
                    entity_id=appointment_id,
                    before=None,
                    after={"service_code": service_code, "scheduled_at": iso(scheduled_at)},
                )
                self._conn.execute("COMMIT")
            except sqlite3.IntegrityError:
                self._conn.execute("ROLLBACK")
                raise _error(
                    ErrorCode.CONFLICT, "Ya existe una cita con ese código.", "code"
                ) from None
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return appointment_id

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
        is_open = self.config.is_open(self._now())
        hours = [
            OpeningHours(
                weekday=day, opens=h.opens.strftime("%H:%M"), closes=h.closes.strftime("%H:%M")
            )
            for h in self.config.hours
            for day in h.weekdays
        ]
        return SedeInfo(
            sede_id=self.config.id,
            name=self.config.name,
            timezone=self.config.timezone,
            services=[
                ServiceInfo(code=s.code, name=s.name, letter=s.letter) for s in self.config.services
            ],
            counters=[
                CounterInfo(
                    counter_id=c.id, name=c.name, number=c.number, services=dict(c.services)
                )
                for c in self.config.counters
            ],
            hours=sorted(hours, key=lambda h: (h.weekday, h.opens)),
            is_open_now=is_open,
            accepts_tickets=is_open or self._policy.issue_outside_hours,
            matters=[MatterInfo(code=c, name=n) for c, n in self._matters().items()],
        )

    def _matters(self) -> dict[str, str]:
        return self._matter_catalogue  # no lock: the state publisher renders config too

    def open_state_reader(self) -> StateReader:
        """A read-only connection of its own for rendering the published states off the
        writer's lock (hub.domain.projections); the caller closes it before the engine."""
        from hub.domain.projections import StateReader

        return StateReader(self)

    def queue_state(self, service_code: str) -> QueueState:
        with self._snapshot() as conn:
            payload = self.queue_state_json(conn, service_code)
        return QueueState.model_validate_json(payload)

    def queue_state_json(self, conn: sqlite3.Connection, service_code: str) -> bytes:
        """The service's ``QueueState`` as published, read on ``conn`` (inside a read
        transaction: the engine's own under ``queue_state``, or a ``StateReader``'s). The
        waiting tickets are rendered to JSON by SQLite itself (``QUEUE_TICKETS_JSON``, and
        ``QUEUE_REPRINTS_*`` for ``reprints``): the bridge publishes this off its command lane,
        and little Python work there means little contention with the commands;
        ``queue_state`` parses it, so the model checks it."""
        service = self._services.get(service_code)
        if service is None:
            raise DomainError(ErrorCode.UNKNOWN_SERVICE, field="service_code")
        now = self._now()
        due = ordering.due_limit(now, self._policy.appointment_window_min)
        oldest = conn.execute(
            "SELECT MIN(arrived_at) FROM tickets WHERE status = 'waiting' AND service_code = ?",
            (service_code,),
        ).fetchone()[0]
        per_person, open_counters, (waiting, in_line, preferential) = self._service_pace(
            conn, service_code
        )
        line = {"code": service_code, "due": due, "per": per_person, "open": open_counters}
        head = conn.execute(
            QUEUE_TICKETS_JSON, {**line, "limit": QUEUE_STATE_MAX_TICKETS}
        ).fetchall()
        reprints: list[Any] = []
        # Flagged tickets behind the head: none when the head is the whole line; else the
        # partial index counts the flagged ones, and only when some are not in the head are
        # places worked out (the line is read again: the few rows' places, or all numbered).
        if waiting > QUEUE_STATE_MAX_TICKETS:
            flagged = conn.execute(QUEUE_REPRINTS_COUNT, (service_code,)).fetchone()[0]
            if flagged > sum(row[1] for row in head):
                reprints = conn.execute(
                    QUEUE_REPRINTS_FEW_JSON
                    if flagged <= REPRINTS_COUNTED_MAX
                    else QUEUE_REPRINTS_JSON,
                    {**line, "skip": QUEUE_STATE_MAX_TICKETS, "limit": QUEUE_STATE_MAX_REPRINTS},
                ).fetchall()
        today = self._business_date(now)
        day_start = self._day_start(today)
        lookback = (date.fromisoformat(today) - timedelta(days=STATS_LOOKBACK_DAYS)).isoformat()
        stats = conn.execute(
            "SELECT "
            "AVG(CASE WHEN first_called_at >= ? THEN "
            "(julianday(first_called_at) - julianday(arrived_at)) * 86400 END), "
            "AVG(CASE WHEN finished_at >= ? AND started_at IS NOT NULL AND status = 'done' "
            "THEN (julianday(finished_at) - julianday(started_at)) * 86400 END), "
            "SUM(CASE WHEN finished_at >= ? AND status = 'done' THEN 1 ELSE 0 END) "
            "FROM tickets WHERE business_date >= ? AND service_code = ?",
            (day_start, day_start, day_start, lookback, service_code),
        ).fetchone()
        state = QueueState(
            service_code=service.code,
            service_name=service.name,
            waiting=waiting,
            preferential_waiting=preferential,
            longest_wait_s=max(0, int((now - store.parse_iso(oldest)).total_seconds()))
            if oldest
            else 0,
            average_wait_s=_round(stats[0]),
            average_service_s=_round(stats[1]),
            served_today=int(stats[2] or 0),
            open_counters=open_counters,
            estimated_wait_s=_estimate(in_line, per_person, open_counters),
            tickets=[],
        )
        text = state.model_dump_json()
        empty = '"reprints":[],"tickets":[]}'
        if not text.endswith(empty):  # the two lists must stay QueueState's last fields
            raise RuntimeError("QueueState JSON does not end with its reprints and tickets")
        behind = ",".join(row[0] for row in reprints)
        tickets = ",".join(row[0] for row in head)
        return f'{text[: -len(empty)]}"reprints":[{behind}],"tickets":[{tickets}]}}'.encode()

    def _service_pace(
        self, conn: sqlite3.Connection, service_code: str
    ) -> tuple[float, int, tuple[int, int, int]]:
        """(seconds per person over recent attentions, open counters attending the service,
        line counts (waiting, in line, preferential in line)) in one statement: this runs
        in the issuing transaction."""
        row = conn.execute(
            "SELECT "
            "(SELECT AVG(seconds) FROM (SELECT (julianday(finished_at) - julianday(started_at)) "
            "* 86400 AS seconds FROM tickets WHERE service_code = :code AND status = 'done' "
            "AND finished_at IS NOT NULL AND started_at IS NOT NULL "
            "ORDER BY finished_at DESC LIMIT :samples)), "
            "(SELECT COUNT(*) FROM counters, json_each(counters.active_services) AS attended "
            "WHERE counters.status = 'open' AND attended.value = :code), "
            "l.waiting_total, l.waiting_in_line, l.preferential_in_line "
            "FROM (SELECT 1) LEFT JOIN service_lines AS l ON l.service_code = :code",
            {"code": service_code, "samples": self._policy.recent_service_samples},
        ).fetchone()
        per_person = row[0] if row[0] is not None else float(self._policy.default_service_s)
        return per_person, row[1], (row[2] or 0, row[3] or 0, row[4] or 0)

    def counter_state(self, counter_id: str) -> CounterState:
        if counter_id not in self._counters:
            raise DomainError(ErrorCode.UNKNOWN_COUNTER, field="counter_id")
        with self._snapshot() as conn:
            return self._counter_state(conn, counter_id)

    def counter_state_on(self, conn: sqlite3.Connection, counter_id: str) -> CounterState:
        """``CounterState`` read on ``conn`` (inside a read transaction)."""
        if counter_id not in self._counters:
            raise DomainError(ErrorCode.UNKNOWN_COUNTER, field="counter_id")
        return self._counter_state(conn, counter_id)

    def _counter_state(self, conn: sqlite3.Connection, counter_id: str) -> CounterState:
        config = self._counters[counter_id]
        row = self._counter_row(conn, counter_id)
        if row is None:  # added by central's configuration, not committed in this snapshot
            raise DomainError(ErrorCode.UNKNOWN_COUNTER, field="counter_id")
        current = self._in_hand(conn, counter_id)
        parked = conn.execute(
            "SELECT * FROM tickets WHERE counter_id = ? AND status = 'parked' ORDER BY arrived_at",
            (counter_id,),
        ).fetchall()
        staff = None
        if row["username"]:
            synced = self._staff.get(row["username"]) or self._synced_staff(row["username"], conn)
            staff = synced if isinstance(synced, StaffUserConfig) else None
        status = CounterStatus(row["status"])
        return CounterState(
            counter_id=counter_id,
            name=config.name,
            number=config.number,
            status=status,
            pause_reason=row["pause_reason"],
            services=json.loads(row["active_services"])
            if status is not CounterStatus.CLOSED
            else list(config.services),
            user_display_name=staff.display_name if staff else row["username"],
            current=self._view(current) if current is not None else None,
            parked=[self._view(t) for t in parked],
            since=store.parse_iso(row["since"]),
        )

    def display_state(self) -> DisplayState:
        with self._snapshot() as conn:
            return self.display_state_on(conn)

    def display_state_on(self, conn: sqlite3.Connection) -> DisplayState:
        """``DisplayState`` read on ``conn`` (inside a read transaction)."""
        in_hand = conn.execute(
            "SELECT * FROM tickets WHERE status IN ('called', 'serving') "
            "AND counter_id IS NOT NULL ORDER BY called_at DESC"
        ).fetchall()
        # newest call first, one per ticket: a recall moves its ticket to the top instead of
        # repeating it and pushing other calls out (read down the calls index, stop when full)
        recent: list[sqlite3.Row] = []
        seen_tickets: set[str] = set()
        for r in conn.execute(
            "SELECT e.ticket_id, t.number, e.service_code, e.counter_id, e.at, "
            "json_extract(e.details, '$.recalls') AS recalls "
            "FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
            "WHERE e.event_type IN ('called', 'recalled') ORDER BY e.at DESC, e.id DESC "
            "LIMIT ?",
            (RECENT_CALLS * RECENT_CALLS_SCAN,),
        ):
            if r["ticket_id"] in seen_tickets or r["counter_id"] not in self._counters:
                continue
            seen_tickets.add(r["ticket_id"])
            recent.append(r)
            if len(recent) == RECENT_CALLS:
                break
        waiting = {code: self._line_counts(conn, code)[0] for code in self._services}
        current: list[CallView] = []
        seen: set[str] = set()
        for t in in_hand:
            if t["counter_id"] in seen or t["counter_id"] not in self._counters:
                continue
            seen.add(t["counter_id"])
            current.append(
                self._call_view(
                    t["number"], t["service_code"], t["counter_id"], t["called_at"], t["recalls"]
                )
            )
        return DisplayState(
            current=current,
            recent=[
                self._call_view(
                    r["number"], r["service_code"], r["counter_id"], r["at"], int(r["recalls"] or 0)
                )
                for r in recent
            ],
            waiting=waiting,
            messages=list(self._messages),
        )

    def _call_view(
        self, number: str, service_code: str, counter_id: str, called_at: str, recalls: int
    ) -> CallView:
        counter = self._counters[counter_id]
        return CallView(
            number=number,
            service_code=service_code,
            counter_id=counter_id,
            counter_name=counter.name,
            counter_number=counter.number,
            called_at=store.parse_iso(called_at),  # type: ignore[arg-type]
            recalls=recalls,
        )

    def status(self) -> dict[str, Any]:
        queues = {code: self.queue_state(code) for code in self._services}
        counters = {cid: self.counter_state(cid) for cid in self._counters}
        with self._lock:
            pending, oldest = outbox.backlog(self._conn)
            last_seq = self._conn.execute("SELECT MAX(seq) FROM outbox").fetchone()[0]
            meta = self._meta()
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
                for cid, c in counters.items()
            },
            "outbox": {"pending": pending, "oldest_pending_at": oldest, "last_seq": last_seq},
        }

    # ------------------------------------------------------------------ views

    def _view(
        self,
        ticket: Mapping[str, Any],
        *,
        people_ahead: int | None = None,
        estimated: int | None = None,
    ) -> TicketView:
        return TicketView(
            ticket_id=ticket["id"],
            number=ticket["number"],
            service_code=ticket["service_code"],
            status=TicketStatus(ticket["status"]),
            preference_category=PreferenceCategory(ticket["preference_category"]),
            origin=TicketOrigin(ticket["origin"]),
            issued_at=store.parse_iso(ticket["issued_at"]),  # type: ignore[arg-type]
            arrived_at=store.parse_iso(ticket["arrived_at"]),  # type: ignore[arg-type]
            called_at=store.parse_iso(ticket["called_at"]),
            started_at=store.parse_iso(ticket["started_at"]),
            counter_id=ticket["counter_id"] or ticket["target_counter_id"],
            recalls=ticket["recalls"],
            people_ahead=people_ahead,
            estimated_wait_s=estimated,
            needs_reprint=bool(ticket["needs_reprint"]),
        )


# ---------------------------------------------------------------------- module helpers


def _back_to_line(service_code: str, target_counter_id: str | None) -> dict[str, Any]:
    """A ticket returning to a line keeps its original arrival (fairness across transfers)."""
    return {
        "status": "waiting",
        "service_code": service_code,
        "counter_id": None,
        "target_counter_id": target_counter_id,
        "called_at": None,
        "started_at": None,
        "recalls": 0,
    }


def _line_slot(ticket: Mapping[str, Any] | None) -> tuple[str, bool, bool] | None:
    """Which running count of service_lines a ticket adds to (None: not waiting)."""
    if ticket is None or ticket["status"] != "waiting":
        return None
    return (
        ticket["service_code"],
        ticket["target_counter_id"] is None,
        ticket["preference_category"] != "none",
    )


def _estimate(people_ahead: int, per_person_s: float, open_counters: int) -> int | None:
    """Baseline: people ahead x recent average service time / open counters. None when no
    counter attending the service is open (no honest estimate exists)."""
    if open_counters <= 0:
        return None
    # half up (not Python's half-even round): QUEUE_TICKETS_JSON computes the same in SQL
    return int(people_ahead * per_person_s / open_counters + 0.5)


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)


def _ticket_summary(ticket: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("number", "status", "service_code", "counter_id", "target_counter_id", "recalls")
    summary = {k: ticket[k] for k in keys}
    summary["preference_category"] = ticket["preference_category"]
    return summary


def _ticket_record(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """The ticket as it travels to central: every column but the DNI."""
    record = {k: v for k, v in ticket.items() if k != "dni"}
    record["has_dni"] = ticket["dni"] is not None
    record["needs_reprint"] = bool(ticket["needs_reprint"])
    return record


def _appointment(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in row.keys() if k != "dni"}


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
