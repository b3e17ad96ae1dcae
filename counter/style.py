"""The counter's theme: qtcommon's light theme at desktop size (staff sit at a PC with a
keyboard, so targets are smaller than the kiosk's but text stays large and contrasted)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from qtcommon.theme import LIGHT, Theme, apply_theme, build_stylesheet, qss_files

STYLES_DIR = Path(__file__).parent / "styles"

COUNTER_THEME: Theme = replace(LIGHT.scaled(0.75), touch_px=56, font_huge=120, name="counter")


def stylesheet(theme: Theme = COUNTER_THEME) -> str:
    return build_stylesheet(theme, qss_files(STYLES_DIR))


def apply(app, theme: Theme = COUNTER_THEME) -> str:  # noqa: ANN001 (QApplication)
    return apply_theme(app, theme, STYLES_DIR)
