"""Ticket printer adapter: one small Protocol (``TicketPrinter``), the ticket layout rendered
with python-escpos, and the printers a sede uses (network TCP 9100, USB, serial) plus a file
printer and an in-memory one for the demo and tests.

python-escpos is imported lazily (inside functions): the kiosk must start in under 2 s.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import tempfile
import textwrap
import threading
import unicodedata
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from contracts.messages import IssuedTicket, PreferenceCategory, PrintJob, TicketView
from contracts.waits import WAIT_TEXTS, format_wait

if TYPE_CHECKING:
    from escpos.escpos import Escpos

log = logging.getLogger(__name__)

LIMA = ZoneInfo("America/Lima")

# Real-time status (DLE EOT n) replies, Epson ESC/POS: bit 3 of n=1 is "offline"; n=2 tells why
# (bit 2 cover open, bit 5 paper end stop, bit 6 error); n=4 bits 5-6 mean "paper roll end".
_STATUS_PRINTER = b"\x10\x04\x01"
_STATUS_OFFLINE_CAUSE = b"\x10\x04\x02"
_STATUS_PAPER = b"\x10\x04\x04"
_OFFLINE_BIT = 0x08
_COVER_OPEN_BIT = 0x04
_PAPER_END_BITS = 0x60
_PAPER_NEAR_END_BITS = 0x0C


# --------------------------------------------------------------------------- errors


class PrinterErrorKind(StrEnum):
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"
    ERROR = "error"


class PrinterError(Exception):
    """A ticket could not be printed. ``kind`` is for machines, ``message`` (Spanish) for people.

    The ticket stays valid at the hub: the kiosk reports it with ``report_print`` (ok=false) so
    it is flagged for reprint, and tells the person what to do.
    """

    def __init__(self, kind: PrinterErrorKind | str, message: str) -> None:
        super().__init__(message)
        self.kind = PrinterErrorKind(kind)
        self.message = message

    def __repr__(self) -> str:
        return f"PrinterError(kind={self.kind.value!r}, message={self.message!r})"


# --------------------------------------------------------------------------- configuration


# Code pages (python-escpos names) that hold every Spanish letter and sign: checked here
# without loading python-escpos's capability database, which costs ~0.25 s at start-up.
SPANISH_CODEPAGES = ("CP858", "CP850", "CP1252", "ISO_8859-15")  # not CP437: no Á É Í Ó Ú


class PrinterKind(StrEnum):
    NETWORK = "network"
    USB = "usb"
    SERIAL = "serial"
    FILE = "file"
    DUMMY = "dummy"


def _usb_id(value: Any) -> Any:
    """USB ids are usually written in hex ("0x04b8", "04b8"); accept those and plain ints."""
    if isinstance(value, str):
        text = value.strip().lower()
        return int(text, 16) if text else None
    return value


UsbId = Annotated[int | None, BeforeValidator(_usb_id), Field(ge=0, le=0xFFFF)]


class TicketTexts(BaseModel):
    """Every word printed on a ticket (es-PE). Overridable from config, so another language
    or an institution's new name needs no code change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    turn: str = "SU TURNO"
    reprint: str = "REIMPRESIÓN"
    preferential: str = "ATENCIÓN PREFERENCIAL"
    preferential_law: str = "Ley 28683"
    people_ahead: str = "Personas antes que usted: {count}"
    estimated_wait: str = "Espera estimada: {wait}"
    # the words of a wait (contracts.waits: the same rule and texts as the kiosk's screen)
    waits: dict[str, str] = Field(default_factory=lambda: dict(WAIT_TEXTS))
    date_time: str = "Fecha: {date}  Hora: {time}"
    instructions: str = "Espere a ser llamado por su número en la pantalla."
    privacy: str = (
        "Sus datos personales se tratan conforme a la Ley 29733. "
        "Servicio gratuito del Ministerio de Justicia y Derechos Humanos."
    )
    categories: dict[str, str] = Field(
        default_factory=lambda: {
            PreferenceCategory.GESTANTE.value: "Mujer gestante",
            PreferenceCategory.ADULTO_MAYOR.value: "Adulto mayor",
            PreferenceCategory.DISCAPACIDAD.value: "Persona con discapacidad",
            PreferenceCategory.NINO_ACOMPANANTE.value: "Con niño o niña en brazos",
        }
    )

    def wait_text(self, key: str, /, **params: int) -> str:
        """One ``wait.*`` text of ``waits`` (es-PE where a configured set lacks the key)."""
        return self.waits.get(key, WAIT_TEXTS[key]).format(**params)


