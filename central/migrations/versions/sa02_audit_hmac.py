"""audit: hash_version on audit_event — rows written from now on are chained with HMAC-SHA256
under a key kept outside the database (2); the rows already there keep their unkeyed SHA-256
(1, the column's default) and verify as before, only as the start of the chain.

Revision ID: sa02
Revises: md01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sa02"
down_revision = "md01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # adding a column is not an UPDATE: the append-only triggers do not fire
    op.add_column(
        "audit_event",
        sa.Column("hash_version", sa.SmallInteger(), nullable=False, server_default="1"),
    )


def downgrade() -> None:
    op.drop_column("audit_event", "hash_version")
