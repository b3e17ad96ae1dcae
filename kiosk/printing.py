"""Printing off the UI thread: a network printer that is offline can take seconds to fail, and
the screen must keep answering meanwhile. One worker thread, so tickets never interleave."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)


def default_to_printable(message: Any) -> Any:
    from hardware.printer import PrintableTicket

    return PrintableTicket.from_message(message)


class PrintWorker(QObject):
    """Runs ``printer.print_ticket`` on a worker thread; ``finished(token, ok, error)`` comes
    back on the Qt thread. ``error`` is the printer's Spanish message (for the hub's log)."""

    finished = Signal(object, bool, str)
    _done = Signal(object, bool, str)

    def __init__(
        self,
        printer: Any,
        *,
        to_printable: Callable[[Any], Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.printer = printer
        self._to_printable = to_printable or default_to_printable
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-printer")
        self._done.connect(self._relay, Qt.ConnectionType.QueuedConnection)

    def submit(self, message: Any, *, token: Any) -> None:
        self._pool.submit(self._run, message, token)

    def _run(self, message: Any, token: Any) -> None:
        try:
            self.printer.print_ticket(self._to_printable(message))
        except Exception as exc:  # noqa: BLE001  (any failure means "not printed")
            text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            log.warning("ticket not printed: %s", text)
            self._done.emit(token, False, text)
            return
        self._done.emit(token, True, "")

    @Slot(object, bool, str)
    def _relay(self, token: Any, ok: bool, error: str) -> None:
        self.finished.emit(token, ok, error)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def make_kiosk_printer(
    *, printer_config: Path | None = None, printer_dir: Path | None = None
) -> Any:
    """The printer from a TOML file (a ``[printer]`` table or top-level keys), or a file
    printer writing ESC/POS bytes into ``printer_dir`` (default ``var/tickets``)."""
    from pydantic import ValidationError

    from hardware.printer import PrinterConfig, PrinterKind, make_printer

    if printer_config is not None:
        try:
            data = tomllib.loads(Path(printer_config).read_text("utf-8"))
        except OSError as exc:
            raise ValueError(f"{printer_config}: no se puede leer ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{printer_config}: TOML inválido ({exc})") from None
        try:
            config = PrinterConfig.model_validate(data.get("printer", data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            raise ValueError(
                f"{Path(printer_config).name}: {where + ': ' if where else ''}{message}"
            ) from None
    else:
        config = PrinterConfig(kind=PrinterKind.FILE, file_dir=printer_dir or Path("var/tickets"))
    return make_printer(config)
