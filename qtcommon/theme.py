"""Theme tokens (colours, font sizes, spacing, touch-target size) and the QSS built from them.

Style sheets are plain QSS files read in order (shared ``qtcommon/styles/*.qss`` first, then the
app's own) with ``${token}`` placeholders; widgets are targeted by ``objectName``. An unknown
token is an error at start-up, not a silently unstyled screen.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

STYLES_DIR = Path(__file__).parent / "styles"
MM_PER_INCH = 25.4
DEFAULT_DPI = 96.0  # what offscreen / unknown screens get
MIN_TOUCH_MM = 20.0  # accessibility floor for the kiosk (older people, shaky hands)


def mm_to_px(mm: float, dpi: float) -> int:
    return round(mm / MM_PER_INCH * dpi)


def sane_dpi(dpi: float | None) -> float:
    """Screens (and the offscreen platform) sometimes report nonsense; fall back to 96."""
    if dpi is None or not 60.0 <= dpi <= 400.0:
        return DEFAULT_DPI
    return float(dpi)


def screen_dpi(screen=None) -> float:  # noqa: ANN001  (QScreen; imported lazily)
    """Physical DPI of ``screen`` (the primary one by default) or the sane default."""
    try:
        from PySide6.QtGui import QGuiApplication

        screen = screen or QGuiApplication.primaryScreen()
        return sane_dpi(screen.physicalDotsPerInch() if screen else None)
    except (ImportError, RuntimeError):
        return DEFAULT_DPI


@dataclass(frozen=True)
class Theme:
    name: str
    # colours (contrast of text on its background >= 7:1, WCAG AAA)
    bg: str
    fg: str
    surface: str
    border: str
    muted: str
    primary: str
    on_primary: str
    primary_pressed: str
    accent: str
    on_accent: str
    danger: str
    on_danger: str
    success: str
    on_success: str
    disabled_bg: str
    disabled_fg: str
    # font sizes in px
    font_family: str = "DejaVu Sans"
    font_small: int = 22
    font_base: int = 30
    font_large: int = 40
    font_xlarge: int = 56
    font_huge: int = 150
    font_giant: int = 240  # a ticket number that must be read at arm's length or across a room
    # spacing in px
    space_s: int = 12
    space_m: int = 24
    space_l: int = 40
    radius: int = 16
    border_width: int = 3
    # touch targets
    touch_px: int = mm_to_px(MIN_TOUCH_MM, DEFAULT_DPI)

    def tokens(self) -> dict[str, str]:
        values = {key: str(value) for key, value in asdict(self).items()}
        big = round(self.touch_px * 1.6)
        values["touch_big_px"] = str(big)
        # QSS min-height counts the content box only: take the borders off so the whole
        # target (border included) is touch_px, and keep vertical padding at 0 for targets.
        values["touch_content_px"] = str(self.touch_px - 2 * self.border_width)
        values["touch_big_content_px"] = str(big - 2 * self.border_width)
        # a round status badge (a big "!" or clock on message screens)
        badge = round(self.touch_px * 2.4)
        values["badge_px"] = str(badge)
        values["badge_radius_px"] = str(badge // 2)
        return values

    def for_dpi(self, dpi: float | None, *, min_touch_mm: float = MIN_TOUCH_MM) -> Theme:
        """The same theme with touch targets of at least ``min_touch_mm`` on a ``dpi`` screen."""
        return replace(self, touch_px=max(mm_to_px(min_touch_mm, sane_dpi(dpi)), 48))

    def scaled(self, factor: float) -> Theme:
        """Fonts and spacing scaled (e.g. for a 4K TV); touch size is kept in millimetres."""

        def scale(value: int) -> int:
            return max(1, round(value * factor))

        return replace(
            self,
            font_small=scale(self.font_small),
            font_base=scale(self.font_base),
            font_large=scale(self.font_large),
            font_xlarge=scale(self.font_xlarge),
            font_huge=scale(self.font_huge),
            font_giant=scale(self.font_giant),
            space_s=scale(self.space_s),
            space_m=scale(self.space_m),
            space_l=scale(self.space_l),
            radius=scale(self.radius),
        )


#: Dark text on white, deep blue buttons with white text: the kiosk and counter default.
LIGHT = Theme(
    name="light",
    bg="#FFFFFF",
    fg="#111111",
    surface="#EEF1F6",
    border="#111111",
    muted="#333333",
    primary="#0B3D91",
    on_primary="#FFFFFF",
    primary_pressed="#062663",
    accent="#FFD100",
    on_accent="#111111",
    danger="#A50016",
    on_danger="#FFFFFF",
    success="#1B5E20",
    on_success="#FFFFFF",
    disabled_bg="#D0D4DA",
    disabled_fg="#333333",
)

#: White and yellow on near-black: the waiting-room TV default (readable from afar).
DARK = Theme(
    name="dark",
    bg="#000000",
    fg="#FFFFFF",
    surface="#14213D",
    border="#FFFFFF",
    muted="#E0E0E0",
    primary="#FFD100",
    on_primary="#000000",
    primary_pressed="#C9A400",
    accent="#FFD100",
    on_accent="#000000",
    danger="#FF5C5C",
    on_danger="#000000",
    success="#7CFC8A",
    on_success="#000000",
    disabled_bg="#333333",
    disabled_fg="#E0E0E0",
)

THEMES: dict[str, Theme] = {LIGHT.name: LIGHT, DARK.name: DARK}


def render_qss(text: str, tokens: Mapping[str, str], *, source: str = "<qss>") -> str:
    try:
        return string.Template(text).substitute(tokens)
    except KeyError as exc:
        raise ValueError(f"{source}: token de tema desconocido {exc.args[0]!r}") from None
    except ValueError as exc:  # a lone "$"
        raise ValueError(f"{source}: {exc}") from None


def qss_files(*dirs: Path) -> list[Path]:
    """The shared style files, then each directory's ``*.qss`` in name order."""
    files = sorted(STYLES_DIR.glob("*.qss"))
    for directory in dirs:
        files += sorted(Path(directory).glob("*.qss"))
    return files


def build_stylesheet(theme: Theme, files: Iterable[Path]) -> str:
    tokens = theme.tokens()
    parts = []
    for path in files:
        parts.append(
            f"/* {path.name} */\n" + render_qss(path.read_text("utf-8"), tokens, source=path.name)
        )
    return "\n".join(parts)


def apply_theme(app, theme: Theme, *style_dirs: Path) -> str:  # noqa: ANN001  (QApplication)
    """Set the application's font and style sheet; return the sheet (handy in tests)."""
    from PySide6.QtGui import QFont

    font = QFont(theme.font_family)
    font.setPixelSize(theme.font_base)
    app.setFont(font)
    sheet = build_stylesheet(theme, qss_files(*style_dirs))
    app.setStyleSheet(sheet)
    return sheet


@contextmanager
def theme_applied(app, theme: Theme, *style_dirs: Path) -> Iterator[str]:  # noqa: ANN001
    """``apply_theme`` for a while (screenshots, tests), then the app's font and sheet back."""
    font, sheet = app.font(), app.styleSheet()
    try:
        yield apply_theme(app, theme, *style_dirs)
    finally:
        app.setStyleSheet(sheet)
        app.setFont(font)
