"""``alegra counter``: the staff counter client. Heavy imports live inside the command."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

app = typer.Typer(add_completion=False, help="Cliente de ventanilla para el personal.")


@app.command()
def run(
    hub: str = typer.Option(..., help="HOST[:PUERTO] del broker MQTT del hub"),
    sede: str = typer.Option(..., help="identificador de la sede"),
    counter: str = typer.Option(..., help="identificador de la ventanilla, p. ej. v1"),
    lang: str = typer.Option("es-PE", help="idioma de los textos (catálogo i18n)"),
    lang_file: Path | None = typer.Option(None, help="catálogo JSON adicional de textos"),
    windowed: bool = typer.Option(False, "--windowed", help="ventana en lugar de maximizada"),
) -> None:
    """Sign in, open the counter and serve the queue."""
    import signal

    from PySide6.QtCore import QTimer

    from qtcommon.hub_client import HubClient, parse_hub_address
    from qtcommon.i18n import CatalogError, Translator
    from qtcommon.screenshot import ensure_app

    try:
        host, port = parse_hub_address(hub)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    try:
        tr = Translator.load(lang, packages=("counter",), lang_file=lang_file)
    except CatalogError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    qt_app = ensure_app()

    from counter.hub_link import HubSender, connect_counter
    from counter.style import apply
    from counter.viewmodel import CounterViewModel
    from counter.views import CounterWindow

    apply(qt_app)
    client = HubClient(host=host, port=port, sede=sede, role="counter", device_id=counter)
    model = CounterViewModel(counter, HubSender(client), tr=tr)
    window = CounterWindow(model)
    connect_counter(client, model)
    model.start_clock()
    client.start()
    if windowed:
        window.resize(1366, 768)
        window.show()
    else:
        window.showMaximized()
    # Ctrl+C / SIGTERM (the demo stops its apps this way): quit the loop, say "offline"
    signal.signal(signal.SIGINT, lambda *_: qt_app.quit())
    signal.signal(signal.SIGTERM, lambda *_: qt_app.quit())
    wake = QTimer()
    wake.timeout.connect(lambda: None)  # let Python see signals while Qt's loop runs
    wake.start(250)
    code = qt_app.exec()
    client.stop()
    sys.exit(code)
