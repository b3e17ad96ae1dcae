"""Central's word applied at the sede (docs/sync.md): a new sede configuration, users revoked
while signed in, display messages entering or leaving their validity window, the matter
catalogue, and pruning past appointments. Runs in the engine's housekeeping transaction;
every change writes its audit and outbox rows. What central sent is read in
``hub.domain.central_records``."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace

from hub.config import SedeConfig
from hub.domain import central_records, store
from hub.domain.changes import recount_lines, update_counter
from hub.domain.counters import release_counter
from hub.domain.queries import counter_row
from hub.domain.tx import Catalogue, Tx, dumps

log = logging.getLogger(__name__)


@dataclass
class CentralWord:
    """What the engine keeps in memory of central's word, between housekeeping runs. The
    engine adopts the one ``apply_central`` returns only once its transaction commits."""

    bootstrap: SedeConfig  # the TOML's, in force until central's is pulled
    catalogue: Catalogue
    marker: str = ""  # central_records.PulledConfig.marker of the configuration taken up
    messages: list[str] = field(default_factory=list)  # display messages valid now
    matters: dict[str, str] = field(default_factory=dict)
    pruned_before: str = ""


def apply_central(tx: Tx, *, word: CentralWord) -> CentralWord:
    """Apply what the sync agent pulled from central (``central_records``): a new sede
    configuration, users revoked while signed in, display messages entering or leaving their
    validity window, the matter catalogue, and the appointment window. Runs in housekeeping's
    transaction; every change writes its audit and outbox rows. Returns the new word, with
    ``tx.catalogue`` switched to the configuration now in effect."""
    word = replace(word)
    pulled = central_records.pulled_config(tx.conn, word.bootstrap)
    if pulled.marker != word.marker:
        meta = store.hub_meta(tx.conn)
        if pulled.error:
            log.warning(
                "central configuration not applied",
                extra={"alegra_fields": {"event": "config_rejected", "error": pulled.error}},
            )
            kept = central_records.config_from_json(
                meta.get("sede_config_in_effect"), word.bootstrap
            )
            if not word.marker and kept is not None:
                # a restart: keep running on the configuration the file was running on
                tx.catalogue = reconfigure(
                    replace(tx, action="apply_central_config"), kept, word=word, quiet=True
                )
        else:
            if pulled.ignored:
                log.warning(
                    "central configuration has fields this hub does not know: "
                    "applied without them; upgrade the hub",
                    extra={
                        "alegra_fields": {
                            "event": "config_fields_ignored",
                            "field": ", ".join(pulled.ignored),
                        }
                    },
                )
            new = pulled.config or word.bootstrap
            # the file already runs on this revision (a restart, `hub status`): take it up
            # in memory without recording it again
            quiet = meta.get("sede_config_applied", "") == pulled.marker
            tx.catalogue = reconfigure(
                replace(tx, action="apply_central_config"), new, word=word, quiet=quiet
            )
            store.set_hub_meta(tx.conn, "sede_config_applied", pulled.marker)
            store.set_hub_meta(
                tx.conn, "sede_config_in_effect", new.model_dump_json(exclude={"staff"})
            )
        word.marker = pulled.marker
        word.catalogue = tx.catalogue
    for counter_id, username in central_records.revoked_signed_in(tx.conn):
        if counter_id in tx.catalogue.counters:
            revoke = replace(tx, action="revoke_user", username=username)
            release_counter(revoke, counter_id, "revoked")
    messages = central_records.current_messages(central_records.display_messages(tx.conn), tx.now)
    if messages != word.messages:
        word.messages = messages
        tx.outcome.display_changed = True
    matters = central_records.matter_catalogue(tx.conn)
    if matters != word.matters:  # central's catalogue pulled: republish config
        word.matters = matters
        tx.outcome.config_changed = True
    day_start = tx.day_start()
    if day_start != word.pruned_before:
        central_records.prune_past_appointments(tx.conn, day_start)
        word.pruned_before = day_start
    # retained state of what no longer exists is cleared by the transport, not republished
    tx.outcome.changed_counters -= tx.outcome.removed_counters
    tx.outcome.changed_services -= tx.outcome.removed_services
    return word


def reconfigure(tx: Tx, new: SedeConfig, *, word: CentralWord, quiet: bool = False) -> Catalogue:
    """Switch to ``new`` and return its catalogue: removed counters are released (their
    tickets go back to the line), new counters get their row, open counters keep only services
    they still attend, services withdrawn while tickets are live keep working for those
    tickets. ``quiet``: the file was already switched (by an earlier run); only memory
    follows."""
    old_services, old_counters = tx.catalogue.services, tx.catalogue.counters
    kept_ids = {c.id for c in new.counters}
    removed = [counter_id for counter_id in old_counters if counter_id not in kept_ids]
    for counter_id in [] if quiet else removed:
        release_counter(tx, counter_id, "counter_removed")
    configured = {s.code for s in new.services}
    orphans = central_records.orphan_services(tx.conn, configured, dict(old_services))
    catalogue = Catalogue.of(new, orphans)
    tx.catalogue = catalogue
    for counter in new.counters:
        tx.conn.execute(
            "INSERT INTO counters (counter_id, updated_at) VALUES (?, ?) "
            "ON CONFLICT (counter_id) DO NOTHING",
            (counter.id, tx.now_iso),
        )
        row = counter_row(tx.conn, counter.id)
        if quiet or row["status"] == "closed":
            continue  # opening takes the configured services afresh
        active = json.loads(row["active_services"])
        still = [code for code in counter.services if code in active] or list(counter.services)
        if still != active:
            update_counter(tx, row, "reconfigured", {"active_services": dumps(still)})
            tx.outcome.changed_services.update(active)
    recount_lines(tx.conn, catalogue.services)
    out = tx.outcome
    out.config_changed = True
    out.display_changed = True
    out.removed_counters.update(removed)
    out.removed_services.update(code for code in old_services if code not in catalogue.services)
    out.changed_services.update(catalogue.services)
    out.changed_counters.update(catalogue.counters)
    if quiet:
        return catalogue
    summary = {
        "services": sorted(catalogue.offered),
        "counters": sorted(catalogue.counters),
        "source": "central" if new is not word.bootstrap else "toml",
    }
    before = {"services": sorted(old_services), "counters": sorted(old_counters)}
    tx.audit(entity_type="hub", entity_id=tx.sede_id, before=before, after=summary)
    tx.outbox("hub.config_applied", "hub", tx.sede_id, summary)
    return catalogue
