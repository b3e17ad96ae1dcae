"""activities: daily roll-up of attentions from the synced ticket events, its watermark, and an
index on ``sync_ticket.received_at`` to find the tickets that changed since the last roll-up.

Revision ID: a002
Revises: c002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a002"
down_revision = "c002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_queue_day",
        sa.Column("sede_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("attentions", sa.Integer(), nullable=False),
        sa.Column("timed_attentions", sa.Integer(), nullable=False),
        sa.Column("serving_seconds", sa.Float(), nullable=False),
    )
    op.create_table(
        "activity_rollup_state",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("watermark", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_sync_ticket_received_at", "sync_ticket", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_sync_ticket_received_at", table_name="sync_ticket")
    op.drop_table("activity_rollup_state")
    op.drop_table("activity_queue_day")
