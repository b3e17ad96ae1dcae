"""Counter commands (Module 03): sign in and out (one person, one counter), open with the
services attended, pause, close; and releasing a counter whose user or place central withdrew.
Keyword-only handlers run by the engine's dispatch inside the command's transaction."""

from __future__ import annotations

import json
import sqlite3

from contracts.errors import ErrorCode
from contracts.messages import Empty, OpenCounterParams, PauseCounterParams
from hub.config import StaffUserConfig
from hub.domain.changes import (
    back_to_line,
    counter_result,
    require_free_hands,
    update_counter,
    update_ticket,
)
from hub.domain.queries import counter_row, in_hand
from hub.domain.tx import Tx, dumps, error, new_id


def sign_in(*, tx: Tx, counter: sqlite3.Row, staff: StaffUserConfig) -> None:
    tx.username = staff.username
    if staff.counters and counter["counter_id"] not in staff.counters:
        raise error(ErrorCode.FORBIDDEN, "Su usuario no está habilitado en esta ventanilla.")
    if counter["username"] == staff.username:
        tx.outcome.result = counter_result(tx, counter["counter_id"])
        return  # already signed in here: nothing changes
    _leave_other_counters(tx, staff.username, counter["counter_id"])
    if counter["username"] is not None:
        require_free_hands(tx, counter)
        end_session(tx, counter, "replaced")
    session = {
        "id": new_id(),
        "sede_id": tx.sede_id,
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
    tx.outbox("counter_session.started", "counter_session", session["id"], session)
    update_counter(
        tx,
        counter,
        "signed_in",
        {"username": staff.username, "session_id": session["id"]},
    )
    tx.outcome.result = counter_result(tx, counter["counter_id"])


def _leave_other_counters(tx: Tx, username: str, here: str) -> None:
    """One person, one counter: signing in here signs the user out of any other counter
    (closed, parked tickets back to their line, session ended "moved"), unless that
    counter holds a ticket in hand — then the sign-in is refused, so that nobody being
    attended there is silently dropped (docs/queue.md)."""
    others = tx.conn.execute(
        "SELECT * FROM counters WHERE username = ? AND counter_id != ? ORDER BY counter_id",
        (username, here),
    ).fetchall()
    for other in others:
        if in_hand(tx.conn, other["counter_id"]) is not None:
            config = tx.catalogue.counters.get(other["counter_id"])
            raise error(
                ErrorCode.SIGNED_IN_ELSEWHERE,
                f"Su usuario tiene un turno en atención en "
                f"{config.name if config else other['counter_id']}: finalícelo, derívelo o "
                "póngalo en espera allí antes de cambiar de ventanilla.",
            )
        if other["status"] != "closed":
            other = close(tx, other)
        end_session(tx, other, "moved")
        other = counter_row(tx.conn, other["counter_id"])
        update_counter(tx, other, "signed_out", {"username": None, "session_id": None})


def sign_out(*, tx: Tx, counter: sqlite3.Row, params: Empty) -> None:
    require_free_hands(tx, counter)
    if counter["status"] != "closed":
        counter = close(tx, counter)
    end_session(tx, counter, "signed_out")
    counter = counter_row(tx.conn, counter["counter_id"])
    update_counter(tx, counter, "signed_out", {"username": None, "session_id": None})
    tx.outcome.result = counter_result(tx, counter["counter_id"])


def end_session(tx: Tx, counter: sqlite3.Row, reason: str) -> None:
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
    tx.outbox("counter_session.ended", "counter_session", row["id"], dict(row))


def open_counter(*, tx: Tx, counter: sqlite3.Row, params: OpenCounterParams) -> None:
    configured = tx.catalogue.counters[counter["counter_id"]].services
    wanted = params.services if params.services is not None else list(configured)
    if not wanted:
        raise error(ErrorCode.INVALID_PAYLOAD, "Indique al menos un servicio.", "services")
    for code in wanted:
        if code not in configured:
            raise error(
                ErrorCode.UNKNOWN_SERVICE,
                "La ventanilla no atiende ese servicio.",
                "services",
            )
    ordered = [code for code in configured if code in wanted]  # keep config order
    if counter["status"] == "paused":
        end_pause(tx, counter)
    since = counter["since"] if counter["status"] == "open" else tx.now_iso
    update_counter(
        tx,
        counter,
        "opened",
        {
            "status": "open",
            "pause_reason": None,
            "pause_id": None,
            "active_services": dumps(ordered),
            "since": since,
        },
    )
    tx.outcome.changed_services.update(ordered)
    tx.outcome.changed_services.update(json.loads(counter["active_services"]))
    tx.outcome.result = counter_result(tx, counter["counter_id"])


def pause_counter(*, tx: Tx, counter: sqlite3.Row, params: PauseCounterParams) -> None:
    if counter["status"] != "open":
        raise error(ErrorCode.COUNTER_NOT_OPEN)
    require_free_hands(tx, counter)
    pause = {
        "id": new_id(),
        "sede_id": tx.sede_id,
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
    tx.outbox("counter_pause.started", "counter_pause", pause["id"], pause)
    update_counter(
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
    tx.outcome.result = counter_result(tx, counter["counter_id"])


def end_pause(tx: Tx, counter: sqlite3.Row) -> None:
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
    tx.outbox("counter_pause.ended", "counter_pause", row["id"], dict(row))


def close_counter(*, tx: Tx, counter: sqlite3.Row, params: Empty) -> None:
    if counter["status"] == "closed":
        raise error(ErrorCode.COUNTER_NOT_OPEN, "La ventanilla ya está cerrada.")
    require_free_hands(tx, counter)
    close(tx, counter)
    tx.outcome.result = counter_result(tx, counter["counter_id"])


def close(tx: Tx, counter: sqlite3.Row) -> sqlite3.Row:
    """Close a counter with free hands: end its pause, send its parked tickets back to
    their lines (original arrival kept), mark it closed."""
    if counter["status"] == "paused":
        end_pause(tx, counter)
    for ticket in tx.conn.execute(
        "SELECT * FROM tickets WHERE counter_id = ? AND status = 'parked'",
        (counter["counter_id"],),
    ).fetchall():
        update_ticket(
            tx,
            ticket,
            "returned_to_line",
            back_to_line(ticket["service_code"], None),
            details={"reason": "counter_closed"},
        )
    update_counter(
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
    return counter_row(tx.conn, counter["counter_id"])


def release_counter(tx: Tx, counter_id: str, reason: str) -> None:
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
        update_ticket(
            tx,
            ticket,
            "returned_to_line",
            back_to_line(ticket["service_code"], None),
            details={"reason": reason},
        )
    counter = counter_row(tx.conn, counter_id)
    if counter["status"] != "closed":
        counter = close(tx, counter)
    if counter["username"] is not None:
        end_session(tx, counter, reason)
        counter = counter_row(tx.conn, counter_id)
        update_counter(tx, counter, "signed_out", {"username": None, "session_id": None})
