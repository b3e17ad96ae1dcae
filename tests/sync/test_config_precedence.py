"""Precedence of the sede configuration at the hub, on the hub's side of a pull (pages applied
with ``sync.central_records.apply_page`` on the real SQLite file, as the agent does): the TOML until
central's arrives, central's once pulled, the TOML again if central withdraws it, and a
document the hub cannot run on is kept out without stopping anything."""

from __future__ import annotations

import logging

import pytest

from contracts.sync import Change, RecordType
from tests.helpers import devtools

SEDE = "sede-prec"


@pytest.fixture
def engine(tmp_path):
    from hub.domain.engine import HubEngine

    hub = HubEngine(devtools.hub_sede_config(SEDE), tmp_path / "hub.sqlite3")
    yield hub
    hub.close()


def central_config(revision: int, **changes) -> Change:
    body = devtools.hub_sede_config(SEDE).model_dump(mode="json")
    body.pop("staff")
    body.update(changes)
    return Change(record_type=RecordType.SEDE_CONFIG, record_id=SEDE, revision=revision, body=body)


def counters(engine) -> list[str]:
    return [c.counter_id for c in engine.sede_info().counters]


def test_toml_then_central_then_toml_again_and_a_bad_document_kept_out(engine, caplog):
    assert counters(engine) == ["v1", "v2"]  # the TOML: nothing pulled yet
    assert not engine.housekeeping().config_changed

    v9 = {"id": "v9", "name": "Ventanilla 9", "number": 9, "services": {"victimas": 1}}
    devtools.store_pulled_page(
        engine.db_path, [central_config(1, name="Centro renombrado", counters=[v9])]
    )
    assert engine.housekeeping().config_changed
    assert counters(engine) == ["v9"] and engine.sede_info().name == "Centro renombrado"

    # a counter attending a service the sede does not have: refused, the hub keeps running
    bad = {"id": "v8", "name": "Ventanilla 8", "number": 8, "services": {"notarias": 1}}
    with caplog.at_level(logging.WARNING, logger="hub.domain.engine"):
        devtools.store_pulled_page(engine.db_path, [central_config(2, counters=[bad])])
        assert not engine.housekeeping().config_changed
    assert counters(engine) == ["v9"]
    assert any("central configuration not applied" in r.getMessage() for r in caplog.records)
    assert not engine.housekeeping().config_changed  # logged once, not every few seconds
    from hub.domain.engine import HubEngine

    restarted = HubEngine(devtools.hub_sede_config(SEDE), engine.db_path)
    try:  # a restart keeps the configuration in effect, not the TOML
        assert counters(restarted) == ["v9"]
    finally:
        restarted.close()

    # central withdraws it (tombstone): back to the TOML
    withdrawn = Change(record_type=RecordType.SEDE_CONFIG, record_id=SEDE, revision=3, deleted=True)
    devtools.store_pulled_page(engine.db_path, [withdrawn])
    outcome = engine.housekeeping()
    assert outcome.config_changed and outcome.removed_counters == {"v9"}
    assert counters(engine) == ["v1", "v2"] and engine.sede_info().name == f"Centro {SEDE}"


def test_a_newer_centrals_added_fields_are_left_out_and_the_rest_applies(engine, caplog):
    """Central is upgraded before the hubs: a field it adds (top level, or inside a counter)
    must not keep an older hub on its previous configuration. What the hub knows applies;
    the unknown paths are logged once, so someone upgrades the hub. A wrong value in a known
    field is still refused."""
    v9 = {"id": "v9", "name": "Ventanilla 9", "number": 9, "services": {"victimas": 1},
          "screen_layout": "wide"}  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="hub.domain.engine"):
        devtools.store_pulled_page(
            engine.db_path,
            [central_config(1, name="Centro nuevo", counters=[v9], kiosk_theme="oscuro")],
        )
        assert engine.housekeeping().config_changed
        assert not engine.housekeeping().config_changed
    assert counters(engine) == ["v9"] and engine.sede_info().name == "Centro nuevo"
    events = [getattr(r, "alegra_fields", {}) for r in caplog.records]
    ignored = [e for e in events if e.get("event") == "config_fields_ignored"]
    assert len(ignored) == 1
    assert set(ignored[0]["field"].split(", ")) == {"kiosk_theme", "counters.0.screen_layout"}
    assert not any("not applied" in r.getMessage() for r in caplog.records)

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hub.domain.engine"):
        devtools.store_pulled_page(
            engine.db_path,
            [central_config(2, counters=[{**v9, "number": "nine"}], kiosk_theme="x")],
        )
        assert not engine.housekeeping().config_changed
    assert counters(engine) == ["v9"]
    assert any("central configuration not applied" in r.getMessage() for r in caplog.records)
