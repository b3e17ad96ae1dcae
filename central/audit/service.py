"""Appending to, verifying and searching the hash-chained audit log.

Each row's ``hash = HMAC-SHA256(key, prev_hash + canonical JSON of the row's other columns)``
(``hash_version`` 2), keyed with a key kept outside the database (central.audit.keys), so that
whoever can write the table cannot recompute the chain. Rows written before the key existed
keep their unkeyed ``sha256`` (``hash_version`` 1) and may only form the start of the chain.
The chain head row holds the last sequence number and hash; checkpoints of the head are also
appended to a file outside the database (``write_checkpoint``) and checked by ``verify_chain``. ``record`` locks the head (SELECT ... FOR
UPDATE on PostgreSQL; SQLite transactions are BEGIN IMMEDIATE) so concurrent appends line up.
``record`` never commits: the audit row lands in the same transaction as the change it records.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from central.audit import keys
from central.audit.actions import SENSITIVE_READS
from central.audit.models import AuditChainHead, AuditEvent
from central.domain.actor import Actor
from central.domain.clock import as_utc, new_id, utcnow

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "seq",
    "id",
    "occurred_at",
    "actor_user_id",
    "actor_username",
    "actor_profiles",
    "actor_sede_id",
    "actor_device_id",
    "action",
    "entity",
    "entity_id",
    "sede_id",
    "before_json",
    "after_json",
    "request_id",
    "ip",
    "prev_hash",
)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _timestamp(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # type: ignore[union-attr]


UNKEYED, KEYED = 1, 2  # hash_version of legacy rows, of rows written with the key


def row_payload(event: AuditEvent) -> dict[str, Any]:
    data = {name: getattr(event, name) for name in HASHED_FIELDS}
    data["occurred_at"] = _timestamp(event.occurred_at)
    if event.hash_version != UNKEYED:  # legacy rows were hashed without the column
        data["hash_version"] = event.hash_version
    return data


def compute_hash(prev_hash: str, event: AuditEvent, key: bytes | None = None) -> str:
    message = (prev_hash + canonical_json(row_payload(event))).encode()
    if event.hash_version == UNKEYED:
        return hashlib.sha256(message).hexdigest()
    if not key:
        raise ValueError("a keyed audit row needs the audit key")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _snapshot(value: Any) -> str | None:
    return None if value is None else canonical_json(value)


def record(
    *,
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: str | None = None,
    sede_id: str | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Append one audit row to the chain inside the caller's transaction."""
    head = session.exec(
        select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    ).one()
    event = AuditEvent(
        seq=head.last_seq + 1,
        id=new_id(),
        occurred_at=utcnow(),
        actor_user_id=actor.user_id,
        actor_username=actor.username,
        actor_profiles=",".join(actor.profiles),
        actor_sede_id=actor.sede_id,
        actor_device_id=actor.device_id,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        sede_id=sede_id,
        before_json=_snapshot(before),
        after_json=_snapshot(after),
        request_id=actor.request_id,
        ip=actor.ip,
        prev_hash=head.last_hash,
        hash_version=KEYED,
        hash="",
    )
    # the hash covers the timestamp as stored (microseconds, UTC)
    event.occurred_at = event.occurred_at.astimezone(UTC)
    event.hash = compute_hash(head.last_hash, event, keys.key_for(session))
    head.last_seq = event.seq
    head.last_hash = event.hash
    session.add(event)
    session.add(head)
    session.flush()
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None  # English, for operators


def verify_chain(
    *,
    session: Session,
    batch: int = 2000,
    key: bytes | None = None,
    checkpoint_file: Path | None = None,
) -> VerifyResult:
    """Walk the chain in sequence order; report the first row that was altered, removed or
    moved, a legacy (unkeyed) row after a keyed one, a head that does not match the last row
    (rows removed at the end), or a row that differs from a checkpoint kept outside the
    database (the chain rewritten as a whole)."""
    key = key or keys.key_for(session)
    checkpoints, problem = read_checkpoints(checkpoint_file, key)
    if problem:
        return VerifyResult(False, 0, None, problem)
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seq = 0
    keyed_seen = False
    while True:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.seq >= expected_seq)
            .order_by(col(AuditEvent.seq))
            .limit(batch)
        ).all()
        if not rows:
            break
        for event in rows:
            if event.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, f"row {expected_seq} is missing")
            if event.prev_hash != expected_prev:
                return VerifyResult(
                    False,
                    checked,
                    event.seq,
                    f"row {event.seq} does not follow row {event.seq - 1}",
                )
            if event.hash_version == UNKEYED and keyed_seen:
                return VerifyResult(
                    False, checked, event.seq, f"row {event.seq} is unkeyed after keyed rows"
                )
            if event.hash_version not in (UNKEYED, KEYED) or not hmac.compare_digest(
                compute_hash(event.prev_hash, event, key), event.hash
            ):
                return VerifyResult(False, checked, event.seq, f"row {event.seq} was altered")
            if event.seq in checkpoints and checkpoints[event.seq] != event.hash:
                return VerifyResult(
                    False, checked, event.seq, f"row {event.seq} differs from its checkpoint"
                )
            keyed_seen = keyed_seen or event.hash_version == KEYED
            expected_prev = event.hash
            expected_seq += 1
            last_seq = event.seq
            checked += 1
        session.expunge_all()
    head = session.get(AuditChainHead, 1)
    if head is None:
        return VerifyResult(False, checked, None, "chain head is missing")
    if head.last_seq != last_seq or head.last_hash != expected_prev:
        return VerifyResult(
            False,
            checked,
            last_seq + 1,
            f"chain head points at row {head.last_seq}, last row is {last_seq}",
        )
    beyond = [seq for seq in checkpoints if seq > last_seq]
    if beyond:
        return VerifyResult(
            False, checked, last_seq + 1, f"checkpoint at row {min(beyond)}: rows removed"
        )
    return VerifyResult(True, checked)


