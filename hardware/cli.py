"""``alegra hardware``: try a printer or the announcer on site, and look at tickets without paper.

alegra hardware print-test --config printer.toml     # a sample ticket on the real printer
alegra hardware preview var/tickets/A001-....bin     # PNG of what a ticket looks like
alegra hardware say A007 3 --out var/announcements  # speak (or write) one call
"""

from __future__ import annotations

import tomllib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


def _load_printer_config(config: Path | None, directory: Path | None):
    from pydantic import ValidationError

    from hardware.printer import PrinterConfig, PrinterKind

    if config is None:
        return PrinterConfig(kind=PrinterKind.FILE, file_dir=directory or Path("var/tickets"))
    try:
        data = tomllib.loads(config.read_text("utf-8"))
        return PrinterConfig.model_validate(data.get("printer", data))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise typer.BadParameter(f"{config}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise typer.BadParameter(f"{config}: {where + ': ' if where else ''}{message}") from None


@app.command("print-test")
def print_test(
    config: Annotated[Path | None, typer.Option(help="TOML with a [printer] table")] = None,
    directory: Annotated[Path | None, typer.Option("--dir", help="file printer directory")] = None,
    number: str = "A001",
    preferential: Annotated[bool, typer.Option(help="print the preferential band")] = False,
    reprint: bool = False,
) -> None:
    """Print a sample ticket and say what happened (exit 1 on paper out, offline or error)."""
    from contracts.messages import PreferenceCategory, TicketStatus, TicketView
    from hardware.printer import PrintableTicket, PrinterError, make_printer

    printer_config = _load_printer_config(config, directory)
    now = datetime.now(UTC)
    ticket = PrintableTicket(
        sede_name="Centro ALEGRA - prueba de impresora",
        service_name="Orientación legal",
        ticket=TicketView(
            ticket_id=str(uuid.uuid4()),
            number=number,
            service_code="prueba",
            status=TicketStatus.WAITING,
            preference_category=(
                PreferenceCategory.ADULTO_MAYOR if preferential else PreferenceCategory.NONE
            ),
            issued_at=now,
            arrived_at=now,
        ),
        people_ahead=3,
        estimated_wait_s=540,
        reprint=reprint,
    )
    try:
        make_printer(printer_config).print_ticket(ticket)
    except PrinterError as exc:
        typer.echo(f"{exc.kind.value}: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"ok: ticket {number} enviado ({printer_config.kind.value})")


@app.command()
def status(
    config: Annotated[Path | None, typer.Option(help="TOML with a [printer] table")] = None,
    directory: Annotated[Path | None, typer.Option("--dir", help="file printer directory")] = None,
) -> None:
    """Ask the printer whether it can print now (paper, online), without printing."""
    from hardware.printer import PrinterError, make_printer

    printer_config = _load_printer_config(config, directory)
    try:
        make_printer(printer_config).check_ready()
    except PrinterError as exc:
        typer.echo(f"{exc.kind.value}: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"ok: impresora lista ({printer_config.kind.value})")


@app.command()
def preview(
    ticket_file: Annotated[Path, typer.Argument(help="a .bin written by the file printer")],
    out: Annotated[Path | None, typer.Option(help="PNG path (default: beside the .bin)")] = None,
    width_chars: int = 42,
) -> None:
    """Draw the ESC/POS bytes of a ticket as a PNG, and print its text."""
    from hardware.escpos_bytes import parse
    from hardware.preview import save_preview

    data = ticket_file.read_bytes()
    path = save_preview(data, out or ticket_file.with_suffix(".png"), width_chars=width_chars)
    document = parse(data)
    typer.echo(document.text.rstrip())
    typer.echo(f"qr: {', '.join(document.qr_payloads) or '-'}  cortes: {document.cuts}")
    typer.echo(f"png: {path}")


@app.command()
def say(
    number: Annotated[str, typer.Argument(help="ticket number, e.g. A007")],
    counter: Annotated[int, typer.Argument(help="counter number")],
    voice: str = "roa/es-419",
    rate: int = 150,
    reading: str = "digits",
    out: Annotated[Path | None, typer.Option(help="write the WAV here instead of playing")] = None,
    cache_dir: Path = Path("var/speech-cache"),
) -> None:
    """Announce one call (chime + speech) through the machine's player, or into --out."""
    from contracts.messages import CallView
    from hardware.speech import SpeechConfig, make_announcer, phrase_for_call

    try:
        text = phrase_for_call(number, counter, reading=reading)
        config = SpeechConfig(
            voice=voice,
            rate=rate,
            reading=reading,
            cache_dir=cache_dir,
            output="file" if out else "player",
            file_dir=out or Path("var/announcements"),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    announcer = make_announcer(config)
    announcer.announce(
        CallView(
            number=number.upper(),
            service_code="prueba",
            counter_id=f"v{counter}",
            counter_name=f"Ventanilla {counter}",
            counter_number=counter,
            called_at=datetime.now(UTC),
        )
    )
    announcer.close()
    spoken = "voz" if announcer.stats.chime_only == 0 else "solo timbre"
    typer.echo(f"{text} ({spoken})")
