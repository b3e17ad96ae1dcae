"""``alegra screens``: render every screen of every Qt app to PNG from sample state (no hub).

Each app exposes ``<app>.screens.render_all(out_dir) -> list[Path]``; apps whose module is not
there yet are skipped with a note, so the command works while apps are being written.
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated

import typer

APPS = ("kiosk", "display", "counter")

app = typer.Typer(add_completion=False, help="Renderiza todas las pantallas Qt a PNG.")


@app.command()
def render(
    out: Annotated[Path, typer.Option(help="Carpeta de salida.")] = Path("screens/out"),
    only: Annotated[
        list[str] | None, typer.Option(help="Solo estas apps (kiosk, display, counter).")
    ] = None,
) -> None:
    """Render the screens of each app to OUT/<app>-*.png (offscreen when there is no display)."""
    from qtcommon.screenshot import ensure_app

    chosen = list(only or APPS)
    unknown = sorted(set(chosen) - set(APPS))
    if unknown:
        typer.echo(f"Error: app desconocida: {', '.join(unknown)}", err=True)
        raise typer.Exit(2)
    ensure_app()
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for name in chosen:
        module_name = f"{name}.screens"
        if find_spec(name) is None or find_spec(module_name) is None:
            typer.echo(f"{name}: sin pantallas todavía ({module_name} no existe)")
            continue
        paths = import_module(module_name).render_all(out)
        total += len(paths)
        for path in paths:
            typer.echo(f"{name}: {path}")
    typer.echo(f"{total} pantallas en {out}")
