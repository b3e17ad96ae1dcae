"""cases (Module 02): citizens, merges, sworn statements, case files and their sequence,
parties, actions (with full-text over notes), deadlines, alerts, referrals, documents, timeline.

Revision ID: c001
Revises: a001
"""

from __future__ import annotations

from alembic import op

revision = "c001"
down_revision = "a001"
branch_labels = None
depends_on = None

TABLES = (
    "citizen",
    "citizen_merge",
    "eligibility_statement",
    "case_sequence",
    "case_file",
    "case_party",
    "case_action",
    "case_deadline",
    "case_alert",
    "case_referral",
    "case_document",
    "case_event",
)

SQLITE_FTS = (
    # contentful FTS5 table keyed by the action's rowid, kept by triggers
    "CREATE VIRTUAL TABLE case_action_fts USING fts5(notes, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE TRIGGER case_action_fts_ai AFTER INSERT ON case_action BEGIN "
    "INSERT INTO case_action_fts(rowid, notes) VALUES (new.rowid, new.notes); END",
    "CREATE TRIGGER case_action_fts_ad AFTER DELETE ON case_action BEGIN "
    "DELETE FROM case_action_fts WHERE rowid = old.rowid; END",
    "CREATE TRIGGER case_action_fts_au AFTER UPDATE OF notes ON case_action BEGIN "
    "UPDATE case_action_fts SET notes = new.notes WHERE rowid = old.rowid; END",
    "CREATE INDEX ix_citizen_name_norm ON citizen (name_norm)",
)
POSTGRES_FTS = (
    "ALTER TABLE case_action ADD COLUMN notes_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('spanish', coalesce(notes, ''))) STORED",
    "CREATE INDEX ix_case_action_notes_tsv ON case_action USING gin (notes_tsv)",
    "CREATE INDEX ix_citizen_name_norm ON citizen (name_norm text_pattern_ops)",
)
POSTGRES_TRGM = (
    "CREATE INDEX ix_citizen_name_norm_trgm ON citizen USING gin (name_norm gin_trgm_ops)"
)


def upgrade() -> None:
    # The tables as central.citizens/central.cases models define them at this revision; any
    # later change is a new revision with explicit op.* calls.
    from central.cases import models as case_models  # noqa: F401
    from central.citizens import models as citizen_models  # noqa: F401
    from central.models import metadata

    bind = op.get_bind()
    metadata.create_all(bind, tables=[metadata.tables[name] for name in TABLES])
    if bind.dialect.name == "postgresql":
        for statement in POSTGRES_FTS:
            op.execute(statement)
        # name search by any word: trigram index when the extension can be had (needs rights
        # to CREATE EXTENSION; without it, searches fall back to the prefix index)
        savepoint = bind.begin_nested()
        try:
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            bind.exec_driver_sql(POSTGRES_TRGM)
            savepoint.commit()
        except Exception:  # noqa: BLE001
            savepoint.rollback()
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS case_action_fts")
    for name in reversed(TABLES):
        op.drop_table(name)
