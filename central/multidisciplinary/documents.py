"""The printed documents of Module 05 (reportlab, A4, Spanish): a report from its frozen
content, with the QR to the public verification page, and the resolución de no gratuidad."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from central.core.pdf import verification_footer

_BASE = getSampleStyleSheet()
BODY = ParagraphStyle(
    "md_body",
    parent=_BASE["Normal"],
    fontName="Helvetica",
    fontSize=10,
    leading=13.5,
    alignment=TA_JUSTIFY,
)
SMALL = ParagraphStyle("md_small", parent=BODY, fontSize=8.5, leading=11)
TITLE = ParagraphStyle(
    "md_title",
    parent=BODY,
    fontName="Helvetica-Bold",
    fontSize=13,
    alignment=TA_CENTER,
    leading=17,
)
HEAD = ParagraphStyle(
    "md_head", parent=BODY, fontName="Helvetica-Bold", fontSize=10.5, spaceBefore=6, spaceAfter=2
)
CENTER = ParagraphStyle("md_center", parent=BODY, alignment=TA_CENTER)
MONTHS = "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split()


def long_date(value: date) -> str:
    return f"{value.day} de {MONTHS[value.month - 1]} de {value.year}"


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _doc(buffer: BytesIO, title: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=18 * mm,
        bottomMargin=38 * mm,
        title=title,
        author="ALEGRA",
        lang="es-PE",
    )


def _table(rows: list[list[str]], widths: list[float]) -> Table:
    table = Table([[_p(c, SMALL) for c in row] for row in rows], colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, "#888888"),
                ("BACKGROUND", (0, 0), (-1, 0), "#e8e8e8"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def render_report(
    content: dict[str, Any],
    *,
    institution: str,
    centre: str,
    verify_url: str,
    draft: bool = False,
) -> bytes:
    """A report as PDF (unsigned: the caller signs it). ``draft``: the preview, marked so."""
    buffer = BytesIO()
    doc = _doc(buffer, content["title"])
    story: list[Any] = [
        _p(institution, CENTER),
        _p(centre, CENTER),
        Spacer(1, 4 * mm),
        _p(content["title"] + (" — BORRADOR (sin valor legal)" if draft else ""), TITLE),
        _p(f"N.° {content['number']}" if not draft else "N.° (se asigna al firmar)", CENTER),
        Spacer(1, 4 * mm),
        _p(f"Servicio: {content['service_label']}"),
        _p(f"Solicitud: {content['request_number']} — Expediente: {content['file_number']}"),
    ]
    if content.get("authority"):
        story.append(_p(f"Ordenado por: {content['authority']}"))
    if content.get("amendment_reason"):
        story.append(
            _p(f"Versión {content['version']} (enmienda). Motivo: {content['amendment_reason']}")
        )
    story += [Paragraph("Preguntas a responder", HEAD), _p(content.get("questions") or "")]
    width = A4[0] - 44 * mm
    for section in content["sections"]:
        story.append(Paragraph(escape(section["label"]), HEAD))
        value = section.get("value")
        if section["kind"] == "injuries":
            rows = [["N.°", "Ubicación", "Descripción"]] + [
                [str(i + 1), item["location"], item["description"]]
                for i, item in enumerate(value or [])
            ]
            story.append(_table(rows, [12 * mm, 45 * mm, width - 57 * mm]))
        elif section["kind"] == "items":
            rows = [["N.°", "Indicio o muestra", "Cadena de custodia"]] + [
                [str(i + 1), item["description"], item["custody"]]
                for i, item in enumerate(value or [])
            ]
            story.append(_table(rows, [12 * mm, (width - 12 * mm) / 2, (width - 12 * mm) / 2]))
        elif section["kind"] == "integer":
            story.append(
                _p("—" if value is None else f"{value} ({'día' if value == 1 else 'días'})")
            )
        else:
            story.append(_p(value or "—"))
    signed_on = date.fromisoformat(content["signed_on"]) if content.get("signed_on") else None
    story += [
        Spacer(1, 10 * mm),
        _p(f"Lima, {long_date(signed_on)}" if signed_on else ""),
        Spacer(1, 8 * mm),
        _p(content.get("signer") or "", CENTER),
        _p("Firmado digitalmente por el profesional responsable", CENTER),
    ]

    def footer(canvas, _doc) -> None:  # noqa: ANN001
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.drawString(22 * mm, 10 * mm, f"Página {canvas.getPageNumber()}")
        canvas.restoreState()
        if verify_url and not draft:
            verification_footer(
                canvas, url=verify_url, code=content["verification_code"], page_width=A4[0]
            )

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def render_resolution(
    content: dict[str, Any], *, institution: str, centre: str, verify_url: str, signer: str
) -> bytes:
    buffer = BytesIO()
    doc = _doc(buffer, "Resolución de no gratuidad")
    issued = date.fromisoformat(content["issued_on"])
    story: list[Any] = [
        _p(institution, CENTER),
        _p(centre, CENTER),
        Spacer(1, 4 * mm),
        _p(f"RESOLUCIÓN DE NO GRATUIDAD N.° {content['number']}", TITLE),
        Spacer(1, 4 * mm),
        _p(f"Lima, {long_date(issued)}"),
        Paragraph("VISTOS", HEAD),
        _p(
            f"La evaluación socioeconómica {content['request_number']} realizada en el "
            f"expediente {content['file_number']}, con un puntaje de necesidad de "
            f"{content['score']} sobre 100."
        ),
        Paragraph("CONSIDERANDO", HEAD),
        _p(
            "Que, conforme a la Ley N.° 29360, Ley del Servicio de Defensa Pública, y al Decreto "
            "Legislativo N.° 1407, el servicio se presta de forma gratuita a las personas que no "
            "cuentan con recursos económicos o se encuentran en situación de vulnerabilidad; "
            "que la verificación de la declaración jurada ha determinado lo siguiente:"
        ),
        _p(content["reasons"]),
        Paragraph("SE RESUELVE", HEAD),
        _p(
            "Declarar que no corresponde la prestación gratuita del servicio de defensa pública "
            "en los expedientes abiertos de la persona evaluada, con los efectos previstos en la "
            "normativa vigente. La persona puede impugnar esta resolución dentro del plazo de ley."
        ),
        Spacer(1, 12 * mm),
        _p(signer, CENTER),
        _p("Trabajador(a) social — firmado digitalmente", CENTER),
    ]

    def footer(canvas, _doc) -> None:  # noqa: ANN001
        verification_footer(canvas, url=verify_url, code=content["code"], page_width=A4[0])

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
