"""Server-side SVG charts of the supervision dashboard (no JavaScript, nothing from a CDN; the
page's CSP forbids inline styles, so colours are SVG presentation attributes)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from central.activities.schemas import SupervisionRow, TypeFigures

PLANNED = "#9DB9D5"
EXECUTED = "#1F4E79"
OVER = "#B42318"
GRID = "#CBD2D9"
INK = "#1F2933"
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


def _bar_width(value: float, scale: float, width: float) -> float:
    return 0.0 if scale <= 0 else max(0.0, min(width, width * value / scale))


def _svg(width: int, height: int, title: str, body: list[str], chart_id: str) -> Markup:
    # every text inside comes from escape() or numbers formatted here
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title" {FONT} font-size="13">'
        f'<title id="{chart_id}-title">{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def _legend(x: float, y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    parts = []
    for color, label in items:
        parts.append(f'<rect x="{x:.0f}" y="{y - 10:.0f}" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{x + 17:.0f}" y="{y:.0f}" fill="{INK}">{escape(label)}</text>')
        x += 30 + 8 * len(label)
    return parts


def planned_vs_executed(figures: Sequence[TypeFigures]) -> Markup:
    """Grouped horizontal bars per activity type: programmed and executed."""
    label_w, bar_w, row_h = 170, 420, 46
    width, height = label_w + bar_w + 90, 40 + row_h * len(figures)
    scale = max([f.planned for f in figures] + [f.executed for f in figures] + [1])
    body = _legend(label_w, 18, [(PLANNED, "Programado"), (EXECUTED, "Ejecutado")])
    for index, figure in enumerate(figures):
        top = 34 + index * row_h
        body.append(
            f'<text x="{label_w - 8}" y="{top + 22}" text-anchor="end" fill="{INK}">'
            f"{escape(figure.label)}</text>"
        )
        for offset, (value, color) in enumerate(
            ((figure.planned, PLANNED), (figure.executed, EXECUTED))
        ):
            y = top + 4 + offset * 18
            w = _bar_width(value, scale, bar_w)
            body.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="16" fill="{color}">'
                f"<title>{'Programado' if offset == 0 else 'Ejecutado'}: {value}</title></rect>"
            )
            body.append(
                f'<text x="{label_w + w + 5:.1f}" y="{y + 13}" fill="{INK}" font-size="12">'
                f"{value}</text>"
            )
        if figure.compliance_pct is not None:
            body.append(
                f'<text x="{width - 4}" y="{top + 22}" text-anchor="end" font-weight="bold" '
                f'fill="{EXECUTED}">{figure.compliance_pct:.0f}%</text>'
            )
    return _svg(width, height, "Programado y ejecutado por tipo de actividad", body, "chart-types")


def compliance_by_row(rows: Sequence[SupervisionRow], activity_index: int = 0) -> Markup:
    """Compliance (executed / programmed) of one activity type per row, with the 100% line."""
    label_w, bar_w, row_h = 230, 400, 28
    shown = rows[:40]
    width, height = label_w + bar_w + 70, 44 + row_h * max(1, len(shown))
    top_pct = 150.0
    type_label = shown[0].figures[activity_index].label if shown else "Atenciones"
    body = [
        f'<text x="{label_w}" y="16" fill="{INK}" font-weight="bold">'
        f"Cumplimiento de {escape(type_label.lower())} (ejecutado / programado)</text>"
    ]
    hundred = label_w + bar_w * 100 / top_pct
    for index, row in enumerate(shown):
        figure = row.figures[activity_index]
        y = 30 + index * row_h
        label = row.label if len(row.label) <= 30 else row.label[:29] + "…"
        body.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" fill="{INK}">'
            f"{escape(label)}</text>"
        )
        if figure.compliance_pct is None:
            body.append(
                f'<text x="{label_w + 4}" y="{y + 15}" fill="#52606D" font-size="12">'
                f"sin meta ({figure.executed} ejecutadas)</text>"
            )
            continue
        w = _bar_width(figure.compliance_pct, top_pct, bar_w)
        color = EXECUTED if figure.compliance_pct >= 100 else PLANNED
        body.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="18" fill="{color}">'
            f"<title>{figure.executed} de {figure.planned}</title></rect>"
        )
        body.append(
            f'<text x="{label_w + w + 5:.1f}" y="{y + 16}" fill="{INK}" font-size="12">'
            f"{figure.compliance_pct:.0f}%</text>"
        )
    body.append(
        f'<line x1="{hundred:.1f}" y1="24" x2="{hundred:.1f}" y2="{height - 4}" '
        f'stroke="{INK}" stroke-dasharray="4 3"/>'
        f'<text x="{hundred + 3:.1f}" y="{height - 6}" fill="{INK}" font-size="11">100%</text>'
    )
    return _svg(width, height, f"Cumplimiento de {type_label.lower()}", body, "chart-compliance")


def _load(row: SupervisionRow, ceiling: int) -> float:
    """Open files per professional carrying files (a professional's own count on their row)."""
    return 0.0 if row.workload_pct is None else row.workload_pct * ceiling / 100


def workload(rows: Sequence[SupervisionRow], ceiling: int) -> Markup:
    """Open case files per professional against the ceiling (rows over it in red); sede and
    district rows show the average per professional carrying files."""
    label_w, bar_w, row_h = 230, 400, 28
    shown = [row for row in rows if row.open_cases][:40]
    width, height = label_w + bar_w + 90, 44 + row_h * max(1, len(shown))
    scale = max([_load(row, ceiling) for row in shown] + [ceiling * 1.25])
    body = [
        f'<text x="{label_w}" y="16" fill="{INK}" font-weight="bold">'
        f"Expedientes abiertos por profesional (tope {ceiling})</text>"
    ]
    if not shown:
        body.append(
            f'<text x="{label_w}" y="42" fill="#52606D">No hay expedientes abiertos asignados.</text>'
        )
    for index, row in enumerate(shown):
        y = 30 + index * row_h
        label = row.label if len(row.label) <= 30 else row.label[:29] + "…"
        value = _load(row, ceiling)
        w = _bar_width(value, scale, bar_w)
        over = row.over_ceiling_count > 0
        body.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" fill="{INK}">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="18" '
            f'fill="{OVER if over else EXECUTED}"><title>{row.open_cases} abiertos</title></rect>'
            f'<text x="{label_w + w + 5:.1f}" y="{y + 16}" fill="{OVER if over else INK}" '
            f'font-size="12">{value:.0f}{" (sobre el tope)" if over else ""}</text>'
        )
    if shown:
        line_x = label_w + _bar_width(ceiling, scale, bar_w)
        body.append(
            f'<line x1="{line_x:.1f}" y1="24" x2="{line_x:.1f}" y2="{height - 4}" '
            f'stroke="{OVER}" stroke-dasharray="4 3"/>'
            f'<text x="{line_x + 3:.1f}" y="{height - 6}" fill="{OVER}" font-size="11">'
            f"tope {ceiling}</text>"
        )
    return _svg(width, height, "Carga de expedientes abiertos", body, "chart-workload")
