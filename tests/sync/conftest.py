"""Fixtures of the sync tests: a central database (SQLite always, PostgreSQL when reachable,
required in CI) seeded with one enrolled sede; the central app in-process; a hub engine on a
temp SQLite file; and a sync agent whose HTTP client is the app's TestClient."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import devtools

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SEDE = "sede-sync"
STAFF = ("ana", "beto")


def require_pg() -> None:
    if not devtools.pg_available():
        if IN_CI:
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required in CI")
        pytest.skip("PostgreSQL not reachable")


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("sync-tpl") / "central.sqlite3"
    seed = devtools.seed_central(f"sqlite:///{path}", sede_id=SEDE, staff=STAFF)
    return path, seed


@pytest.fixture(scope="session")
def seeded_pg() -> Iterator[tuple[str, dict[str, Any]]]:
    require_pg()
    url = devtools.create_pg_database("alegra_synctpl")
    seed = devtools.seed_central(url, sede_id=SEDE, staff=STAFF)
    yield url, seed
    devtools.drop_pg_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def central_db(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(database url, seed) of a fresh copy of the seeded central database."""
    if request.param == "sqlite":
        template, seed = request.getfixturevalue("seeded_sqlite")
        path = tmp_path / "central.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}", seed
        return
    template_url, seed = request.getfixturevalue("seeded_pg")
    url = devtools.clone_pg_database(template_url)
    yield url, seed
    devtools.drop_pg_database(url)


@dataclass
class Central:
    url: str
    app: Any
    client: TestClient
    token: str
    passwords: dict[str, str]

    def connect(self):  # noqa: ANN201
        return self.app.state.engine.begin()


@pytest.fixture
def central(central_db: tuple[str, dict[str, Any]], tmp_path: Path) -> Iterator[Central]:
    from central.app import create_app
    from central.settings import CentralSettings

    url, seed = central_db
    settings = CentralSettings(
        data_dir=tmp_path,
        database_url=url,
        secret_key="sync-test-" + uuid.uuid4().hex * 2,
        cookie_secure=False,
        log_level="WARNING",
        argon2_time_cost=1,
        argon2_memory_kib=8192,
    )
    app = create_app(settings, run_migrations=False, web=False)
    with TestClient(app) as client:
        yield Central(url, app, client, seed["token"], seed["passwords"])
    app.state.engine.dispose()


@pytest.fixture
def hub_engine(tmp_path: Path) -> Iterator[Any]:
    from hub.domain.engine import HubEngine

    engine = HubEngine(devtools.hub_sede_config(SEDE), tmp_path / "hub.sqlite3")
    yield engine
    engine.close()


def make_agent(central: Central, db_path: Path, **kwargs: Any) -> Any:
    from sync.agent import SyncAgent

    return SyncAgent(
        db_path,
        central_url="http://testserver",
        token=central.token,
        client=central.client,
        **kwargs,
    )


@pytest.fixture
def agent(central: Central, hub_engine: Any) -> Iterator[Any]:
    a = make_agent(central, hub_engine.db_path)
    yield a
    a.conn.close()


@pytest.fixture
def admin_headers(central: Central) -> dict[str, str]:
    """A national administrator's bearer token (made through the service layer)."""
    from central.auth.policy import Profile, ScopeKind
    from central.auth.service import issue_token_pair, password_hasher
    from central.core.db import new_session
    from central.domain.actor import Actor
    from central.users import service as users
    from central.users.schemas import UserCreate

    settings = central.app.state.settings
    session = new_session(central.app.state.engine)
    user = users.create_user(
        session=session,
        actor=Actor.system("tests"),
        ph=password_hasher(settings),
        check_assignable=False,
        data=UserCreate(
            username="admin-sync",
            display_name="Administración",
            password="Contraseña-segura-1",  # noqa: S106
            profiles=[Profile.ADMINISTRADOR_NACIONAL],
            scope_kind=ScopeKind.NATIONAL,
        ),
    )
    user.must_change_password = False
    session.add(user)
    session.flush()
    pair = issue_token_pair(session=session, settings=settings, user=user)
    session.commit()
    session.close()
    return {"Authorization": f"Bearer {pair.access_token}"}


# ------------------------------------------------------------------ real processes and a proxy

