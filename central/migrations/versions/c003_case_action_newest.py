"""cases: newest actions of a file's sede first — (case_sede_id, action_date, id), used by the
per-sede full-text queries when the searched words are common.

Revision ID: c003
Revises: a002
"""

from __future__ import annotations

from alembic import op

revision = "c003"
down_revision = "a002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_case_action_case_sede_date", "case_action", ["case_sede_id", "action_date", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_case_action_case_sede_date", table_name="case_action")
