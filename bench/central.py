"""Benchmark of central: authenticated read throughput and p99 latency of a typical list endpoint
(``GET /api/v1/users`` with a bearer access token: token check, policy, scoped query) against a
bare FastAPI endpoint (no database, no auth) measured in the same run as the limit, and the p99
of sign-in (``POST /api/v1/auth/token``, argon2id at the production cost), on SQLite and on
PostgreSQL.

    .venv/bin/python bench/central.py [--duration 10] [--connections 16] [--signin-connections 4]
                                      [--databases sqlite,postgresql]

Each server is a separate ``uvicorn`` process (one worker, as one instance behind the load
balancer); the load comes from ``wrk`` (Debian package, installed by scripts/setup.sh), also a
separate process. Bare and list are measured in alternating slices (``--slices``, default 5 of
``duration/5`` s each), so that a change of machine load lands on both. Prints ONE JSON object; per database the keys ``list_rps``, ``bare_rps``,
``list_p99_ms``, ``signin_p99_ms`` are an interface (issue 4), with p50s, ratios, targets and
pass/fail. Targets: list >= 40% of bare throughput; sign-in p99 < 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# first, even when PYTHONPATH already names the repository: bench/ (the script's directory) comes
# before it, and bench/hub.py or bench/central.py would shadow those packages
sys.path.insert(0, str(REPO))

TARGETS = {"list_to_bare_ratio_min": 0.40, "signin_p99_ms_max": 300.0}
LIST_PATH = "/api/v1/users?limit=50"
SIGNIN_USER = ("ana", "demo-ventanilla-1")  # seeded orientador: password only, no TOTP
PG_ADMIN_URL = os.environ.get(
    "ALEGRA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

# The limit: a FastAPI app with one endpoint, no middleware, no database, no auth. A plain
# ``def`` like the list route, so both go through the same threadpool dispatch.
BARE_SERVER = """
import sys
import uvicorn
from fastapi import FastAPI

app = FastAPI()

@app.get("/bare")
def bare() -> dict:
    return {"status": "ok", "items": []}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url}:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------------------- wrk

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unknown wrk duration {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, latency percentiles (--latency) and error counts from wrk's report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if not rps or not total:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    percentiles = {
        int(p): _ms(value)
        for p, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.MULTILINE)
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": round(float(rps.group(1)), 1),
        "requests": int(total.group(1)),
        "p50_ms": round(percentiles[50], 2),
        "p90_ms": round(percentiles[90], 2),
        "p99_ms": round(percentiles[99], 2),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(x) for x in socket_errors.groups()) if socket_errors else 0,
    }


def run_wrk(
    url: str,
    *,
    duration: float,
    connections: int,
    threads: int,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    result = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=duration + 60, check=True
    )
    return parse_wrk(result.stdout)


