"""``alegra audit``: verify the hash chain of the audit log, export it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Registro de auditoría de ALEGRA central.", no_args_is_help=True, add_completion=False
)


DatabaseOption = Annotated[
    str | None, typer.Option(help="Base de datos (por defecto ALEGRA_DATABASE_URL)")
]
KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        help="Archivo de la clave HMAC (por defecto ALEGRA_AUDIT_KEY o <datos>/audit-hmac.key)"
    ),
]
CheckpointOption = Annotated[
    Path | None,
    typer.Option(help="Archivo de puntos de control (por defecto <datos>/audit-checkpoints.jsonl)"),
]


def _context(database_url: str | None, key_file: Path | None, checkpoints: Path | None):  # noqa: ANN202
    from central.settings import CentralSettings

    settings = CentralSettings()
    key = key_file.read_text().strip() if key_file else settings.resolved_audit_key()
    return (
        database_url or settings.resolved_database_url(),
        key.encode(),
        checkpoints or settings.resolved_audit_checkpoint_file(),
    )


@app.command()
def verify(
    database_url: DatabaseOption = None,
    key_file: KeyFileOption = None,
    checkpoint_file: CheckpointOption = None,
) -> None:
    """Check every row of the chain (HMAC with the key outside the database) and the
    checkpoints; exit 1 naming the first altered, removed or moved row."""
    from central.audit.service import verify_chain
    from central.core.db import make_engine, new_session

    url, key, checkpoints = _context(database_url, key_file, checkpoint_file)
    engine = make_engine(url)
    try:
        with new_session(engine) as session:
            result = verify_chain(session=session, key=key, checkpoint_file=checkpoints)
    finally:
        engine.dispose()
    if result.ok:
        typer.echo(f"Cadena de auditoría íntegra: {result.checked} registros verificados.")
        return
    typer.echo(
        f"Cadena de auditoría ALTERADA: primer registro inválido #{result.first_bad_seq} ({result.reason}); "
        f"{result.checked} registros válidos antes de él.",
        err=True,
    )
    raise typer.Exit(1)


@app.command()
def checkpoint(
    database_url: DatabaseOption = None,
    key_file: KeyFileOption = None,
    checkpoint_file: CheckpointOption = None,
) -> None:
    """Append the chain head to the checkpoint file outside the database (run it from a timer,
    e.g. every 10 minutes; ``verify`` then detects a chain rewritten as a whole)."""
    from central.audit.service import write_checkpoint
    from central.core.db import make_engine, new_session

    url, key, checkpoints = _context(database_url, key_file, checkpoint_file)
    engine = make_engine(url)
    try:
        with new_session(engine) as session:
            seq = write_checkpoint(session=session, path=checkpoints, key=key)
    finally:
        engine.dispose()
    typer.echo(f"Punto de control del registro #{seq} anotado en {checkpoints}.")


@app.command()
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="Archivo de salida")],
    fmt: Annotated[str, typer.Option("--format", help="csv o json")] = "csv",
    database_url: Annotated[str | None, typer.Option(help="Base de datos")] = None,
) -> None:
    """Export the whole log (for an offline copy)."""
    from central.audit import exports
    from central.audit.service import AuditFilter, iter_events
    from central.core.db import make_engine, new_session
    from central.settings import CentralSettings

    if fmt not in {"csv", "json"}:
        typer.echo("Formato no válido: use csv o json.", err=True)
        raise typer.Exit(2)
    engine = make_engine(database_url or CentralSettings().resolved_database_url())
    count = 0
    try:
        with (
            new_session(engine) as session,
            output.open("w", encoding="utf-8", newline="") as handle,
        ):
            count = exports.write(handle, iter_events(session=session, flt=AuditFilter()), fmt)
    finally:
        engine.dispose()
    typer.echo(f"{count} registros exportados a {output}.")
