"""The bridge's publisher: retained states rendered off the command lane, from snapshots of
committed data, coalesced, never going back to an older state, and always ending at the latest
committed one. Real engine, real Mosquitto."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest

from contracts import mqtt as topics
from hub.bridge import HubBridge, MqttSettings
from hub.config import DEMO_SEDE_FILE, load_sede_config
from hub.mqtt_client import StateWatcher

pytestmark = pytest.mark.mqtt

SKIP = {"msg_id", "ts"}


class SlowReader:
    """Wraps the engine's StateReader: every snapshot first waits ``delay_s`` (a slow disk,
    a huge line) and, while ``fail`` is set, blows up instead."""

    def __init__(self, inner, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.fail = threading.Event()
        self.snapshots = 0

    @contextmanager
    def snapshot(self):
        self.snapshots += 1
        if self.fail.is_set():
            raise RuntimeError("disk hiccup")
        time.sleep(self.delay_s)
        with self.inner.snapshot() as snap:
            yield snap

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def make_hub(tmp_path, sede_id, mqtt_broker):
    from hub.domain.engine import HubEngine

    made: list = []

    def make(reader_delay_s: float | None = None):
        config = load_sede_config(DEMO_SEDE_FILE).model_copy(update={"id": sede_id})
        engine = HubEngine(config, tmp_path / f"hub-{len(made)}.sqlite3")
        reader = None
        if reader_delay_s is not None:
            open_reader = engine.open_state_reader

            def slow_reader():
                nonlocal reader
                reader = SlowReader(open_reader(), reader_delay_s)
                return reader

            engine.open_state_reader = slow_reader
        bridge = HubBridge(
            engine,
            sede_id=sede_id,
            mqtt=MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port),
            housekeeping_interval_s=60,
        )
        assert bridge.start(wait_s=15)
        made.append((engine, bridge))
        return engine, bridge, reader

    yield make
    for engine, bridge in made:
        bridge.stop()
        engine.close()


def _queue_publications(watch: StateWatcher, sede_id: str, service: str) -> list[dict]:
    """Every QueueState of ``service`` the watcher receives, in arrival order."""
    seen: list[dict] = []
    topic = topics.queue_state(sede_id, service)
    watch.add_listener(lambda t, payload: seen.append(payload) if t == topic else None)
    return seen


def test_after_a_burst_retained_state_is_the_final_committed_state_and_never_regressed(
    make_hub, clients, sede_id
):
    engine, bridge, _ = make_hub()
    watch = clients.watch()
    seen = _queue_publications(watch, sede_id, "orientacion")
    kiosks = [clients.device("kiosk", f"k{n}") for n in range(1, 4)]
    per_kiosk = 25
    futures = [
        kiosk.send("issue_ticket", {"service_code": "orientacion"})
        for _ in range(per_kiosk)
        for kiosk in kiosks
    ]  # all in flight at once: the worker groups them, the publisher coalesces
    assert all(f.result(30).status == "ok" for f in futures)
    total = per_kiosk * len(kiosks)
    assert bridge.wait_published(15)
    assert watch.wait_for(lambda w: (w.queue("orientacion") or {}).get("waiting") == total)
    # only tickets were issued, so every published count is one the line really had, in
    # commit order: an older state is never published after a newer one
    counts = [payload["waiting"] for payload in seen]
    assert counts == sorted(counts)
    assert counts[-1] == total
    # and what a display connecting now gets is exactly what the engine has committed
    late = clients.watch()
    assert late.wait_for(
        lambda w: w.display() is not None and w.queue("orientacion") is not None, 10
    )
    assert {k: v for k, v in late.queue("orientacion").items() if k not in SKIP} == {
        k: v
        for k, v in engine.queue_state("orientacion").model_dump(mode="json").items()
        if k not in SKIP
    }
    assert {k: v for k, v in late.display().items() if k not in SKIP} == {
        k: v for k, v in engine.display_state().model_dump(mode="json").items() if k not in SKIP
    }


def test_slow_state_rendering_never_delays_commands_and_is_coalesced(make_hub, clients, sede_id):
    engine, bridge, reader = make_hub(reader_delay_s=0.4)
    watch = clients.watch()
    seen = _queue_publications(watch, sede_id, "victimas")
    kiosk = clients.device("kiosk", "k1")
    started = time.monotonic()
    for _ in range(10):
        assert kiosk.request("issue_ticket", {"service_code": "victimas"}).status == "ok"
    elapsed = time.monotonic() - started
    # rendering the states after each command would take 10 x 0.4 s; answers do not wait
    assert elapsed < 2.0, elapsed
    assert bridge.wait_published(15)
    assert watch.wait_for(lambda w: (w.queue("victimas") or {}).get("waiting") == 10)
    counts = [payload["waiting"] for payload in seen]
    assert counts == sorted(counts) and counts[-1] == 10
    # ten commands, far fewer renderings: whatever changed meanwhile went out once
    assert len(seen) < 10
    assert reader.snapshots < 10
    assert bridge.published_version == bridge.version


def test_a_failed_rendering_is_retried_and_the_state_still_arrives(make_hub, clients, sede_id):
    engine, bridge, reader = make_hub(reader_delay_s=0.0)
    watch = clients.watch()
    kiosk = clients.device("kiosk", "k1")
    errors = bridge.stats.internal_errors
    reader.fail.set()
    assert kiosk.request("issue_ticket", {"service_code": "conciliacion"}).status == "ok"
    deadline = time.monotonic() + 5
    while bridge.stats.internal_errors == errors and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bridge.stats.internal_errors > errors
    assert bridge.published_version < bridge.version  # not published: kept for a retry
    reader.fail.clear()
    assert bridge.wait_published(10)
    assert watch.wait_for(lambda w: (w.queue("conciliacion") or {}).get("waiting") == 1)


def test_stop_publishes_what_the_last_commands_changed(make_hub, clients, sede_id, mqtt_broker):
    engine, bridge, _ = make_hub(reader_delay_s=0.3)
    kiosk = clients.device("kiosk", "k1")
    for _ in range(3):
        assert kiosk.request("issue_ticket", {"service_code": "orientacion"}).status == "ok"
    bridge.stop()  # right after the answers: the publisher still has states to send
    assert bridge.published_version == bridge.version
    late = clients.watch()
    assert late.wait_for(lambda w: (w.queue("orientacion") or {}).get("waiting") == 3, 10)
    assert late.wait_for(lambda w: w.hub_availability() == "offline", 10)
