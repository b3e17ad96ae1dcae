"""conciliation: indexes of the conciliator's tray — a conciliator's files by stage within a
sede read from the index alone; pending invitations found per file without the heap.

Revision ID: cc02
Revises: sa01
"""

from __future__ import annotations

from alembic import op

revision = "cc02"
down_revision = "sa01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_conc_file_conciliator_state", table_name="conc_file")
    op.create_index(
        "ix_conc_file_conciliator_state_sede",
        "conc_file",
        ["conciliator_user_id", "state", "sede_id"],
    )
    op.drop_index("ix_conc_invitation_file", table_name="conc_invitation")
    op.create_index("ix_conc_invitation_file_status", "conc_invitation", ["file_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_conc_invitation_file_status", table_name="conc_invitation")
    op.create_index("ix_conc_invitation_file", "conc_invitation", ["file_id"])
    op.drop_index("ix_conc_file_conciliator_state_sede", table_name="conc_file")
    op.create_index("ix_conc_file_conciliator_state", "conc_file", ["conciliator_user_id", "state"])
