"""``alegra display``: the waiting-room TV. Heavy imports live inside the command (cold start)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

app = typer.Typer(add_completion=False, help="Pantalla de turnos de la sala de espera.")


@app.command()
def run(
    hub: str = typer.Option(..., help="HOST[:PUERTO] del broker MQTT del hub"),
    sede: str = typer.Option(..., help="identificador de la sede"),
    device_id: str = typer.Option("display-1", help="identificador de esta pantalla"),
    speech_dir: Path | None = typer.Option(
        None, help="escribir cada anuncio como WAV en este directorio (sin parlantes)"
    ),
    speech_cache: Path = typer.Option(Path("var/speech-cache"), help="caché de audio"),
    voice: str = typer.Option("roa/es-419", help="voz de espeak-ng"),
    no_speech: bool = typer.Option(False, "--no-speech", help="no anunciar por voz ni timbre"),
    lang: str = typer.Option("es-PE", help="idioma de los textos (catálogo i18n)"),
    lang_file: Path | None = typer.Option(None, help="catálogo JSON adicional de textos"),
    windowed: bool = typer.Option(
        False, "--windowed", help="ventana en lugar de pantalla completa"
    ),
) -> None:
    """Show the sede's calls, announce them, and reconnect by itself."""
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
        tr = Translator.load(lang, packages=("display",), lang_file=lang_file)
    except CatalogError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    qt_app = ensure_app()

    from display.app import connect_display
    from display.style import stylesheet
    from display.viewmodel import DisplayViewModel
    from display.views import DisplayWindow

    qt_app.setStyleSheet(stylesheet())
    announcer = None
    if not no_speech:
        from hardware.speech import SpeechConfig, SpeechOutputKind, make_announcer

        config = SpeechConfig(
            voice=voice,
            cache_dir=speech_cache,
            output=SpeechOutputKind.FILE if speech_dir else SpeechOutputKind.PLAYER,
            file_dir=speech_dir or Path("var/announcements"),
        )
        announcer = make_announcer(config)
    client = HubClient(host=host, port=port, sede=sede, role="display", device_id=device_id)
    model = DisplayViewModel(tr=tr)
    window = DisplayWindow(model)
    wired = connect_display(client, model, announcer)
    model.start()
    client.start()
    if windowed:
        window.resize(1280, 720)
        window.show()
    else:
        window.showFullScreen()
    # Ctrl+C / SIGTERM (the demo stops its apps this way): quit the loop, say "offline"
    signal.signal(signal.SIGINT, lambda *_: qt_app.quit())
    signal.signal(signal.SIGTERM, lambda *_: qt_app.quit())
    wake = QTimer()
    wake.timeout.connect(lambda: None)  # let Python see signals while Qt's loop runs
    wake.start(250)
    code = qt_app.exec()
    wired.stop()
    sys.exit(code)
