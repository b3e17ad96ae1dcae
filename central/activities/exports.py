"""Exports of the supervision report: an Excel workbook (openpyxl) and a PDF (reportlab), both
in Spanish, built in memory from a SupervisionReport."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from sqlmodel import Session

from central.activities.schemas import (
    GROUP_LABELS_ES,
    ActivityType,
    SupervisionReport,
    SupervisionRow,
)
from central.core.spreadsheet import append_row, set_cell
from central.org.models import District, Sede

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MEDIA_TYPE = "application/pdf"
LIMA = ZoneInfo("America/Lima")


def scope_names(session: Session, report: SupervisionReport) -> str:
    """'Sede X', 'Dirección Y' or 'Nacional' (what the report covers), for titles."""
    if report.sede_id:
        sede = session.get(Sede, report.sede_id)
        return f"Sede: {sede.name if sede else report.sede_id}"
    if report.district_id:
        district = session.get(District, report.district_id)
        return f"Dirección distrital: {district.name if district else report.district_id}"
    return "Todas las sedes a su alcance"


def period(report: SupervisionReport) -> str:
    from central.activities.service import month_label

    if report.month_from == report.month_to:
        return month_label(report.month_from)
    return f"{month_label(report.month_from)} a {month_label(report.month_to)}"


def filename(report: SupervisionReport, kind: str) -> str:
    span = report.month_from + (
        "" if report.month_from == report.month_to else f"_{report.month_to}"
    )
    where = report.sede_id or report.district_id or "nacional"
    return f"supervision_{where}_{span}.{kind}"


def _generated() -> str:
    return datetime.now(UTC).astimezone(LIMA).strftime("%d/%m/%Y %H:%M")


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}"


HEAD_TYPES = [t for t in ActivityType]


def table_rows(report: SupervisionReport) -> tuple[list[str], list[list[object]]]:
    """Header and body rows shared by both exports (numbers stay numbers for Excel)."""
    header = [GROUP_LABELS_ES[report.group_by]]
    for figure in report.totals.figures:
        header += [f"{figure.label} prog.", f"{figure.label} ejec.", f"{figure.label} %"]
    header += [
        "Otras actividades",
        "Días trabajados",
        "Atenciones por día",
        "Tiempo medio de atención (min)",
        "Pausas (min)",
        "Expedientes abiertos",
        f"Carga (% de {report.workload_ceiling})",
        "Profesionales sobre el tope",
    ]
    body: list[list[object]] = []
    for row in [*report.rows, report.totals]:
        line: list[object] = [row.label]
        for figure in row.figures:
            line += [figure.planned, figure.executed, figure.compliance_pct]
        line += [
            row.other_activities,
            row.days_worked,
            row.attentions_per_day,
            row.avg_attention_minutes,
            row.pause_minutes,
            row.open_cases,
            row.workload_pct,
            row.over_ceiling_count,
        ]
        body.append(line)
    return header, body


def to_xlsx(report: SupervisionReport, *, institution: str, scope: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Supervisión"
    set_cell(sheet, 1, 1, "Programado frente a ejecutado")
    sheet["A1"].font = Font(bold=True, size=14)
    set_cell(sheet, 2, 1, institution)
    set_cell(
        sheet, 3, 1, f"{scope} · {period(report)} · por {GROUP_LABELS_ES[report.group_by].lower()}"
    )
    set_cell(sheet, 4, 1, f"Generado el {_generated()} (hora de Lima)")
    header, body = table_rows(report)
    first = 6
    fill = PatternFill("solid", fgColor="1F4E79")
    for index, name in enumerate(header, start=1):
        cell = set_cell(sheet, first, index, name)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for offset, line in enumerate(body, start=1):
        for index, value in enumerate(line, start=1):
            set_cell(sheet, first + offset, index, value)
        if offset == len(body):  # totals
            for index in range(1, len(line) + 1):
                sheet.cell(row=first + offset, column=index).font = Font(bold=True)
    sheet.column_dimensions["A"].width = 34
    for index in range(2, len(header) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 12
    sheet.row_dimensions[first].height = 48
    sheet.freeze_panes = sheet.cell(row=first + 1, column=2)

    # second sheet: totals by activity type, with a chart
    types = workbook.create_sheet("Por tipo")
    append_row(types, ["Tipo de actividad", "Programado", "Ejecutado", "Cumplimiento %"])
    for figure in report.totals.figures:
        append_row(types, [figure.label, figure.planned, figure.executed, figure.compliance_pct])
    types.column_dimensions["A"].width = 24
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Programado y ejecutado por tipo"
    data = Reference(types, min_col=2, max_col=3, min_row=1, max_row=1 + len(report.totals.figures))
    categories = Reference(types, min_col=1, min_row=2, max_row=1 + len(report.totals.figures))
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    chart.height, chart.width = 9, 18
    types.add_chart(chart, "F2")

    params = workbook.create_sheet("Parámetros")
    for item in (
        ("Desde", report.month_from),
        ("Hasta", report.month_to),
        ("Agrupado por", GROUP_LABELS_ES[report.group_by]),
        ("Alcance", scope),
        ("Tope de expedientes abiertos por profesional", report.workload_ceiling),
        ("Datos de cola (sedes sincronizadas)", "sí" if report.sources.get("queue") else "no"),
        ("Datos de expedientes", "sí" if report.sources.get("cases") else "no"),
    ):
        append_row(params, item)
    params.column_dimensions["A"].width = 46
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _short(row: SupervisionRow, width: int = 28) -> str:
    return row.label if len(row.label) <= width else row.label[: width - 1] + "…"


def to_pdf(report: SupervisionReport, *, institution: str, scope: str) -> bytes:
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title="Supervisión de actividades",
        author=institution,
    )
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=8)
    head = small.clone("head", textColor=colors.white, fontName="Helvetica-Bold")
    story = [
        Paragraph("Supervisión de actividades: programado frente a ejecutado", styles["Title"]),
        Paragraph(escape(institution), styles["Normal"]),
        Paragraph(
            f"{escape(scope)} · {period(report)} · por {GROUP_LABELS_ES[report.group_by].lower()} · "
            f"generado el {_generated()} (hora de Lima)",
            styles["Normal"],
        ),
        Spacer(1, 4 * mm),
    ]

    # planned vs executed per type (totals); reportlab draws the first category at the bottom
    figures = report.totals.figures
    bottom_up = list(reversed(figures))
    drawing = Drawing(260 * mm, 62 * mm)
    chart = HorizontalBarChart()
    chart.x, chart.y = 40 * mm, 6 * mm
    chart.width, chart.height = 170 * mm, 52 * mm
    # series 0 is drawn lowest in each group: executed first so "programado" reads on top
    chart.data = [[f.executed for f in bottom_up], [f.planned for f in bottom_up]]
    chart.categoryAxis.categoryNames = [f.label for f in bottom_up]
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#1F4E79")
    chart.bars[1].fillColor = colors.HexColor("#9DB9D5")
    chart.barSpacing = 1
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 215 * mm, 50 * mm
    legend.fontSize = 8
    legend.colorNamePairs = [
        (colors.HexColor("#9DB9D5"), "Programado"),
        (colors.HexColor("#1F4E79"), "Ejecutado"),
    ]
    drawing.add(legend)
    story += [drawing, Spacer(1, 4 * mm)]

    header = [Paragraph(GROUP_LABELS_ES[report.group_by], head)] + [
        Paragraph(f"{f.label}<br/>prog. / ejec. (%)", head) for f in figures
    ]
    header += [
        Paragraph("Atenc. por día", head),
        Paragraph("Min. por atención", head),
        Paragraph("Pausas (min)", head),
        Paragraph(f"Exp. abiertos (tope {report.workload_ceiling})", head),
    ]
    data: list[list[object]] = [header]
    for row in [*report.rows, report.totals]:
        line: list[object] = [_short(row)]
        for f in row.figures:
            pct = "" if f.compliance_pct is None else f" ({f.compliance_pct:.0f}%)"
            line.append(f"{f.planned} / {f.executed}{pct}")
        over = f" · {row.over_ceiling_count} sobre tope" if row.over_ceiling_count else ""
        line += [
            _num(row.attentions_per_day, 2),
            _num(row.avg_attention_minutes),
            _num(row.pause_minutes, 0),
            f"{row.open_cases}{over}",
        ]
        data.append(line)
    widths = [52 * mm] + [26 * mm] * len(figures) + [16 * mm, 17 * mm, 16 * mm, 25 * mm]
    table = Table(data, colWidths=widths, repeatRows=1)
    style = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1F4E79")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 7.5),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9AA5B1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -2), [colors.white, colors.HexColor("#F1F5F9")]),
    ]
    for index, row in enumerate(report.rows, start=1):
        if row.over_ceiling_count:
            style.append(("TEXTCOLOR", (-1, index), (-1, index), colors.HexColor("#B42318")))
    table.setStyle(TableStyle(style))
    story.append(table)
    if not report.rows:
        story.append(Paragraph("No hay programación ni actividad en el periodo.", styles["Normal"]))
    document.build(story)
    return buffer.getvalue()
