"""The migration history stays one line: several modules land migrations in parallel, and a
second head makes ``alembic upgrade head`` refuse to run on every sede's central."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from central.core.db import alembic_config


def test_the_migration_history_has_exactly_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_heads()
    assert len(heads) == 1, f"several alembic heads: {sorted(heads)} (set down_revision to one)"


def test_every_revision_is_reachable_from_the_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    walked = {revision.revision for revision in script.walk_revisions()}
    files = {
        revision.revision for revision in script.revision_map.iterate_revisions("heads", "base")
    }
    assert walked == files
