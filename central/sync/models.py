"""Tables of central's sync side (SQLAlchemy Core: the apply path is bulk SQL, not ORM).

Site-owned records received from hubs are stored with their full body (JSON text) plus the
columns used to query them. The inbox slot of every (sede, hub epoch, seq) is written in the
same transaction as the event's effects; ``sync_epoch.held_through`` is the contiguous
acknowledgement. ``sync_change_log`` is the change log of central-owned records per sede.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlmodel import SQLModel

metadata = SQLModel.metadata
TS = DateTime(timezone=True)

sync_sede_state = Table(
    "sync_sede_state",
    metadata,
    Column("sede_id", String(64), primary_key=True),
    Column("current_epoch", BigInteger),
    Column("last_contact_at", TS),
    Column("last_push_at", TS),
    Column("last_pull_at", TS),
    Column("last_event_created_at", String(40)),  # hub clock of the newest event applied
    Column("last_applied_at", TS),
    Column("backlog", Integer, nullable=False, server_default="0"),
    Column("health", Text),
    Column("events_total", BigInteger, nullable=False, server_default="0"),
)

sync_epoch = Table(
    "sync_epoch",
    metadata,
    Column("sede_id", String(64), primary_key=True),
    Column("hub_epoch", BigInteger, primary_key=True),
    Column("held_through", BigInteger, nullable=False, server_default="0"),
    Column("max_seq", BigInteger, nullable=False, server_default="0"),
    Column("first_contact_at", TS, nullable=False),
    Column("last_contact_at", TS, nullable=False),
)

# status: applied | duplicate (event id already held, e.g. re-sent in a new epoch) | dead
sync_inbox = Table(
    "sync_inbox",
    metadata,
    Column("sede_id", String(64), primary_key=True),
    Column("hub_epoch", BigInteger, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("event_id", String(64), nullable=False),
    Column("status", String(12), nullable=False),
    Column("received_at", TS, nullable=False),
)
Index(
    "ux_sync_inbox_event",
    sync_inbox.c.event_id,
    unique=True,
    postgresql_where=text("status <> 'duplicate'"),
    sqlite_where=text("status <> 'duplicate'"),
)

sync_dead_letter = Table(
    "sync_dead_letter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sede_id", String(64), nullable=False, index=True),
    Column("hub_epoch", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("payload", Text),
    Column("error", Text, nullable=False),
    Column("received_at", TS, nullable=False),
    Column("resolved_at", TS),
)

sync_ticket = Table(
    "sync_ticket",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sede_id", String(64), nullable=False),
    Column("business_date", String(10), nullable=False),
    Column("service_code", String(64), nullable=False),
    Column("number", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("counter_id", String(64)),
    Column("revision", Integer, nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", TS, nullable=False),
)
Index("ix_sync_ticket_sede_date", sync_ticket.c.sede_id, sync_ticket.c.business_date)

sync_ticket_event = Table(
    "sync_ticket_event",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("ticket_id", String(64), nullable=False, index=True),
    Column("sede_id", String(64), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("at", String(40), nullable=False),
    Column("body", Text, nullable=False),
)

sync_counter_session = Table(
    "sync_counter_session",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sede_id", String(64), nullable=False, index=True),
    Column("counter_id", String(64), nullable=False),
    Column("username", String(64), nullable=False),
    Column("signed_in_at", String(40), nullable=False),
    Column("signed_out_at", String(40)),
    Column("revision", Integer, nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("body", Text, nullable=False),
)

sync_counter_pause = Table(
    "sync_counter_pause",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sede_id", String(64), nullable=False, index=True),
    Column("counter_id", String(64), nullable=False),
    Column("reason", String(80), nullable=False),
    Column("started_at", String(40), nullable=False),
    Column("ended_at", String(40)),
    Column("revision", Integer, nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("body", Text, nullable=False),
)

sync_counter_state = Table(
    "sync_counter_state",
    metadata,
    Column("sede_id", String(64), primary_key=True),
    Column("counter_id", String(64), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("username", String(64)),
    Column("revision", Integer, nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("body", Text, nullable=False),
)

# anything else a hub reports (printer faults, day roll-overs, check-ins, future types)
sync_site_event = Table(
    "sync_site_event",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("sede_id", String(64), nullable=False, index=True),
    Column("event_type", String(80), nullable=False),
    Column("aggregate_type", String(40), nullable=False),
    Column("aggregate_id", String(80), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("payload", Text, nullable=False),
)

# edited on both sides: central's revision is authoritative
sync_case_intake = Table(
    "sync_case_intake",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sede_id", String(64), nullable=False, index=True),
    Column("citizen_doc_type", String(12), nullable=False),
    Column("citizen_doc_number", String(20)),
    Column("citizen_names", String(200)),
    Column("service_code", String(64), nullable=False),
    Column("matter", String(120)),
    Column("summary", Text),
    Column("status", String(20), nullable=False),
    Column("ticket_id", String(64)),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    Column("has_conflict", Boolean, nullable=False, server_default=text("false")),
    Column("revision", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("updated_by", String(80)),
)

sync_conflict = Table(
    "sync_conflict",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sede_id", String(64), nullable=False, index=True),
    Column("record_type", String(40), nullable=False),
    Column("record_id", String(80), nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # edit_edit | delete_edit
    Column("current_version", Text, nullable=False),
    Column("other_version", Text, nullable=False),
    Column("other_side", String(10), nullable=False),  # which side's version is not current
    Column("site_event_id", String(64)),
    Column("status", String(10), nullable=False, server_default="open"),
    Column("resolution", String(20)),
    Column("resolved_by", String(80)),
    Column("created_at", TS, nullable=False),
    Column("resolved_at", TS),
)

# central-owned records that have no other home yet (module 03 at central)
sync_appointment = Table(
    "sync_appointment",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sede_id", String(64), nullable=False, index=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("dni", String(8)),
    Column("service_code", String(64), nullable=False),
    Column("scheduled_at", TS, nullable=False),
    Column("status", String(20), nullable=False, server_default="pending"),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    Column("revision", Integer, nullable=False),
    Column("updated_at", TS, nullable=False),
)

sync_display_message = Table(
    "sync_display_message",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sede_id", String(64), nullable=False, index=True),
    Column("text", String(280), nullable=False),
    Column("starts_at", TS),
    Column("ends_at", TS),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    Column("revision", Integer, nullable=False),
    Column("updated_at", TS, nullable=False),
)

# the change log served to hubs; txid = pg_current_xact_id() on PostgreSQL, 0 on SQLite
sync_change_log = Table(
    "sync_change_log",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("txid", BigInteger, nullable=False),
    Column("sede_id", String(64), nullable=False),
    Column("record_type", String(40), nullable=False),
    Column("record_id", String(80), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("body", Text),
    Column("created_at", TS, nullable=False),
)
Index(
    "ix_sync_change_log_cursor",
    sync_change_log.c.sede_id,
    sync_change_log.c.txid,
    sync_change_log.c.id,
)

# what the change log last published of records derived from other modules' tables
# (staff users, sede configuration): a new entry is logged only when the content changes
sync_published = Table(
    "sync_published",
    metadata,
    Column("sede_id", String(64), primary_key=True),
    Column("record_type", String(40), primary_key=True),
    Column("record_id", String(80), primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False),
)
