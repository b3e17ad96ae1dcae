"""What every printed document shares: a vector QR code (qrcode's matrix drawn by reportlab)
pointing to the public verification page, and the footer that says how to verify."""

from __future__ import annotations

from functools import lru_cache

import qrcode
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas


@lru_cache(maxsize=64)
def qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules of ``data`` (cached: every page of a document carries the same one)."""
    code = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


def draw_qr(canvas: Canvas, data: str, *, x: float, y: float, size: float) -> None:
    """A QR of ``data`` with its lower-left corner at (x, y), ``size`` points wide."""
    matrix = qr_matrix(data)
    cells = len(matrix)
    cell = size / cells
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        for col_index, dark in enumerate(row):
            if dark:
                path.rect(x + col_index * cell, y + size - (row_index + 1) * cell, cell, cell)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def verification_footer(canvas: Canvas, *, url: str, code: str, page_width: float) -> None:
    """QR at the bottom right and the verification text beside it (every page)."""
    size = 22 * mm
    draw_qr(canvas, url, x=page_width - 20 * mm - size, y=10 * mm, size=size)
    canvas.saveState()
    canvas.setFont("Helvetica", 7.5)
    canvas.drawRightString(
        page_width - 20 * mm - size - 3 * mm,
        24 * mm,
        "Documento firmado digitalmente por el centro.",
    )
    canvas.drawRightString(
        page_width - 20 * mm - size - 3 * mm, 20 * mm, f"Verifique su validez en {url}"
    )
    canvas.drawRightString(
        page_width - 20 * mm - size - 3 * mm, 16 * mm, f"Código de verificación: {code}"
    )
    canvas.restoreState()
