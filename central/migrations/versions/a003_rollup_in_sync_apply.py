"""activities: the daily roll-up of attentions is kept by the sync apply transaction
(central.activities.rollup), not refreshed by reports: rebuild it once from every synced ticket
event, and drop what the report-time refresh needed (its watermark table and the index on
``sync_ticket.received_at``, which also cost every ticket written by a sync).

Revision ID: a003
Revises: c004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a003"
down_revision = "c004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from central.activities import rollup

    rollup.rebuild(op.get_bind())
    op.drop_index("ix_sync_ticket_received_at", table_name="sync_ticket")
    op.drop_table("activity_rollup_state")


def downgrade() -> None:
    op.create_table(
        "activity_rollup_state",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("watermark", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_sync_ticket_received_at", "sync_ticket", ["received_at"])
