"""Render widgets offscreen to PNG (tests, ``alegra screens``, docs)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget


def ensure_app() -> QApplication:
    """The running QApplication, or a new one (offscreen when there is no display)."""
    import os

    app = QApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([])
    return app  # type: ignore[return-value]


def grab(widget: QWidget, size: QSize | tuple[int, int]) -> QImage:
    """Lay ``widget`` out at ``size`` without showing it on a real screen and paint it."""
    if isinstance(size, tuple):
        size = QSize(*size)
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    widget.resize(size)
    widget.show()
    app = QApplication.instance()
    for _ in range(3):  # layouts settle over a couple of passes
        app.processEvents()
    widget.resize(size)
    app.processEvents()
    return widget.grab().toImage()


def save_png(widget: QWidget, path: Path | str, size: QSize | tuple[int, int]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = grab(widget, size)
    if not image.save(str(path), "PNG"):
        raise OSError(f"no se pudo guardar {path}")
    return path


def distinct_colours(image: QImage, step: int = 16) -> int:
    """How many different colours a sparse sample of ``image`` holds (a blank frame has 1)."""
    colours = set()
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            colours.add(image.pixel(x, y))
    return len(colours)
