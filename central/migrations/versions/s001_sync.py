"""sync: inbox, epochs, site-owned records received from hubs, change log, conflicts, dead
letters, central-owned appointments and display messages.

Revision ID: s001
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "s001"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = (
    "sync_sede_state",
    "sync_epoch",
    "sync_inbox",
    "sync_dead_letter",
    "sync_ticket",
    "sync_ticket_event",
    "sync_counter_session",
    "sync_counter_pause",
    "sync_counter_state",
    "sync_site_event",
    "sync_case_intake",
    "sync_conflict",
    "sync_appointment",
    "sync_display_message",
    "sync_change_log",
    "sync_published",
)


def upgrade() -> None:
    # The tables as central.sync.models defines them at this revision; any later change to
    # them is a new revision with explicit op.* calls.
    from central.sync import models

    bind = op.get_bind()
    models.metadata.create_all(bind, tables=[models.metadata.tables[name] for name in TABLES])


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
