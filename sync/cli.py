"""Sync agent commands: enroll the hub with central, run the agent alone, show its status.

``alegra hub run`` starts the same agent in-process once the hub is enrolled (``enroll --db``
or ``ALEGRA_SYNC_*``); ``python -m sync.cli run`` runs it as its own process.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Sincronización del hub con la central.", no_args_is_help=True, add_completion=False
)

DbOpt = Annotated[Path, typer.Option("--db", help="Archivo SQLite del hub.")]


@app.command()
def enroll(
    central_url: Annotated[str, typer.Option(help="URL de la central (https://...).")],
    code: Annotated[str, typer.Option(prompt="Código de registro")],
    out: Annotated[Path, typer.Option(help="Dónde guardar la credencial (modo 0600).")],
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="Archivo SQLite del hub: guarda ahí la URL de la central y dónde está la "
            "credencial, para que el hub sincronice sin ALEGRA_SYNC_*.",
        ),
    ] = None,
) -> None:
    """Exchange a one-time enrollment code for this hub's device credential."""
    import httpx

    if db is not None and not db.exists():
        typer.echo(
            f"No existe el archivo del hub {db}: inicie el hub una vez (alegra hub run) o "
            "indique el archivo correcto.",
            err=True,
        )
        raise typer.Exit(2)

    response = httpx.post(
        central_url.rstrip("/") + "/api/v1/devices/enroll", json={"code": code}, timeout=30
    )
    if response.status_code != 201:
        typer.echo(f"La central rechazó el código ({response.status_code}).", err=True)
        raise typer.Exit(1)
    token = response.json()["token"]
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    if db is None:
        typer.echo(
            f"Credencial guardada en {out}; configure ALEGRA_SYNC_CENTRAL_URL={central_url} y "
            f"ALEGRA_SYNC_DEVICE_TOKEN_FILE={out} (o repita con --db <archivo del hub>)."
        )
        return
    from sync.agent import record_enrolment

    record_enrolment(db, central_url=central_url.rstrip("/"), token_file=out)
    typer.echo(
        f"Credencial guardada en {out}; el hub {db} sincronizará con {central_url} "
        "(reinicie el servicio: systemctl restart alegra-hub)."
    )


@app.command()
def run(db: DbOpt) -> None:
    """Run the agent until SIGTERM/SIGINT (settings from ALEGRA_SYNC_*)."""
    import logging
    import signal
    import threading

    from sync.agent import SyncAgent

    logging.basicConfig(level=os.environ.get("ALEGRA_LOG_LEVEL", "WARNING"))
    agent = SyncAgent.from_settings(db)
    if agent is None:
        typer.echo(
            "Falta la URL de la central o la credencial del dispositivo: registre el hub "
            "(alegra sync enroll --db …) o configure ALEGRA_SYNC_CENTRAL_URL y "
            "ALEGRA_SYNC_DEVICE_TOKEN_FILE.",
            err=True,
        )
        raise typer.Exit(2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    agent.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        agent.stop()


@app.command()
def status(
    db: DbOpt, as_json: Annotated[bool, typer.Option("--json", help="Salida JSON.")] = False
) -> None:
    """Backlog, last success and last error of the sync agent."""
    from sync.agent import status as agent_status

    report = agent_status(db)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for line in describe(report):
        typer.echo(line)


def describe(report: dict) -> list[str]:
    """Spanish lines for ``alegra hub status``."""
    if report["configured"]:
        configured = f"sí, con {report.get('central_url') or '?'}"
        if report.get("credential"):
            configured += f" (credencial: {report['credential']})"
    else:
        configured = "no (sin central o credencial: alegra sync enroll, docs/operations.md)"
    started, stopped = report.get("agent_started_at"), report.get("agent_stopped_at")
    agent = "nunca iniciado / never started"
    if started:
        agent = f"iniciado / started {started}"
        if stopped:
            agent += f", detenido / stopped {stopped}"
    return [
        f"Sincronización / sync: configurada {configured}",
        f"  agente / agent: {agent}",
        f"  pendientes de enviar / backlog: {report['backlog']}"
        f"  (más antiguo: {report['oldest_pending_at'] or '-'})",
        f"  último envío correcto / last push ok: {report['last_push_ok_at'] or '-'}",
        f"  última recepción correcta / last pull ok: {report['last_pull_ok_at'] or '-'}",
        f"  último error / last error: {report['last_error'] or '-'}"
        + (f" ({report['last_error_at']})" if report["last_error"] else ""),
        "  configuración de la sede / sede config: "
        + (
            f"de la central, revisión {revision}"
            if (revision := report.get("sede_config_revision"))
            else "TOML local (aún sin la de la central)"
        ),
    ]


if __name__ == "__main__":
    app()
