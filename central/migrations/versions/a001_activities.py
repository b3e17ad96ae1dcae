"""activities (Module 01): monthly plans with targets per activity type, manual activities.

Revision ID: a001
Revises: s001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a001"
down_revision = "s001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "activity_plan",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("sede_id", sa.String(64), sa.ForeignKey("sede.id"), nullable=False),
        sa.Column("professional_id", sa.String(36), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("notes", sa.String(1000)),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("professional_id", "month", name="uq_activity_plan_professional_month"),
    )
    op.create_index("ix_activity_plan_sede_month", "activity_plan", ["sede_id", "month"])
    op.create_index("ix_activity_plan_professional_id", "activity_plan", ["professional_id"])
    op.create_table(
        "activity_plan_target",
        sa.Column("plan_id", sa.String(36), sa.ForeignKey("activity_plan.id"), primary_key=True),
        sa.Column("activity_type", sa.String(20), primary_key=True),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.CheckConstraint("target >= 0", name="ck_activity_plan_target_non_negative"),
    )
    op.create_table(
        "manual_activity",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("sede_id", sa.String(64), sa.ForeignKey("sede.id"), nullable=False),
        sa.Column("professional_id", sa.String(36), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("activity_date", sa.Date(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("notes", sa.String(2000)),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("participants >= 0", name="ck_manual_activity_participants"),
    )
    op.create_index("ix_manual_activity_sede_date", "manual_activity", ["sede_id", "activity_date"])
    op.create_index("ix_manual_activity_professional_id", "manual_activity", ["professional_id"])


def downgrade() -> None:
    op.drop_table("manual_activity")
    op.drop_table("activity_plan_target")
    op.drop_table("activity_plan")
