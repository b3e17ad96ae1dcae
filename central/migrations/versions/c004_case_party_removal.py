"""cases: parties are withdrawn, never deleted — removed_at, removed_by, removal_reason on
case_party (the timeline and the audit keep who withdrew whom and why).

Revision ID: c004
Revises: c003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c004"
down_revision = "c003"
branch_labels = None
depends_on = None

COLUMNS = (
    ("removed_at", lambda: sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True)),
    ("removed_by", lambda: sa.Column("removed_by", sa.String(36), nullable=True)),
    ("removal_reason", lambda: sa.Column("removal_reason", sa.String(400), nullable=True)),
)


def upgrade() -> None:
    # c001 creates the tables from the current models, which already have the columns
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("case_party")}
    for name, column in COLUMNS:
        if name not in existing:
            op.add_column("case_party", column())


def downgrade() -> None:
    with op.batch_alter_table("case_party") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
