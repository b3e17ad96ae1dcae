"""Benchmark of the sede hub: ticket issue rate in-process and command / call latency over MQTT,
each next to its raw limit measured in the same run on the same machine and broker.

    .venv/bin/python bench/hub.py [--tickets 2000] [--issuers 4] [--cycles 1000]

Prints ONE JSON object (keys below are an interface, see issue 2):
  tickets_per_s               issue_ticket through HubEngine.execute from --issuers threads at
                              once (like 4 kiosks), durable commits; concurrent callers share
                              commits (group commit). ``tickets_issuers`` says how many.
  tickets_per_s_single        the same from one issuer alone (one commit per ticket)
  raw_sqlite_inserts_per_s    one-row INSERT + COMMIT per transaction, sequential, same
                              WAL/synchronous
  raw_sqlite_grouped_inserts_per_s  one-row inserts from --issuers threads with the same
                              leader/follower grouping as the engine (the raw limit of the
                              same shape)
  command_roundtrip_p99_ms    device publish -> hub (decode, engine, commit) -> response received
  raw_mqtt_roundtrip_p99_ms   publish -> bare echo client -> reply received, same broker, same QoS,
                              measured in chunks between the hub's cycles (same machine load)
  call_to_display_p99_ms      counter publishes call_next -> display receives the call event
plus p50s, per-action figures, ratios to the raw limits (``*_ratio``: figure over its raw
limit, so <= 3 passes), the settings used and pass/fail per target. tickets_per_s drives HubEngine in this process; the MQTT figures drive ``alegra hub run``
as a separate process, as in production. The broker is a private Mosquitto started with the
shipped settings (``--broker private``, default) or the one at --mqtt-host/--mqtt-port.
1,000 cycles (4,000 commands, 1,000 calls) and 4,000 raw round trips by default: with 250 /
1,000 a p99 was the 3rd-worst call, and the ratios of quiet runs spread over 2.4–3.8 (docs/queue.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# first, even when PYTHONPATH already names the repository: bench/ (the script's directory) comes
# before it, and bench/hub.py would shadow the hub package
sys.path.insert(0, str(REPO))

from contracts import mqtt as topics  # noqa: E402
from hub.broker import ensure_broker, start_mosquitto  # noqa: E402
from hub.cli import db_path_for  # noqa: E402
from hub.config import DEMO_SEDE_FILE, SedeConfig, load_sede_config  # noqa: E402
from hub.domain import store  # noqa: E402
from hub.domain.engine import GROUP_COMMIT_MAX, HubEngine  # noqa: E402
from hub.mqtt_client import DeviceClient, StateWatcher  # noqa: E402
from hub.ports import Actor  # noqa: E402

TARGETS = {
    "tickets_per_s_min": 1000.0,
    "command_roundtrip_p99_ms_max": 20.0,
    "call_to_display_p99_ms_max": 20.0,
    "max_ratio_to_raw": 3.0,
}
SERVICES = ["orientacion", "defensa-penal", "victimas", "conciliacion"]


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _ms(seconds: list[float]) -> dict[str, float]:
    values = [s * 1000 for s in seconds]
    return {
        "p50_ms": round(percentile(values, 50), 3),
        "p99_ms": round(percentile(values, 99), 3),
        "max_ms": round(max(values), 3),
        "mean_ms": round(statistics.fmean(values), 3),
        "n": len(values),
    }


def _sede(sede_id: str) -> SedeConfig:
    return load_sede_config(DEMO_SEDE_FILE).model_copy(update={"id": sede_id})


# --------------------------------------------------------------------------- SQLite


class RawGroupCommit:
    """The raw floor of the engine's concurrent shape: one-row inserts from several threads,
    grouped exactly as HubEngine.execute groups commands (leader/follower, up to
    GROUP_COMMIT_MAX per transaction, no added wait), with none of the engine's work."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.pending: deque[list[Any]] = deque()  # [row, done]
        self.pending_lock = threading.Lock()
        self.batches = 0

    def insert(self, row: tuple[Any, ...]) -> None:
        slot = [row, False]
        with self.pending_lock:
            self.pending.append(slot)
        while not slot[1]:
            with self.lock:
                if slot[1]:
                    break
                with self.pending_lock:
                    take = min(GROUP_COMMIT_MAX, len(self.pending))
                    batch = [self.pending.popleft() for _ in range(take)]
                self.conn.execute("BEGIN IMMEDIATE")
                for queued in batch:
                    self.conn.execute("INSERT INTO raw_tickets VALUES (?, ?, ?, ?)", queued[0])
                self.conn.execute("COMMIT")
                self.batches += 1
                for queued in batch:
                    queued[1] = True


