"""``alegra hub``: run the sede hub, show its status, provision Mosquitto credentials.

Heavy imports (engine, paho) live inside the commands so ``alegra hub --help`` starts fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Hub de la sede: cola de atención (Módulo 03) y puente MQTT.",
    no_args_is_help=True,
    add_completion=False,
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML de la sede (ALEGRA_SEDE_CONFIG; por defecto: demo)."),
]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Carpeta de datos (ALEGRA_DATA_DIR).")
]


def db_path_for(data_dir: Path, sede_id: str) -> Path:
    """Where the hub keeps the SQLite file of a sede (one file per sede and data dir)."""
    return data_dir / f"hub-{sede_id}.sqlite3"


def _load(config: Path | None, data_dir: Path | None) -> tuple[Any, Any, Path]:
    from hub.config import ConfigError, HubSettings, load_sede_config

    settings = HubSettings()
    try:
        sede = load_sede_config(config or settings.sede_config)
    except ConfigError as exc:
        typer.echo(f"Error de configuración: {exc}", err=True)
        raise typer.Exit(2) from exc
    return settings, sede, db_path_for(data_dir or settings.data_dir, sede.id)


@app.command()
def run(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    mqtt_host: Annotated[str | None, typer.Option(help="Broker (ALEGRA_MQTT_HOST).")] = None,
    mqtt_port: Annotated[int | None, typer.Option(help="Puerto (ALEGRA_MQTT_PORT).")] = None,
    username: Annotated[str | None, typer.Option(help="Usuario MQTT del hub.")] = None,
    password: Annotated[
        str | None, typer.Option(help="Contraseña MQTT (mejor: ALEGRA_MQTT_PASSWORD).")
    ] = None,
    tls: Annotated[bool | None, typer.Option("--tls/--no-tls", help="TLS hacia el broker.")] = None,
    ca_file: Annotated[
        Path | None, typer.Option(help="CA de la sede para verificar el broker (TLS).")
    ] = None,
    housekeeping_s: Annotated[float, typer.Option(help="Cada cuántos segundos.")] = 5.0,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING...")] = None,
) -> None:
    """Run the hub: open the SQLite store and serve the sede over MQTT until stopped."""
    import logging
    import signal
    import sys
    import threading

    from hub.bridge import HubBridge, MqttSettings
    from hub.domain.engine import HubEngine
    from hub.logs import configure_logging, log_event

    settings, sede, db_path = _load(config, data_dir)
    # The worker computes retained states right after queueing a response that paho's network
    # thread must send; with the default 5 ms GIL switch interval that send could wait 5 ms.
    sys.setswitchinterval(0.0005)
    configure_logging(log_level or settings.log_level)
    log = logging.getLogger("hub.run")
    engine = HubEngine(sede, db_path)
    mqtt = MqttSettings(
        host=mqtt_host or settings.mqtt_host,
        port=mqtt_port or settings.mqtt_port,
        username=username or settings.mqtt_username,
        password=password or settings.mqtt_password,
        tls=settings.mqtt_tls if tls is None else tls,
        ca_file=str(ca_file) if ca_file else None,
    )
    bridge = HubBridge(engine, sede_id=sede.id, mqtt=mqtt, housekeeping_interval_s=housekeeping_s)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log_event(
        log,
        logging.INFO,
        "hub starting",
        event="hub_start",
        sede=sede.id,
        db_path=str(db_path),
        host=mqtt.host,
        port=mqtt.port,
    )
    bridge.start()
    # WAN sync with central once enrolled: ALEGRA_SYNC_* or what `alegra sync enroll --db` recorded
    from sync.agent import SyncAgent

    agent = SyncAgent.from_settings(db_path)
    if agent is not None:
        agent.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        if agent is not None:
            agent.stop()
        bridge.stop()
        engine.close()
        log_event(log, logging.INFO, "hub stopped", event="hub_stop", sede=sede.id)


@app.command()
def status(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Salida JSON.")] = False,
    mqtt_passwd_file: Annotated[
        Path | None,
        typer.Option(
            "--mqtt-passwd-file",
            help="passwd de Mosquitto instalado (ALEGRA_MQTT_PASSWD_FILE): avisa de las "
            "ventanillas sin credencial MQTT.",
        ),
    ] = None,
) -> None:
    """Queues, counters and outbox backlog, read from the SQLite file (hub running or not)."""
    from hub.domain.engine import HubEngine

    settings, sede, db_path = _load(config, data_dir)
    if not db_path.exists():
        typer.echo(f"No hay datos del hub en {db_path}.", err=True)
        raise typer.Exit(1)
    engine = HubEngine(sede, db_path)
    try:
        report = engine.status()
        effective = engine.config  # central's revision once applied, else the TOML
    finally:
        engine.close()
    from sync.agent import status as sync_status

    report["sync"] = sync_status(db_path)  # backlog, last success, last error (docs/sync.md)
    passwd_file = mqtt_passwd_file or settings.mqtt_passwd_file
    if passwd_file is not None:
        report["mqtt_credentials"] = _credential_check(
            effective,
            Path(passwd_file),
            config=config or settings.sede_config,
            data_dir=data_dir or settings.data_dir,
        )
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        return
    typer.echo(f"Sede {sede.name} ({sede.id})")
    typer.echo(f"Base de datos / database: {db_path}")
    for key in ("business_date", "hub_epoch", "schema_version"):
        if key in report:
            typer.echo(f"  {key}: {report[key]}")
    typer.echo("\nColas / queues:")
    for code, queue in report.get("queues", {}).items():
        typer.echo(
            f"  {code:<16} en espera {queue['waiting']:>4}"
            f" (preferencial {queue['preferential_waiting']})"
            f"  atendidos hoy {queue['served_today']:>4}"
            f"  ventanillas abiertas {queue['open_counters']}"
        )
    typer.echo("\nVentanillas / counters:")
    for counter_id, counter in report.get("counters", {}).items():
        typer.echo(
            f"  {counter_id:<6} {counter['status']:<7} turno {counter.get('current') or '-':<6}"
            f" en espera aparte {counter.get('parked', 0)}  {counter.get('user') or ''}"
        )
    outbox = report.get("outbox", {})
    typer.echo(
        f"\nOutbox (pendiente de sincronizar / to sync): {outbox.get('pending', '?')}"
        f"  más antiguo / oldest: {outbox.get('oldest_pending_at') or '-'}"
    )
    from sync.cli import describe

    for line in describe(report["sync"]):
        typer.echo(line)
    if "mqtt_credentials" in report:
        for line in _describe_credentials(report["mqtt_credentials"]):
            typer.echo(line)


def _credential_check(sede: Any, passwd_file: Path, *, config: Path, data_dir: Path) -> dict:
    """Counters of the configuration in effect with no user in the broker's password file,
    and the command that makes their credentials (docs/operations.md)."""
    from hub.mqtt_provision import counters_without_credential, passwd_usernames

    report: dict[str, Any] = {"passwd_file": str(passwd_file)}
    try:
        usernames = passwd_usernames(passwd_file)
    except (OSError, UnicodeDecodeError) as exc:
        report["error"] = f"no se pudo leer {passwd_file}: {exc.strerror or exc}"
        return report
    missing = counters_without_credential(sede, usernames)
    report["missing_counters"] = missing
    if missing:
        report["fix"] = (
            f"alegra hub provision-mqtt --config {config} --data-dir {data_dir} --out DIR "
            "--keep ANTERIOR/credentials.toml"
        )
        # the kiosks, displays and consoles that --keep carries forward (it records the roles)
        counters = {counter.id for counter in sede.counters}
        report["other_users"] = [u for u in usernames if u not in counters and u != "hub"]
    return report


def _describe_credentials(check: dict) -> list[str]:
    if "error" in check:
        return [f"\nCredenciales MQTT: {check['error']}"]
    missing = check["missing_counters"]
    if not missing:
        return [
            f"\nCredenciales MQTT ({check['passwd_file']}): todas las ventanillas tienen la suya."
        ]
    others = ", ".join(check["other_users"]) or "ninguno"
    return [
        f"\nAVISO: ventanillas sin credencial MQTT en {check['passwd_file']}: "
        f"{', '.join(missing)}. No podrán conectarse al broker hasta tenerla.",
        "  Genérela (con --keep los demás equipos conservan su credencial y su contraseña):",
        f"    {check['fix']}",
        f"  Otros usuarios del passwd, que --keep conserva: {others}. Luego instale passwd y acl "
        "(systemctl reload mosquitto) y configure la ventanilla.",
    ]


@app.command("provision-mqtt")
def provision_mqtt(
    out: Annotated[Path, typer.Option("--out", help="Carpeta de salida (passwd, acl, ...).")],
    config: ConfigOpt = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Carpeta de datos del hub (ALEGRA_DATA_DIR): usa la configuración en vigor "
            "(la de la central aplicada por el hub) en vez del TOML.",
        ),
    ] = None,
    kiosk: Annotated[list[str] | None, typer.Option("--kiosk", help="Id de un kiosco.")] = None,
    display: Annotated[
        list[str] | None, typer.Option("--display", help="Id de una pantalla.")
    ] = None,
    admin: Annotated[
        list[str] | None, typer.Option("--admin", help="Id de una consola admin.")
    ] = None,
    keep: Annotated[
        Path | None,
        typer.Option(
            help="credentials.toml anterior: conserva sus equipos (kioscos, pantallas, consolas) "
            "y sus contraseñas."
        ),
    ] = None,
    drop: Annotated[
        list[str] | None,
        typer.Option("--drop", help="Id de un equipo de --keep que se retira (sin credencial)."),
    ] = None,
) -> None:
    """Generate per-device Mosquitto credentials and the ACL of a sede, for the configuration
    its hub runs on (central's applied revision under --data-dir, else the TOML)."""
    from hub.config import ConfigError, HubSettings, load_sede_config
    from hub.mqtt_provision import (
        ProvisionError,
        carried_devices,
        effective_config,
        provision,
        read_kept,
    )

    try:
        settings = HubSettings()
        config_path = config or settings.sede_config
        if data_dir is None and "data_dir" in settings.model_fields_set:
            data_dir = settings.data_dir  # ALEGRA_DATA_DIR set: the hub's own data dir
        bootstrap = load_sede_config(config_path)
        db_path = db_path_for(data_dir, bootstrap.id) if data_dir is not None else None
        effective = effective_config(bootstrap, db_path)
        if drop and keep is None:
            raise ProvisionError("--drop retira equipos de --keep: indique también --keep")
        kept = read_kept(keep) if keep is not None else {}
        kiosks, displays, admins = carried_devices(
            kept, kiosks=kiosk or [], displays=display or [], admins=admin or [], drop=drop or []
        )
        previous = {name: device.password for name, device in kept.items()}
        credentials = provision(
            effective.config,
            out,
            kiosks=kiosks,
            displays=displays,
            admins=admins,
            passwords=previous,
        )
    except (ConfigError, ProvisionError, OSError, ValueError) as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if effective.source == "central":
        typer.echo(
            f"Configuración usada: la de la central, revisión {effective.revision}, "
            f"aplicada por el hub ({db_path})."
        )
    else:
        typer.echo(f"Configuración usada: el TOML {config_path} ({effective.reason}).")
    if effective.pending:
        typer.echo(f"Aviso: {effective.pending}.")
    typer.echo(f"Credenciales MQTT de {effective.config.id} en {out}:")
    for credential in credentials:
        state = "conservada" if credential.username in previous else "nueva"
        typer.echo(f"  {credential.role:<8} {credential.username:<16} {state}")
    issued = {credential.username for credential in credentials}
    new = [c.username for c in credentials if c.username not in previous]
    dropped = sorted(set(previous) - issued)
    if keep is not None:
        if new:
            typer.echo(f"Equipos nuevos, a configurar con su credencial: {', '.join(new)}.")
        else:
            typer.echo("Ningún equipo nuevo: basta con instalar passwd y acl.")
    if dropped:
        typer.echo(
            f"Ya sin credencial (retirados con --drop o ventanillas que ya no están en la "
            f"configuración): {', '.join(dropped)}."
        )
    typer.echo(
        "Copie passwd y acl a /etc/mosquitto/alegra/ (systemctl reload mosquitto) y la "
        "credencial de cada equipo nuevo desde credentials.toml. Guarde credentials.toml solo "
        "en esta carpeta de root (la necesita --keep) y borre toda otra copia."
    )
