"""``alegra demo``: a demo sede you can watch, with zero set-up.

Starts (or finds) an MQTT broker, runs the hub on the demo sede (hub/sedes/demo.toml) with its
data under ./var/demo, seeds two appointments, then plays a scripted stream of kiosk and counter
commands over MQTT — tickets of several services (preferential ones included), two counters
signing in, calling, serving, finishing, a transfer and a recall — printing one readable line
per step (Spanish / English) and the queue as a display would see it.

The demo is a list of *parts* started in order and stopped in reverse (broker, hub, traffic).
The Qt apps and central can join as further parts (see ``Part`` and ``build_parts``).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol

import typer

app = typer.Typer(add_completion=False, help="Sede de demostración: hub + tráfico simulado.")

ANA = {"username": "ana", "password": "demo-ventanilla-1"}
LUIS = {"username": "luis", "password": "demo-ventanilla-2"}
APPOINTMENTS = [("CITA-0001", "conciliacion", "12345678"), ("CITA-0002", "victimas", None)]


class Part(Protocol):
    """One running piece of the demo."""

    name: str

    def start(self, ctx: DemoContext) -> None: ...

    def stop(self) -> None: ...


@dataclass
class DemoContext:
    """What the parts share: settings and whatever earlier parts made available."""

    data_dir: Path
    mqtt_host: str
    mqtt_port: int
    broker_mode: str  # "auto" | "embedded"
    fast: bool
    sede_id_override: str | None
    out: Any = field(default=sys.stdout)
    sede: Any = None  # hub.config.SedeConfig, set by HubPart
    engine: Any = None
    stop: threading.Event = field(default_factory=threading.Event)
    stats: dict[str, int] = field(
        default_factory=lambda: {"issued": 0, "served": 0, "transferred": 0, "no_show": 0}
    )

    def say(self, line: str) -> None:
        stamp = datetime.now(UTC).astimezone().strftime("%H:%M:%S")
        print(f"[{stamp}] {line}", file=self.out, flush=True)


class BrokerPart:
    name = "broker"

    def __init__(self) -> None:
        self.handle: Any = None

    def start(self, ctx: DemoContext) -> None:
        from hub.broker import ensure_broker

        self.handle = ensure_broker(
            ctx.mqtt_host,
            ctx.mqtt_port,
            workdir=ctx.data_dir / "broker",
            prefer_embedded=ctx.broker_mode == "embedded",
            say=ctx.say,
        )
        ctx.mqtt_host, ctx.mqtt_port = self.handle.host, self.handle.port

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()


class HubPart:
    """The sede hub in this process: engine on ./var/demo + MQTT bridge."""

    name = "hub"

    def __init__(self, *, fresh: bool = True) -> None:
        self.fresh = fresh
        self.bridge: Any = None

    def start(self, ctx: DemoContext) -> None:
        from hub.bridge import HubBridge, MqttSettings
        from hub.cli import db_path_for
        from hub.config import DEMO_SEDE_FILE, load_sede_config
        from hub.domain.engine import HubEngine

        sede = load_sede_config(DEMO_SEDE_FILE)
        if ctx.sede_id_override:
            sede = sede.model_copy(update={"id": ctx.sede_id_override})
        db_path = db_path_for(ctx.data_dir, sede.id)
        if self.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        ctx.sede = sede
        ctx.engine = HubEngine(sede, db_path)
        now = datetime.now(UTC)
        for index, (code, service, dni) in enumerate(APPOINTMENTS):
            ctx.engine.add_appointment(
                code=code,
                service_code=service,
                scheduled_at=now + timedelta(minutes=5 + 10 * index),
                dni=dni,
            )
        ctx.say(f"Hub de la sede «{sede.name}» — datos en {db_path}")
        ctx.say(f"Citas de hoy sembradas / appointments seeded: {len(APPOINTMENTS)}")
        self.bridge = HubBridge(
            ctx.engine,
            sede_id=sede.id,
            mqtt=MqttSettings(host=ctx.mqtt_host, port=ctx.mqtt_port),
            housekeeping_interval_s=2.0 if ctx.fast else 5.0,
        )
        if not self.bridge.start(wait_s=20):
            raise RuntimeError("el hub no pudo conectarse al broker / hub could not connect")
        ctx.say("Hub en línea (MQTT) / hub online.")
        self._engine = ctx.engine

    def stop(self) -> None:
        if self.bridge is not None:
            self.bridge.stop()
            self._engine.close()


class TrafficPart:
    """Kiosks and counters over MQTT: a scripted opening, then steady random traffic."""

    name = "traffic"

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.clients: list[Any] = []
        self.error: BaseException | None = None

    def start(self, ctx: DemoContext) -> None:
        from hub.mqtt_client import DeviceClient, StateWatcher

        def device(role: str, device_id: str) -> DeviceClient:
            client = DeviceClient(
                sede_id=ctx.sede.id,
                role=role,
                device_id=device_id,
                host=ctx.mqtt_host,
                port=ctx.mqtt_port,
            ).connect()
            self.clients.append(client)
            return client

        self.watch = StateWatcher(sede_id=ctx.sede.id, host=ctx.mqtt_host, port=ctx.mqtt_port)
        self.watch.connect()
        self.clients.append(self.watch)
        self.devices = {
            "k1": device("kiosk", "k1"),
            "k2": device("kiosk", "k2"),
            "v1": device("counter", "v1"),
            "v2": device("counter", "v2"),
        }
        self.ctx = ctx
        from hardware.printer import PrinterConfig, PrinterKind, make_printer

        self.printer = make_printer(
            PrinterConfig(kind=PrinterKind.FILE, file_dir=ctx.data_dir / "tickets")
        )
        self.thread = threading.Thread(target=self._run, name="demo-traffic", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.join(15)
        for client in self.clients:
            client.close()

    # ------------------------------------------------------------------ steps

    def _pause(self, seconds: float) -> None:
        self.ctx.stop.wait(seconds * (0.02 if self.ctx.fast else 1.0))

    def _step(self, device_id: str, action: str, params: dict[str, Any] | None, what: str) -> Any:
        ctx = self.ctx
        if ctx.stop.is_set():
            return None
        response = self.devices[device_id].request(action, params or {})
        label = {"k1": "Kiosco 1", "k2": "Kiosco 2", "v1": "Ventanilla 1", "v2": "Ventanilla 2"}
        if response.status == "ok":
            ticket = (response.result or {}).get("ticket") or {}
            number = ticket.get("number", "")
            outcome = self._count(action, params or {}, response.result or {})
            ctx.say(f"{label[device_id]:<12} {what:<58} ✓ {number} {outcome}".rstrip())
        else:
            ctx.say(f"{label[device_id]:<12} {what:<58} ✗ {response.error.message}")
        self._show_queue()
        self._pause(1.2)
        return response

    def _count(self, action: str, params: dict[str, Any], result: dict[str, Any]) -> str:
        stats = self.ctx.stats
        if action in {"issue_ticket", "checkin_appointment"}:
            stats["issued"] += 1
            self._print(result)
            ahead = (result.get("ticket") or {}).get("people_ahead")
            return f"(delante / ahead: {ahead})" if ahead is not None else ""
        if action == "finish_attention":
            stats["served"] += 1
            return "atendido / served"
        if action == "transfer_ticket":
            stats["transferred"] += 1
            return "derivado / transferred"
        if action == "recall" and result.get("no_show"):
            stats["no_show"] += 1
            return "no se presentó / no-show"
        return ""

    def _print(self, result: dict[str, Any]) -> None:
        """Print the confirmed ticket as a kiosk would: ESC/POS bytes into the data dir."""
        from contracts.messages import IssuedTicket
        from hardware.printer import PrintableTicket, PrinterError

        try:
            self.printer.print_ticket(
                PrintableTicket.from_message(IssuedTicket.model_validate(result))
            )
        except (PrinterError, ValueError) as exc:
            self.ctx.say(f"    impresora / printer: {exc}")

    def _show_queue(self) -> None:
        watch, sede = self.watch, self.ctx.sede
        # the hub publishes the new state right after answering: give it a moment to land
        time.sleep(0.05)
        queues = []
        for service in sede.services:
            state = watch.queue(service.code) or {}
            numbers = [t["number"] for t in state.get("tickets", [])]
            if numbers:
                queues.append(f"{service.letter}: {' '.join(numbers[:6])}")
        counters = []
        for counter in sede.counters:
            state = watch.counter(counter.id) or {}
            current = (state.get("current") or {}).get("number", "—")
            counters.append(f"{counter.id}:{current if state.get('status') == 'open' else '·'}")
        self.ctx.say(
            f"    cola / queue [{' | '.join(queues) or 'vacía / empty'}]  "
            f"ventanillas [{' '.join(counters)}]"
        )

    def _serve(self, counter_id: str, *, outcome: str = "atendido") -> None:
        called = self._step(counter_id, "call_next", None, "llama al siguiente / calls next")
        if called is None or called.status != "ok":
            return
        self._step(counter_id, "start_attention", None, "inicia la atención / starts")
        self._step(
            counter_id, "finish_attention", {"outcome": outcome}, "finaliza / finishes (atendido)"
        )

    def _run(self) -> None:
        try:
            self._script()
            self._steady()
        except Exception as exc:  # reported by the command after stop
            self.error = exc
            self.ctx.stop.set()

    def _script(self) -> None:
        issue = "issue_ticket"
        self.ctx.say("— Apertura guionada / scripted opening —")
        self._step("k1", issue, {"service_code": "orientacion"}, "turno: Orientación legal")
        self._step("k1", issue, {"service_code": "defensa-penal"}, "turno: Defensa penal")
        self._step(
            "k2",
            issue,
            {"service_code": "orientacion", "preference_category": "adulto_mayor"},
            "turno preferencial (adulto mayor) / preferential",
        )
        self._step(
            "k2",
            issue,
            {"service_code": "victimas", "preference_category": "gestante"},
            "turno preferencial (gestante): Defensa de víctimas",
        )
        self._step(
            "k1",
            "checkin_appointment",
            {"appointment_code": APPOINTMENTS[0][0]},
            f"registra cita / appointment check-in {APPOINTMENTS[0][0]}",
        )
        self._step("k1", issue, {"service_code": "orientacion"}, "turno: Orientación legal")
        self._step("v1", "sign_in", ANA, "inicia sesión / signs in (Ana)")
        self._step("v2", "sign_in", LUIS, "inicia sesión / signs in (Luis)")
        self._step("v1", "open_counter", None, "abre la ventanilla / opens")
        self._step("v2", "open_counter", None, "abre la ventanilla / opens")
        self._serve("v1")  # the preferential ticket goes first (Ley 28683)
        called = self._step("v2", "call_next", None, "llama al siguiente / calls next")
        if called is not None and called.status == "ok":
            self._step("v2", "start_attention", None, "inicia la atención / starts")
            self._step(
                "v2",
                "transfer_ticket",
                {"to_service_code": "victimas", "note": "derivación a víctimas"},
                "deriva a Defensa de víctimas / transfers",
            )
        called = self._step("v1", "call_next", None, "llama al siguiente / calls next")
        if called is not None and called.status == "ok":
            for _ in range(self.ctx.sede.queue.max_recalls + 1):
                self._step("v1", "recall", None, "vuelve a llamar / recalls")
        self._serve("v2")
        self._serve("v1")

    def _steady(self) -> None:
        self.ctx.say("— Tráfico continuo / steady traffic (Ctrl-C para salir) —")
        rng = random.Random(2026)
        services = [s.code for s in self.ctx.sede.services if s.code != "conciliacion"]
        preferences = ["adulto_mayor", "gestante", "discapacidad", "nino_acompanante"]
        while not self.ctx.stop.is_set():
            kiosk = rng.choice(["k1", "k2"])
            service = rng.choice(services)
            params: dict[str, Any] = {"service_code": service}
            what = f"turno: {service}"
            if rng.random() < 0.2:
                params["preference_category"] = rng.choice(preferences)
                what += f" (preferencial: {params['preference_category']})"
            self._step(kiosk, "issue_ticket", params, what)
            if rng.random() < 0.6:  # people arrive a little faster than they are served
                self._serve(rng.choice(["v1", "v2"]))


class ProcessesPart:
    """Components run as their own ``alegra ...`` processes, logs under the data dir."""

    name = "processes"

    def __init__(self, label: str) -> None:
        self.name = label
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def commands(self, ctx: DemoContext) -> list[tuple[str, list[str], dict[str, str]]]:
        raise NotImplementedError

    def start(self, ctx: DemoContext) -> None:
        logs = ctx.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for label, args, extra_env in self.commands(ctx):
            env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra_env}
            log_file = (logs / f"{label.replace(' ', '-')}.log").open("wb")
            proc = subprocess.Popen(
                [sys.executable, "-m", "alegra.cli", *args],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            log_file.close()
            self.procs.append((label, proc))
            ctx.say(f"{label} iniciado / started (pid {proc.pid}; log {logs.name}/{label}.log)")

    def stop(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for _, proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


class AppsPart(ProcessesPart):
    """Kiosk, display and two counters; offscreen when the machine has no screen. Printed
    tickets go to DATA/tickets, spoken calls (WAV) to DATA/announcements."""

    def __init__(self) -> None:
        super().__init__("apps")

    def commands(self, ctx: DemoContext) -> list[tuple[str, list[str], dict[str, str]]]:
        has_screen = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        env = {} if has_screen else {"QT_QPA_PLATFORM": "offscreen"}
        window = ["--windowed"] if has_screen else []
        hub = ["--hub", f"{ctx.mqtt_host}:{ctx.mqtt_port}", "--sede", ctx.sede.id]
        data = ctx.data_dir
        return [
            (
                "kiosco",
                [
                    "kiosk",
                    *hub,
                    *window,
                    "--device-id",
                    "kiosk-1",
                    "--printer-dir",
                    str(data / "tickets"),
                ],
                env,
            ),
            (
                "pantalla",
                [
                    "display",
                    *hub,
                    *window,
                    "--device-id",
                    "display-1",
                    "--speech-dir",
                    str(data / "announcements"),
                    "--speech-cache",
                    str(data / "speech-cache"),
                ],
                env,
            ),
            ("ventanilla 1", ["counter", *hub, *window, "--counter", "v1"], env),
            ("ventanilla 2", ["counter", *hub, *window, "--counter", "v2"], env),
        ]

    def start(self, ctx: DemoContext) -> None:
        super().start(ctx)
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            ctx.say("Sin pantalla: las apps corren offscreen / no screen: apps run offscreen.")


class CentralPart(ProcessesPart):
    """Central (FastAPI + web UI) on SQLite under DATA/central, with demo data."""

    def __init__(self, port: int) -> None:
        super().__init__("central")
        self.port = port

    def commands(self, ctx: DemoContext) -> list[tuple[str, list[str], dict[str, str]]]:
        env = {"ALEGRA_DATA_DIR": str(ctx.data_dir / "central")}
        args = ["central", "run", "--demo", "--port", str(self.port)]
        return [("central", args, env)]

    def start(self, ctx: DemoContext, *, wait_s: float = 120.0) -> None:
        import socket

        super().start(ctx)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and not ctx.stop.is_set():
            if self.procs[0][1].poll() is not None:
                ctx.say("Central terminó con error / central exited: ver logs/central.log")
                return
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    ctx.say(
                        f"Central en línea / central up: http://127.0.0.1:{self.port}/ "
                        f"(usuarios de demostración en {ctx.data_dir.name}/logs/central.log)"
                    )
                    return
            except OSError:
                time.sleep(0.25)
        ctx.say("Central aún no responde / central not answering yet: ver logs/central.log")


def build_parts(*, fresh: bool, apps: bool = True, central_port: int | None = 8000) -> list[Part]:
    """The demo's parts in start order."""
    parts: list[Part] = [BrokerPart(), HubPart(fresh=fresh)]
    if central_port is not None:
        parts.append(CentralPart(central_port))
    if apps:
        parts.append(AppsPart())
    parts.append(TrafficPart())
    return parts


