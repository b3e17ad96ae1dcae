"""kill -9 the hub under load, restart it: every acknowledged ticket is there, numbering goes on
without gaps or repeats, and the retained state is republished."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from contracts import mqtt as topics
from hub.config import DEMO_SEDE_FILE
from hub.mqtt_client import DeviceClient, StateWatcher

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]

SERVICES = {"orientacion": "A", "defensa-penal": "P", "victimas": "V", "conciliacion": "C"}
KIOSKS = ["k1", "k2", "k3", "k4"]
KILL_AFTER_ACKS = 200


def _sede_file(tmp_path: Path, sede_id: str) -> Path:
    text = DEMO_SEDE_FILE.read_text(encoding="utf-8")
    assert 'id = "lima-cercado"' in text
    path = tmp_path / "sede.toml"
    path.write_text(text.replace('id = "lima-cercado"', f'id = "{sede_id}"'), encoding="utf-8")
    return path


def _hub_cmd(sede_file: Path, data_dir: Path, broker) -> list[str]:
    return [
        sys.executable, "-m", "alegra.cli", "hub", "run",
        "--config", str(sede_file), "--data-dir", str(data_dir),
        "--mqtt-host", broker.host, "--mqtt-port", str(broker.port),
        "--log-level", "WARNING",
    ]  # fmt: skip


def _start_hub(cmd: list[str], log_path: Path) -> subprocess.Popen:
    log = log_path.open("ab")
    return subprocess.Popen(
        cmd, stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )


def _numbers_by_service(watch: StateWatcher) -> dict[str, list[str]]:
    return {
        code: [t["number"] for t in (watch.queue(code) or {}).get("tickets", [])]
        for code in SERVICES
    }


def test_kill_minus_nine_under_load_loses_no_acknowledged_ticket(tmp_path, sede_id, mqtt_broker):
    sede_file = _sede_file(tmp_path, sede_id)
    data_dir = tmp_path / "data"
    cmd = _hub_cmd(sede_file, data_dir, mqtt_broker)
    hub = _start_hub(cmd, tmp_path / "hub.log")
    watch = StateWatcher(sede_id=sede_id, host=mqtt_broker.host, port=mqtt_broker.port).connect()
    try:
        assert watch.wait_for(lambda w: w.hub_availability() == "online", 30), (
            tmp_path / "hub.log"
        ).read_text()

        acked: list[tuple[str, str]] = []  # (service, number) of every ok response
        acked_lock = threading.Lock()
        stop = threading.Event()
        errors: list[str] = []

        def kiosk_load(kiosk_id: str) -> None:
            rng = random.Random(kiosk_id)
            with DeviceClient(
                sede_id=sede_id, role="kiosk", device_id=kiosk_id,
                host=mqtt_broker.host, port=mqtt_broker.port,
            ) as kiosk:  # fmt: skip
                while not stop.is_set():
                    service = rng.choice(list(SERVICES))
                    futures = [
                        kiosk.send("issue_ticket", {"service_code": service}) for _ in range(3)
                    ]  # a few in flight per kiosk, like impatient people at four kiosks
                    for future in futures:
                        try:
                            response = future.result(3)
                        except Exception:
                            continue  # the hub died mid-request: no answer, no promise
                        if response.status != "ok":
                            errors.append(response.error.code)
                            continue
                        with acked_lock:
                            acked.append((service, response.result["ticket"]["number"]))

        threads = [threading.Thread(target=kiosk_load, args=(k,)) for k in KIOSKS]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acked) < KILL_AFTER_ACKS and time.monotonic() < deadline:
            time.sleep(0.01)
        hub.send_signal(signal.SIGKILL)
        hub.wait(10)
        acked_at_kill = len(acked)
        assert acked_at_kill >= KILL_AFTER_ACKS, "the hub was too slow to load"
        # the broker publishes the hub's last will as soon as the socket drops
        assert watch.wait_for(lambda w: w.hub_availability() == "offline", 10)
        time.sleep(0.5)  # kiosks keep trying against a dead hub for a moment
        stop.set()
        for thread in threads:
            thread.join(10)
        assert not errors, errors
        watch.close()
        # wipe the retained queue states the dead hub left at the broker, so only a republish
        # by the restarted hub can satisfy the checks below
        wiper = mqtt.Client(CallbackAPIVersion.VERSION2)
        wiper.connect(mqtt_broker.host, mqtt_broker.port)
        wiper.loop_start()
        for code in SERVICES:
            wiper.publish(
                topics.queue_state(sede_id, code), b"", qos=1, retain=True
            ).wait_for_publish(5)
        wiper.disconnect()
        wiper.loop_stop()

        # restart on the same data dir; a fresh subscriber gets the republished state
        hub = _start_hub(cmd, tmp_path / "hub.log")
        watch = StateWatcher(
            sede_id=sede_id, host=mqtt_broker.host, port=mqtt_broker.port
        ).connect()
        assert watch.wait_for(lambda w: w.hub_availability() == "online", 30)
        status = json.loads(
            subprocess.run(
                [sys.executable, "-m", "alegra.cli", "hub", "status", "--json",
                 "--config", str(sede_file), "--data-dir", str(data_dir)],
                capture_output=True, text=True, check=True, timeout=60,
            ).stdout
        )  # fmt: skip
        waiting_in_db = {code: status["queues"][code]["waiting"] for code in SERVICES}
        assert watch.wait_for(
            lambda w: {c: len(n) for c, n in _numbers_by_service(w).items()} == waiting_in_db, 15
        ), (_numbers_by_service(watch), waiting_in_db)
        after = _numbers_by_service(watch)

        for service, letter in SERVICES.items():
            numbers = after[service]
            # no gaps, no repeats: exactly letter001..letterN
            assert sorted(numbers) == [f"{letter}{i:03d}" for i in range(1, len(numbers) + 1)]
        present = {(s, n) for s, numbers in after.items() for n in numbers}
        missing = [pair for pair in acked if pair not in present]
        assert not missing, f"acknowledged tickets lost: {missing}"
        assert len(acked) == len(set(acked)), "a number was handed out twice"

        # numbering continues after the last ticket committed before the crash
        with DeviceClient(
            sede_id=sede_id, role="kiosk", device_id="k1",
            host=mqtt_broker.host, port=mqtt_broker.port,
        ) as kiosk:  # fmt: skip
            for service, letter in SERVICES.items():
                response = kiosk.request("issue_ticket", {"service_code": service})
                assert response.status == "ok"
                expected = f"{letter}{len(after[service]) + 1:03d}"
                assert response.result["ticket"]["number"] == expected

        hub.send_signal(signal.SIGTERM)
        assert hub.wait(20) == 0
        assert watch.wait_for(lambda w: w.hub_availability() == "offline", 10)
    finally:
        if hub.poll() is None:
            hub.kill()
            hub.wait(10)
        watch.close()
