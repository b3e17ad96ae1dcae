"""conciliation (Module 04): files, parties, claims, sessions, attendance, invitations,
obligations, actas with their voids and certified copies, and the shared signed-document table.
Issued actas, voids and certified copies are append-only: triggers refuse UPDATE and DELETE
(and TRUNCATE on PostgreSQL), as on the audit table (0002).

Revision ID: cc01
Revises: a003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "cc01"
down_revision = "a003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conc_professional",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("doc_number", sa.String(length=20), nullable=False),
        sa.Column("conciliator_registration", sa.String(length=40), nullable=True),
        sa.Column("family_specialty_registration", sa.String(length=40), nullable=True),
        sa.Column("bar_registration", sa.String(length=40), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "conc_sequence",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sede_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "sede_id", "year"),
    )
    op.create_table(
        "signed_document",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sede_id", sa.String(length=64), nullable=True),
        sa.Column("ref_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("status_note", sa.String(length=400), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "conc_file",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("sede_id", sa.String(length=64), nullable=False),
        sa.Column("district_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("matter", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("intake_id", sa.String(length=64), nullable=True),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("controversy", sa.Text(), nullable=False),
        sa.Column("violence_declared", sa.Boolean(), nullable=False),
        sa.Column("protective_measures", sa.Boolean(), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("conciliator_user_id", sa.String(length=36), nullable=True),
        sa.Column("verifier_user_id", sa.String(length=36), nullable=True),
        sa.Column("designated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_session_on", sa.Date(), nullable=True),
        sa.Column("extension_until", sa.Date(), nullable=True),
        sa.Column("extension_note", sa.String(length=1000), nullable=True),
        sa.Column("conclusion_way", sa.String(length=30), nullable=True),
        sa.Column("conclusion_reason", sa.Text(), nullable=True),
        sa.Column("no_agreement_points", sa.Text(), nullable=True),
        sa.Column("concluded_session_id", sa.String(length=36), nullable=True),
        sa.Column("concluded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_digest", sa.String(length=64), nullable=True),
        sa.Column("approved_by", sa.String(length=36), nullable=True),
        sa.Column("replaces_acta_id", sa.String(length=36), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sede_id"],
            ["sede.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("sede_id", "year", "seq", name="uq_conc_file_seq"),
    )
    with op.batch_alter_table("conc_file", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conc_file_conciliator_state", ["conciliator_user_id", "state"], unique=False
        )
        batch_op.create_index("ix_conc_file_sede_state", ["sede_id", "state"], unique=False)

    op.create_table(
        "conc_acta",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("sede_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("number_text", sa.String(length=40), nullable=False),
        sa.Column("conclusion_way", sa.String(length=30), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("replaces_acta_id", sa.String(length=36), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("pdf_key", sa.String(length=200), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("verification_code", sa.String(length=40), nullable=False),
        sa.Column("issued_by", sa.String(length=36), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["conc_file.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sede_id", "year", "number", name="uq_conc_acta_number"),
        sa.UniqueConstraint("verification_code"),
    )
    with op.batch_alter_table("conc_acta", schema=None) as batch_op:
        batch_op.create_index("ix_conc_acta_file", ["file_id"], unique=False)

    op.create_table(
        "conc_claim",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("party_id", sa.String(length=36), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("counterclaim", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["conc_file.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conc_claim", schema=None) as batch_op:
        batch_op.create_index("ix_conc_claim_file", ["file_id"], unique=False)

    op.create_table(
        "conc_event",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("summary", sa.String(length=400), nullable=False),
        sa.Column("actor_user_id", sa.String(length=36), nullable=True),
        sa.Column("actor_name", sa.String(length=80), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["conc_file.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conc_event", schema=None) as batch_op:
        batch_op.create_index("ix_conc_event_file_at", ["file_id", "occurred_at"], unique=False)

    op.create_table(
        "conc_obligation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("debtor_party_id", sa.String(length=36), nullable=False),
        sa.Column("creditor_party_id", sa.String(length=36), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount", sa.String(length=20), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("periodicity", sa.String(length=12), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("payment_method", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["conc_file.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conc_obligation", schema=None) as batch_op:
        batch_op.create_index("ix_conc_obligation_file", ["file_id"], unique=False)

    op.create_table(
        "conc_party",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("notice_address", sa.String(length=200), nullable=True),
        sa.Column("representative_citizen_id", sa.String(length=36), nullable=True),
        sa.Column("representative_powers", sa.String(length=1000), nullable=True),
        sa.Column("witness_citizen_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizen.id"],
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["conc_file.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conc_party", schema=None) as batch_op:
        batch_op.create_index("ix_conc_party_file", ["file_id"], unique=False)

    op.create_table(
        "conc_session",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("sede_id", sa.String(length=64), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("virtual_means", sa.String(length=200), nullable=True),
        sa.Column("virtual_link", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("for_replacement", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["conc_file.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("file_id", "ordinal", name="uq_conc_session_ordinal"),
    )
    with op.batch_alter_table("conc_session", schema=None) as batch_op:
        batch_op.create_index("ix_conc_session_file", ["file_id"], unique=False)
        batch_op.create_index("ix_conc_session_sede_at", ["sede_id", "scheduled_at"], unique=False)

    op.create_table(
        "conc_acta_void",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("acta_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("voided_by", sa.String(length=36), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["acta_id"],
            ["conc_acta.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("acta_id"),
    )
    op.create_table(
        "conc_attendance",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("party_id", sa.String(length=36), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("virtual_consent", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=36), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["conc_party.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["conc_session.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "party_id", name="uq_conc_attendance"),
    )
    op.create_table(
        "conc_certified_copy",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("acta_id", sa.String(length=36), nullable=False),
        sa.Column("copy_number", sa.Integer(), nullable=False),
        sa.Column("recipient_party_id", sa.String(length=36), nullable=True),
        sa.Column("recipient_name", sa.String(length=200), nullable=False),
        sa.Column("recipient_doc", sa.String(length=20), nullable=True),
        sa.Column("issued_by", sa.String(length=36), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["acta_id"],
            ["conc_acta.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("acta_id", "copy_number", name="uq_conc_copy_number"),
    )
    op.create_table(
        "conc_invitation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("party_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("delivery_due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("delivery_mode", sa.String(length=20), nullable=True),
        sa.Column("received_by", sa.String(length=200), nullable=True),
        sa.Column("undelivered_reason", sa.String(length=400), nullable=True),
        sa.Column("recorded_by", sa.String(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["conc_file.id"],
        ),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["conc_party.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["conc_session.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conc_invitation", schema=None) as batch_op:
        batch_op.create_index("ix_conc_invitation_file", ["file_id"], unique=False)

    _append_only_triggers()


def downgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table("conc_invitation", schema=None) as batch_op:
        batch_op.drop_index("ix_conc_invitation_file")

    op.drop_table("conc_invitation")
    op.drop_table("conc_certified_copy")
    op.drop_table("conc_attendance")
    op.drop_table("conc_acta_void")
    with op.batch_alter_table("conc_session", schema=None) as batch_op:
        batch_op.drop_index("ix_conc_session_sede_at")
        batch_op.drop_index("ix_conc_session_file")

    op.drop_table("conc_session")
    with op.batch_alter_table("conc_party", schema=None) as batch_op:
        batch_op.drop_index("ix_conc_party_file")

    op.drop_table("conc_party")
    with op.batch_alter_table("conc_obligation", schema=None) as batch_op:
        batch_op.drop_index("ix_conc_obligation_file")

    op.drop_table("conc_obligation")
    with op.batch_alter_table("conc_event", schema=None) as batch_op:
        batch_op.drop_index("ix_conc_event_file_at")

    op.drop_table("conc_event")
    with op.batch_alter_table("conc_claim", schema=None) as batch_op:
        batch_op.drop_index("ix_conc_claim_file")

    op.drop_table("conc_claim")
    with op.batch_alter_table("conc_acta", schema=None) as batch_op:
        batch_op.drop_index("ix_conc_acta_file")

    op.drop_table("conc_acta")
    with op.batch_alter_table("conc_file", schema=None) as batch_op:
        batch_op.drop_index("ix_conc_file_sede_state")
        batch_op.drop_index("ix_conc_file_conciliator_state")

    op.drop_table("conc_file")
    op.drop_table("signed_document")
    op.drop_table("conc_sequence")
    op.drop_table("conc_professional")


APPEND_ONLY = ("conc_acta", "conc_acta_void", "conc_certified_copy")


def _append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION conc_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: an issued acta is never edited', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION conc_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION conc_append_only()"
            )
        return
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: an issued acta is never edited'); END"
            )


def _drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS conc_append_only()")
        return
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
