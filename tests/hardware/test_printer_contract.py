"""One contract suite for every ticket printer that can run here: file, in-memory (Dummy),
network against a TCP printer emulator on 127.0.0.1 and serial on a pseudo-terminal. The
bytes that reached each device are read back with hardware.escpos_bytes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.messages import IssuedTicket, PreferenceCategory, PrintJob
from contracts.waits import format_wait
from hardware.escpos_bytes import parse
from hardware.printer import (
    SPANISH_CODEPAGES,
    DummyPrinter,
    EscposDevicePrinter,
    FilePrinter,
    PrintableTicket,
    PrinterConfig,
    PrinterError,
    PrinterErrorKind,
    PrinterKind,
    TicketPrinter,
    make_printer,
    ticket_bytes,
)
from qtcommon.i18n import Translator

from .conftest import SerialPrinterEmulator, TcpPrinterEmulator, make_ticket

QR_STORE_PREFIX = b"\x1d(k"
CUT = b"\x1dV"


@dataclass
class Rig:
    """A printer implementation plus a way to see what its device received."""

    name: str
    config: PrinterConfig
    printer: TicketPrinter
    # runs a job (True when a ticket was sent) and returns what the device received meanwhile
    capture: Callable[[Callable[[], bool]], bytes]
    set_condition: Callable[[str], None] | None = None
    last_bytes: bytes = field(default=b"")

    def print(self, ticket: PrintableTicket) -> bytes:
        """Print and return the bytes the device got for this ticket (kept on failure too)."""
        error: PrinterError | None = None

        def job() -> bool:
            nonlocal error
            try:
                self.printer.print_ticket(ticket)
            except PrinterError as exc:
                error = exc
                return False
            return True

        self.last_bytes = self.capture(job)
        if error is not None:
            raise error
        return self.last_bytes


def _file_rig(tmp_path: Path) -> Rig:
    config = PrinterConfig(
        kind=PrinterKind.FILE, file_dir=tmp_path / "tickets", spool_file=tmp_path / "spool.bin"
    )
    printer = make_printer(config)

    def capture(job: Callable[[], bool]) -> bytes:
        before = set(config.file_dir.glob("*.bin")) if config.file_dir.exists() else set()
        job()
        new = (
            sorted(set(config.file_dir.glob("*.bin")) - before) if config.file_dir.exists() else []
        )
        assert len(new) <= 1
        return new[0].read_bytes() if new else b""

    return Rig("file", config, printer, capture)


def _dummy_rig() -> Rig:
    config = PrinterConfig(kind=PrinterKind.DUMMY)
    printer = make_printer(config)
    assert isinstance(printer, DummyPrinter)

    def capture(job: Callable[[], bool]) -> bytes:
        count = len(printer.jobs)
        job()
        return printer.jobs[-1] if len(printer.jobs) > count else b""

    return Rig("dummy", config, printer, capture)


def _network_rig(emulator: TcpPrinterEmulator) -> Rig:
    config = PrinterConfig(
        kind=PrinterKind.NETWORK, host="127.0.0.1", port=emulator.port, timeout_s=0.5
    )

    def capture(job: Callable[[], bool]) -> bytes:
        count = len(emulator.jobs)
        job()
        jobs = emulator.wait_jobs(count + 1, timeout=3)
        return jobs[-1] if len(jobs) > count else b""

    def set_condition(condition: str) -> None:
        emulator.condition = condition

    return Rig("network", config, make_printer(config), capture, set_condition)


def _serial_rig(emulator: SerialPrinterEmulator) -> Rig:
    config = PrinterConfig(kind=PrinterKind.SERIAL, serial_device=emulator.device, timeout_s=0.5)

    def capture(job: Callable[[], bool]) -> bytes:
        offset = len(emulator.wait_bytes(lambda data: True, 0))
        printed = job()
        # a finished ticket ends with its cut; a refused one stops after the status requests
        data = emulator.wait_bytes(
            lambda received: CUT in received[offset:], timeout=3 if printed else 0.2
        )
        return data[offset:]

    def set_condition(condition: str) -> None:
        emulator.condition = condition

    return Rig("serial", config, make_printer(config), capture, set_condition)


@pytest.fixture(params=["file", "dummy", "network", "serial"])
def rig(request, tmp_path) -> Rig:
    if request.param == "file":
        return _file_rig(tmp_path)
    if request.param == "dummy":
        return _dummy_rig()
    if request.param == "network":
        return _network_rig(request.getfixturevalue("tcp_printer"))
    return _serial_rig(request.getfixturevalue("serial_printer"))


@pytest.fixture(params=["network", "serial"])
def status_rig(request) -> Rig:
    """Printers that answer real-time status requests (DLE EOT)."""
    if request.param == "network":
        return _network_rig(request.getfixturevalue("tcp_printer"))
    return _serial_rig(request.getfixturevalue("serial_printer"))


# --------------------------------------------------------------------------- contract


def test_is_a_ticket_printer(rig: Rig) -> None:
    assert isinstance(rig.printer, TicketPrinter)


def test_prints_the_ticket_number_large(rig: Rig) -> None:
    data = rig.print(make_ticket(number="B042"))
    document = parse(data)
    assert "B042" in document.large_text
    assert b"B042" in data


def test_qr_code_carries_the_ticket_id(rig: Rig) -> None:
    ticket_id = "0192f0c4-5a1b-7c2d-8e3f-000000000042"
    data = rig.print(make_ticket(ticket_id=ticket_id))
    assert QR_STORE_PREFIX in data  # GS ( k: native 2D code
    length = (len(ticket_id) + 3).to_bytes(2, "little")  # pL pH cover "1P0" + the data
    assert b"\x1d(k" + length + b"1P0" + ticket_id.encode() in data
    assert parse(data).qr_payloads == [ticket_id]
    assert b"\x1d(k\x03\x001Q0" in data  # ... and printed


def test_ends_with_a_cut(rig: Rig) -> None:
    data = rig.print(make_ticket())
    assert CUT in data
    assert parse(data).cuts == 1
    assert data.rindex(CUT) > data.rindex(QR_STORE_PREFIX)


def test_sends_the_same_bytes_as_the_layout(rig: Rig) -> None:
    ticket = make_ticket()
    data = rig.print(ticket)
    # network/serial printers are asked for their status first; the ticket follows unchanged
    assert data.endswith(ticket_bytes(ticket, rig.config))


@pytest.mark.parametrize(
    ("issued_at", "expected"),
    [
        (datetime(2026, 11, 27, 13, 5, tzinfo=UTC), "Fecha: 27/11/2026  Hora: 08:05"),
        # 03:30 UTC on the 28th is still the evening of the 27th in Lima
        (datetime(2026, 11, 28, 3, 30, tzinfo=UTC), "Fecha: 27/11/2026  Hora: 22:30"),
    ],
)
def test_date_and_time_in_lima(rig: Rig, issued_at: datetime, expected: str) -> None:
    text = parse(rig.print(make_ticket(issued_at=issued_at))).text
    assert expected in text
    assert issued_at.strftime("%H:%M") not in text


def test_people_ahead_and_estimated_wait_in_spanish(rig: Rig) -> None:
    text = parse(rig.print(make_ticket(people_ahead=4, estimated_wait_s=700))).text
    assert "Personas antes que usted: 4" in text
    assert "Espera estimada: 12 min" in text


def test_unknown_wait_is_left_out(rig: Rig) -> None:
    text = parse(rig.print(make_ticket(people_ahead=None, estimated_wait_s=None))).text
    assert "Personas antes" not in text
    assert "Espera estimada" not in text


@pytest.mark.parametrize(
    ("category", "label"),
    [
        (PreferenceCategory.GESTANTE, "Mujer gestante"),
        (PreferenceCategory.ADULTO_MAYOR, "Adulto mayor"),
        (PreferenceCategory.DISCAPACIDAD, "Persona con discapacidad"),
        (PreferenceCategory.NINO_ACOMPANANTE, "Con niño o niña en brazos"),
    ],
)
def test_preferential_mark_when_preferential(
    rig: Rig, category: PreferenceCategory, label: str
) -> None:
    text = parse(rig.print(make_ticket(preference=category))).text
    assert "ATENCIÓN PREFERENCIAL - Ley 28683" in text
    assert label in text


def test_no_preferential_mark_otherwise(rig: Rig) -> None:
    text = parse(rig.print(make_ticket(preference=PreferenceCategory.NONE))).text
    assert "PREFERENCIAL" not in text
    assert "28683" not in text


def test_reprint_is_marked(rig: Rig) -> None:
    document = parse(rig.print(make_ticket(reprint=True)))
    assert "REIMPRESIÓN" in document.large_text
    plain = parse(rig.print(make_ticket(reprint=False)))
    assert "REIMPRESIÓN" not in plain.text


def test_privacy_line(rig: Rig) -> None:
    text = parse(rig.print(make_ticket())).text.replace("\n", " ")
    assert "Ley 29733" in text


def test_spanish_characters_in_the_code_page(rig: Rig) -> None:
    data = rig.print(make_ticket(sede_name="Compañía Perú", service_name="Conciliación"))
    assert b"\x1bt\x13" in data  # ESC t 19 = CP858
    assert b"Compa\xa4\xa1a Per\xa3" in data  # ñ=A4 í=A1 ú=A3 in CP858
    assert b"Conciliaci\xa2n" in data  # ó=A2
    assert "Compañía Perú" in parse(data).text


def test_two_tickets_are_two_jobs(rig: Rig) -> None:
    first = rig.print(make_ticket(number="A001"))
    second = rig.print(make_ticket(number="A002"))
    assert parse(first).large_text[-1] == "A001"
    assert parse(second).large_text[-1] == "A002"
    assert parse(second).cuts == 1


# --------------------------------------------------------------------------- status and errors


def test_paper_out_refuses_to_print(status_rig: Rig) -> None:
    status_rig.set_condition("paper_out")
    with pytest.raises(PrinterError) as caught:
        status_rig.print(make_ticket(number="A099"))
    assert caught.value.kind is PrinterErrorKind.PAPER_OUT
    assert "papel" in caught.value.message
    assert b"A099" not in status_rig.last_bytes
    assert b"\x10\x04\x04" in status_rig.last_bytes  # it did ask


def test_offline_refuses_to_print(status_rig: Rig) -> None:
    status_rig.set_condition("offline")
    with pytest.raises(PrinterError) as caught:
        status_rig.print(make_ticket(number="A099"))
    assert caught.value.kind is PrinterErrorKind.OFFLINE
    assert "fuera de línea" in caught.value.message
    assert b"A099" not in status_rig.last_bytes


def test_cover_open_is_offline_with_its_cause(status_rig: Rig) -> None:
    status_rig.set_condition("cover_open")
    with pytest.raises(PrinterError) as caught:
        status_rig.print(make_ticket())
    assert caught.value.kind is PrinterErrorKind.OFFLINE
    assert "tapa" in caught.value.message


def test_silent_printer_is_offline(status_rig: Rig) -> None:
    status_rig.set_condition("silent")
    with pytest.raises(PrinterError) as caught:
        status_rig.print(make_ticket(number="A099"))
    assert caught.value.kind is PrinterErrorKind.OFFLINE
    assert b"A099" not in status_rig.last_bytes


def test_paper_near_end_still_prints_and_warns(status_rig: Rig, caplog) -> None:
    status_rig.set_condition("near_end")
    with caplog.at_level(logging.WARNING, logger="hardware.printer"):
        data = status_rig.print(make_ticket(number="A010"))
    assert "A010" in parse(data).large_text
    assert "paper near end" in caplog.text


def test_recovers_after_paper_is_loaded(status_rig: Rig) -> None:
    status_rig.set_condition("paper_out")
    with pytest.raises(PrinterError):
        status_rig.print(make_ticket(number="A011"))
    status_rig.set_condition("ok")
    assert "A011" in parse(status_rig.print(make_ticket(number="A011"))).large_text


@pytest.mark.parametrize("condition", ["ok", "near_end", "paper_out", "offline", "silent"])
def test_check_ready_asks_without_printing(status_rig: Rig, condition: str) -> None:
    status_rig.set_condition(condition)
    expected = {"paper_out": PrinterErrorKind.PAPER_OUT, "offline": PrinterErrorKind.OFFLINE}
    expected["silent"] = PrinterErrorKind.OFFLINE
    error: PrinterError | None = None

    def job() -> bool:
        nonlocal error
        try:
            status_rig.printer.check_ready()
        except PrinterError as exc:
            error = exc
        return False  # no ticket expected: the rig need not wait for a cut

    received = status_rig.capture(job)
    assert (error.kind if error else None) == expected.get(condition)
    assert CUT not in received and b"\x1b@" not in received  # nothing printed
    assert b"\x10\x04\x04" in received  # the paper sensor was asked


def test_check_ready_of_file_and_dummy_printers(tmp_path: Path) -> None:
    make_printer(PrinterConfig(kind=PrinterKind.DUMMY)).check_ready()
    make_printer(PrinterConfig(kind=PrinterKind.FILE, file_dir=tmp_path / "t")).check_ready()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PrinterError) as caught:
        make_printer(PrinterConfig(kind=PrinterKind.FILE, file_dir=blocker)).check_ready()
    assert caught.value.kind is PrinterErrorKind.ERROR


def test_status_check_can_be_disabled(tcp_printer: TcpPrinterEmulator) -> None:
    tcp_printer.condition = "silent"  # a printer without real-time status support
    config = PrinterConfig(
        kind=PrinterKind.NETWORK,
        host="127.0.0.1",
        port=tcp_printer.port,
        timeout_s=0.5,
        check_status=False,
    )
    make_printer(config).print_ticket(make_ticket(number="C003"))
    (job,) = tcp_printer.wait_jobs(1)
    assert b"\x10\x04" not in job
    assert "C003" in parse(job).large_text


def test_connection_refused_is_offline(tcp_printer: TcpPrinterEmulator) -> None:
    port = tcp_printer.port
    tcp_printer.close()  # nothing listens on the port any more
    config = PrinterConfig(kind=PrinterKind.NETWORK, host="127.0.0.1", port=port, timeout_s=0.5)
    with pytest.raises(PrinterError) as caught:
        make_printer(config).print_ticket(make_ticket())
    assert caught.value.kind is PrinterErrorKind.OFFLINE
    assert "no está conectada" in caught.value.message


def test_missing_serial_device_is_offline(tmp_path: Path) -> None:
    config = PrinterConfig(kind=PrinterKind.SERIAL, serial_device=str(tmp_path / "ttyUSB9"))
    with pytest.raises(PrinterError) as caught:
        make_printer(config).print_ticket(make_ticket())
    assert caught.value.kind is PrinterErrorKind.OFFLINE


def test_file_printer_write_failure_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    config = PrinterConfig(kind=PrinterKind.FILE, file_dir=blocker / "tickets")
    with pytest.raises(PrinterError) as caught:
        make_printer(config).print_ticket(make_ticket())
    assert caught.value.kind is PrinterErrorKind.ERROR
    assert caught.value.message.startswith("No se pudo guardar el ticket")


# --------------------------------------------------------------------------- per implementation


def test_file_printer_one_file_per_ticket_and_spool(tmp_path: Path) -> None:
    config = PrinterConfig(
        kind=PrinterKind.FILE, file_dir=tmp_path / "tickets", spool_file=tmp_path / "spool.bin"
    )
    printer = make_printer(config)
    assert isinstance(printer, FilePrinter)
    ticket = make_ticket(number="A005", ticket_id="t-0005")
    printer.print_ticket(ticket)
    printer.print_ticket(ticket.model_copy(update={"reprint": True}))
    names = sorted(path.name for path in config.file_dir.iterdir())
    assert names == ["A005-t-0005-r1.bin", "A005-t-0005.bin"]
    first = (config.file_dir / "A005-t-0005.bin").read_bytes()
    again = (config.file_dir / "A005-t-0005-r1.bin").read_bytes()
    assert config.spool_file.read_bytes() == first + again
    assert "REIMPRESIÓN" in parse(again).text and "REIMPRESIÓN" not in parse(first).text
    assert printer.last_path == config.file_dir / "A005-t-0005-r1.bin"


def test_file_printer_keeps_hostile_ids_inside_its_directory(tmp_path: Path) -> None:
    config = PrinterConfig(kind=PrinterKind.FILE, file_dir=tmp_path / "tickets")
    make_printer(config).print_ticket(make_ticket(ticket_id="../../escape"))
    (written,) = (tmp_path / "tickets").iterdir()
    assert written.name == "A007-______escape.bin"
    assert not (tmp_path / "escape.bin").exists()


def test_cp850_code_page(tmp_path: Path) -> None:
    config = PrinterConfig(kind=PrinterKind.DUMMY, codepage="CP850")
    data = ticket_bytes(make_ticket(sede_name="Sede Ñaña"), config)
    assert b"\x1bt\x02" in data  # ESC t 2 = CP850
    assert b"Sede \xa5a\xa4a" in data  # Ñ=A5 ñ=A4
    assert "Sede Ñaña" in parse(data).text


@pytest.mark.parametrize(
    ("codepage", "escpos_table", "codec"),
    [
        ("CP858", 19, "cp858"),
        ("CP850", 2, "cp850"),
        ("CP1252", 16, "cp1252"),
        ("ISO_8859-15", 40, "iso8859_15"),
    ],
)
def test_every_spanish_code_page(codepage: str, escpos_table: int, codec: str) -> None:
    assert codepage in SPANISH_CODEPAGES
    spanish = "¿Señor Núñez? ¡Atención! áéíóú ÁÉÍÓÚ ü"
    data = ticket_bytes(make_ticket(sede_name=spanish), PrinterConfig(codepage=codepage))
    assert b"\x1bt" + bytes([escpos_table]) in data
    assert spanish.encode(codec) in data


def test_code_pages_without_spanish_capitals_are_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="CP437"):
        PrinterConfig(codepage="CP437")  # no Á É Í Ó Ú: "ATENCIÓN" would print "ATENCI?N"


def test_a_profile_without_the_code_page_is_a_printer_error(rig: Rig) -> None:
    config = rig.config.model_copy(update={"profile": "no-such-printer-model"})
    printer = type(rig.printer)(config)
    with pytest.raises(PrinterError) as caught:
        printer.print_ticket(make_ticket())
    assert caught.value.kind is PrinterErrorKind.ERROR


def test_characters_outside_the_code_page_degrade_readably() -> None:
    data = ticket_bytes(make_ticket(sede_name="Sede “Cercado” — Lima"))
    assert 'Sede "Cercado" - Lima' in parse(data).text


def test_usb_printer_built_from_config() -> None:
    config = PrinterConfig(
        kind=PrinterKind.USB, usb_vendor_id="0x04b8", usb_product_id="0x0e15", timeout_s=2
    )
    printer = make_printer(config)
    assert isinstance(printer, EscposDevicePrinter)
    device = printer.device()
    from escpos.printer import Usb

    assert isinstance(device, Usb)
    assert device.usb_args == {"idVendor": 0x04B8, "idProduct": 0x0E15}
    assert device.timeout == 2000
    assert (device.in_ep, device.out_ep) == (0x82, 0x01)


def test_absent_usb_printer_is_reported() -> None:
    """No USB printer is plugged in here: the adapter must say so, not crash."""
    config = PrinterConfig(kind=PrinterKind.USB, usb_vendor_id=0x04B8, usb_product_id=0x0E15)
    with pytest.raises(PrinterError) as caught:
        make_printer(config).print_ticket(make_ticket())
    try:
        import usb.backend.libusb1

        has_backend = usb.backend.libusb1.get_backend() is not None
    except ImportError:
        has_backend = False
    expected = PrinterErrorKind.OFFLINE if has_backend else PrinterErrorKind.ERROR
    assert caught.value.kind is expected


@pytest.mark.skip(reason="needs a real USB ESC/POS printer plugged into this machine")
def test_usb_printer_prints_on_real_hardware() -> None:  # pragma: no cover
    config = PrinterConfig(kind=PrinterKind.USB, usb_vendor_id=0x04B8, usb_product_id=0x0E15)
    make_printer(config).print_ticket(make_ticket())


def test_serial_printer_built_from_config() -> None:
    config = PrinterConfig(
        kind=PrinterKind.SERIAL, serial_device="/dev/ttyS0", serial_baudrate=19200
    )
    device = make_printer(config).device()
    from escpos.printer import Serial

    assert isinstance(device, Serial)
    assert (device.devfile, device.baudrate) == ("/dev/ttyS0", 19200)


@pytest.mark.parametrize(
    ("values", "field_name"),
    [
        ({"kind": "network"}, "host"),
        ({"kind": "usb", "usb_vendor_id": 1208}, "usb_vendor_id"),
        ({"kind": "serial"}, "serial_device"),
        ({"kind": "file", "codepage": "CP999"}, "codepage"),
        ({"kind": "laser"}, "kind"),
    ],
)
def test_bad_config_names_the_field(values: dict, field_name: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        PrinterConfig(**values)
    assert field_name in str(caught.value)


# --------------------------------------------------------------------------- the ticket model


def test_printable_ticket_from_issue_result_and_print_job() -> None:
    base = make_ticket(people_ahead=3, estimated_wait_s=125)
    issued = IssuedTicket(ticket=base.ticket, sede_name="Sede X", service_name="Servicio Y")
    from_issue = PrintableTicket.from_message(issued)
    assert (from_issue.sede_name, from_issue.service_name) == ("Sede X", "Servicio Y")
    assert (from_issue.people_ahead, from_issue.estimated_wait_s) == (3, 125)
    assert from_issue.reprint is False
    job = PrintJob(ticket=base.ticket, sede_name="Sede X", service_name="Servicio Y", reprint=True)
    assert PrintableTicket.from_message(job).reprint is True


@pytest.mark.parametrize("seconds", [30, 3540, 3901, 7260])
def test_the_wait_is_printed_as_the_kiosk_screen_shows_it(rig: Rig, seconds: int) -> None:
    # one rule and one table for both (contracts.waits, tests/contracts/test_waits.py)
    text = parse(rig.print(make_ticket(people_ahead=40, estimated_wait_s=seconds))).text
    assert f"Espera estimada: {format_wait(seconds)}" in text
    assert format_wait(seconds) == format_wait(seconds, Translator.load("es-PE"))
