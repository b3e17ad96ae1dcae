"""Benchmark of the sede's Qt apps (kiosk, display, counter) against a real hub and broker.

    .venv/bin/python bench/edge.py [--tickets 200] [--calls 100] [--raw-samples 300] [--starts 3]

Prints ONE JSON object. Keys named in issue 3 are an interface:
  press_to_ticket_bytes_p99_ms  kiosk view-model's last press (skip DNI) -> hub issues the
                                ticket over MQTT -> ESC/POS bytes written by the file printer
  call_to_display_p99_ms        the hub's call event (its ``ts``, stamped in the transaction)
                                -> the display view-model AND its widgets show the call
  cold_start_s {kiosk,display,counter}  ``alegra <app>`` subprocess start -> first frame shown
                                (a probe prints a marker from the event loop's first turn)
  rss_mb {kiosk,display,counter}        resident memory of that process, connected and idle
Raw limits measured in the same run: MQTT round trip through the same broker (two hops, QoS 1,
like request -> hub -> response), the engine's own issue_ticket time (no transport), and a bare
PySide6 process (import, QApplication, one shown widget) for cold start and memory.
The hub (HubEngine + bridge on a temp SQLite) runs in this process, on the same machine; the
broker is Mosquitto at 127.0.0.1:1883 when it answers, else a private one started for the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# first, even when PYTHONPATH already names the repository: bench/ (the script's directory) comes
# before it, and bench/hub.py or bench/central.py would shadow those packages
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("ALEGRA_LOG_LEVEL", "WARNING")

TARGETS = {
    "press_to_ticket_bytes_p99_ms": 300.0,
    "call_to_display_p99_ms": 100.0,
    "cold_start_s": 2.0,
    "rss_mb": 250.0,
}
READY_LINE = "alegra-ready"
#: Runs ``alegra <app> ...`` with QApplication.exec wrapped to print a marker from the event
#: loop's first turn (the window was shown before exec): the same first-frame probe for every
#: app, with no cooperation needed from the app's code.
APP_PROBE = (
    "import sys\n"
    "from PySide6.QtCore import QTimer\n"
    "from PySide6.QtWidgets import QApplication\n"
    "_exec = QApplication.exec\n"
    "def _probed(self, *a):\n"
    "    QTimer.singleShot(0, lambda: print('alegra-ready', flush=True))\n"
    "    return _exec()\n"
    "QApplication.exec = _probed\n"
    "from alegra.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
BARE_QT = (
    "from PySide6.QtWidgets import QApplication, QWidget\n"
    "from PySide6.QtCore import QTimer\n"
    "app = QApplication([])\n"
    "w = QWidget(); w.resize(1280, 720); w.show()\n"
    "QTimer.singleShot(0, lambda: print('alegra-ready', flush=True))\n"
    "app.exec()\n"
)


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "p50": round(statistics.median(ms), 2),
        "p99": round(percentile(ms, 99), 2),
        "max": round(max(ms), 2),
        "n": len(ms),
    }


# --------------------------------------------------------------------------- broker


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def ensure_broker(
    workdir: Path, *, private: bool = False, extra_conf: str = ""
) -> tuple[str, int, subprocess.Popen | None]:
    if not private and port_open("127.0.0.1", 1883):
        return "127.0.0.1", 1883, None
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf = workdir / f"mosquitto-{port}.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{extra_conf}"
    )
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("could not start Mosquitto for the benchmark")
        time.sleep(0.05)
    return "127.0.0.1", port, proc


def raw_mqtt_roundtrip(host: str, port: int, samples: int, *, nodelay: bool = False) -> list[float]:
    """publish (QoS 1) -> bare echo client republishes (QoS 1) -> received: the floor of any
    command or event path through this broker. ``nodelay`` turns Nagle off on the clients'
    sockets (paho leaves it on; with small QoS 1 packets it costs ~40 ms per hop)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    run = uuid.uuid4().hex[:8]
    ping, pong = f"bench/{run}/ping", f"bench/{run}/pong"
    ready, subscribed = threading.Event(), threading.Event()
    echo = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"edge-echo-{run}")
    echo.on_connect = lambda c, *a: c.subscribe(ping, qos=1)
    echo.on_subscribe = lambda *a: ready.set()
    echo.on_message = lambda c, u, m: c.publish(pong, m.payload, qos=1)
    asker = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"edge-ask-{run}")
    asker.on_connect = lambda c, *a: c.subscribe(pong, qos=1)
    asker.on_subscribe = lambda *a: subscribed.set()
    if nodelay:
        for client, subscribe_to in ((echo, ping), (asker, pong)):

            def on_connect(c: Any, *a: Any, topic: str = subscribe_to) -> None:
                c.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                c.subscribe(topic, qos=1)

            client.on_connect = on_connect
    pending: dict[bytes, Future[float]] = {}

    def on_pong(client: Any, userdata: Any, message: Any) -> None:
        future = pending.pop(bytes(message.payload[:16]), None)
        if future is not None:
            future.set_result(time.perf_counter())

    asker.on_message = on_pong
    for client in (echo, asker):
        client.connect(host, port)
        client.loop_start()
    if not (ready.wait(10) and subscribed.wait(10)):
        raise RuntimeError("raw MQTT clients could not subscribe")
    latencies = []
    try:
        for index in range(samples + 10):
            key = f"{index:016d}".encode()
            future: Future[float] = Future()
            pending[key] = future
            sent = time.perf_counter()
            asker.publish(ping, key + b"x" * 300, qos=1)
            arrived = future.result(10)
            if index >= 10:
                latencies.append(arrived - sent)
    finally:
        for client in (echo, asker):
            client.loop_stop()
            client.disconnect()
    return latencies


