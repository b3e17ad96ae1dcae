"""The display's style sheet: display.qss filled with qtcommon's dark theme tokens."""

from __future__ import annotations

from pathlib import Path

from qtcommon.theme import DARK, Theme, render_qss

STYLES_DIR = Path(__file__).parent / "styles"

#: Two display-only shades on top of the theme (cell borders and side panels).
EXTRA_TOKENS = {"cell_border": "#2B4A80", "panel_bg": "#0E1930"}


def stylesheet(theme: Theme = DARK) -> str:
    path = STYLES_DIR / "display.qss"
    tokens = theme.tokens() | EXTRA_TOKENS
    return render_qss(path.read_text("utf-8"), tokens, source=path.name)
