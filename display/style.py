"""Theme tokens of the display and the loader that fills them into display.qss."""

from __future__ import annotations

import re
from pathlib import Path

STYLES_DIR = Path(__file__).parent / "styles"

#: Dark theme for a TV: contrast ratios above 7:1 for all text on its background.
TOKENS: dict[str, str] = {
    "bg": "#0b1f3a",
    "bar_bg": "#06152a",
    "panel_bg": "#12294a",
    "cell_bg": "#163563",
    "cell_border": "#1f4680",
    "fg": "#ffffff",
    "fg_soft": "#dce6f5",
    "muted": "#9fb3d1",
    "accent": "#ffc233",
    "accent_fg": "#0b1f3a",
    "warning": "#ff8a80",
    "ticker_bg": "#ffc233",
    "ticker_fg": "#0b1f3a",
}


def fill_tokens(qss: str, tokens: dict[str, str]) -> str:
    """Replace ``@name`` with its token; an unknown token is an error, not a silent blank."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in tokens:
            raise KeyError(f"unknown theme token @{name}")
        return tokens[name]

    return re.sub(r"@([a-z_][a-z0-9_]*)", replace, qss)


def stylesheet(tokens: dict[str, str] | None = None) -> str:
    qss = (STYLES_DIR / "display.qss").read_text(encoding="utf-8")
    return fill_tokens(qss, TOKENS | (tokens or {}))