# ------------------------------------------------------------------- checkpoints outside


def _checkpoint_mac(key: bytes, seq: int, chain_hash: str, at: str) -> str:
    message = f"alegra-audit-checkpoint:{seq}:{chain_hash}:{at}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def write_checkpoint(*, session: Session, path: Path, key: bytes | None = None) -> int:
    """Append the chain head (seq, hash, time, MAC) to ``path`` (created 0600, opened in
    append mode; on the server make it append-only, e.g. ``chattr +a``). Returns the seq."""
    key = key or keys.key_for(session)
    head = session.get(AuditChainHead, 1)
    seq, chain_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
    at = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    line = canonical_json(
        {"seq": seq, "hash": chain_hash, "at": at, "mac": _checkpoint_mac(key, seq, chain_hash, at)}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return seq


def read_checkpoints(path: Path | None, key: bytes) -> tuple[dict[int, str], str | None]:
    """``{seq: hash}`` of the checkpoint file, or a problem (a line whose MAC is wrong)."""
    if path is None or not path.exists():
        return {}, None
    found: dict[int, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            seq, chain_hash, at, mac = item["seq"], item["hash"], item["at"], item["mac"]
        except (ValueError, KeyError, TypeError):
            return {}, f"checkpoint line {number} is unreadable"
        if not hmac.compare_digest(_checkpoint_mac(key, int(seq), chain_hash, at), mac):
            return {}, f"checkpoint line {number} was not written with the audit key"
        if seq > 0:
            found[int(seq)] = chain_hash
    return found, None


@dataclass(frozen=True)
class AuditFilter:
    user_id: str | None = None
    username: str | None = None
    action: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    sede_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sensitive_reads: bool = False  # every read of sensitive data (central.audit.actions)


def _filtered(query, flt: AuditFilter):  # noqa: ANN001, ANN202
    if flt.user_id:
        query = query.where(AuditEvent.actor_user_id == flt.user_id)
    if flt.username:
        query = query.where(AuditEvent.actor_username == flt.username)
    if flt.action:
        query = query.where(AuditEvent.action == flt.action)
    if flt.sensitive_reads:
        query = query.where(col(AuditEvent.action).in_(sorted(SENSITIVE_READS)))
    if flt.entity:
        query = query.where(AuditEvent.entity == flt.entity)
    if flt.entity_id:
        query = query.where(AuditEvent.entity_id == flt.entity_id)
    if flt.sede_id:
        query = query.where(AuditEvent.sede_id == flt.sede_id)
    if flt.since:
        query = query.where(AuditEvent.occurred_at >= flt.since)
    if flt.until:
        query = query.where(AuditEvent.occurred_at < flt.until)
    return query


def search(
    *, session: Session, actor: Actor, flt: AuditFilter, limit: int = 50, offset: int = 0
) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first, and the total; the search itself is audited."""
    total = session.exec(_filtered(select(func.count()).select_from(AuditEvent), flt)).one()
    rows = list(
        session.exec(
            _filtered(select(AuditEvent), flt)
            .order_by(col(AuditEvent.seq).desc())
            .offset(offset)
            .limit(limit)
        ).all()
    )
    record(
        session=session,
        actor=actor,
        action="audit.search",
        entity="audit_event",
        after={"filter": _filter_dict(flt), "returned": len(rows), "total": total},
    )
    return rows, total


def iter_events(*, session: Session, flt: AuditFilter, batch: int = 1000) -> Iterator[AuditEvent]:
    after_seq = 0
    while True:
        rows = session.exec(
            _filtered(select(AuditEvent), flt)
            .where(AuditEvent.seq > after_seq)
            .order_by(col(AuditEvent.seq))
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after_seq = rows[-1].seq


def record_export(
    *, session: Session, actor: Actor, flt: AuditFilter, fmt: str, count: int
) -> None:
    record(
        session=session,
        actor=actor,
        action="audit.export",
        entity="audit_event",
        after={"filter": _filter_dict(flt), "format": fmt, "rows": count},
    )


def _filter_dict(flt: AuditFilter) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in flt.__dict__.items()
        if v is not None and v is not False
    }


EXPORT_COLUMNS = (
    "seq",
    "id",
    "occurred_at",
    "actor_user_id",
    "actor_username",
    "actor_profiles",
    "actor_sede_id",
    "actor_device_id",
    "action",
    "entity",
    "entity_id",
    "sede_id",
    "before_json",
    "after_json",
    "request_id",
    "ip",
    "prev_hash",
    "hash_version",
    "hash",
)


def export_row(event: AuditEvent) -> dict[str, Any]:
    data = {name: getattr(event, name) for name in EXPORT_COLUMNS}
    data["occurred_at"] = _timestamp(event.occurred_at)
    return data
