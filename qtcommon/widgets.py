"""Small dumb widgets every app shares: the header bar and the connection banner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from qtcommon.clock import format_date, format_time, now_utc
from qtcommon.i18n import Translator


class HeaderBar(QWidget):
    """Sede name on the left, Lima date and time on the right (``#header`` in QSS)."""

    def __init__(
        self,
        tr: Translator,
        *,
        now: Callable[[], datetime] = now_utc,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("header")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._tr = tr
        self._now = now
        self.title = QLabel(objectName="headerTitle")
        # a long sede name is clipped rather than widening the window past the screen
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.clock = QLabel(objectName="headerClock")
        self.clock.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.addWidget(self.title, 1)
        layout.addWidget(self.clock)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh_clock)
        self._timer.start(1000)
        self.refresh_clock()

    def set_title(self, text: str) -> None:
        self.title.setText(text)

    def refresh_clock(self) -> None:
        moment = self._now()
        self.clock.setText(f"{format_date(moment, self._tr)}  {format_time(moment)}")


class ConnectionBanner(QLabel):
    """A red strip saying the hub is unreachable; hidden while connected."""

    def __init__(self, tr: Translator, parent: QWidget | None = None) -> None:
        super().__init__(tr("conn.offline"), parent)
        self.setObjectName("connectionBanner")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setVisible(False)

    def set_connected(self, connected: bool) -> None:
        self.setVisible(not connected)