class PrinterConfig(BaseModel):
    """Which printer a kiosk (or counter, for reprints) uses. ``kind`` picks the transport."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: PrinterKind = PrinterKind.FILE
    # network (TCP, raw port 9100)
    host: str | None = None
    port: int = Field(default=9100, ge=1, le=65535)
    # USB
    usb_vendor_id: UsbId = None
    usb_product_id: UsbId = None
    usb_in_ep: int = Field(default=0x82, ge=0, le=0xFF)
    usb_out_ep: int = Field(default=0x01, ge=0, le=0xFF)
    # serial
    serial_device: str | None = None
    serial_baudrate: int = Field(default=9600, ge=1200, le=921600)
    # file printer: one .bin per ticket in file_dir, optionally appended to spool_file as well
    file_dir: Path = Path("var/tickets")
    spool_file: Path | None = None
    # common
    timeout_s: float = Field(default=5.0, gt=0, le=120)
    paper_width_chars: int = Field(default=42, ge=24, le=64)  # font A: 58 mm ~32, 80 mm 42-48
    codepage: str = "CP858"  # ESC t 19 on Epson; CP850 (ESC t 2) on printers without CP858
    # (any of SPANISH_CODEPAGES; the printer profile must know it)
    profile: str | None = None  # python-escpos printer profile, e.g. "TM-T20II"
    check_status: bool = True  # ask DLE EOT before printing (network, USB, serial)
    native_qr: bool = True  # GS ( k (printer draws the QR); False sends a raster image
    texts: TicketTexts = TicketTexts()

    @model_validator(mode="after")
    def _needs(self) -> PrinterConfig:
        if self.kind is PrinterKind.NETWORK and not self.host:
            raise ValueError("host: la impresora de red necesita una dirección")
        if self.kind is PrinterKind.USB and not (self.usb_vendor_id and self.usb_product_id):
            raise ValueError("usb_vendor_id/usb_product_id: la impresora USB necesita sus ids")
        if self.kind is PrinterKind.SERIAL and not self.serial_device:
            raise ValueError("serial_device: la impresora serial necesita un dispositivo")
        if self.codepage.upper() not in SPANISH_CODEPAGES:
            raise ValueError(
                f"codepage: página de códigos desconocida ({self.codepage}); "
                f"use una de {', '.join(SPANISH_CODEPAGES)}"
            )
        return self


# --------------------------------------------------------------------------- the ticket


class PrintableTicket(BaseModel):
    """Everything printed on one ticket. No names, no DNI."""

    model_config = ConfigDict(frozen=True)

    sede_name: str
    service_name: str
    ticket: TicketView
    people_ahead: int | None = Field(default=None, ge=0)
    estimated_wait_s: int | None = Field(default=None, ge=0)
    reprint: bool = False

    @classmethod
    def from_message(
        cls, message: PrintJob | IssuedTicket, *, reprint: bool | None = None
    ) -> PrintableTicket:
        """Build from the hub's ``issue_ticket`` result or a ``PrintJob`` (reprints)."""
        is_reprint = message.reprint if isinstance(message, PrintJob) else False
        return cls(
            sede_name=message.sede_name,
            service_name=message.service_name,
            ticket=message.ticket,
            people_ahead=message.ticket.people_ahead,
            estimated_wait_s=message.ticket.estimated_wait_s,
            reprint=is_reprint if reprint is None else reprint,
        )


@runtime_checkable
class TicketPrinter(Protocol):
    def print_ticket(self, ticket: PrintableTicket) -> None:
        """Print one ticket or raise PrinterError (kind paper_out, offline or error)."""
        ...


_TYPOGRAPHY = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "‐": "-",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "…": "...",
        "\u00a0": " ",
    }
)


def _clean(text: str) -> str:
    """NFC (so "á" is one code point the code page has) and plain punctuation for thermal
    printers, whose code pages have no dashes or curly quotes."""
    return unicodedata.normalize("NFC", text).translate(_TYPOGRAPHY)


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(_clean(text), width=width) or [""]


