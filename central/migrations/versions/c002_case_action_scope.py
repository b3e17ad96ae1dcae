"""cases: actions carry the sede their file is in now (``case_sede_id``, moved with the file on
an accepted referral) so full-text search is scoped in the index itself: GIN on
(case_sede_id, notes) with btree_gin on PostgreSQL; a plain index on SQLite.

Revision ID: c002
Revises: c001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c002"
down_revision = "c001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # c001 creates the tables from the current models, which already have the column
    columns = {c["name"] for c in sa.inspect(bind).get_columns("case_action")}
    if "case_sede_id" not in columns:
        op.add_column("case_action", sa.Column("case_sede_id", sa.String(64), nullable=True))
    op.execute(
        "UPDATE case_action SET case_sede_id = "
        "(SELECT case_file.sede_id FROM case_file WHERE case_file.id = case_action.case_id)"
    )
    if bind.dialect.name == "postgresql":
        savepoint = bind.begin_nested()
        try:
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gin")
            bind.exec_driver_sql(
                "CREATE INDEX ix_case_action_scope_notes ON case_action "
                "USING gin (case_sede_id, notes_tsv)"
            )
            savepoint.commit()
        except Exception:  # noqa: BLE001 - no rights to add the extension: plain index
            savepoint.rollback()
            op.create_index("ix_case_action_case_sede", "case_action", ["case_sede_id"])
    else:
        op.create_index("ix_case_action_case_sede", "case_action", ["case_sede_id"])


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_case_action_scope_notes")
    op.execute("DROP INDEX IF EXISTS ix_case_action_case_sede")
    op.drop_column("case_action", "case_sede_id")