def _concurrently(
    issuers: int, indexes: range, work: Callable[[int], None], latencies: list[float]
) -> float:
    """Run ``work(index)`` for every index, split round-robin over ``issuers`` threads that
    start together; returns the wall time from the start until the last one finished."""
    gate = threading.Barrier(issuers + 1)
    failures: list[BaseException] = []
    lock = threading.Lock()

    def issuer(mine: list[int]) -> None:
        own: list[float] = []
        gate.wait()
        try:
            for index in mine:
                began = time.perf_counter()
                work(index)
                own.append(time.perf_counter() - began)
        except BaseException as exc:
            failures.append(exc)
        with lock:
            latencies.extend(own)

    threads = [
        threading.Thread(target=issuer, args=(list(indexes[n::issuers]),)) for n in range(issuers)
    ]
    for thread in threads:
        thread.start()
    gate.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return elapsed


def sqlite_and_engine(work: Path, count: int, rounds: int, issuers: int) -> dict[str, Any]:
    """Durable ticket issue through the engine next to its floors.

    Four measurements, each ``count`` operations, interleaved in ``rounds`` alternating
    chunks (fsync time on a shared machine drifts by several times within seconds), each rate
    its total count over its total time:

    - raw, sequential: one small row per transaction on a connection opened exactly like the
      engine's (hub.domain.store.connect: WAL, synchronous, busy timeout);
    - raw, grouped: the same rows from ``issuers`` threads, grouped like the engine groups
      concurrent callers (RawGroupCommit) — the raw limit of the concurrent shape;
    - engine, one issuer: HubEngine.execute called in a loop (a commit per ticket);
    - engine, ``issuers`` issuers: ``issuers`` threads calling HubEngine.execute at once, as
      several kiosks do; they share commits (group commit).
    """
    conn = store.connect(work / "raw.sqlite3")
    conn.execute(
        "CREATE TABLE raw_tickets (id TEXT PRIMARY KEY, service_code TEXT NOT NULL, "
        "number INTEGER NOT NULL, issued_at TEXT NOT NULL)"
    )
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[
        conn.execute("PRAGMA synchronous").fetchone()[0]
    ]
    grouped_conn = store.connect(work / "raw-grouped.sqlite3")
    grouped_conn.execute(
        "CREATE TABLE raw_tickets (id TEXT PRIMARY KEY, service_code TEXT NOT NULL, "
        "number INTEGER NOT NULL, issued_at TEXT NOT NULL)"
    )
    raw_group = RawGroupCommit(grouped_conn)
    engine = HubEngine(_sede("bench-engine"), work / "engine.sqlite3")
    batch_sizes: list[int] = []  # commands per commit while the issuers run concurrently
    counting = threading.Event()
    run_batch = engine._run_batch

    def counted_batch(items: Any) -> Any:
        if counting.is_set():
            batch_sizes.append(len(items))
        return run_batch(items)

    engine._run_batch = counted_batch  # type: ignore[method-assign]
    kiosk = Actor("kiosk", "k1")
    latencies: dict[str, list[float]] = {"raw": [], "grouped": [], "single": [], "issue": []}
    elapsed = {"raw": 0.0, "grouped": 0.0, "single": 0.0, "issue": 0.0}
    chunk = max(1, count // rounds)

    def raw_row(index: int) -> tuple[Any, ...]:
        return (str(uuid.uuid4()), SERVICES[index % 4], index, "2026-01-01T00:00:00+00:00")

    def issue(index: int, prefix: str, device: str) -> None:
        outcome = engine.execute(
            actor=Actor("kiosk", device),
            action="issue_ticket",
            params={"service_code": SERVICES[index % 4]},
            request_id=f"{prefix}-{index:08d}",
        )
        if not outcome.ok:
            raise RuntimeError(f"issue failed: {outcome.error}")

    done = 0
    try:
        while done < count:
            size = min(chunk, count - done)
            indexes = range(done, done + size)
            started = time.perf_counter()
            for index in indexes:
                began = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO raw_tickets VALUES (?, ?, ?, ?)", raw_row(index))
                conn.execute("COMMIT")
                latencies["raw"].append(time.perf_counter() - began)
            elapsed["raw"] += time.perf_counter() - started
            elapsed["grouped"] += _concurrently(
                issuers, indexes, lambda i: raw_group.insert(raw_row(i)), latencies["grouped"]
            )
            started = time.perf_counter()
            for index in indexes:
                began = time.perf_counter()
                issue(index, "bench-single", kiosk.device_id)
                latencies["single"].append(time.perf_counter() - began)
            elapsed["single"] += time.perf_counter() - started
            counting.set()
            elapsed["issue"] += _concurrently(
                issuers,
                indexes,
                lambda i: issue(i, "bench-issue", f"k{i % issuers + 2}"),
                latencies["issue"],
            )
            counting.clear()
            done += size
        concurrent_batches = list(batch_sizes)
        call_latencies = _engine_call_next(engine, min(count, 300))
    finally:
        engine.close()
        conn.close()
        grouped_conn.close()
    return {
        "raw_inserts_per_s": count / elapsed["raw"],
        "raw_grouped_inserts_per_s": count / elapsed["grouped"],
        "tickets_per_s_single": count / elapsed["single"],
        "tickets_per_s": count / elapsed["issue"],
        "issuers": issuers,
        "issue": _ms(latencies["issue"]),
        "issue_single": _ms(latencies["single"]),
        "raw_insert": _ms(latencies["raw"]),
        "raw_grouped_insert": _ms(latencies["grouped"]),
        "raw_grouped_commits": raw_group.batches,
        "engine_concurrent_commits": len(concurrent_batches),
        "engine_commands_per_commit_mean": round(count / max(1, len(concurrent_batches)), 2),
        "engine_commands_per_commit_max": max(concurrent_batches, default=0),
        "call_next": _ms(call_latencies),
        "journal_mode": journal,
        "synchronous": synchronous,
        "rounds": rounds,
    }


def _engine_call_next(engine: HubEngine, count: int) -> list[float]:
    counter = Actor("counter", "v2")  # attends orientacion and defensa-penal
    for index, (action, params) in enumerate(
        [("sign_in", {"username": "luis", "password": "demo-ventanilla-2"}), ("open_counter", {})]
    ):
        assert engine.execute(
            actor=counter, action=action, params=params, request_id=f"bc-{index}"
        ).ok
    latencies: list[float] = []
    for index in range(count // 2):
        began = time.perf_counter()
        outcome = engine.execute(
            actor=counter, action="call_next", params={}, request_id=f"bench-call-{index:08d}"
        )
        latencies.append(time.perf_counter() - began)
        if not outcome.ok:
            break
        engine.execute(
            actor=counter,
            action="finish_attention",
            params={"outcome": "no_se_presento"},
            request_id=f"bench-finish-{index:08d}",
        )
    return latencies


# --------------------------------------------------------------------------- MQTT


def _paho(client_id: str) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311
    )
    # same socket tuning as the hub's own clients, so the floor is a fair one
    client.on_socket_open = lambda c, u, sock: sock.setsockopt(
        socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
    )
    return client


class RawEcho:
    """The floor for a command: publish (QoS 1) -> a bare echo client republishes (QoS 1) ->
    the asker receives. Same two broker hops as request -> hub -> response, no hub work.
    ``measure(n)`` may be called in chunks, interleaved with the hub's cycles, so that the raw
    limit and the hub are measured under the same machine load."""

    def __init__(self, host: str, port: int, payload_bytes: int) -> None:
        run = uuid.uuid4().hex[:8]
        self.ping, pong = f"bench/{run}/ping", f"bench/{run}/pong"
        self.payload_bytes = payload_bytes
        self.index = 0
        ready = threading.Event()
        self.echo = echo = _paho(f"bench-echo-{run}")
        echo.on_connect = lambda c, *a: c.subscribe(self.ping, qos=1)
        echo.on_subscribe = lambda *a: ready.set()
        echo.on_message = lambda c, u, m: c.publish(pong, m.payload, qos=1)
        echo.connect(host, port)
        echo.loop_start()
        self.asker = asker = _paho(f"bench-ask-{run}")
        subscribed = threading.Event()
        self.pending: dict[bytes, Future[float]] = {}
        asker.on_connect = lambda c, *a: c.subscribe(pong, qos=1)
        asker.on_subscribe = lambda *a: subscribed.set()

        def on_pong(client: Any, userdata: Any, message: Any) -> None:
            arrived = time.perf_counter()
            future = self.pending.pop(bytes(message.payload[:32]), None)
            if future is not None:
                future.set_result(arrived)

        asker.on_message = on_pong
        asker.connect(host, port)
        asker.loop_start()
        if not (ready.wait(10) and subscribed.wait(10)):
            self.close()
            raise RuntimeError("raw MQTT clients could not subscribe")

    def measure(self, count: int) -> list[float]:
        latencies: list[float] = []
        for _ in range(count):
            key = f"{self.index:032d}".encode()
            self.index += 1
            body = key + b"x" * max(0, self.payload_bytes - len(key))
            future: Future[float] = Future()
            self.pending[key] = future
            sent = time.perf_counter()
            self.asker.publish(self.ping, body, qos=1)
            latencies.append(future.result(10) - sent)
        return latencies

    def close(self) -> None:
        for client in (self.asker, self.echo):
            client.disconnect()
            client.loop_stop()


def raw_mqtt_roundtrip(host: str, port: int, samples: int, payload_bytes: int) -> dict[str, Any]:
    """RawEcho alone: ``samples`` round trips after 20 of warm-up."""
    echo = RawEcho(host, port, payload_bytes)
    try:
        echo.measure(20)
        return _ms(echo.measure(samples))
    finally:
        echo.close()


def _sede_file(work: Path, sede_id: str) -> Path:
    text = DEMO_SEDE_FILE.read_text(encoding="utf-8")
    path = work / f"{sede_id}.toml"
    path.write_text(text.replace('id = "lima-cercado"', f'id = "{sede_id}"'), encoding="utf-8")
    return path


def _call_listener(host: str, port: int, sede_id: str) -> tuple[Any, dict[str, float], Any]:
    """A display's view of call events: a bare subscriber stamping each call's arrival."""
    arrivals: dict[str, float] = {}
    arrived = threading.Condition()
    subscribed = threading.Event()
    client = _paho(f"bench-display-{sede_id}")
    client.on_connect = lambda c, *a: c.subscribe(topics.call_event(sede_id), qos=1)
    client.on_subscribe = lambda *a: subscribed.set()

    def on_message(c: Any, userdata: Any, message: Any) -> None:
        stamp = time.perf_counter()
        number = json.loads(message.payload)["call"]["number"]
        with arrived:
            arrivals.setdefault(number, stamp)
            arrived.notify_all()

    client.on_message = on_message
    client.connect(host, port)
    client.loop_start()
    if not subscribed.wait(10):
        raise RuntimeError("display subscriber could not subscribe")
    return client, arrivals, arrived


def hub_over_mqtt(
    host: str, port: int, work: Path, cycles: int, backlog: int, raw_samples: int
) -> dict[str, Any]:
    """Kiosk and counter commands against the real hub, run as in production: ``alegra hub
    run`` in its own process. Steady state: ``backlog`` people waiting; each cycle issues one
    ticket and serves one (issue, call_next, start, finish). A display subscriber stamps each
    call event's arrival. The raw MQTT round trip (RawEcho) is measured in chunks between the
    cycles (``raw_samples`` in all), so both see the same load on a shared machine."""
    sede_id = f"bench-{uuid.uuid4().hex[:8]}"
    sede_file = _sede_file(work, sede_id)
    data_dir = work / "hub-data"
    engine = HubEngine(load_sede_config(sede_file), db_path_for(data_dir, sede_id))
    for index in range(backlog):
        engine.execute(
            actor=Actor("kiosk", "k0"),
            action="issue_ticket",
            params={"service_code": "orientacion"},
            request_id=f"bench-backlog-{index:06d}",
        )
    engine.close()
    log_path = work / "hub.log"
    hub = subprocess.Popen(
        [sys.executable, "-m", "alegra.cli", "hub", "run", "--config", str(sede_file),
         "--data-dir", str(data_dir), "--mqtt-host", host, "--mqtt-port", str(port)],
        stdout=log_path.open("wb"), stderr=subprocess.STDOUT, cwd=REPO,
    )  # fmt: skip
    display, arrivals, arrived = _call_listener(host, port, sede_id)
    kiosk = DeviceClient(sede_id=sede_id, role="kiosk", device_id="k1", host=host, port=port)
    counter = DeviceClient(sede_id=sede_id, role="counter", device_id="v1", host=host, port=port)
    per_action: dict[str, list[float]] = {}
    call_to_display: list[float] = []
    raw = RawEcho(host, port, 400)
    raw_latencies: list[float] = []
    raw_per_cycle = max(1, -(-raw_samples // max(1, cycles)))

    def timed(client: DeviceClient, action: str, params: dict[str, Any] | None = None) -> Any:
        sent = time.perf_counter()
        response = client.request(action, params)
        per_action.setdefault(action, []).append(time.perf_counter() - sent)
        if response.status != "ok":
            raise RuntimeError(f"{action}: {response.error}")
        return response, sent

    try:
        with StateWatcher(sede_id=sede_id, host=host, port=port) as watch:
            if not watch.wait_for(lambda w: w.hub_availability() == "online", 30):
                raise RuntimeError(f"hub did not come online: {log_path.read_text()[-2000:]}")
        kiosk.connect()
        counter.connect()
        for action, params in [
            ("sign_in", {"username": "ana", "password": "demo-ventanilla-1"}),
            ("open_counter", {}),
        ]:
            if counter.request(action, params).status != "ok":
                raise RuntimeError(f"bench counter could not {action}")
        warmup = 10
        for cycle in range(cycles + warmup):
            timed(kiosk, "issue_ticket", {"service_code": "orientacion"})
            response, sent = timed(counter, "call_next")
            number = response.result["ticket"]["number"]
            with arrived:
                if not arrived.wait_for(lambda n=number: n in arrivals, 10):
                    raise RuntimeError(f"call {number} never reached the display")
                delay = arrivals[number] - sent
            timed(counter, "start_attention")
            timed(counter, "finish_attention", {"outcome": "atendido"})
            chunk = raw.measure(raw_per_cycle)
            if cycle < warmup:
                per_action.clear()
                continue
            call_to_display.append(delay)
            raw_latencies.extend(chunk)
    finally:
        raw.close()
        for client in (kiosk, counter):
            client.close()
        display.disconnect()
        display.loop_stop()
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(20)
        except subprocess.TimeoutExpired:
            hub.kill()
    every = [s for samples in per_action.values() for s in samples]
    inside = _hub_durations(log_path, len(every))
    return {
        "command": _ms(every),
        "per_action": {action: _ms(samples) for action, samples in per_action.items()},
        "call_to_display": _ms(call_to_display),
        "raw_mqtt_roundtrip": _ms(raw_latencies[:raw_samples]),
        # time inside the hub per command (decode, engine and commit, answer, call events),
        # from its structured log: the rest of a round trip is the broker and the network
        "inside_hub": _ms(inside) if inside else None,
        "hub_exit_code": hub.returncode,
    }


def _hub_durations(log_path: Path, last: int) -> list[float]:
    """``duration_ms`` of the last ``last`` commands the hub logged (seconds)."""
    durations: list[float] = []
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return durations
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "command" and isinstance(entry.get("duration_ms"), int | float):
            durations.append(entry["duration_ms"] / 1000)
    return durations[-last:] if last else []


# --------------------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="alegra-bench-", dir=args.tmp_dir) as tmp:
        work = Path(tmp)
        if args.broker == "private":
            broker = start_mosquitto(work / "broker")
        else:
            broker = ensure_broker(
                args.mqtt_host, args.mqtt_port, workdir=work / "broker", say=lambda _: None
            )
        try:
            tickets = sqlite_and_engine(work, args.tickets, args.rounds, args.issuers)
            over_mqtt = hub_over_mqtt(
                broker.host, broker.port, work, args.cycles, args.backlog, args.raw_samples
            )
            raw_mqtt = over_mqtt["raw_mqtt_roundtrip"]
        finally:
            broker.stop()
    tickets_per_s = tickets["tickets_per_s"]
    raw_inserts = tickets["raw_inserts_per_s"]
    raw_grouped = tickets["raw_grouped_inserts_per_s"]
    tickets_single = tickets["tickets_per_s_single"]
    raw_rt_p99 = raw_mqtt["p99_ms"]
    command_p99 = over_mqtt["command"]["p99_ms"]
    call_p99 = over_mqtt["call_to_display"]["p99_ms"]
    # A command cannot beat one durable commit plus one MQTT round trip: this combined floor
    # is reported beside the literal ratios (which compare against MQTT alone).
    raw_floor_p99 = raw_rt_p99 + tickets["raw_insert"]["p99_ms"]
    ratios = {
        # the issue's literal limit: raw sequential inserts vs tickets from --issuers kiosks
        "raw_sqlite_over_tickets": round(raw_inserts / tickets_per_s, 3),
        # same shape on both sides: one issuer vs sequential raw inserts...
        "raw_sqlite_over_tickets_single": round(raw_inserts / tickets_single, 3),
        # ...and --issuers threads grouped vs raw inserts grouped the same way
        "raw_sqlite_grouped_over_tickets": round(raw_grouped / tickets_per_s, 3),
        "command_p99_over_raw_mqtt_p99": round(command_p99 / raw_rt_p99, 3),
        "call_to_display_p99_over_raw_mqtt_p99": round(call_p99 / raw_rt_p99, 3),
        "command_p99_over_raw_floor_p99": round(command_p99 / raw_floor_p99, 3),
        "call_to_display_p99_over_raw_floor_p99": round(call_p99 / raw_floor_p99, 3),
    }
    limit = TARGETS["max_ratio_to_raw"]
    checks = {
        "tickets_per_s>=1000": tickets_per_s >= TARGETS["tickets_per_s_min"],
        "command_roundtrip_p99<20ms": command_p99 < TARGETS["command_roundtrip_p99_ms_max"],
        "call_to_display_p99<20ms": call_p99 < TARGETS["call_to_display_p99_ms_max"],
        "tickets_within_3x_raw_sqlite": ratios["raw_sqlite_over_tickets"] <= limit,
        "tickets_within_3x_raw_sqlite_grouped": ratios["raw_sqlite_grouped_over_tickets"] <= limit,
        "command_within_3x_raw_mqtt": ratios["command_p99_over_raw_mqtt_p99"] <= limit,
        "call_within_3x_raw_mqtt": ratios["call_to_display_p99_over_raw_mqtt_p99"] <= limit,
        "command_within_3x_raw_floor": ratios["command_p99_over_raw_floor_p99"] <= limit,
        "call_within_3x_raw_floor": ratios["call_to_display_p99_over_raw_floor_p99"] <= limit,
    }
    return {
        "tickets_per_s": round(tickets_per_s, 1),
        "raw_sqlite_inserts_per_s": round(raw_inserts, 1),
        "tickets_issuers": tickets["issuers"],
        "tickets_per_s_single": round(tickets_single, 1),
        "raw_sqlite_grouped_inserts_per_s": round(raw_grouped, 1),
        "tickets_commands_per_commit_mean": tickets["engine_commands_per_commit_mean"],
        "command_roundtrip_p50_ms": over_mqtt["command"]["p50_ms"],
        "command_roundtrip_p99_ms": command_p99,
        "raw_mqtt_roundtrip_p50_ms": raw_mqtt["p50_ms"],
        "raw_mqtt_roundtrip_p99_ms": raw_rt_p99,
        "call_to_display_p50_ms": over_mqtt["call_to_display"]["p50_ms"],
        "call_to_display_p99_ms": call_p99,
        "raw_sqlite_commit_p50_ms": tickets["raw_insert"]["p50_ms"],
        "raw_sqlite_commit_p99_ms": tickets["raw_insert"]["p99_ms"],
        "raw_floor_roundtrip_p99_ms": round(raw_floor_p99, 3),
        "issue_in_process_p50_ms": tickets["issue"]["p50_ms"],
        "issue_in_process_p99_ms": tickets["issue"]["p99_ms"],
        "issue_in_process_single_p50_ms": tickets["issue_single"]["p50_ms"],
        "issue_in_process_single_p99_ms": tickets["issue_single"]["p99_ms"],
        "call_next_in_process_p50_ms": tickets["call_next"]["p50_ms"],
        "call_next_in_process_p99_ms": tickets["call_next"]["p99_ms"],
        "call_next_roundtrip_p50_ms": over_mqtt["per_action"]["call_next"]["p50_ms"],
        "call_next_roundtrip_p99_ms": over_mqtt["per_action"]["call_next"]["p99_ms"],
        "inside_hub_command_p50_ms": (over_mqtt["inside_hub"] or {}).get("p50_ms"),
        "inside_hub_command_p99_ms": (over_mqtt["inside_hub"] or {}).get("p99_ms"),
        # each figure against its raw limit (the issue: none more than 3x)
        "tickets_ratio": ratios["raw_sqlite_over_tickets"],
        "command_roundtrip_p99_ratio": ratios["command_p99_over_raw_mqtt_p99"],
        "call_to_display_p99_ratio": ratios["call_to_display_p99_over_raw_mqtt_p99"],
        "command_roundtrip_p50_ratio": round(
            over_mqtt["command"]["p50_ms"] / raw_mqtt["p50_ms"], 3
        ),
        "call_to_display_p50_ratio": round(
            over_mqtt["call_to_display"]["p50_ms"] / raw_mqtt["p50_ms"], 3
        ),
        "ratios": ratios,
        "targets": TARGETS,
        "pass": checks,
        "all_pass": all(checks.values()),
        "detail": {
            "engine": tickets,
            "hub_over_mqtt": over_mqtt,
        },
        "settings": {
            "tickets": args.tickets,
            "cycles": args.cycles,
            "backlog_waiting": args.backlog,
            "raw_samples": args.raw_samples,
            "sqlite_journal_mode": tickets["journal_mode"],
            "sqlite_synchronous": tickets["synchronous"],
            "sqlite_interleaved_rounds": args.rounds,
            "tickets_issuers": args.issuers,
            "group_commit_max": GROUP_COMMIT_MAX,
            "mqtt_qos": 1,
            "broker": f"{broker.kind} {broker.host}:{broker.port}",
            "hub": "alegra hub run subprocess (in-process engine for tickets_per_s)",
            "tickets_per_s_shape": f"{args.issuers} threads calling HubEngine.execute at once "
            "(group commit); tickets_per_s_single: one thread",
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=2000, help="in-process issues / inserts")
    parser.add_argument("--rounds", type=int, default=20, help="raw/engine interleaving")
    parser.add_argument(
        "--issuers", type=int, default=4, help="threads issuing at once for tickets_per_s (kiosks)"
    )
    parser.add_argument("--cycles", type=int, default=1000, help="issue+call+start+finish cycles")
    parser.add_argument("--backlog", type=int, default=30, help="people waiting during cycles")
    parser.add_argument("--raw-samples", type=int, default=4000, help="raw MQTT round trips")
    parser.add_argument(
        "--broker",
        choices=["private", "external"],
        default="private",
        help="private: start Mosquitto with the shipped settings (set_tcp_nodelay) on a free "
        "port; external: use --mqtt-host/--mqtt-port as they are configured",
    )
    parser.add_argument("--mqtt-host", default=os.environ.get("ALEGRA_MQTT_HOST", "127.0.0.1"))
    parser.add_argument(
        "--mqtt-port", type=int, default=int(os.environ.get("ALEGRA_MQTT_PORT", "1883"))
    )
    parser.add_argument("--tmp-dir", default=None, help="where the temporary SQLite files go")
    args = parser.parse_args(argv)
    print(json.dumps(run(args), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
