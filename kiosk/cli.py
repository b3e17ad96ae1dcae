"""``alegra kiosk``: the ticket kiosk of one sede (full screen unless ``--windowed``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, help="Kiosco de tickets (PySide6).")


@app.command()
def run(
    sede: Annotated[str, typer.Option(help="Identificador de la sede, p. ej. lima-cercado.")],
    hub: Annotated[
        str | None,
        typer.Option(help="Broker del hub, HOST[:PUERTO] (ALEGRA_MQTT_HOST / _PORT)."),
    ] = None,
    device_id: Annotated[str, typer.Option(help="Identificador de este kiosco.")] = "kiosk-1",
    printer_config: Annotated[
        Path | None, typer.Option(help="TOML de la impresora (tabla «printer»).")
    ] = None,
    printer_dir: Annotated[
        Path | None,
        typer.Option(help="Sin impresora: escribir los bytes ESC/POS en esta carpeta."),
    ] = None,
    windowed: Annotated[bool, typer.Option(help="En ventana (desarrollo).")] = False,
    lang: Annotated[str, typer.Option(help="Idioma de los textos (es-PE, qu).")] = "es-PE",
    lang_file: Annotated[
        Path | None, typer.Option(help="Catálogo JSON de textos (otro idioma).")
    ] = None,
    username: Annotated[
        str | None, typer.Option(help="Usuario MQTT (ALEGRA_MQTT_USERNAME).")
    ] = None,
    inactivity_s: Annotated[float, typer.Option(help="Volver al inicio tras N s.")] = 45.0,
    ticket_s: Annotated[float, typer.Option(help="Segundos que se muestra el ticket.")] = 20.0,
    quit_after_s: Annotated[
        float | None, typer.Option(hidden=True, help="Salir tras N s (pruebas, benchmark).")
    ] = None,
) -> None:
    """Start the kiosk: connect to the hub, show the services, issue and print tickets."""
    import logging
    import signal
    import threading

    from PySide6.QtCore import Qt, QTimer

    from contracts.mqtt import device_availability
    from kiosk.printing import make_kiosk_printer
    from kiosk.screens import STYLES_DIR
    from kiosk.viewmodel import KioskViewModel, Timeouts
    from kiosk.views import KioskWindow, TouchWatcher
    from qtcommon.hub_client import HubClient, parse_hub_address
    from qtcommon.i18n import CatalogError, Translator
    from qtcommon.screenshot import ensure_app
    from qtcommon.settings import DeviceSettings
    from qtcommon.theme import LIGHT, apply_theme, screen_dpi

    settings = DeviceSettings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        host, port = parse_hub_address(hub) if hub else (settings.mqtt_host, settings.mqtt_port)
        tr = Translator.load(lang, packages=("kiosk",), lang_file=lang_file)
        printer = make_kiosk_printer(printer_config=printer_config, printer_dir=printer_dir)
        client_args = dict(
            host=host,
            port=port,
            sede=sede,
            role="kiosk",
            device_id=device_id,
            username=username or settings.mqtt_username,
            password=settings.mqtt_password,
            tls=settings.mqtt_tls,
            ca_file=settings.mqtt_ca_file,
        )
        device_availability(sede, device_id)  # a bad sede or id fails here, clearly
    except (ValueError, CatalogError) as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from exc

    qt_app = ensure_app()  # offscreen when the machine has no display (demo on a server)
    theme = LIGHT.for_dpi(screen_dpi())
    apply_theme(qt_app, theme, STYLES_DIR)
    client = HubClient(**client_args)
    vm = KioskViewModel(
        client, printer, tr, timeouts=Timeouts(inactivity_s=inactivity_s, ticket_s=ticket_s)
    )
    window = KioskWindow(vm, tr, theme=theme)
    watcher = TouchWatcher(vm)
    qt_app.installEventFilter(watcher)
    if windowed:
        window.resize(720, 1280)
        window.show()
    else:
        window.showFullScreen()
        qt_app.setOverrideCursor(Qt.CursorShape.BlankCursor)  # a touch screen: no arrow
    client.start()
    # python-escpos costs ~0.3-0.8 s to import: pay it now, off the UI thread, not on the
    # first person's ticket.
    from hardware.printer import warm_up

    threading.Thread(target=warm_up, name="printer-warm-up", daemon=True).start()

    # Ctrl+C / SIGTERM: leave cleanly (retained "offline" for this kiosk)
    signal.signal(signal.SIGINT, lambda *_: qt_app.quit())
    signal.signal(signal.SIGTERM, lambda *_: qt_app.quit())
    wake = QTimer()
    wake.timeout.connect(lambda: None)  # let Python see signals while Qt's loop runs
    wake.start(250)
    if quit_after_s is not None:
        QTimer.singleShot(int(quit_after_s * 1000), qt_app.quit)
    try:
        qt_app.exec()
    finally:
        client.stop()