import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TRAFFIC = Path(__file__).resolve().parent / "procs" / "hub_traffic.py"


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FaultProxy:
    """TCP proxy between the hub agent and central that the test controls.

    Modes: ``up``; ``down`` (both directions cut: connections reset); ``drop_requests`` (hub to
    central cut: bytes vanish, the hub times out); ``drop_responses`` (central to hub cut: the
    request arrives and commits, the answer never does); ``truncate`` (answers cut off after
    ``truncate_at`` bytes, then the connection closes); ``error_5xx`` (a load balancer's 503
    while central is unreachable); ``slow`` (a slow WAN towards central: ``delay_s`` of latency
    before each request, then ``bandwidth`` bytes per second)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_tcp_port()
        self.mode = "up"
        self.truncate_at = 200
        self.delay_s = 2.0
        self.bandwidth = 64 * 1024
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", self.port))
        self._server.listen(64)
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def set(self, mode: str) -> None:
        self.mode = mode
        if mode in ("down", "truncate", "error_5xx"):
            self._reset_all()

    def _reset_all(self) -> None:
        with self._lock:
            for sock in list(self._open):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._open.clear()

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.update(socks)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            mode = self.mode
            if mode == "down":
                client.close()
                continue
            if mode == "error_5xx":
                threading.Thread(target=self._answer_503, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            if mode == "slow":  # central's answer may take longer than 5 s to begin
                upstream.settimeout(None)
            self._track(client, upstream)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _answer_503(self, client: socket.socket) -> None:
        try:
            client.settimeout(2)
            client.recv(65536)
            body = b'{"code":"unavailable","message":"central no disponible"}'
            client.sendall(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
        except OSError:
            pass
        finally:
            client.close()

    def _pump(self, source: socket.socket, sink: socket.socket, to_central: bool) -> None:
        sent = 0
        idle_since = time.monotonic()
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                mode = self.mode
                if mode == "down":
                    break
                if to_central and mode == "drop_requests":
                    continue
                if to_central and mode == "slow":
                    # latency once per request (the first bytes after a pause), then the
                    # time the bytes take at the link's bandwidth
                    latency = self.delay_s if time.monotonic() - idle_since > 0.05 else 0.0
                    time.sleep(latency + len(data) / self.bandwidth)
                    idle_since = time.monotonic()
                if not to_central and mode == "drop_responses":
                    continue
                if not to_central and mode == "truncate":
                    room = self.truncate_at - sent
                    if room <= 0:
                        break
                    data = data[:room]
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)

    def close(self) -> None:
        self._stopped = True
        self._server.close()
        self._reset_all()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEGRA_")}
    env.update(extra)
    env["PYTHONPATH"] = str(REPO)
    return env


class CentralProcess:
    """``alegra central run`` as a real process on the given database."""

    def __init__(self, db_url: str, data_dir: Path) -> None:
        self.db_url = db_url
        self.data_dir = data_dir
        self.port = free_tcp_port()
        self.proc: subprocess.Popen | None = None

    def start(self, db_url: str | None = None) -> None:
        self.db_url = db_url or self.db_url
        log = open(self.data_dir / "central.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "alegra.cli", "central", "run", "--port", str(self.port)],
            env=_env(
                ALEGRA_DATABASE_URL=self.db_url,
                ALEGRA_DATA_DIR=str(self.data_dir),
                ALEGRA_SECRET_KEY="fault-tests-" + "k" * 40,
                ALEGRA_LOG_LEVEL="WARNING",
            ),
            stdout=log,
            stderr=log,
            cwd=REPO,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=1).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError((self.data_dir / "central.log").read_text()[-3000:])
            time.sleep(0.2)
        raise RuntimeError("central did not start")

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


class HubSide:
    """The sede: its SQLite file, traffic processes and sync agent processes."""

    def __init__(self, db_path: Path, sede_id: str, token: str, central_url: str) -> None:
        self.db_path = db_path
        self.sede_id = sede_id
        self.token = token
        self.central_url = central_url
        self.agents: list[subprocess.Popen] = []
        self.traffic: list[subprocess.Popen] = []

    def start_agent(self, **settings: str) -> subprocess.Popen:
        env = _env(
            **{
                "ALEGRA_SYNC_CENTRAL_URL": self.central_url,
                "ALEGRA_SYNC_DEVICE_TOKEN": self.token,
                "ALEGRA_SYNC_PUSH_INTERVAL_S": "0.5",
                "ALEGRA_SYNC_PULL_INTERVAL_S": "0.5",
                "ALEGRA_SYNC_TIMEOUT_S": "2",
                "ALEGRA_SYNC_BATCH_EVENTS": "200",
                # short back-off so that a test's last partition heals within seconds
                "ALEGRA_SYNC_BACKOFF_BASE_S": "0.2",
                "ALEGRA_SYNC_BACKOFF_CAP_S": "2",
                **settings,
            }
        )
        log = open(self.db_path.with_suffix(".agent.log"), "ab")  # noqa: SIM115
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "sync.cli", "run", "--db", str(self.db_path)],
            env=env,
            stdout=log,
            stderr=log,
            cwd=REPO,
        )
        self.agents.append(proc)
        return proc

    def start_traffic(self, tickets: int, *extra: str) -> subprocess.Popen:
        proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                str(TRAFFIC),
                "--db",
                str(self.db_path),
                "--sede",
                self.sede_id,
                "--tickets",
                str(tickets),
                *extra,
            ],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=open(self.db_path.with_suffix(".traffic.log"), "ab"),  # noqa: SIM115
            cwd=REPO,
        )
        self.traffic.append(proc)
        return proc

    def kill_agents(self) -> None:
        for proc in self.agents:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        self.agents.clear()

    def stop(self) -> None:
        self.kill_agents()
        for proc in self.traffic:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


@dataclass
class Rig:
    central: CentralProcess
    proxy: FaultProxy
    hub: HubSide
    seed: dict[str, Any]
    db_url: str
    tmp_path: Path
    last_difference: list[str] = field(default_factory=list)  # tables that differed last


@pytest.fixture
def rig(seeded_pg: tuple[str, dict[str, Any]], tmp_path: Path) -> Iterator[Rig]:
    """Central (real process, PostgreSQL) behind a fault proxy, and a sede hub file."""
    template_url, seed = seeded_pg
    url = devtools.clone_pg_database(template_url)
    central = CentralProcess(url, tmp_path)
    central.start()
    proxy = FaultProxy(central.port)
    hub = HubSide(tmp_path / "hub.sqlite3", SEDE, seed["token"], f"http://127.0.0.1:{proxy.port}")
    try:
        yield Rig(central, proxy, hub, seed, url, tmp_path)
    finally:
        hub.stop()
        proxy.close()
        central.stop()
        if central.db_url != url:
            devtools.drop_pg_database(central.db_url)
        devtools.drop_pg_database(url)


# ------------------------------------------------------------------ checks of the fault tests


def hub_conn(rig: Rig) -> Any:
    from hub.domain import store

    return store.open_db(rig.hub.db_path)


def central_engine(rig: Rig) -> Any:
    from central.core.db import make_engine

    return make_engine(rig.central.db_url)


def inbox_count(rig: Rig) -> int:
    from sqlalchemy import func, select

    from central.sync import models as m

    engine = central_engine(rig)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(m.sync_inbox)).scalar_one()
    finally:
        engine.dispose()


def hub_backlog(rig: Rig) -> int:
    from hub.domain import outbox

    conn = hub_conn(rig)
    try:
        return outbox.backlog(conn)[0]
    finally:
        conn.close()


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def wait_traffic(rig: Rig, timeout: float = 90) -> None:
    for proc in rig.hub.traffic:
        proc.wait(timeout)
        assert proc.returncode in (0, -9), f"traffic failed ({proc.returncode})"


def converged(rig: Rig, *, site_only: bool = False) -> bool:
    """The hub has nothing left to send and the per-table fingerprints of both sides match."""
    from hub.domain import outbox
    from tests.helpers import fingerprints

    conn = hub_conn(rig)
    try:
        if outbox.backlog(conn)[0]:
            return False
        ours = fingerprints.hub(conn, site_only=site_only)
    finally:
        conn.close()
    theirs = fingerprints.central(rig.central.db_url, SEDE, site_only=site_only)
    # kept for the failure message: which tables still differ when time runs out
    rig.last_difference = sorted(
        k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k)
    )
    return ours == theirs


def assert_exactly_once(rig: Rig, *, all_sent: bool = True) -> int:
    """Every event the hub holds as acknowledged is at central exactly once (and, with
    ``all_sent``, every outbox event is acknowledged). Returns how many are."""
    from central.sync import service

    conn = hub_conn(rig)
    try:
        acked = {
            r[0] for r in conn.execute("SELECT event_id FROM outbox WHERE sent_at IS NOT NULL")
        }
        total = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    finally:
        conn.close()
    engine = central_engine(rig)
    try:
        with engine.connect() as c:
            counts = service.event_counts(c, sede_id=SEDE)
    finally:
        engine.dispose()
    missing = [e for e in acked if counts.get(e) != 1]
    assert not missing, f"{len(missing)} acknowledged events not at central exactly once"
    assert set(counts.values()) <= {1}
    if all_sent:
        assert len(acked) == total
    return len(acked)


def settle(rig: Rig, timeout: float = 90, traffic_timeout: float = 90) -> int:
    """Wait for the traffic to end and both sides to converge; check exactly-once."""
    wait_traffic(rig, traffic_timeout)
    try:
        wait_for(lambda: converged(rig), timeout, "hub and central to converge")
    except AssertionError as exc:
        differing = rig.last_difference
        raise AssertionError(f"{exc}; tables still different: {differing}") from None
    return assert_exactly_once(rig)


def put_appointments(rig: Rig, count: int, start: int = 0) -> None:
    """Central-side edits: appointments for the sede (travel central -> hub)."""
    from datetime import UTC, datetime, timedelta

    from central.sync import models as m
    from central.sync import service
    from contracts.sync import RecordType

    engine = central_engine(rig)
    try:
        with engine.begin() as conn:
            for n in range(start, start + count):
                service.put_central_record(
                    conn,
                    table=m.sync_appointment,
                    record_type=RecordType.APPOINTMENT,
                    values={
                        "sede_id": SEDE,
                        "code": f"CITA-{n:05d}",
                        "service_code": "orientacion",
                        "scheduled_at": datetime.now(UTC) + timedelta(days=1, minutes=n),
                        "dni": None,
                    },
                )
    finally:
        engine.dispose()
