"""Widgets of the waiting-room display (1920x1080 design, scales to any TV). Dumb: they render
DisplayViewModel and hold no logic beyond layout; styles come from display/styles/display.qss."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from contracts.messages import CallView
from display.viewmodel import CallsLayout, DisplayViewModel
from qtcommon.i18n import Translator

DESIGN_WIDTH = 1920
DESIGN_HEIGHT = 1080


def _restyle(widget: QWidget) -> None:
    """Re-apply QSS after a dynamic property changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class FitLabel(QLabel):
    """A label whose font shrinks so the text always fits its box (never clipped), up to
    ``max_ratio`` of the box height. Used for every large text on the TV."""

    def __init__(
        self, text: str = "", *, max_ratio: float = 0.8, bold: bool = True, parent=None
    ) -> None:
        super().__init__(text, parent)
        self._max_ratio = max_ratio
        self._bold = bold
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(1, 1)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt API)
        super().setText(text)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        rect = self.contentsRect()
        if rect.width() < 4 or rect.height() < 4:
            return
        font = QFont(self.font())
        font.setBold(self._bold)
        size = max(6, int(rect.height() * self._max_ratio))
        text = self.text() or " "
        while size > 6:
            font.setPixelSize(size)
            metrics = QFontMetrics(font)
            if (
                metrics.horizontalAdvance(text) <= rect.width() * 0.96
                and metrics.height() <= rect.height()
            ):
                break
            size = int(size * 0.92)
        font.setPixelSize(size)
        super().setFont(font)


class CallCell(QFrame):
    """One current call: the big ticket number and its counter."""

    def __init__(self, tr: Translator, parent=None) -> None:
        super().__init__(parent)
        self._tr = tr
        self.setObjectName("callCell")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(24, 6, 24, 6)
        layout.setSpacing(24)
        self.number = FitLabel(max_ratio=0.82)
        self.number.setObjectName("callNumber")
        self.number.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.counter = FitLabel(max_ratio=0.6)
        self.counter.setObjectName("callCounter")
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.number, 5)
        layout.addWidget(self.counter, 6)

    def show_call(
        self, call: CallView | None, *, highlighted: bool, flash_on: bool, short: bool = False
    ) -> None:
        self.number.setText(call.number if call else "")
        if call is None:
            self.counter.setText("")
        else:  # narrow grid cells: "Vent. 13" reads larger than "Ventanilla 13"
            self.counter.setText(
                self._tr("display.counter_short", number=call.counter_number)
                if short
                else call.counter_name
            )
        self.setProperty("empty", call is None)
        self.setProperty("highlight", highlighted)
        self.setProperty("flash", highlighted and flash_on)
        _restyle(self)
        for label in (self.number, self.counter):
            _restyle(label)


