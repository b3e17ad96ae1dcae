"""multidisciplinary services (Module 05): requests, sessions, reports and versions,
deliveries, evidence with chain of custody, socio-economic evaluations and their effects on
open files, alerts. A signed report version, deliveries and custody events refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL), as the audit table does (0002).

Revision ID: md01
Revises: cc02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "md01"
down_revision = "cc02"
branch_labels = None
depends_on = None

APPEND_ONLY = ("md_delivery", "md_custody_event")


def upgrade() -> None:
    op.create_table(
        "md_sequence",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("sede_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "sede_id", "year"),
    )
    op.create_table(
        "md_request",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("sede_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("origin_sede_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("service_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("conc_file_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("file_number", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("citizen_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.Column("urgency", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("authority_kind", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column("authority_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column(
            "authority_file_number", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True
        ),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("assigned_user_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("supervisor_user_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column(
            "derived_from_sede_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
        ),
        sa.Column(
            "derivation_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True
        ),
        sa.Column("derived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizen.id"],
        ),
        sa.ForeignKeyConstraint(
            ["conc_file_id"],
            ["conc_file.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sede_id"],
            ["sede.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number", name="uq_md_request_number"),
    )
    op.create_index(
        "ix_md_request_assigned_state", "md_request", ["assigned_user_id", "state", "due_date"]
    )
    op.create_index("ix_md_request_case", "md_request", ["case_id"])
    op.create_index("ix_md_request_citizen", "md_request", ["citizen_id"])
    op.create_index("ix_md_request_requester", "md_request", ["requested_by", "created_at"])
    op.create_index("ix_md_request_sede_state", "md_request", ["sede_id", "state", "due_date"])

    op.create_table(
        "md_alert",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("sede_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["md_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "kind", name="uq_md_alert_request_kind"),
    )
    op.create_index("ix_md_alert_user", "md_alert", ["user_id", "read_at"])

    op.create_table(
        "md_evidence",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("storage_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("received_from", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("received_by", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["md_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_md_evidence_request", "md_evidence", ["request_id"])

    op.create_table(
        "md_report",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("sede_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("service_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("author_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["md_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_md_report_request", "md_report", ["request_id"])

    op.create_table(
        "md_session",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("sede_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("professional_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("appointment_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["md_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_md_session_professional_start", "md_session", ["professional_id", "starts_at"]
    )
    op.create_index("ix_md_session_request", "md_session", ["request_id"])

    op.create_table(
        "md_socio_eval",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("citizen_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("sede_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("statement_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("ficha_json", sa.Text(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("recommendation", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column("decision_reasons", sa.Text(), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_number", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("resolution_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column(
            "resolution_pdf_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
        ),
        sa.Column("resolution_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["md_request.id"],
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["eligibility_statement.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", name="uq_md_socio_eval_request"),
    )
    op.create_index("ix_md_socio_eval_citizen", "md_socio_eval", ["citizen_id"])

    op.create_table(
        "md_case_notice",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("eval_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("sede_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("flag", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("next_steps", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_file.id"],
        ),
        sa.ForeignKeyConstraint(
            ["eval_id"],
            ["md_socio_eval.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("eval_id", "case_id", name="uq_md_case_notice"),
    )
    op.create_index("ix_md_case_notice_case", "md_case_notice", ["case_id"])
    op.create_index("ix_md_case_notice_user", "md_case_notice", ["user_id", "read_at"])

    op.create_table(
        "md_custody_event",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("evidence_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("from_party", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("to_party", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["md_evidence.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_md_custody_evidence", "md_custody_event", ["evidence_id", "occurred_at"])

    op.create_table(
        "md_report_version",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("report_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_json", sa.Text(), nullable=False),
        sa.Column("amendment_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("review_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewer_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_notes", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("signed_by", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signer_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("pdf_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("pdf_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("verification_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["md_report.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "version", name="uq_md_report_version"),
    )
    op.create_index("ix_md_report_version_signed", "md_report_version", ["signed_by", "signed_at"])

    op.create_table(
        "md_delivery",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("version_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("certified_copy", sa.Boolean(), nullable=False),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("delivered_by", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["md_report_version.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_md_delivery_version", "md_delivery", ["version_id"])
    _triggers()


def downgrade() -> None:
    _drop_triggers()
    op.drop_table("md_delivery")
    op.drop_table("md_report_version")
    op.drop_table("md_custody_event")
    op.drop_table("md_case_notice")
    op.drop_table("md_socio_eval")
    op.drop_table("md_session")
    op.drop_table("md_report")
    op.drop_table("md_evidence")
    op.drop_table("md_alert")
    op.drop_table("md_request")
    op.drop_table("md_sequence")


def _triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION md_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            """
            CREATE FUNCTION md_signed_frozen() RETURNS trigger AS $$
            BEGIN
                IF OLD.signed_at IS NOT NULL THEN
                    RAISE EXCEPTION 'md_report_version %: a signed report is never edited', OLD.id;
                END IF;
                IF TG_OP = 'DELETE' THEN
                    RETURN OLD;
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER md_report_version_signed_frozen BEFORE UPDATE OR DELETE ON "
            "md_report_version FOR EACH ROW EXECUTE FUNCTION md_signed_frozen()"
        )
        op.execute(
            "CREATE TRIGGER md_report_version_no_truncate BEFORE TRUNCATE ON md_report_version "
            "FOR EACH STATEMENT EXECUTE FUNCTION md_append_only()"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION md_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION md_append_only()"
            )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER md_report_version_signed_no_{verb.lower()} BEFORE {verb} ON "
            "md_report_version WHEN OLD.signed_at IS NOT NULL "
            "BEGIN SELECT RAISE(ABORT, 'md_report_version: a signed report is never edited'); END"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS md_report_version_signed_frozen ON md_report_version")
        op.execute("DROP TRIGGER IF EXISTS md_report_version_no_truncate ON md_report_version")
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS md_signed_frozen()")
        op.execute("DROP FUNCTION IF EXISTS md_append_only()")
        return
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS md_report_version_signed_no_{verb}")
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
