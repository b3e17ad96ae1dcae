"""Numbering and calling under concurrency: threads sharing one engine, and two processes
each with its own engine on the same SQLite file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from contracts.errors import ErrorCode
from contracts.mqtt import Role
from hub.config import SedeConfig
from hub.domain import store
from hub.ports import Actor

REPO = Path(__file__).resolve().parents[3]


def _many_counters_config(sede_dict_factory, count: int) -> SedeConfig:
    raw = sede_dict_factory()
    raw["counters"] = [
        {"id": f"c{i}", "name": f"Ventanilla {i}", "number": i, "services": {"orientacion": 1}}
        for i in range(1, count + 1)
    ]
    return SedeConfig.model_validate(raw)


def test_threads_issuing_at_once_never_share_a_number(hub, engine):
    numbers: list[str] = []
    errors: list[object] = []

    def kiosk(device: str) -> None:
        for _ in range(40):
            outcome = hub.kiosk("issue_ticket", device_id=device, service_code="orientacion")
            if outcome.ok:
                numbers.append(outcome.result["ticket"]["number"])
            else:
                errors.append(outcome.error)

    threads = [threading.Thread(target=kiosk, args=(f"kiosk-{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(numbers) == [f"A{n:03d}" for n in range(1, 241)]
    assert engine.queue_state("orientacion").waiting == 240


def test_threads_calling_next_at_once_never_get_the_same_ticket(
    sede_dict_factory, engine_factory, make_driver
):
    engine = engine_factory(_many_counters_config(sede_dict_factory, 6))
    hub = make_driver(engine)
    issued = {hub.issue()["ticket_id"] for _ in range(120)}
    for i in range(1, 7):
        hub.open(f"c{i}", user=f"staff{i}")
    called: list[str] = []
    barrier = threading.Barrier(6)

    def counter(counter_id: str) -> None:
        barrier.wait()
        while True:
            outcome = hub.counter(counter_id, "call_next")
            if not outcome.ok:
                assert outcome.error.code == ErrorCode.QUEUE_EMPTY
                return
            called.append(outcome.result["ticket"]["ticket_id"])
            assert hub.counter(counter_id, "finish_attention", outcome="no_se_presento").ok

    threads = [threading.Thread(target=counter, args=(f"c{i}",)) for i in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(called) == len(set(called)) == 120
    assert set(called) == issued


CHILD = textwrap.dedent(
    """
    import json, sys, time, uuid
    from datetime import datetime
    from pathlib import Path
    from contracts.mqtt import Role
    from hub.config import SedeConfig
    from hub.domain.engine import HubEngine
    from hub.ports import Actor

    config_path, db_path, now, mode, *devices = sys.argv[1:]
    config = SedeConfig.model_validate_json(Path(config_path).read_text())
    # the parent's test clock, so that both live on the same business day
    engine = HubEngine(config, Path(db_path), clock=lambda: datetime.fromisoformat(now))
    # start line: say ready, wait for the parent's "go" so both really run at once
    (Path(config_path).parent / f"ready-{devices[0]}").touch()
    while not (Path(config_path).parent / "go").exists():
        time.sleep(0.005)
    got = []
    if mode == "open":
        pass  # opening (migrating, bootstrapping) a fresh file at the same time is the test
    elif mode == "issue":
        for _ in range(150):
            for device in devices:
                out = engine.execute(actor=Actor(Role.KIOSK, device), action="issue_ticket",
                                     params={"service_code": "orientacion"},
                                     request_id=str(uuid.uuid4()))
                assert out.ok, out.error
                got.append(out.result["ticket"]["number"])
    else:
        live = list(devices)
        while live:
            for device in list(live):
                actor = Actor(Role.COUNTER, device)
                out = engine.execute(actor=actor, action="call_next", params={},
                                     request_id=str(uuid.uuid4()))
                if not out.ok:
                    assert out.error.code == "queue_empty", out.error
                    live.remove(device)
                    continue
                got.append(out.result["ticket"]["ticket_id"])
                fin = engine.execute(actor=actor, action="finish_attention",
                                     params={"outcome": "no_se_presento"},
                                     request_id=str(uuid.uuid4()))
                assert fin.ok, fin.error
                time.sleep(0.001)  # yield, so that on a busy machine both processes compete
    engine.close()
    print(json.dumps(got))
    """
)


def _run_children(tmp_path: Path, config: SedeConfig, db_path: Path, now, mode: str, groups):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    config_path = tmp_path / "sede.json"
    config_path.write_text(config.model_dump_json())
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(config_path), str(db_path), now.isoformat(), mode]
            + group,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
            text=True,
        )
        for group in groups
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{group[0]}").exists() for group in groups):
        assert time.monotonic() < deadline, "children did not start"
        assert all(proc.poll() is None for proc in procs), procs[0].stderr.read()
        time.sleep(0.01)
    (tmp_path / "go").touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_two_processes_issuing_on_one_file_never_share_a_number(
    tmp_path, make_config, engine_factory, db_path, clock
):
    config = make_config()
    engine_factory(config).close()  # create and migrate the file first
    first, second = _run_children(tmp_path, config, db_path, clock.now, "issue", [["k1"], ["k2"]])
    numbers = first + second
    assert len(numbers) == len(set(numbers)) == 300
    assert sorted(numbers) == [f"A{n:03d}" for n in range(1, 301)]


def test_two_processes_calling_next_never_get_the_same_ticket(
    tmp_path, sede_dict_factory, engine_factory, make_driver, db_path, clock
):
    config = _many_counters_config(sede_dict_factory, 4)
    engine = engine_factory(config)
    hub = make_driver(engine)
    issued = {hub.issue()["ticket_id"] for _ in range(200)}
    for i in range(1, 5):
        hub.open(f"c{i}", user=f"staff{i}")
    engine.close()
    first, second = _run_children(
        tmp_path, config, db_path, clock.now, "call", [["c1", "c2"], ["c3", "c4"]]
    )
    called = first + second
    assert len(called) == len(set(called)) == 200
    assert set(called) == issued
    assert first and second  # both processes really competed


def test_two_processes_opening_a_fresh_file_at_once_migrate_it_once(tmp_path, make_config, clock):
    db_path = tmp_path / "fresh.db"
    assert not db_path.exists()
    _run_children(tmp_path, make_config(), db_path, clock.now, "open", [["k1"], ["k2"]])
    conn = sqlite3.connect(db_path)
    try:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
        meta = dict(conn.execute("SELECT key, value FROM hub_meta"))
        counters = conn.execute("SELECT COUNT(*) FROM counters").fetchone()[0]
    finally:
        conn.close()
    assert versions == [v for v, _, _ in store.MIGRATIONS]
    assert meta["sede_id"] == "sede-test" and counters == 3


def test_engine_rejects_a_file_of_another_sede(
    tmp_path, make_config, sede_dict_factory, engine_factory, db_path
):
    engine_factory(make_config()).close()
    raw = sede_dict_factory()
    raw["id"] = "otra-sede"
    with pytest.raises(RuntimeError, match="belongs to sede"):
        engine_factory(SedeConfig.model_validate(raw))


def test_actor_dataclass_is_what_the_bridge_sends(engine):
    outcome = engine.execute(
        actor=Actor(role=Role.KIOSK, device_id="k"),
        action="issue_ticket",
        params={"service_code": "penal"},
        request_id=str(uuid.uuid4()),
    )
    assert outcome.ok
