"""Find or start an MQTT broker for the hub.

Production and tests use Mosquitto. For the zero-set-up demo, when no broker is reachable, this
starts Mosquitto as a child process if it is installed, else an embedded amqtt broker inside
this process. The embedded broker is for the demo only: no credentials, no ACL, no persistence.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

EMBEDDED_WARNING = (
    "AVISO: usando el broker MQTT embebido (amqtt) SOLO PARA DEMOSTRACIÓN — sin credenciales "
    "ni ACL. En una sede use Mosquitto (installers/mosquitto/sede.conf). / "
    "WARNING: embedded amqtt broker, demo only."
)


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(host: str, port: int, timeout_s: float, alive: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_open(host, port, 0.2):
            return True
        if not alive():
            return False
        time.sleep(0.05)
    return False


@dataclass
class BrokerHandle:
    """A reachable broker; ``stop()`` ends it only when we started it."""

    host: str
    port: int
    kind: str  # "external" | "mosquitto" | "embedded"
    _stop: Callable[[], None] | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None

    def __enter__(self) -> BrokerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def mosquitto_executable() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


def start_mosquitto(workdir: Path, *, port: int | None = None) -> BrokerHandle:
    """A private, loopback-only, anonymous Mosquitto (demo and tests; never a sede)."""
    exe = mosquitto_executable()
    if exe is None:
        raise RuntimeError("mosquitto is not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    conf = workdir / f"mosquitto-demo-{port}.conf"
    conf.write_text(
        "# written by hub.broker for the demo: loopback only, anonymous, not for a sede\n"
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "set_tcp_nodelay true\n",
        encoding="utf-8",
    )
    log_file = (workdir / f"mosquitto-demo-{port}.log").open("wb")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=log_file, stderr=log_file)
    if not _wait_port("127.0.0.1", port, 10, lambda: proc.poll() is None):
        proc.kill()
        raise RuntimeError(f"mosquitto did not start (see {log_file.name})")

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        log_file.close()

    return BrokerHandle("127.0.0.1", port, "mosquitto", stop)


def start_embedded(*, port: int | None = None) -> BrokerHandle:
    """An amqtt broker on its own event loop thread. Demo only."""
    from amqtt.broker import Broker

    port = port or free_port()
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []
    holder: dict[str, Broker] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def boot() -> None:
            broker = Broker(config, loop=loop)
            holder["broker"] = broker
            await broker.start()

        try:
            loop.run_until_complete(boot())
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="amqtt-broker", daemon=True)
    thread.start()
    started.wait(15)
    if failure:
        raise RuntimeError(f"embedded broker failed to start: {failure[0]}")
    if not started.is_set():
        raise RuntimeError("embedded broker did not start in time")

    def stop() -> None:
        broker = holder.get("broker")
        if broker is not None:
            future = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
            try:
                future.result(10)
            except Exception:  # noqa: S110 - best effort at shutdown
                pass
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)

    return BrokerHandle("127.0.0.1", port, "embedded", stop)


def ensure_broker(
    host: str,
    port: int,
    *,
    workdir: Path,
    allow_start: bool = True,
    prefer_embedded: bool = False,
    say: Callable[[str], None] = print,
) -> BrokerHandle:
    """The broker at host:port when it answers; else (demo) one we start ourselves."""
    if not prefer_embedded and port_open(host, port):
        say(f"Broker MQTT encontrado en {host}:{port}.")
        return BrokerHandle(host, port, "external")
    if not allow_start:
        raise RuntimeError(f"no MQTT broker at {host}:{port}")
    if not prefer_embedded and mosquitto_executable():
        handle = start_mosquitto(workdir)
        say(f"Mosquitto iniciado para la demo en 127.0.0.1:{handle.port}.")
        return handle
    handle = start_embedded()
    say(EMBEDDED_WARNING)
    say(f"Broker embebido escuchando en 127.0.0.1:{handle.port}.")
    return handle