def alternate(
    measure_a: Callable[[float], dict[str, Any]],
    measure_b: Callable[[float], dict[str, Any]],
    *,
    duration: float,
    slices: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Measure A and B for ``duration`` seconds each, in ``slices`` alternating slices (A, B,
    A, B…), so that a change of machine load during the run lands on both sides. Per side:
    rps = all requests over all slice time, p50 the median of the slices' p50s, p90/p99 the
    WORST slice's (conservative), errors summed."""
    slices = max(1, min(slices, int(duration)))  # wrk measures whole seconds
    seconds = max(1, round(duration / slices))
    runs: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    for _ in range(slices):
        runs[0].append(measure_a(seconds))
        runs[1].append(measure_b(seconds))
    return _combine(runs[0], seconds), _combine(runs[1], seconds)


def _combine(runs: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    requests = sum(r["requests"] for r in runs)
    return {
        "rps": round(sum(r["rps"] for r in runs) / len(runs), 1),
        "requests": requests,
        "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
        "p90_ms": max(r["p90_ms"] for r in runs),
        "p99_ms": max(r["p99_ms"] for r in runs),
        "non_2xx": sum(r["non_2xx"] for r in runs),
        "socket_errors": sum(r["socket_errors"] for r in runs),
        "slices": len(runs),
        "slice_s": seconds,
    }


# ------------------------------------------------------------------------------ database


def pg_reachable() -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def create_pg_database() -> str:
    from sqlalchemy import create_engine, text

    name = f"alegra_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return name


def drop_pg_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def prepare(url: str, settings) -> None:  # noqa: ANN001
    """Migrate and seed the demo district (11 users, argon2id at the production cost)."""
    from central.core.db import make_engine, migrate, session_scope
    from central.seed import seed_demo

    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        seed_demo(session=session, settings=settings)
    engine.dispose()


def access_token(base_url: str) -> str:
    """A bearer token of the national administrator (password + TOTP from the demo seed)."""
    import httpx
    import pyotp

    from central.seed import DEMO_PASSWORD, DEMO_TOTP

    response = httpx.post(
        base_url + "/api/v1/auth/token",
        json={
            "username": "admin",
            "password": DEMO_PASSWORD,
            "totp_code": pyotp.TOTP(DEMO_TOTP["admin"]).now(),
        },
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


# -------------------------------------------------------------------------------- bench


def bench_database(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    import httpx

    from central.settings import CentralSettings

    pg_name = None
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'central.sqlite3'}"
    else:
        if not pg_reachable():
            return {"skipped": "PostgreSQL not reachable at 127.0.0.1:5432"}
        pg_name = create_pg_database()
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + pg_name
    secret = uuid.uuid4().hex + uuid.uuid4().hex
    settings = CentralSettings(
        data_dir=workdir, database_url=url, secret_key=secret, log_level="WARNING"
    )
    processes: list[subprocess.Popen] = []
    try:
        prepare(url, settings)
        central_port, bare_port = free_port(), free_port()
        env = {
            **os.environ,
            "ALEGRA_DATA_DIR": str(workdir),
            "ALEGRA_DATABASE_URL": url,
            "ALEGRA_SECRET_KEY": secret,
            "ALEGRA_LOG_LEVEL": "WARNING",
        }
        central_log = workdir / f"central-{kind}.log"
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "central.app:create_app",
                 "--host", "127.0.0.1", "--port", str(central_port), "--workers", "1",
                 "--log-level", "warning", "--no-access-log"],
                env=env, cwd=REPO, stdout=central_log.open("wb"), stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
        bare_log = workdir / f"bare-{kind}.log"
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", BARE_SERVER, str(bare_port)],
                cwd=REPO, stdout=bare_log.open("wb"), stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
        central_url = f"http://127.0.0.1:{central_port}"
        bare_url = f"http://127.0.0.1:{bare_port}/bare"
        wait_http(central_url + "/api/v1/health", processes[0], central_log)
        wait_http(bare_url, processes[1], bare_log)

        token = access_token(central_url)
        auth = {"Authorization": f"Bearer {token}"}
        check = httpx.get(central_url + args.list_path, headers=auth, timeout=10)
        check.raise_for_status()
        listed = len(check.json())

        common = {"duration": args.duration, "threads": args.threads}
        # warm both up (imports, connection pools), then measure bare and list back to back
        run_wrk(bare_url, duration=1, connections=args.connections, threads=args.threads)
        run_wrk(
            central_url + args.list_path,
            duration=1,
            connections=args.connections,
            threads=args.threads,
            headers=auth,
        )
        bare, listing = alternate(
            lambda seconds: run_wrk(
                bare_url, duration=seconds, connections=args.connections, threads=args.threads
            ),
            lambda seconds: run_wrk(
                central_url + args.list_path,
                duration=seconds,
                connections=args.connections,
                threads=args.threads,
                headers=auth,
            ),
            duration=args.duration,
            slices=args.slices,
        )
        script = workdir / "signin.lua"
        body = json.dumps({"username": SIGNIN_USER[0], "password": SIGNIN_USER[1]})
        script.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(body)}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        signin = run_wrk(
            central_url + "/api/v1/auth/token",
            connections=args.signin_connections,
            script=script,
            **common,
        )
    finally:
        for process in processes:
            stop(process)
        if pg_name:
            drop_pg_database(pg_name)

    ratio = listing["rps"] / bare["rps"] if bare["rps"] else 0.0
    errors = {
        "list_non_2xx": listing["non_2xx"],
        "bare_non_2xx": bare["non_2xx"],
        "signin_non_2xx": signin["non_2xx"],
        "socket_errors": listing["socket_errors"] + bare["socket_errors"] + signin["socket_errors"],
    }
    passed = {
        "list_to_bare_ratio": ratio >= TARGETS["list_to_bare_ratio_min"],
        "signin_p99_ms": signin["p99_ms"] < TARGETS["signin_p99_ms_max"],
        "no_errors": not any(errors.values()),
    }
    return {
        "list_rps": listing["rps"],
        "bare_rps": bare["rps"],
        "list_p99_ms": listing["p99_ms"],
        "signin_p99_ms": signin["p99_ms"],
        "list_p50_ms": listing["p50_ms"],
        "bare_p50_ms": bare["p50_ms"],
        "bare_p99_ms": bare["p99_ms"],
        "signin_p50_ms": signin["p50_ms"],
        "signin_rps": signin["rps"],
        "list_to_bare_ratio": round(ratio, 3),
        "users_listed": listed,
        "requests": {
            "list": listing["requests"],
            "bare": bare["requests"],
            "signin": signin["requests"],
        },  # fmt: skip
        "errors": errors,
        "pass": passed,
    }


def argon2_verify_ms(samples: int = 15) -> dict[str, Any]:
    """The production argon2id cost and what one verification takes on this machine."""
    from central.auth import passwords
    from central.settings import CentralSettings

    defaults = CentralSettings()
    hasher = passwords.hasher(
        defaults.argon2_time_cost, defaults.argon2_memory_kib, defaults.argon2_parallelism
    )
    encoded = hasher.hash("Bench-password-2026")
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        hasher.verify(encoded, "Bench-password-2026")
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "variant": "argon2id",
        "time_cost": defaults.argon2_time_cost,
        "memory_kib": defaults.argon2_memory_kib,
        "parallelism": defaults.argon2_parallelism,
        "verify_ms_median": round(statistics.median(timings), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--signin-connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--slices",
        type=int,
        default=5,
        help="bare and list are measured in this many alternating slices of duration/slices s",
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--list-path", default=LIST_PATH, help="the authenticated list endpoint to load"
    )
    parser.add_argument("--tmp-dir", type=Path, default=None)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: install it (scripts/setup.sh does)", file=sys.stderr)
        return 2
    os.environ.setdefault("ALEGRA_LOG_LEVEL", "WARNING")
    report: dict[str, Any] = {}
    base = Path(tempfile.mkdtemp(prefix="alegra-bench-central-", dir=args.tmp_dir))
    try:
        for kind in [d.strip() for d in args.databases.split(",") if d.strip()]:
            if kind not in {"sqlite", "postgresql"}:
                parser.error(f"unknown database {kind!r}")
            workdir = base / kind
            workdir.mkdir()
            report[kind] = bench_database(kind, args, workdir)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    report["settings"] = {
        "list_endpoint": f"GET {args.list_path} (bearer token of a national administrator)",
        "bare_endpoint": "GET /bare: FastAPI, sync def, constant JSON, no middleware/DB/auth",
        "signin_endpoint": "POST /api/v1/auth/token (orientador, password only)",
        "server": "uvicorn, 1 worker per server, separate processes",
        "load_generator": (wrk_version.splitlines() or ["wrk"])[0].strip(),
        "duration_s": args.duration,
        "slices": args.slices,
        "measurement": "bare and list alternate in slices; rps over all slices, p99 of the worst",
        "connections": args.connections,
        "signin_connections": args.signin_connections,
        "wrk_threads": args.threads,
        "argon2": argon2_verify_ms(),
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }
    report["targets"] = TARGETS
    measured = [v for k, v in report.items() if k in {"sqlite", "postgresql"} and "pass" in v]
    report["pass"] = bool(measured) and all(all(m["pass"].values()) for m in measured)
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
