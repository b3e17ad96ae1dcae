"""Wire envelopes of hub <-> central synchronisation (``/api/v1/sync/...``). Pure pydantic.

Site -> central: ``PushBatch`` of outbox events numbered by (sede, hub epoch, seq), answered
with ``PushAck`` carrying the highest contiguous sequence central holds for that epoch.
Central -> site: ``PullPage`` of change-log entries after an opaque cursor. docs/sync.md has
the whole protocol.
"""

from __future__ import annotations

from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, StringConstraints

SYNC_PROTOCOL_VERSION = 1


def software_release() -> str:
    """The ALEGRA release installed on this machine. The hub reports it with every push
    (``HubHealth.agent_version``) and central shows the sedes whose hub runs another release
    than its own, so the staged upgrade of docs/sync.md (Versioning) can be followed."""
    try:
        return version("alegra")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "dev"


Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
EventId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Wire(BaseModel):
    """What the hub sends central: read strictly (central is upgraded first, never behind)."""

    model_config = ConfigDict(extra="forbid")


class _Reply(BaseModel):
    """What central answers the hub: read tolerantly. Central is upgraded first and hubs sede
    by sede after it, so an older hub ignores a field a newer central adds (always optional)
    instead of failing every push or pull until it is upgraded (docs/sync.md, Versioning)."""

    model_config = ConfigDict(extra="ignore")


class SyncEvent(_Wire):
    """One outbox row as it travels. ``payload`` is None only for an event the hub could not
    fit under the size limit (``oversized``): central dead-letters it so it never blocks."""

    seq: int = Field(ge=1)
    event_id: EventId
    event_type: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    aggregate_type: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    aggregate_id: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    created_at: datetime  # hub clock, informative only: order comes from seq
    # not copied by validation (thousands per batch); central checks each one when applying it
    payload: SkipValidation[dict[str, Any] | None]
    oversized: bool = False


class HubHealth(_Wire):
    """What the hub says about itself with every push (shown on central's status page)."""

    backlog: int = Field(default=0, ge=0)
    oldest_pending_at: datetime | None = None
    hub_time: datetime | None = None
    schema_version: int | None = None
    agent_version: str | None = None
    printer_faults: int = Field(default=0, ge=0)
    last_pull_cursor: str | None = None


class PushBatch(_Wire):
    v: Literal[1] = SYNC_PROTOCOL_VERSION
    sede_id: Code
    hub_epoch: int = Field(ge=1)
    events: list[SyncEvent] = Field(default_factory=list, max_length=5000)
    health: HubHealth = HubHealth()


class PushAck(_Reply):
    v: Literal[1] = SYNC_PROTOCOL_VERSION
    hub_epoch: int
    held_through: int  # highest n such that central holds 1..n of this epoch
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    conflicts: int = 0


class EpochConflict(_Reply):
    """409 answer: central already holds a different event at one of these (epoch, seq) slots,
    i.e. the hub was restored from a backup. The hub must open a new epoch."""

    code: Literal["epoch_conflict"] = "epoch_conflict"
    message: str
    hub_epoch: int
    held_through: int


class Change(_Reply):
    """One change-log entry: the current state of a central-owned record, or its tombstone."""

    record_type: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    record_id: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    revision: int = Field(ge=0)
    deleted: bool = False
    body: dict[str, Any] | None = None


class PullPage(_Reply):
    v: Literal[1] = SYNC_PROTOCOL_VERSION
    sede_id: Code
    changes: list[Change]
    next_cursor: str  # pass back as ?cursor=; saved by the hub with the applied page
    has_more: bool
    # the cursor sent was beyond central's log (central restored from an older backup): the hub
    # must drop its cursor and re-read everything
    reset: bool = False


class RecordType:
    """record_type values of the change log."""

    SEDE_CONFIG = "sede_config"
    STAFF_USER = "staff_user"
    APPOINTMENT = "appointment"
    DISPLAY_MESSAGE = "display_message"
    CASE_INTAKE = "case_intake"
    # central -> site: the case file opened from an intake (intake id -> file number)
    CASE_FILE = "case_file"
    # central -> site: the case catalogues a counter offers (matters)
    CASE_CATALOGUE = "case_catalogue"
