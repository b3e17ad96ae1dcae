"""The byte reader's styled blocks, the PNG preview drawn from them, and ``alegra hardware``."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from contracts.messages import PreferenceCategory
from hardware.cli import app
from hardware.escpos_bytes import CutBlock, QrBlock, TextLine, parse
from hardware.preview import render_preview
from hardware.printer import PrinterConfig, PrinterKind, ticket_bytes

from .conftest import TcpPrinterEmulator, make_ticket

runner = CliRunner()


def test_blocks_carry_the_style_of_each_line() -> None:
    data = ticket_bytes(make_ticket(number="A007", preference=PreferenceCategory.GESTANTE))
    blocks = parse(data).blocks
    number = next(b for b in blocks if isinstance(b, TextLine) and b.text == "A007")
    assert (number.width, number.height, number.bold, number.align) == (4, 4, True, "center")
    band = next(b for b in blocks if isinstance(b, TextLine) and "PREFERENCIAL" in b.text)
    assert band.invert and band.bold
    privacy = next(b for b in blocks if isinstance(b, TextLine) and "29733" in b.text)
    assert privacy.font_b and privacy.width == 1
    qr = next(b for b in blocks if isinstance(b, QrBlock))
    assert (qr.module_size, qr.align) == (6, "center")
    assert isinstance(blocks[-1], CutBlock)


def test_preview_draws_the_ticket() -> None:
    data = ticket_bytes(make_ticket())
    image = render_preview(data, width_chars=42)
    assert image.width == 42 * 12 + 32
    assert 600 < image.height < 1400
    histogram = image.histogram()
    dark = sum(histogram[:64])
    assert 0.03 < dark / (image.width * image.height) < 0.4  # ink, but mostly paper
    preferential = render_preview(
        ticket_bytes(make_ticket(preference=PreferenceCategory.DISCAPACIDAD))
    )
    assert preferential.height > image.height  # the band and category add lines


def test_print_test_to_files_then_preview(tmp_path: Path) -> None:
    result = runner.invoke(app, ["print-test", "--dir", str(tmp_path), "--number", "B003"])
    assert result.exit_code == 0, result.output
    (ticket_file,) = tmp_path.glob("B003-*.bin")
    out = tmp_path / "b003.png"
    result = runner.invoke(app, ["preview", str(ticket_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "SU TURNO" in result.output and "cortes: 1" in result.output
    assert Image.open(out).size[0] == 42 * 12 + 32


def test_print_test_reports_paper_out(tmp_path: Path, tcp_printer: TcpPrinterEmulator) -> None:
    tcp_printer.condition = "paper_out"
    config = tmp_path / "printer.toml"
    config.write_text(
        f'[printer]\nkind = "network"\nhost = "127.0.0.1"\nport = {tcp_printer.port}\n'
        "timeout_s = 1\n"
    )
    result = runner.invoke(app, ["print-test", "--config", str(config)])
    assert result.exit_code == 1
    assert "paper_out: La impresora no tiene papel" in result.output


def test_print_test_refuses_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "printer.toml"
    config.write_text('[printer]\nkind = "network"\n')
    result = runner.invoke(app, ["print-test", "--config", str(config)])
    assert result.exit_code == 2
    assert "host" in result.output


def test_say_writes_the_announcement(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["say", "a007", "3", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c")],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Turno A cero cero siete, ventanilla tres")
    assert len(list((tmp_path / "out").glob("*.wav"))) == 1


def test_config_defaults_are_a_file_printer() -> None:
    assert PrinterConfig().kind is PrinterKind.FILE


def test_status_command(tmp_path: Path, tcp_printer: TcpPrinterEmulator) -> None:
    config = tmp_path / "printer.toml"
    config.write_text(
        f'[printer]\nkind = "network"\nhost = "127.0.0.1"\nport = {tcp_printer.port}\n'
    )
    result = runner.invoke(app, ["status", "--config", str(config)])
    assert result.exit_code == 0 and "impresora lista" in result.output
    tcp_printer.condition = "cover_open"
    result = runner.invoke(app, ["status", "--config", str(config)])
    assert result.exit_code == 1 and "offline: La tapa" in result.output
    jobs = tcp_printer.wait_jobs(2)
    assert all(b"\x1dV" not in job for job in jobs)
