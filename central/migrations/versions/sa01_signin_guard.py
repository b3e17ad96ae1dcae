"""auth: signin_guard — failed sign-ins per unknown username and per client address, in the
database so that several API workers share them (lockout of unknown names, throttling per IP).

Revision ID: sa01
Revises: cc01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sa01"
down_revision = "cc01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_guard",
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("signin_guard")
