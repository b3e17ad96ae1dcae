"""Referral letters (oficio de derivación): HTML from a template, PDF by printing that HTML
with the headless Chromium the server already has (no PDF library to keep in step)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from central.cases import catalogues as cat

TEMPLATES = Path(__file__).resolve().parent / "templates"
LIMA = ZoneInfo("America/Lima")
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "chromium")


class PdfUnavailable(Exception):
    """No headless browser to print the letter with."""


def render_letter_html(context: dict[str, Any]) -> str:
    data = {
        "cat": cat,
        "today": datetime.now(LIMA).strftime("%d/%m/%Y"),
        **context,
    }
    return _ENV.get_template("cases/referral_letter.html").render(data)


def html_to_pdf(html: str, *, timeout: float = 60) -> bytes:
    binary = next((b for b in CHROMIUM_CANDIDATES if shutil.which(b)), None)
    if binary is None:
        raise PdfUnavailable()
    with tempfile.TemporaryDirectory(prefix="alegra-letter-") as tmp:
        source, target = Path(tmp) / "letter.html", Path(tmp) / "letter.pdf"
        source.write_text(html, encoding="utf-8")
        subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                f"--user-data-dir={tmp}/profile",
                "--no-pdf-header-footer",
                f"--print-to-pdf={target}",
                source.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        return target.read_bytes()