# --------------------------------------------------------------------------- Qt helpers


def pump_until(app: Any, predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        app.processEvents()
        if predicate():
            return True
        time.sleep(0.0005)
    return predicate()


def dispose(app: Any, *objects: Any) -> None:
    """Delete Qt objects while the event loop still runs (PySide aborts when they are left to
    the interpreter's final garbage collection)."""
    for obj in objects:
        obj.deleteLater()
    for _ in range(3):
        app.processEvents()


class TimedPrinter:
    """The real file printer; records when each ticket's bytes are on disk."""

    def __init__(self, printer: Any) -> None:
        self.printer = printer
        self.done_at: list[float] = []

    def print_ticket(self, ticket: Any) -> Any:
        result = self.printer.print_ticket(ticket)
        self.done_at.append(time.perf_counter())
        return result


# --------------------------------------------------------------------------- measures


def measure_press_to_bytes(
    app: Any, host: str, port: int, sede: str, workdir: Path, tickets: int
) -> tuple[list[float], int]:
    from kiosk.printing import make_kiosk_printer
    from kiosk.viewmodel import KioskViewModel
    from qtcommon.hub_client import HubClient
    from qtcommon.i18n import Translator

    client = HubClient(host=host, port=port, sede=sede, role="kiosk", device_id="kiosk-1")
    client.start()
    printer = TimedPrinter(make_kiosk_printer(printer_dir=workdir / "tickets"))
    kiosk = KioskViewModel(client, printer, Translator.load(packages=("kiosk",)))
    if not pump_until(app, lambda: kiosk.step == "home", 15):
        raise RuntimeError(f"kiosk never reached home (step {kiosk.step})")
    latencies = []
    failures = 0
    for index in range(tickets + 5):
        kiosk.reset()
        kiosk.choose_service("orientacion")
        kiosk.choose_preference("none")
        printed_before = len(printer.done_at)
        pressed = time.perf_counter()
        kiosk.skip_dni()
        if not pump_until(app, lambda n=printed_before: len(printer.done_at) > n, 10):
            failures += 1
            continue
        if index >= 5:  # warm-up (argon2-free, but first SQLite pages and fonts)
            latencies.append(printer.done_at[-1] - pressed)
        pump_until(app, lambda: kiosk.ticket is not None, 5)
    client.stop()
    dispose(app, kiosk, client)
    return latencies, failures


def measure_call_to_display(
    app: Any, host: str, port: int, sede: str, calls: int
) -> tuple[list[float], int]:
    from display.app import connect_display
    from display.viewmodel import DisplayViewModel
    from display.views import DisplayWindow
    from hub.mqtt_client import DeviceClient
    from qtcommon.hub_client import HubClient

    display_client = HubClient(host=host, port=port, sede=sede, role="display", device_id="d-1")
    model = DisplayViewModel(highlight_ms=200)
    window = DisplayWindow(model)
    window.resize(1920, 1080)
    window.show()
    connect_display(display_client, model, announcer=None)
    shown_at: dict[str, float] = {}

    def on_call(event: Any) -> None:  # connected after the model: runs once it has rendered
        shown_at[event.msg_id] = (datetime.now(UTC) - event.ts).total_seconds()

    display_client.call_received.connect(on_call)
    display_client.start()
    if not pump_until(app, lambda: display_client.connected, 15):
        raise RuntimeError("display never connected")
    counter = DeviceClient(sede_id=sede, role="counter", device_id="v1", host=host, port=port)
    counter.connect()

    def ask(action: str, params: dict | None = None) -> Any:
        future = counter.send(action, params or {})
        pump_until(app, future.done, 15)
        return future.result(0)

    ask("sign_in", {"username": "ana", "password": "demo-ventanilla-1"})
    ask("open_counter", {"services": ["orientacion"]})
    latencies, failures = [], 0
    for index in range(calls + 5):
        before = len(shown_at)
        response = ask("call_next")
        if response.status != "ok":
            failures += 1
            break  # queue empty: fewer tickets than calls
        if not pump_until(app, lambda b=before: len(shown_at) > b, 10):
            failures += 1
            continue
        if index >= 5:
            latencies.append(list(shown_at.values())[-1])
        ask("finish_attention", {"outcome": "no_se_presento"})
    counter.close()
    display_client.stop()
    window.close()
    dispose(app, window, model, display_client)
    return latencies, failures


def start_app(argv: list[str], timeout_s: float = 30) -> tuple[float | None, float | None, str]:
    """Run ``argv`` until it prints the ready marker; return (seconds, RSS MB, note)."""
    import psutil

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=REPO, text=True
    )
    ready_at: list[float] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == READY_LINE:
                ready_at.append(time.perf_counter())
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout_s)
    note = ""
    rss = None
    if ready_at:
        time.sleep(1.0)  # connected, retained state received, idle
        try:
            process = psutil.Process(proc.pid)
            rss = sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
            rss = rss / 2**20
        except psutil.Error:
            note = "process ended before memory was read"
    else:
        note = "no first frame within the timeout (the app failed to start?)"
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
    return (ready_at[0] - started if ready_at else None), rss, note


