"""``alegra audit``: verify the hash chain of the audit log, export it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Registro de auditoría de ALEGRA central.", no_args_is_help=True, add_completion=False
)


@app.command()
def verify(
    database_url: Annotated[
        str | None, typer.Option(help="Base de datos (por defecto ALEGRA_DATABASE_URL)")
    ] = None,
) -> None:
    """Check every row of the chain; exit 1 naming the first altered, removed or moved row."""
    from central.audit.service import verify_chain
    from central.core.db import make_engine, new_session
    from central.settings import CentralSettings

    url = database_url or CentralSettings().resolved_database_url()
    engine = make_engine(url)
    try:
        with new_session(engine) as session:
            result = verify_chain(session=session)
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