class CallBanner(QFrame):
    """With many counters a grid cell is small: a new call also shows in a wide banner over
    the middle of the grid while it flashes, so it can be read from the back of the room."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("callBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(40, 10, 40, 10)
        layout.setSpacing(40)
        self.number = FitLabel(max_ratio=0.8)
        self.number.setObjectName("bannerNumber")
        self.number.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.counter = FitLabel(max_ratio=0.6)
        self.counter.setObjectName("bannerCounter")
        self.counter.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.number, 5)
        layout.addWidget(self.counter, 7)
        self.hide()

    def show_call(self, call: CallView | None) -> None:
        if call is None:
            self.hide()
            return
        self.number.setText(call.number)
        self.counter.setText(call.counter_name)
        self.place()
        self.show()
        self.raise_()

    def place(self) -> None:
        parent = self.parentWidget()
        height = max(60, parent.height() // 3)
        self.setGeometry(0, (parent.height() - height) // 2, parent.width(), height)


class CurrentCallsPanel(QFrame):
    """The current calls: one column of very large rows, or a grid with many counters."""

    def __init__(self, tr: Translator, parent=None) -> None:
        super().__init__(parent)
        self._tr = tr
        self.setObjectName("currentPanel")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(8)
        header = QHBoxLayout()
        self.title_number = QLabel(tr("display.header.ticket"))
        self.title_number.setObjectName("panelHeader")
        self.title_counter = QLabel(tr("display.header.counter"))
        self.title_counter.setObjectName("panelHeader")
        self.title_counter.setAlignment(Qt.AlignmentFlag.AlignRight)
        header.addWidget(self.title_number)
        header.addStretch(1)
        self.page_label = QLabel("")
        self.page_label.setObjectName("pageLabel")
        header.addWidget(self.page_label)
        header.addStretch(1)
        header.addWidget(self.title_counter)
        header.setContentsMargins(24, 0, 24, 0)
        outer.addLayout(header)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(10)
        outer.addWidget(self.grid_host, 1)
        self.empty_label = QLabel(tr("display.empty"))
        self.empty_label.setObjectName("emptyLabel")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(self.empty_label, 1)
        self.cells: list[CallCell] = []
        self._layout: CallsLayout | None = None
        self.banner = CallBanner(self.grid_host)

    def show_banner(self, call: CallView | None) -> None:
        """Only the grid needs it: in the list each row is already as large as a banner."""
        grid = self._layout is not None and self._layout.mode == "grid"
        self.banner.show_call(call if grid else None)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self.banner.isVisible():
            self.banner.place()

    def render_calls(
        self,
        calls: list[CallView],
        layout: CallsLayout,
        *,
        is_highlighted,
        flash_on: bool,
    ) -> None:
        if layout != self._layout:
            self._rebuild(layout)
        for index, cell in enumerate(self.cells):
            call = calls[index] if index < len(calls) else None
            cell.show_call(
                call,
                highlighted=bool(call and is_highlighted(call)),
                flash_on=flash_on,
                short=layout.columns >= 2,
            )
        self.grid_host.setVisible(bool(calls))
        self.empty_label.setVisible(not calls)
        self.title_counter.setVisible(layout.columns == 1)
        self.title_number.setVisible(True)
        self.page_label.setText(
            self._tr("display.page", page=layout.page + 1, pages=layout.pages)
            if layout.pages > 1
            else ""
        )

    def _rebuild(self, layout: CallsLayout) -> None:
        for cell in self.cells:
            self.grid.removeWidget(cell)
            cell.hide()
            cell.deleteLater()
        self.cells = []
        if self._layout is not None:  # forget the old shape's stretches
            for row in range(self._layout.rows):
                self.grid.setRowStretch(row, 0)
            for column in range(self._layout.columns):
                self.grid.setColumnStretch(column, 0)
        for index in range(layout.per_page):
            cell = CallCell(self._tr)
            cell.setProperty("grid", layout.mode == "grid")
            # column-major: numbers read top to bottom, then the next column
            column, row = divmod(index, layout.rows)
            self.grid.addWidget(cell, row, column)
            self.cells.append(cell)
        for row in range(layout.rows):
            self.grid.setRowStretch(row, 1)
        for column in range(layout.columns):
            self.grid.setColumnStretch(column, 1)
        self._layout = layout


class RecentPanel(QFrame):
    """Last calls, newest first."""

    ROWS = 6

    def __init__(self, tr: Translator, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("sidePanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 12, 20, 12)
        layout.setSpacing(4)
        title = QLabel(tr("display.recent"))
        title.setObjectName("sideTitle")
        layout.addWidget(title)
        self.rows: list[tuple[FitLabel, FitLabel]] = []
        for _ in range(self.ROWS):
            row = QHBoxLayout()
            number = FitLabel(max_ratio=0.7)
            number.setObjectName("recentNumber")
            counter = FitLabel(max_ratio=0.55, bold=False)
            counter.setObjectName("recentCounter")
            counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            row.addWidget(number, 4)
            row.addWidget(counter, 6)
            layout.addLayout(row, 1)
            self.rows.append((number, counter))

    def render_recent(self, calls: list[CallView]) -> None:
        for index, (number, counter) in enumerate(self.rows):
            call = calls[index] if index < len(calls) else None
            number.setText(call.number if call else "")
            counter.setText(call.counter_name if call else "")


class WaitingPanel(QFrame):
    """People waiting per service."""

    def __init__(self, tr: Translator, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("sidePanel")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(20, 12, 20, 12)
        self.layout_.setSpacing(4)
        title = QLabel(tr("display.waiting"))
        title.setObjectName("sideTitle")
        self.layout_.addWidget(title)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(16)
        self.layout_.addLayout(self.grid, 1)
        self._labels: list[tuple[QLabel, QLabel]] = []

    def render_waiting(self, rows: list[tuple[str, int]]) -> None:
        # labels are reused (a refresh happens every flash): no churn, no stale ghosts
        while len(self._labels) < len(rows):
            index = len(self._labels)
            name_label = QLabel("")
            name_label.setObjectName("waitingName")
            count_label = QLabel("")
            count_label.setObjectName("waitingCount")
            count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.grid.addWidget(name_label, index, 0)
            self.grid.addWidget(count_label, index, 1)
            self._labels.append((name_label, count_label))
        for index, (name_label, count_label) in enumerate(self._labels):
            visible = index < len(rows)
            name_label.setVisible(visible)
            count_label.setVisible(visible)
            if visible:
                name_label.setText(rows[index][0])
                count_label.setText(str(rows[index][1]))


class Ticker(QWidget):
    """Messages scrolling right to left along the bottom of the screen."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ticker")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._text = ""
        self._offset = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(33)
        self._timer.timeout.connect(self._advance)

    def set_messages(self, messages: list[str]) -> None:
        text = "     •     ".join(messages)
        if text != self._text:
            self._text = text
            self._offset = 0.0
        self.setVisible(bool(text))
        if text and not self._timer.isActive():
            self._timer.start()
        elif not text:
            self._timer.stop()
        self.update()

    @property
    def text(self) -> str:
        return self._text

    def _advance(self) -> None:
        self._offset += max(2.0, self.height() / 30)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if not self._text:
            return
        painter = QPainter(self)
        font = QFont(self.font())
        font.setPixelSize(max(10, int(self.height() * 0.5)))
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(self.palette().windowText().color())
        gap = self.width() // 3
        width = QFontMetrics(font).horizontalAdvance(self._text) + gap
        # starts at the left margin and loops seamlessly (the text is drawn twice)
        x = self.height() // 3 - (self._offset % width)
        while x < self.width():
            painter.drawText(
                QRect(int(x), 0, width, self.height()),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                self._text,
            )
            x += width
        painter.end()


