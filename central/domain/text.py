"""Constrained text for the API's names and free text: control characters are refused at the
door (a BEL in a name made the XLSX export fail with a 500), and stripped again on export for
rows stored before this rule or arriving from a hub."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators: never part of a name
_LINE_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# free text may keep its line breaks and tabs
_TEXT_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_MESSAGE = "no debe contener caracteres de control"


def _no_line_controls(value: str) -> str:
    if _LINE_CONTROLS.search(value):
        raise ValueError(CONTROL_MESSAGE)
    return value


def _no_text_controls(value: str) -> str:
    if _TEXT_CONTROLS.search(value):
        raise ValueError(CONTROL_MESSAGE)
    return value


def Line(*, max_length: int, min_length: int = 0) -> object:  # noqa: N802
    """A one-line name or label: stripped, length-bounded, no control characters at all."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_no_line_controls),
    ]


def Text(*, max_length: int, min_length: int = 0, strip: bool = True) -> object:  # noqa: N802
    """Free text (notes, reasons, bodies): line breaks and tabs allowed, other controls not."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=strip, min_length=min_length, max_length=max_length),
        AfterValidator(_no_text_controls),
    ]


def strip_controls(value: str) -> str:
    """What an export writes: the text without control characters (line breaks kept)."""
    return _TEXT_CONTROLS.sub("", value)
