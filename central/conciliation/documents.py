"""The printed documents of Module 04 (reportlab, A4, Spanish): the acta from its frozen
content (with places for each signature and fingerprint, and the QR to the public verification
page), the invitation letter, and the registro de actas (PDF and XLSX)."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from central.conciliation import catalogues as cat
from central.core.pdf import verification_footer

_BASE = getSampleStyleSheet()
BODY = ParagraphStyle(
    "body",
    parent=_BASE["Normal"],
    fontName="Helvetica",
    fontSize=10,
    leading=13.5,
    alignment=TA_JUSTIFY,
)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8.5, leading=11)
TITLE = ParagraphStyle(
    "title", parent=BODY, fontName="Helvetica-Bold", fontSize=13, alignment=TA_CENTER, leading=17
)
HEAD = ParagraphStyle(
    "head", parent=BODY, fontName="Helvetica-Bold", fontSize=10.5, spaceBefore=6, spaceAfter=2
)
CENTER = ParagraphStyle("center", parent=BODY, alignment=TA_CENTER)

MONTHS = "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split()


def long_date(value: date) -> str:
    return f"{value.day} de {MONTHS[value.month - 1]} de {value.year}"


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _doc(buffer: BytesIO, title: str, *, bottom: float = 38 * mm) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=18 * mm,
        bottomMargin=bottom,
        title=title,
        author="ALEGRA",
        lang="es-PE",
    )


def render_acta(
    content: dict[str, Any], *, institution: str, verify_url: str, draft: bool = False
) -> bytes:
    """The acta as PDF (unsigned: the caller signs it). ``draft``: the preview before issue,
    marked as such and without number or QR."""
    buffer = BytesIO()
    doc = _doc(buffer, "Acta de conciliación")
    number = content.get("number_text") or "(se asigna al emitir)"
    issued = date.fromisoformat(content["issued_on"]) if content.get("issued_on") else None
    hearing = date.fromisoformat(content["hearing_date"]) if content.get("hearing_date") else None
    story: list[Any] = [
        _p(institution, CENTER),
        _p(f"Centro de Conciliación Extrajudicial — {content['centre']}", CENTER),
        Spacer(1, 4 * mm),
        _p(f"ACTA DE CONCILIACIÓN N° {number}", TITLE),
        _p(f"Expediente N° {content['file_number']}", CENTER),
    ]
    if draft:
        story.append(_p("BORRADOR — SIN VALOR LEGAL HASTA SU EMISIÓN", TITLE))
    if content.get("replaces"):
        story.append(
            _p(
                f"Esta acta reemplaza al acta N° {content['replaces']}, cuyo defecto se subsana en nueva sesión.",
                CENTER,
            )
        )
    story.append(Spacer(1, 4 * mm))
    when = long_date(hearing) if hearing else "(fecha por registrar)"
    story.append(
        _p(
            f"En {content['place'] or '(lugar por registrar)'}, siendo las {content.get('hearing_time') or '--:--'} horas "
            f"del {when}, ante el conciliador que suscribe, se llevó a cabo la sesión "
            f"{content.get('session_ordinal') or ''} de la audiencia única de conciliación sobre {content['matter'].lower()}."
        )
    )
    story.append(_p("I. PARTES", HEAD))
    for party in content["parties"]:
        text = f"{party['label']}: {party['name']}, {party['document'] or 'SIN DOCUMENTO'}, con domicilio en {party['address'] or '(sin domicilio)'}."
        if party.get("representative"):
            rep = party["representative"]
            text += f" Representado por {rep['name']}, {rep['document'] or 'SIN DOCUMENTO'}, con poderes: {rep['powers']}."
        if party.get("witness"):
            wit = party["witness"]
            text += f" Testigo a ruego: {wit['name']}, {wit['document'] or 'SIN DOCUMENTO'}."
        story.append(_p(text))
    conciliator = content.get("conciliator") or {}
    story.append(_p("II. CONCILIADOR", HEAD))
    line = f"Conciliador: {conciliator.get('name', '')}, {conciliator.get('document', '')}, Registro de Conciliador N° {conciliator.get('registration', '')}"
    if content.get("family_matter"):
        line += f", Registro de Especialidad en Familia N° {conciliator.get('specialty_registration', '')}"
    story.append(_p(line + "."))
    story.append(_p("III. HECHOS EXPUESTOS EN LA SOLICITUD", HEAD))
    story.append(_p(content["facts"]))
    story.append(_p("IV. DESCRIPCIÓN DE LA CONTROVERSIA", HEAD))
    story.append(_p(content["controversy"]))
    for index, claim in enumerate(content["claims"], start=1):
        kind = "Reconvención" if claim["counterclaim"] else "Pretensión"
        story.append(_p(f"{kind} {index} ({claim['party']}): {claim['description']}"))
    story.append(_p("V. CONCLUSIÓN", HEAD))
    story.append(_p(f"Forma de conclusión: {content['way_label'] or '(por registrar)'}."))
    if content["way"] in cat.AGREEMENT_WAYS:
        story.append(
            _p(
                "ACUERDO CONCILIATORIO. Las partes acuerdan las siguientes obligaciones ciertas, expresas y exigibles:"
            )
        )
        for item in content["obligations"]:
            story.append(_p(f"{item['ordinal']}. {item['text']}"))
        if content["way"] == "acuerdo_parcial":
            story.append(_p(f"Puntos sin acuerdo: {content['no_agreement_points']}"))
    else:
        story.append(_p(f"Motivo de la conclusión: {content['reason']}"))
    if content.get("virtual"):
        story.append(
            _p(
                "La audiencia se realizó por medios electrónicos con el consentimiento expreso de las partes (Ley 31165)."
            )
        )
    story.append(
        _p(
            "Leída la presente acta, las partes la firman en señal de conformidad e imprimen su huella digital. "
            "El acta con acuerdo conciliatorio constituye título de ejecución (Art. 18 de la Ley 26872)."
        )
    )
    story.append(_p("VI. FIRMAS Y HUELLAS", HEAD))
    story.extend(_signature_blocks(content))
    verifier = content.get("verifier") or {}
    story.append(_p("VII. VERIFICACIÓN DE LEGALIDAD", HEAD))
    story.append(
        _p(
            f"Abogado verificador: {verifier.get('name', '')}, registro en el colegio de abogados: {verifier.get('bar_registration', '')}, "
            "quien verifica la legalidad de los acuerdos adoptados."
        )
    )
    story.append(
        _signature_table([("Firma del abogado verificador", verifier.get("name", ""), False)])
    )
    if issued:
        story.append(Spacer(1, 3 * mm))
        story.append(_p(f"Acta emitida el {long_date(issued)}.", SMALL))
    code = content.get("verification_code") or ""

    def on_page(canvas, document) -> None:  # noqa: ANN001
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(
            22 * mm,
            10 * mm,
            f"Acta N° {number} — Exp. {content['file_number']} — página {document.page}",
        )
        canvas.restoreState()
        if not draft and code:
            verification_footer(canvas, url=verify_url, code=code, page_width=A4[0])

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def _signature_blocks(content: dict[str, Any]) -> list[Any]:
    entries = []
    for party in content["parties"]:
        signer = party["representative"]["name"] if party.get("representative") else party["name"]
        entries.append((f"Firma de {party['label']}", signer, True))
        if party.get("witness"):
            entries.append(
                (f"Firma del testigo a ruego de {party['label']}", party["witness"]["name"], False)
            )
    conciliator = content.get("conciliator") or {}
    entries.append(("Firma del conciliador", conciliator.get("name", ""), False))
    return [_signature_table(entries[i : i + 2]) for i in range(0, len(entries), 2)]


def _signature_table(entries: list[tuple[str, str, bool]]) -> KeepTogether:
    cells = []
    for label, name, fingerprint in entries:
        inner = Table(
            [
                ["", "Huella digital" if fingerprint else ""],
                [_p(f"{label}\n{name}", SMALL), ""],
            ],
            colWidths=[52 * mm, 22 * mm],
            rowHeights=[24 * mm, None],
        )
        style = [
            ("LINEABOVE", (0, 1), (0, 1), 0.6, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ("FONTSIZE", (0, 0), (-1, -1), 7),
        ]
        if fingerprint:
            style.append(("BOX", (1, 0), (1, 0), 0.6, colors.black))
            style.append(("VALIGN", (1, 0), (1, 0), "TOP"))
        inner.setStyle(TableStyle(style))
        cells.append(inner)
    while len(cells) < 2:
        cells.append("")
    table = Table([cells], colWidths=[83 * mm, 83 * mm])
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 4 * mm)])
    )
    return KeepTogether([table])


def render_invitation(data: dict[str, Any], *, institution: str) -> bytes:
    """The invitation letter to one invited party (date, place or virtual link)."""
    buffer = BytesIO()
    doc = _doc(buffer, "Invitación a conciliar", bottom=20 * mm)
    story: list[Any] = [
        _p(institution, CENTER),
        _p(f"Centro de Conciliación Extrajudicial — {data['centre']}", CENTER),
        Spacer(1, 6 * mm),
        _p(f"{data['centre_city']}, {long_date(data['issued_on'])}", BODY),
        Spacer(1, 4 * mm),
        _p(f"INVITACIÓN PARA CONCILIAR — Expediente N° {data['file_number']}", TITLE),
        Spacer(1, 4 * mm),
        _p(f"Señor(a): {data['name']}"),
        _p(f"Domicilio: {data['address'] or '(sin domicilio registrado)'}"),
        Spacer(1, 4 * mm),
        _p(
            f"Por la presente se le invita a la audiencia de conciliación solicitada por {data['requesters']}, "
            f"sobre {data['matter'].lower()}."
        ),
        _p(f"Fecha y hora: {data['when']}."),
    ]
    if data["virtual"]:
        story.append(
            _p(f"Modalidad: virtual (Ley 31165), mediante {data['means']}. Enlace: {data['link']}")
        )
        story.append(
            _p(
                "Su participación por este medio requiere su consentimiento expreso, que se registrará al inicio de la sesión."
            )
        )
    else:
        story.append(_p(f"Lugar: {data['place']}."))
    story += [
        _p(f"Pretensiones: {data['claims']}"),
        _p(
            "Asista con su documento de identidad. Si actúa mediante representante, este deberá acreditar poder "
            "suficiente. La inasistencia de una parte a dos sesiones o de ambas a una sesión concluye el procedimiento."
        ),
        Spacer(1, 14 * mm),
        _p("______________________________", CENTER),
        _p(f"Conciliador — {data['conciliator']}", CENTER),
    ]
    doc.build(story)
    return buffer.getvalue()


SHORT_WAYS = {
    "acuerdo_total": "Acuerdo total",
    "acuerdo_parcial": "Acuerdo parcial",
    "falta_acuerdo": "Falta de acuerdo",
    "inasistencia_una_parte": "Inasistencia de una parte",
    "inasistencia_ambas": "Inasistencia de ambas",
    "decision_motivada": "Decisión motivada",
}
REGISTRY_HEADERS = [
    "N°",
    "Acta",
    "Fecha",
    "Expediente",
    "Materia",
    "Conclusión",
    "Estado",
    "SHA-256",
]


def render_registry_pdf(
    rows: list[dict[str, Any]], *, centre: str, year: int, institution: str
) -> bytes:
    """The registro de actas drawn straight on the canvas (10,000 rows in a few seconds;
    platypus tables are an order of magnitude slower at that size). A voided number's reason
    wraps onto as many lines as it needs."""
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen.canvas import Canvas

    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"Registro de actas {year}")
    canvas.setAuthor("ALEGRA")
    width, height = A4
    left, right, top, bottom = 16 * mm, width - 16 * mm, height - 16 * mm, 16 * mm
    columns = [0, 10, 28, 44, 78, 100, 127, 150]  # mm from the left margin
    xs = [left + c * mm for c in columns]
    status_width = (right - xs[7]) - 2
    font, size, leading = "Helvetica", 6.5, 8.2
    page = 0

    def header() -> float:
        nonlocal page
        page += 1
        canvas.setFont("Helvetica", 8)
        canvas.drawCentredString(width / 2, top, institution)
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawCentredString(
            width / 2, top - 13, f"REGISTRO DE ACTAS DE CONCILIACIÓN — {centre} — {year}"
        )
        canvas.setFont("Helvetica", 7)
        canvas.drawRightString(right, bottom - 8, f"Página {page}")
        y = top - 30
        canvas.setFont("Helvetica-Bold", size)
        labels = ["N°", "Acta", "Fecha", "Expediente", "Materia", "Conclusión", "SHA-256", "Estado"]
        for x, label in zip(xs, labels, strict=True):
            canvas.drawString(x, y, label)
        canvas.line(left, y - 2.5, right, y - 2.5)
        canvas.setFont(font, size)
        return y - leading - 2

    y = header()
    for row in rows:
        status_lines = simpleSplit(row["status"], font, size, status_width) or [""]
        needed = leading * len(status_lines)
        if y - needed < bottom:
            canvas.showPage()
            y = header()
        values = [
            str(row["number"]),
            row["number_text"],
            row["issued_on"],
            row["file_number"][:26],
            row["matter"][:18],
            SHORT_WAYS.get(row.get("way_code", ""), row["way"][:30]),
            row["sha256"][:16],
        ]
        for x, value in zip(xs, values, strict=False):
            canvas.drawString(x, y, value)
        for index, line in enumerate(status_lines):
            canvas.drawString(xs[7], y - index * leading, line)
        y -= needed
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def render_registry_xlsx(rows: list[dict[str, Any]], *, centre: str, year: int) -> bytes:
    from openpyxl import Workbook

    from central.core.spreadsheet import append_row

    book = Workbook(write_only=True)
    sheet = book.create_sheet(f"Registro {year}")
    append_row(sheet, [f"Registro de actas de conciliación — {centre} — {year}"])
    append_row(sheet, REGISTRY_HEADERS)
    for row in rows:
        append_row(
            sheet,
            [
                row["number"],
                row["number_text"],
                row["issued_on"],
                row["file_number"],
                row["matter"],
                row["way"],
                row["status"],
                row["sha256"],
            ],
        )
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
