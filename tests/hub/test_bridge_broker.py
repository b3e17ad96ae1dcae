"""hub.broker: finding the sede's broker, or starting Mosquitto / the embedded demo broker."""

from __future__ import annotations

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.broker import EMBEDDED_WARNING, ensure_broker, free_port, mosquitto_executable, port_open
from hub.mqtt_client import StateWatcher


def _retained_round_trip(host: str, port: int, sede: str) -> dict:
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2)
    publisher.connect(host, port)
    publisher.loop_start()
    try:
        publisher.publish(
            f"alegra/v1/{sede}/display/state", b'{"waiting": {"a": 3}}', qos=1, retain=True
        ).wait_for_publish(5)
        with StateWatcher(sede_id=sede, host=host, port=port) as watcher:
            assert watcher.wait_for(lambda w: w.display() is not None, 5)
            return watcher.display()
    finally:
        publisher.disconnect()
        publisher.loop_stop()


def test_embedded_broker_serves_retained_messages(tmp_path, sede_id):
    said: list[str] = []
    handle = ensure_broker(
        "127.0.0.1", free_port(), workdir=tmp_path, prefer_embedded=True, say=said.append
    )
    try:
        assert handle.kind == "embedded"
        assert EMBEDDED_WARNING in said  # the demo must say it is demo-only
        assert _retained_round_trip(handle.host, handle.port, sede_id) == {"waiting": {"a": 3}}
    finally:
        handle.stop()
    assert not port_open(handle.host, handle.port)


@pytest.mark.skipif(mosquitto_executable() is None, reason="mosquitto not installed")
def test_starts_mosquitto_when_nothing_listens(tmp_path, sede_id):
    handle = ensure_broker("127.0.0.1", free_port(), workdir=tmp_path, say=lambda _: None)
    try:
        assert handle.kind == "mosquitto"
        assert _retained_round_trip(handle.host, handle.port, sede_id) == {"waiting": {"a": 3}}
    finally:
        handle.stop()
    assert not port_open(handle.host, handle.port)


@pytest.mark.mqtt
def test_uses_a_reachable_broker_without_starting_one(mqtt_broker, tmp_path):
    handle = ensure_broker(mqtt_broker.host, mqtt_broker.port, workdir=tmp_path, say=lambda _: None)
    assert (handle.kind, handle.port) == ("external", mqtt_broker.port)
    handle.stop()  # not ours: must leave it running
    assert port_open(mqtt_broker.host, mqtt_broker.port)


def test_no_broker_and_not_allowed_to_start(tmp_path):
    with pytest.raises(RuntimeError):
        ensure_broker("127.0.0.1", free_port(), workdir=tmp_path, allow_start=False)
