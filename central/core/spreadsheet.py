"""Cells of every spreadsheet-bound export (XLSX and CSV), written one safe way: text that a
spreadsheet would run as a formula (= + - @ tab CR at the start) is written as text with a
leading apostrophe, and control characters (which openpyxl refuses with an exception) are
dropped. Numbers, dates and None pass unchanged."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from central.domain.text import strip_controls

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet must receive it."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS):
        # judge the first character before stripping: a leading tab or CR is itself a trigger
        return "'" + strip_controls(value)
    return strip_controls(value)


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


def set_cell(sheet: Any, row: int, column: int, value: Any) -> Any:
    """openpyxl ``sheet.cell(row, column, value)`` through :func:`safe_cell`; returns the cell
    (openpyxl stores a string starting with ``=`` as a formula; none is left after safe_cell)."""
    return sheet.cell(row=row, column=column, value=safe_cell(value))


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """openpyxl ``sheet.append(values)`` through :func:`safe_cell`."""
    sheet.append(safe_row(values))


def csv_text(fieldnames: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A CSV document (header first) with every cell through :func:`safe_cell`."""
    buffer = io.StringIO()
    write_csv(buffer, fieldnames, rows)
    return buffer.getvalue()


def write_csv(handle: Any, fieldnames: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """Write a CSV document to an open text handle; returns the number of data rows."""
    writer = csv.DictWriter(handle, fieldnames=list(fieldnames))
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({key: safe_cell(value) for key, value in row.items()})
        count += 1
    return count