def measure_cold_start(
    host: str, port: int, sede: str, workdir: Path, starts: int
) -> dict[str, Any]:
    hub = f"{host}:{port}"
    cli = [sys.executable, "-c", APP_PROBE]
    apps = {
        "kiosk": [*cli, "kiosk", "--hub", hub, "--sede", sede, "--windowed"],
        "display": [*cli, "display", "--hub", hub, "--sede", sede, "--windowed", "--no-speech"],
        "counter": [*cli, "counter", "--hub", hub, "--sede", sede, "--counter", "v2", "--windowed"],
        "bare_pyside6": [sys.executable, "-c", BARE_QT],
    }
    results: dict[str, Any] = {}
    for name, argv in apps.items():
        times, rss, notes = [], [], set()
        for _ in range(starts):
            seconds, memory, note = start_app(argv)
            if seconds is not None:
                times.append(seconds)
            if memory is not None:
                rss.append(memory)
            if note:
                notes.add(note)
        results[name] = {
            "cold_start_s": round(statistics.median(times), 3) if times else None,
            "cold_start_max_s": round(max(times), 3) if times else None,
            "rss_mb": round(max(rss), 1) if rss else None,
            "notes": sorted(notes),
        }
    return results


def measure_engine_issue(config: Any, workdir: Path, samples: int) -> list[float]:
    """The hub's own cost of one issue_ticket (SQLite commit included, no MQTT)."""
    from contracts.mqtt import Role
    from hub.domain.engine import HubEngine
    from hub.ports import Actor

    engine = HubEngine(config, workdir / "engine-only.sqlite3")
    actor = Actor(Role.KIOSK, "kiosk-raw")
    latencies = []
    try:
        for index in range(samples + 5):
            started = time.perf_counter()
            outcome = engine.execute(
                actor=actor,
                action="issue_ticket",
                params={"service_code": "orientacion"},
                request_id=uuid.uuid4().hex,
            )
            if not outcome.ok:
                raise RuntimeError(f"engine refused issue_ticket: {outcome.error}")
            if index >= 5:
                latencies.append(time.perf_counter() - started)
    finally:
        engine.close()
    return latencies


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--raw-samples", type=int, default=300)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args(argv)
    args.calls = min(args.calls, args.tickets)

    from hub.bridge import HubBridge, MqttSettings
    from hub.config import DEMO_SEDE_FILE, load_sede_config
    from hub.domain.engine import HubEngine
    from qtcommon.screenshot import ensure_app

    app = ensure_app()
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="alegra-edge-") as tmp:
        workdir = Path(tmp)
        host, port, broker_proc = ensure_broker(workdir)
        sede = f"bench-{uuid.uuid4().hex[:8]}"
        config = load_sede_config(DEMO_SEDE_FILE).model_copy(update={"id": sede, "hours": []})
        engine = HubEngine(config, workdir / "hub.sqlite3")
        bridge = HubBridge(engine, sede_id=sede, mqtt=MqttSettings(host=host, port=port))
        if not bridge.start(wait_s=10):
            raise RuntimeError("hub bridge did not connect")
        try:
            raw_rtt = raw_mqtt_roundtrip(host, port, args.raw_samples)
            _, fast_port, fast_proc = ensure_broker(
                workdir, private=True, extra_conf="set_tcp_nodelay true\n"
            )
            try:
                raw_rtt_nodelay = raw_mqtt_roundtrip(
                    "127.0.0.1", fast_port, args.raw_samples, nodelay=True
                )
            finally:
                assert fast_proc is not None
                fast_proc.terminate()
            engine_issue = measure_engine_issue(config, workdir, args.raw_samples)
            press, press_failures = measure_press_to_bytes(
                app, host, port, sede, workdir, args.tickets
            )
            calls, call_failures = measure_call_to_display(app, host, port, sede, args.calls)
            starts = measure_cold_start(host, port, sede, workdir, args.starts)
        finally:
            bridge.stop()
            engine.close()
            if broker_proc is not None:
                broker_proc.terminate()

    if press_failures:
        notes.append(f"{press_failures} kiosk presses got no printed ticket within 10 s")
    if call_failures:
        notes.append(f"{call_failures} calls were not shown within 10 s or failed at the hub")
    apps = ("kiosk", "display", "counter")
    cold = {name: starts[name]["cold_start_s"] for name in apps}
    rss = {name: starts[name]["rss_mb"] for name in apps}
    for name in apps:
        for note in starts[name]["notes"]:
            notes.append(f"{name}: {note}")
    press_summary = summary_ms(press) if press else None
    call_summary = summary_ms(calls) if calls else None
    result = {
        "benchmark": "edge",
        "press_to_ticket_bytes_p99_ms": press_summary["p99"] if press_summary else None,
        "press_to_ticket_bytes_p50_ms": press_summary["p50"] if press_summary else None,
        "call_to_display_p99_ms": call_summary["p99"] if call_summary else None,
        "call_to_display_p50_ms": call_summary["p50"] if call_summary else None,
        "cold_start_s": cold,
        "rss_mb": rss,
        "raw": {
            "mqtt_roundtrip_ms": summary_ms(raw_rtt),
            # same measure, Nagle off in Mosquitto (set_tcp_nodelay) and in the clients
            "mqtt_roundtrip_tcp_nodelay_ms": summary_ms(raw_rtt_nodelay),
            "engine_issue_ticket_ms": summary_ms(engine_issue),
            "bare_pyside6_cold_start_s": starts["bare_pyside6"]["cold_start_s"],
            "bare_pyside6_rss_mb": starts["bare_pyside6"]["rss_mb"],
        },
        "detail": {
            "press_to_ticket_bytes_ms": press_summary,
            "call_to_display_ms": call_summary,
            "apps": {name: starts[name] for name in apps},
        },
        "targets": TARGETS,
        "pass": {
            "press_to_ticket_bytes_p99_ms": bool(
                press_summary and press_summary["p99"] < TARGETS["press_to_ticket_bytes_p99_ms"]
            ),
            "call_to_display_p99_ms": bool(
                call_summary and call_summary["p99"] < TARGETS["call_to_display_p99_ms"]
            ),
            "cold_start_s": {
                name: value is not None and value < TARGETS["cold_start_s"]
                for name, value in cold.items()
            },
            "rss_mb": {
                name: value is not None and value < TARGETS["rss_mb"] for name, value in rss.items()
            },
        },
        "settings": {
            "tickets": args.tickets,
            "calls": args.calls,
            "raw_samples": args.raw_samples,
            "starts": args.starts,
            "broker": "external" if broker_proc is None else "private mosquitto",
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "notes": notes,
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
