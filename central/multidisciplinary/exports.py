"""The supervisor's production report as XLSX (by professional and service type, with a bar
chart of signed reports)."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from typing import Any

from central.core.spreadsheet import set_cell
from central.multidisciplinary import catalogues as cat

HEADER = [
    "Profesional",
    "Servicio",
    "Asignadas",
    "Informes firmados",
    "Firmados a tiempo",
    "Sesiones realizadas",
    "Inasistencias",
]


def production_xlsx(rows: list[dict[str, Any]], *, date_from: date, date_to: date) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Producción"
    sheet["A1"] = "Producción de servicios multidisciplinarios"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = f"Del {date_from:%d/%m/%Y} al {date_to:%d/%m/%Y}"
    first = 4
    for index, name in enumerate(HEADER, start=1):
        set_cell(sheet, first, index, name).font = Font(bold=True)
    for offset, row in enumerate(rows, start=1):
        values = [
            row["professional"],
            cat.SERVICE_LABELS_ES.get(row["service_type"], row["service_type"]),
            row["assigned"],
            row["signed"],
            row["on_time"],
            row["sessions_held"],
            row["no_shows"],
        ]
        for index, value in enumerate(values, start=1):
            set_cell(sheet, first + offset, index, value)
    sheet.column_dimensions["A"].width = 32
    sheet.column_dimensions["B"].width = 40
    if rows:
        chart = BarChart()
        chart.title = "Informes firmados"
        data = Reference(sheet, min_col=4, min_row=first, max_row=first + len(rows))
        labels = Reference(sheet, min_col=1, min_row=first + 1, max_row=first + len(rows))
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(labels)
        sheet.add_chart(chart, f"I{first}")
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