def render_ticket(printer: Escpos, ticket: PrintableTicket, config: PrinterConfig) -> None:
    """Draw ``ticket`` on any python-escpos printer object (Dummy, Network, Usb, Serial...)."""
    texts = config.texts
    width = config.paper_width_chars
    issued_local = ticket.ticket.issued_at.astimezone(LIMA)

    printer.hw("INIT")
    printer.charcode(config.codepage)  # forced: the ESC t is sent once, every char encoded in it
    printer.set(align="center")

    if ticket.reprint:
        printer.set(bold=True, invert=True, double_width=True, double_height=True)
        printer.textln(f" {_clean(texts.reprint)} ")
        printer.set(bold=False, invert=False, normal_textsize=True)
        printer.ln()

    printer.set(bold=True)
    for line in _wrap(ticket.sede_name, width):
        printer.textln(line)
    printer.set(bold=False)
    printer.set(double_height=True)
    for line in _wrap(ticket.service_name, width):
        printer.textln(line)
    printer.set(normal_textsize=True)
    printer.ln()

    printer.textln(_clean(texts.turn))
    number_scale = 4 if width >= 32 else 3
    printer.set(custom_size=True, width=number_scale, height=number_scale, bold=True)
    printer.textln(_clean(ticket.ticket.number))
    printer.set(normal_textsize=True, bold=False)
    printer.ln()

    category = ticket.ticket.preference_category
    if category is not PreferenceCategory.NONE:
        printer.set(bold=True, invert=True)
        printer.textln(f" {_clean(texts.preferential)} - {_clean(texts.preferential_law)} ")
        printer.set(invert=False)
        label = texts.categories.get(category.value, category.value.replace("_", " "))
        printer.textln(_clean(label))
        printer.set(bold=False)
        printer.ln()

    printer.set(align="left")
    if ticket.people_ahead is not None:
        printer.textln(_clean(texts.people_ahead.format(count=ticket.people_ahead)))
    if ticket.estimated_wait_s is not None:
        printer.textln(
            _clean(
                texts.estimated_wait.format(
                    wait=format_wait(ticket.estimated_wait_s, texts.wait_text)
                )
            )
        )
    printer.textln(
        _clean(
            texts.date_time.format(
                date=issued_local.strftime("%d/%m/%Y"), time=issued_local.strftime("%H:%M")
            )
        )
    )
    if ticket.reprint:
        reprinted = datetime.now(LIMA)
        printer.textln(_clean(f"{texts.reprint.capitalize()}: {reprinted:%d/%m/%Y %H:%M}"))
    printer.ln()

    printer.set(align="center")
    if config.native_qr:
        printer.qr(ticket.ticket.ticket_id, native=True, size=6)
        printer.ln()
    else:
        printer.qr(ticket.ticket.ticket_id, native=False, size=6, center=True)

    printer.set(align="left")
    for line in _wrap(texts.instructions, width):
        printer.textln(line)
    printer.set(font="b")
    for line in _wrap(texts.privacy, width * 4 // 3):  # font B is 9 dots wide, font A 12
        printer.textln(line)
    printer.set(font="a")
    printer.cut()


def ticket_bytes(ticket: PrintableTicket, config: PrinterConfig | None = None) -> bytes:
    """The exact ESC/POS bytes of ``ticket`` (what every printer here sends)."""
    _prepare_escpos()
    from escpos.printer import Dummy

    config = config or PrinterConfig(kind=PrinterKind.DUMMY)
    dummy = Dummy(profile=config.profile)
    render_ticket(dummy, ticket, config)
    return dummy.output


def _prepare_escpos() -> None:
    """python-escpos parses its printer database (~0.5 s) and pickles it into a fresh temporary
    directory in every process unless told where to keep it: keep it in the user's cache, so
    the first ticket after a start is fast and no temporary directory is left behind."""
    if "ESCPOS_CAPABILITIES_PICKLE_DIR" in os.environ:
        return
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    directory = base / "alegra" / "escpos"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return  # read-only home: python-escpos falls back to a temporary directory
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(directory)


def _render(ticket: PrintableTicket, config: PrinterConfig) -> bytes:
    """ticket_bytes, with a layout failure (e.g. a printer profile without the configured code
    page) reported as a PrinterError like any other printing failure."""
    try:
        return ticket_bytes(ticket, config)
    except Exception as exc:
        log.exception("ticket %s could not be laid out", ticket.ticket.number)
        raise PrinterError(
            PrinterErrorKind.ERROR,
            "No se pudo preparar el ticket (revise el perfil y la página de códigos de la "
            "impresora). Avise al personal.",
        ) from exc


def warm_up() -> None:
    """Import python-escpos ahead of the first ticket (call it off the UI thread after start)."""
    _prepare_escpos()
    import escpos.printer  # noqa: F401


# --------------------------------------------------------------------------- printers


class DummyPrinter:
    """Keeps each ticket's bytes in memory (``jobs``): for tests and screens without paper."""

    def __init__(self, config: PrinterConfig) -> None:
        self.config = config
        self.jobs: list[bytes] = []
        self._lock = threading.Lock()

    def check_ready(self) -> None:
        """Always ready: there is no paper to run out of."""

    def print_ticket(self, ticket: PrintableTicket) -> None:
        data = _render(ticket, self.config)
        with self._lock:
            self.jobs.append(data)


class FilePrinter:
    """Writes each ticket's exact ESC/POS bytes to ``file_dir/<number>-<ticket id>.bin``
    (``-r1``, ``-r2``... for reprints), and appends them to ``spool_file`` when set (a file a
    real printer device or ``cat > /dev/usb/lp0`` can consume)."""

    def __init__(self, config: PrinterConfig) -> None:
        self.config = config
        self.directory = Path(config.file_dir)
        self.spool_file = Path(config.spool_file) if config.spool_file else None
        self.last_path: Path | None = None
        self._lock = threading.Lock()

    def _target(self, ticket: PrintableTicket) -> Path:
        # ids come over the network: never let one name a path outside the directory
        stem = re.sub(r"[^A-Za-z0-9_-]", "_", f"{ticket.ticket.number}-{ticket.ticket.ticket_id}")
        path = self.directory / f"{stem}.bin"
        attempt = 1
        while path.exists():
            path = self.directory / f"{stem}-r{attempt}.bin"
            attempt += 1
        return path

    def check_ready(self) -> None:
        """The directory exists (or can be made) and takes a file."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.directory):
                pass
        except OSError as exc:
            raise PrinterError(
                PrinterErrorKind.ERROR, f"No se puede escribir tickets ({exc.strerror or exc})."
            ) from exc

    def print_ticket(self, ticket: PrintableTicket) -> None:
        data = _render(ticket, self.config)
        with self._lock:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                path = self._target(ticket)
                descriptor, temporary = tempfile.mkstemp(dir=self.directory, suffix=".part")
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(data)
                os.replace(temporary, path)
                if self.spool_file is not None:
                    self.spool_file.parent.mkdir(parents=True, exist_ok=True)
                    with self.spool_file.open("ab") as spool:
                        spool.write(data)
            except OSError as exc:
                raise PrinterError(
                    PrinterErrorKind.ERROR,
                    f"No se pudo guardar el ticket ({exc.strerror or exc}).",
                ) from exc
            self.last_path = path


class EscposDevicePrinter:
    """A real printer behind python-escpos (network, USB or serial). Each ticket: open the
    connection, ask the real-time status (paper, online), send the bytes in one write, close."""

    def __init__(self, config: PrinterConfig) -> None:
        self.config = config
        self._lock = threading.Lock()

    def device(self) -> Escpos:
        """A fresh, unopened python-escpos printer object for this config."""
        _prepare_escpos()
        config = self.config
        if config.kind is PrinterKind.NETWORK:
            from escpos.printer import Network

            return Network(
                host=config.host, port=config.port, timeout=config.timeout_s, profile=config.profile
            )
        if config.kind is PrinterKind.USB:
            from escpos.printer import Usb

            return Usb(
                idVendor=config.usb_vendor_id,
                idProduct=config.usb_product_id,
                timeout=int(config.timeout_s * 1000),  # pyusb counts milliseconds
                in_ep=config.usb_in_ep,
                out_ep=config.usb_out_ep,
                profile=config.profile,
            )
        if config.kind is PrinterKind.SERIAL:
            from escpos.printer import Serial

            return Serial(
                devfile=config.serial_device,
                baudrate=config.serial_baudrate,
                timeout=config.timeout_s,
                dsrdtr=False,
                profile=config.profile,
            )
        raise ValueError(f"{config.kind} is not a device printer")

    def _where(self) -> str:
        config = self.config
        if config.kind is PrinterKind.NETWORK:
            return f"{config.host}:{config.port}"
        if config.kind is PrinterKind.USB:
            return f"USB {config.usb_vendor_id:04x}:{config.usb_product_id:04x}"
        return str(config.serial_device)

    def print_ticket(self, ticket: PrintableTicket) -> None:
        self._session(_render(ticket, self.config))

    def check_ready(self) -> None:
        """Connect and ask the status without printing; raises PrinterError like print_ticket.
        (A kiosk may call it before asking the hub for a ticket; ``alegra hardware status``.)"""
        self._session(None)

    def _session(self, data: bytes | None) -> None:
        with self._lock:
            printer = self.device()
            try:
                self._open(printer)
                if self.config.check_status:
                    self._check_status(printer)
                if data is not None:
                    printer._raw(data)
            except PrinterError:
                raise
            except Exception as exc:
                raise self._translate(exc) from exc
            finally:
                try:
                    printer.close()
                except Exception:  # noqa: BLE001 - closing a broken link must not mask the cause
                    log.debug("closing printer %s failed", self._where(), exc_info=True)

    def _open(self, printer: Escpos) -> None:
        from escpos.exceptions import DeviceNotFoundError

        try:
            printer.open()
        except DeviceNotFoundError as exc:
            raise PrinterError(
                PrinterErrorKind.OFFLINE,
                "La impresora no está conectada o no responde. Avise al personal.",
            ) from exc

    def _query(self, printer: Escpos, request: bytes) -> int:
        printer._raw(request)
        if self.config.kind is PrinterKind.SERIAL:
            # the reply is one byte; python-escpos reads 16 and so always waits the full timeout
            reply = printer.device.read(1)
        else:
            reply = printer._read()
        if not reply:
            raise PrinterError(
                PrinterErrorKind.OFFLINE,
                "La impresora no responde. Avise al personal.",
            )
        return reply[-1]

    def _check_status(self, printer: Escpos) -> None:
        paper = self._query(printer, _STATUS_PAPER)
        if paper & _PAPER_END_BITS:
            raise PrinterError(
                PrinterErrorKind.PAPER_OUT,
                "La impresora no tiene papel. Avise al personal para reimprimir su ticket.",
            )
        if paper & _PAPER_NEAR_END_BITS:
            log.warning("printer %s: paper near end", self._where())
        status = self._query(printer, _STATUS_PRINTER)
        if status & _OFFLINE_BIT:
            cause = self._query(printer, _STATUS_OFFLINE_CAUSE)
            if cause & _COVER_OPEN_BIT:
                message = "La tapa de la impresora está abierta. Avise al personal."
            else:
                message = "La impresora está fuera de línea. Avise al personal."
            raise PrinterError(PrinterErrorKind.OFFLINE, message)

    def _translate(self, exc: Exception) -> PrinterError:
        if isinstance(exc, TimeoutError | socket.timeout):
            return PrinterError(
                PrinterErrorKind.OFFLINE, "La impresora no responde. Avise al personal."
            )
        if isinstance(exc, ConnectionError | BrokenPipeError):
            return PrinterError(
                PrinterErrorKind.OFFLINE,
                "Se perdió la conexión con la impresora. Avise al personal.",
            )
        name = type(exc).__name__
        if name in {"USBTimeoutError", "SerialTimeoutException"} or "timeout" in str(exc).lower():
            return PrinterError(
                PrinterErrorKind.OFFLINE, "La impresora no responde. Avise al personal."
            )
        if name == "NoBackendError":
            return PrinterError(
                PrinterErrorKind.ERROR,
                "Falta el controlador USB (libusb) en este equipo. Avise al personal.",
            )
        log.exception("printer %s failed", self._where())
        return PrinterError(
            PrinterErrorKind.ERROR, "La impresora tuvo un error. Avise al personal."
        )


def make_printer(config: PrinterConfig) -> TicketPrinter:
    """The printer ``config`` describes (nothing is opened until the first ticket)."""
    if config.kind is PrinterKind.FILE:
        return FilePrinter(config)
    if config.kind is PrinterKind.DUMMY:
        return DummyPrinter(config)
    return EscposDevicePrinter(config)


__all__ = [
    "DummyPrinter",
    "EscposDevicePrinter",
    "FilePrinter",
    "PrintableTicket",
    "PrinterConfig",
    "PrinterError",
    "PrinterErrorKind",
    "PrinterKind",
    "SPANISH_CODEPAGES",
    "TicketPrinter",
    "TicketTexts",
    "make_printer",
    "render_ticket",
    "ticket_bytes",
    "warm_up",
]