class DisplayWindow(QWidget):
    """The whole TV screen."""

    def __init__(self, model: DisplayViewModel, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.tr_ = model.tr
        self.setObjectName("displayRoot")
        self.setWindowTitle(self.tr_("display.window_title"))
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)

        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)

        top = QFrame()
        top.setObjectName("topBar")
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(32, 8, 32, 8)
        self.sede_label = QLabel("")
        self.sede_label.setObjectName("sedeName")
        self.connection_label = QLabel("")
        self.connection_label.setObjectName("connectionIndicator")
        self.date_label = QLabel("")
        self.date_label.setObjectName("dateLabel")
        self.clock_label = QLabel("")
        self.clock_label.setObjectName("clockLabel")
        top_layout.addWidget(self.sede_label, 1)
        top_layout.addWidget(self.connection_label)
        top_layout.addSpacing(24)
        top_layout.addWidget(self.date_label)
        top_layout.addSpacing(24)
        top_layout.addWidget(self.clock_label)
        root.addWidget(top)

        body = QHBoxLayout()
        body.setContentsMargins(24, 16, 24, 16)
        body.setSpacing(24)
        self.current_panel = CurrentCallsPanel(self.tr_)
        body.addWidget(self.current_panel, 64)
        side = QVBoxLayout()
        side.setSpacing(16)
        self.recent_panel = RecentPanel(self.tr_)
        self.waiting_panel = WaitingPanel(self.tr_)
        side.addWidget(self.recent_panel, 6)
        side.addWidget(self.waiting_panel, 4)
        body.addLayout(side, 36)
        root.addLayout(body, 1)

        self.ticker = Ticker()
        root.addWidget(self.ticker)

        self._flash_on = True
        self._flash_timer = QTimer(self)
        self._flash_timer.setInterval(500)
        self._flash_timer.timeout.connect(self._toggle_flash)

        model.state_changed.connect(self.refresh)
        model.layout_changed.connect(lambda _layout: self.refresh())
        model.highlight_changed.connect(self._on_highlight)
        model.connection_changed.connect(self._on_connection)
        model.clock_changed.connect(self._on_clock)
        self._on_connection(model.connected)
        self._on_clock(*model.clock_text())
        self.refresh()

    # scale fixed sizes (bars, margins) with the screen; FitLabels scale themselves
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        scale = min(self.width() / DESIGN_WIDTH, self.height() / DESIGN_HEIGHT)
        self.setStyleSheet(_scaled_sizes(scale))
        self.ticker.setFixedHeight(max(24, int(84 * scale)))

    def refresh(self) -> None:
        model = self.model
        self.sede_label.setText(model.sede_name)
        self.current_panel.render_calls(
            model.current_page(),
            model.layout,
            is_highlighted=model.is_highlighted,
            flash_on=self._flash_on,
        )
        self.recent_panel.render_recent(model.recent)
        self.waiting_panel.render_waiting(model.waiting_rows())
        self.ticker.set_messages(model.messages)

    def _on_highlight(self, call: CallView | None) -> None:
        self._flash_on = True
        self.current_panel.show_banner(call)
        if call is None:
            self._flash_timer.stop()
        else:
            self._flash_timer.start()
        self.refresh()

    def _toggle_flash(self) -> None:
        self._flash_on = not self._flash_on
        self.refresh()

    def _on_connection(self, connected: bool) -> None:
        # discreet: a small line in the top bar; the last state stays on screen
        self.connection_label.setText("" if connected else self.tr_("display.offline"))
        self.connection_label.setVisible(not connected)

    def _on_clock(self, time_text: str, date_text: str) -> None:
        self.clock_label.setText(time_text)
        self.date_label.setText(date_text)


def _scaled_sizes(scale: float) -> str:
    """Font sizes of the fixed labels for the current screen size (design: 1920x1080)."""

    def px(value: float) -> int:
        return max(8, int(value * scale))

    return f"""
#sedeName {{ font-size: {px(40)}px; }}
#clockLabel {{ font-size: {px(64)}px; }}
#dateLabel {{ font-size: {px(34)}px; }}
#connectionIndicator {{ font-size: {px(24)}px; }}
#panelHeader {{ font-size: {px(34)}px; }}
#pageLabel {{ font-size: {px(28)}px; }}
#sideTitle {{ font-size: {px(38)}px; }}
#waitingName {{ font-size: {px(34)}px; }}
#waitingCount {{ font-size: {px(44)}px; }}
#emptyLabel {{ font-size: {px(56)}px; }}
"""
