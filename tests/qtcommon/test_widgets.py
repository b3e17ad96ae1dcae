"""Shared widgets and the offscreen PNG helper."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtGui import QImage

from qtcommon.i18n import Translator
from qtcommon.screenshot import distinct_colours, save_png
from qtcommon.theme import LIGHT, theme_applied
from qtcommon.widgets import ConnectionBanner, HeaderBar


def test_header_shows_lima_time_and_renders(qtbot, qapp, tmp_path):
    with theme_applied(qapp, LIGHT):
        check_header(qtbot, tmp_path)


def check_header(qtbot, tmp_path):
    tr = Translator.load()
    header = HeaderBar(tr, now=lambda: datetime(2026, 11, 27, 15, 5, tzinfo=UTC))
    qtbot.addWidget(header)
    header.set_title("Centro ALEGRA Lima Cercado")
    assert header.clock.text() == "viernes 27 de noviembre  10:05"
    path = save_png(header, tmp_path / "header.png", (1280, 100))
    image = QImage(str(path))
    assert (image.width(), image.height()) == (1280, 100)
    assert distinct_colours(image, step=4) > 2


def test_banner_visible_only_when_disconnected(qtbot):
    banner = ConnectionBanner(Translator.load())
    qtbot.addWidget(banner)
    banner.set_connected(False)
    assert not banner.isHidden()
    assert banner.text() == "Sin conexión con el servidor de la sede"
    banner.set_connected(True)
    assert banner.isHidden()
