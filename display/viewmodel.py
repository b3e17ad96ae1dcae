"""View-model of the waiting-room display: what the TV shows, derived from the hub's retained
DisplayState, call events and sede config. No widgets here (CONVENTIONS: napari components).

Never holds a citizen's name: the contract has none, and this model only keeps ticket numbers,
counters, service names and counts.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import QObject, QTimer, Signal

from contracts.messages import CallEvent, CallView, DisplayState, SedeInfo
from qtcommon.clock import format_time, to_local
from qtcommon.i18n import Translator

MAX_QUEUED_HIGHLIGHTS = 3


@dataclass(frozen=True)
class CallsLayout:
    """How the current-calls area is laid out: ``columns`` x ``rows`` cells per page.

    Up to ``max_single`` calls sit in one column of very large rows; more switch to a grid
    (FQM #51/#279: 12+ counters must stay readable); beyond one grid page the area pages.
    """

    mode: str  # "list" | "grid"
    columns: int
    rows: int
    page: int
    pages: int

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


def plan_layout(
    count: int, *, max_single: int = 5, max_rows: int = 6, max_columns: int = 3, page: int = 0
) -> CallsLayout:
    """Choose list or grid and the number of pages for ``count`` current calls."""
    if count <= max_single:
        return CallsLayout("list", 1, max(count, 1), 0, 1)
    # balanced pages: 24 calls are two pages of 12 (larger text), not 18 + 6
    pages = math.ceil(count / (max_rows * max_columns))
    per_page = math.ceil(count / pages)
    columns = math.ceil(per_page / max_rows)
    rows = math.ceil(per_page / columns)
    return CallsLayout("grid", columns, rows, page % pages, pages)


def lima_clock(now_utc: datetime, tr: Translator) -> tuple[str, str]:
    """('10:42', 'viernes 27 de noviembre de 2026') in Lima time, words from the catalogue."""
    local = to_local(now_utc)
    weekdays = tr("clock.weekdays").split(",")
    months = tr("clock.months").split(",")
    date_text = tr(
        "display.date",
        weekday=weekdays[local.weekday()],
        day=local.day,
        month=months[local.month - 1],
        year=local.year,
    )
    return format_time(now_utc), date_text


class DisplayViewModel(QObject):
    """Holds what the display shows and emits a signal when any part changes.

    Inputs (slots, called by the hub link or by tests): ``apply_sede_info``,
    ``apply_display_state``, ``apply_call_event``, ``set_connected``.
    Outputs: the signals below; ``announce_requested`` carries each call that must be chimed
    and spoken (new calls and recalls, once per event even when MQTT delivers it twice).
    """

    state_changed = Signal()  # current / recent / waiting / messages changed
    highlight_changed = Signal(object)  # CallView | None
    announce_requested = Signal(object)  # CallView
    connection_changed = Signal(bool)
    clock_changed = Signal(str, str)  # time, date
    layout_changed = Signal(object)  # CallsLayout

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        highlight_ms: int = 6000,
        page_ms: int = 8000,
        recent_limit: int = 8,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        tr: Translator | None = None,
    ) -> None:
        super().__init__(parent)
        self.tr = tr or Translator.load(packages=("display",))
        self._now = now
        self.recent_limit = recent_limit
        self.sede_name = ""
        self._service_names: dict[str, str] = {}
        self._service_order: list[str] = []
        self.current: list[CallView] = []
        self.recent: list[CallView] = []
        self.waiting_counts: dict[str, int] = {}
        self.messages: list[str] = []
        self.connected = False
        self.has_state = False
        self.highlighted: CallView | None = None
        self._highlight_queue: deque[CallView] = deque()
        self._seen_events: deque[str] = deque(maxlen=200)
        self._page = 0
        self.layout = plan_layout(0)

        self._highlight_timer = QTimer(self)
        self._highlight_timer.setSingleShot(True)
        self._highlight_timer.setInterval(highlight_ms)
        self._highlight_timer.timeout.connect(self._next_highlight)

        self._page_timer = QTimer(self)
        self._page_timer.setInterval(page_ms)
        self._page_timer.timeout.connect(self.next_page)

        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(1000)
        self._clock_timer.timeout.connect(self.tick_clock)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the clock and the pager (not needed by tests that drive the model by hand)."""
        self.tick_clock()
        self._clock_timer.start()
        self._page_timer.start()

    def tick_clock(self) -> None:
        self.clock_changed.emit(*self.clock_text())

    def clock_text(self) -> tuple[str, str]:
        return lima_clock(self._now(), self.tr)

    # ------------------------------------------------------------------ inputs

    def apply_sede_info(self, info: SedeInfo) -> None:
        self.sede_name = info.name
        self._service_names = {service.code: service.name for service in info.services}
        self._service_order = [service.code for service in info.services]
        self.state_changed.emit()

    def apply_display_state(self, state: DisplayState) -> None:
        """The full retained state: replaces everything at once (after a reconnect too)."""
        self.current = list(state.current)
        self.recent = _once_each(state.recent)[: self.recent_limit]
        self.waiting_counts = dict(state.waiting)
        self.messages = [message for message in state.messages if message.strip()]
        self.has_state = True
        self._relayout()
        self.state_changed.emit()

    def apply_call_event(self, event: CallEvent) -> None:
        """A new call or a recall: highlight it and ask for it to be announced, once."""
        if event.msg_id in self._seen_events:
            return  # QoS 1 may deliver twice; a recall comes as a new event with a new id
        self._seen_events.append(event.msg_id)
        call = event.call
        self._merge_call(call)
        self.announce_requested.emit(call)
        if self.highlighted is None:
            self._show_highlight(call)
            return
        # a burst of calls must not keep the screen flashing stale ones for minutes: a newer
        # call of the same counter replaces its queued one, and only the latest few wait
        queued = [c for c in self._highlight_queue if c.counter_id != call.counter_id]
        self._highlight_queue = deque([*queued, call][-MAX_QUEUED_HIGHLIGHTS:])

    def set_connected(self, connected: bool) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        self.connection_changed.emit(connected)

    # ------------------------------------------------------------------ derived

    def service_name(self, service_code: str) -> str:
        return self._service_names.get(service_code, service_code)

    def waiting_rows(self) -> list[tuple[str, int]]:
        """(service name, people waiting) in the sede's service order, then any others."""
        codes = [code for code in self._service_order if code in self.waiting_counts]
        codes += sorted(code for code in self.waiting_counts if code not in self._service_order)
        return [(self.service_name(code), self.waiting_counts[code]) for code in codes]

    def current_page(self) -> list[CallView]:
        """The current calls shown on the visible page, oldest counter number first."""
        ordered = sorted(self.current, key=lambda call: call.counter_number)
        start = self.layout.page * self.layout.per_page
        return ordered[start : start + self.layout.per_page]

    def is_highlighted(self, call: CallView) -> bool:
        return (
            self.highlighted is not None
            and self.highlighted.number == call.number
            and self.highlighted.counter_id == call.counter_id
        )

    def next_page(self) -> None:
        if self.layout.pages <= 1 or self.highlighted is not None:
            return  # never page away from a call that is still flashing
        self._page = (self._page + 1) % self.layout.pages
        self._relayout()
        self.state_changed.emit()

    # ------------------------------------------------------------------ internals

    def _merge_call(self, call: CallView) -> None:
        """Show the call at once, before the hub's next DisplayState arrives."""
        self.current = [c for c in self.current if c.counter_id != call.counter_id]
        self.current.insert(0, call)
        self.recent = [c for c in self.recent if c.number != call.number][: self.recent_limit - 1]
        self.recent.insert(0, call)
        self._relayout()
        self.state_changed.emit()

    def _relayout(self) -> None:
        layout = plan_layout(len(self.current), page=self._page)
        self._page = layout.page
        if layout != self.layout:
            self.layout = layout
            self.layout_changed.emit(layout)

    def _show_highlight(self, call: CallView) -> None:
        self.highlighted = call
        # the page that holds the highlighted counter is shown while it flashes
        ordered = sorted(self.current, key=lambda c: c.counter_number)
        for index, item in enumerate(ordered):
            if item.counter_id == call.counter_id and self.layout.per_page:
                page = index // self.layout.per_page
                if page != self._page:
                    self._page = page
                    self._relayout()
                    self.state_changed.emit()
                break
        self.highlight_changed.emit(call)
        self._highlight_timer.start()

    def _next_highlight(self) -> None:
        if self._highlight_queue:
            self._show_highlight(self._highlight_queue.popleft())
            return
        self.highlighted = None
        self.highlight_changed.emit(None)


def _once_each(calls: list[CallView]) -> list[CallView]:
    """Each ticket number once, at its newest call (the list is newest first): a hub that
    predates one-per-ticket recent calls lists a recalled ticket again for every recall."""
    seen: set[str] = set()
    unique: list[CallView] = []
    for call in calls:
        if call.number not in seen:
            seen.add(call.number)
            unique.append(call)
    return unique