@app.callback(invoke_without_command=True)
def demo(
    duration: Annotated[
        float | None, typer.Option(help="Segundos; por defecto hasta Ctrl-C.")
    ] = None,
    fast: Annotated[bool, typer.Option("--fast", help="Sin pausas (pruebas).")] = False,
    data_dir: Annotated[Path, typer.Option(help="Datos de la demo.")] = Path("var/demo"),
    mqtt_host: Annotated[str, typer.Option(help="Broker a usar si responde.")] = "127.0.0.1",
    mqtt_port: Annotated[int, typer.Option(help="Puerto del broker.")] = 1883,
    embedded: Annotated[
        bool, typer.Option("--embedded", help="Forzar el broker embebido (solo demo).")
    ] = False,
    keep_data: Annotated[
        bool, typer.Option("--keep-data", help="Conservar la cola de la corrida anterior.")
    ] = False,
    sede_id: Annotated[
        str | None, typer.Option(help="Otro id de sede (para no cruzarse en un broker compartido).")
    ] = None,
    apps: Annotated[
        bool, typer.Option("--apps/--no-apps", help="Iniciar kiosco, pantalla y ventanillas.")
    ] = True,
    central_port: Annotated[
        int, typer.Option(help="Puerto de central (0: no iniciar central).")
    ] = 8000,
) -> None:
    """Run the demo sede: broker, hub and scripted kiosk/counter traffic over MQTT."""
    from hub.logs import configure_logging

    configure_logging("WARNING")
    data_dir.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(
        data_dir=data_dir,
        mqtt_host=mqtt_host,
        mqtt_port=mqtt_port,
        broker_mode="embedded" if embedded else "auto",
        fast=fast,
        sede_id_override=sede_id,
    )
    ctx.say("ALEGRA — demostración de la cola de una sede / sede queue demo")
    parts = build_parts(fresh=not keep_data, apps=apps, central_port=central_port or None)
    started: list[Part] = []
    traffic_error: BaseException | None = None
    try:
        for part in parts:
            part.start(ctx)
            started.append(part)
        deadline = None if duration is None else time.monotonic() + duration
        while not ctx.stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            ctx.stop.wait(0.2)
    except KeyboardInterrupt:
        ctx.say("Interrumpido / interrupted.")
    finally:
        ctx.stop.set()
        for part in reversed(started):
            part.stop()
            if isinstance(part, TrafficPart):
                traffic_error = part.error
    stats = ctx.stats
    ctx.say(
        f"Resumen / summary: emitidos (issued) {stats['issued']}, atendidos (served) "
        f"{stats['served']}, derivados (transferred) {stats['transferred']}, "
        f"no se presentaron (no-show) {stats['no_show']}"
    )
    if traffic_error is not None:
        ctx.say(f"Error en el tráfico de la demo / traffic error: {traffic_error!r}")
        raise typer.Exit(1)
