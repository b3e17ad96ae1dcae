"""DisplayViewModel without widgets: highlight and its timeout, recent list, layout for many
counters, the disconnected state, duplicate and recall events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.messages import CallEvent, CallView, DisplayState
from display.viewmodel import DisplayViewModel, lima_clock, plan_layout

NOW = datetime(2026, 11, 27, 15, 42, tzinfo=UTC)


def call(number: str, counter: int, *, recalls: int = 0) -> CallView:
    return CallView(
        number=number,
        service_code="orientacion",
        counter_id=f"v{counter}",
        counter_name=f"Ventanilla {counter}",
        counter_number=counter,
        called_at=NOW,
        recalls=recalls,
    )


@pytest.fixture
def model(qtbot):
    model = DisplayViewModel(highlight_ms=80, now=lambda: NOW)
    yield model
    model.deleteLater()


def test_new_call_is_highlighted_then_the_highlight_times_out(model, qtbot):
    with qtbot.waitSignal(model.highlight_changed) as blocker:
        model.apply_call_event(CallEvent(call=call("A001", 1)))
    assert blocker.args[0].number == "A001"
    assert model.highlighted is not None and model.is_highlighted(call("A001", 1))
    with qtbot.waitSignal(model.highlight_changed, timeout=2000) as blocker:
        pass
    assert blocker.args == [None]
    assert model.highlighted is None


def test_calls_arriving_together_are_highlighted_one_after_another(model, qtbot):
    model.apply_call_event(CallEvent(call=call("A001", 1)))
    model.apply_call_event(CallEvent(call=call("A002", 2)))
    assert model.highlighted.number == "A001"
    qtbot.waitUntil(lambda: model.highlighted is not None and model.highlighted.number == "A002")
    qtbot.waitUntil(lambda: model.highlighted is None)


def test_a_burst_of_calls_queues_only_the_latest_highlights(model, qtbot):
    for counter in range(1, 11):
        model.apply_call_event(CallEvent(call=call(f"A{counter:03d}", counter)))
    model.apply_call_event(CallEvent(call=call("B001", 10)))  # counter 10 called again
    assert model.highlighted.number == "A001"
    seen = []
    model.highlight_changed.connect(lambda c: seen.append(c.number if c else None))
    qtbot.waitUntil(lambda: model.highlighted is None, timeout=3000)
    assert seen == ["A008", "A009", "B001", None]
    assert len(model.current) == 10  # every call is still on screen


def test_each_event_is_announced_once_and_a_recall_again(model, qtbot):
    announced: list[CallView] = []
    model.announce_requested.connect(announced.append)
    event = CallEvent(call=call("A001", 1))
    model.apply_call_event(event)
    model.apply_call_event(event)  # QoS 1 duplicate delivery
    model.apply_call_event(CallEvent(call=call("A001", 1, recalls=1)))
    assert [(c.number, c.recalls) for c in announced] == [("A001", 0), ("A001", 1)]


def test_call_event_shows_at_once_and_recent_list_is_newest_first_without_repeats(model):
    model.apply_display_state(DisplayState(current=[], recent=[], waiting={"orientacion": 3}))
    for index, number in enumerate(["A001", "A002", "A003"], start=1):
        model.apply_call_event(CallEvent(call=call(number, index)))
    model.apply_call_event(CallEvent(call=call("A001", 1, recalls=1)))
    assert [c.number for c in model.recent] == ["A001", "A003", "A002"]
    # one current call per counter: counter 1 shows A001 again, not twice
    assert sorted(c.number for c in model.current) == ["A001", "A002", "A003"]


def test_a_retained_state_listing_a_recalled_ticket_twice_shows_it_once(qtbot):
    """An older hub repeats a recalled ticket in `recent` once per recall: the display keeps its
    newest call and the other calls stay on screen."""
    model = DisplayViewModel(recent_limit=4, now=lambda: NOW)
    recent = [call("A001", 1, recalls=2), call("A001", 1, recalls=1), call("A003", 3)]
    recent += [call("A001", 1), call("A002", 2), call("P001", 2)]
    model.apply_display_state(DisplayState(current=[], recent=recent, waiting={}))
    assert [(c.number, c.recalls) for c in model.recent] == [
        ("A001", 2),
        ("A003", 0),
        ("A002", 0),
        ("P001", 0),
    ]


def test_recent_list_is_capped(qtbot):
    model = DisplayViewModel(recent_limit=4, now=lambda: NOW)
    for index in range(10):
        model.apply_call_event(CallEvent(call=call(f"A{index:03d}", 1)))
    assert [c.number for c in model.recent] == ["A009", "A008", "A007", "A006"]


def test_retained_state_replaces_everything_at_once(model):
    model.apply_call_event(CallEvent(call=call("A001", 1)))
    state = DisplayState(
        current=[call("P010", 2)],
        recent=[call("P010", 2), call("A001", 1)],
        waiting={"defensa-penal": 4},
        messages=["Atención gratuita", "  "],
    )
    model.apply_display_state(state)
    assert [c.number for c in model.current] == ["P010"]
    assert model.waiting_rows() == [("defensa-penal", 4)]
    assert model.messages == ["Atención gratuita"]
    assert model.has_state


@pytest.mark.parametrize(
    ("count", "mode", "columns", "pages"),
    [
        (1, "list", 1, 1),
        (5, "list", 1, 1),
        (6, "grid", 1, 1),
        (12, "grid", 2, 1),
        (18, "grid", 3, 1),
        (24, "grid", 2, 2),
        (40, "grid", 3, 3),
    ],
)
def test_layout_switches_to_grid_and_pages_with_many_counters(count, mode, columns, pages):
    layout = plan_layout(count)
    assert (layout.mode, layout.columns, layout.pages) == (mode, columns, pages)
    assert layout.per_page * layout.pages >= count
    assert layout.rows <= 6


def test_twelve_counters_fit_one_page_and_thirty_page_through(model, qtbot):
    model.apply_display_state(
        DisplayState(current=[call(f"A{n:03d}", n) for n in range(1, 13)], recent=[], waiting={})
    )
    assert model.layout.mode == "grid" and model.layout.pages == 1
    assert len(model.current_page()) == 12
    model.apply_display_state(
        DisplayState(current=[call(f"A{n:03d}", n) for n in range(1, 31)], recent=[], waiting={})
    )
    assert model.layout.pages == 2
    first = [c.counter_number for c in model.current_page()]
    model.next_page()
    second = [c.counter_number for c in model.current_page()]
    assert first == list(range(1, 16)) and second == list(range(16, 31))
    model.next_page()
    assert [c.counter_number for c in model.current_page()] == first


def test_highlight_jumps_to_the_page_of_the_called_counter_and_holds_it(model):
    model.apply_display_state(
        DisplayState(current=[call(f"A{n:03d}", n) for n in range(1, 31)], recent=[], waiting={})
    )
    model.apply_call_event(CallEvent(call=call("B999", 28)))
    assert 28 in [c.counter_number for c in model.current_page()]
    page = model.layout.page
    model.next_page()  # the pager does not move away while the call flashes
    assert model.layout.page == page


def test_disconnected_state_keeps_the_last_state(model, qtbot):
    model.apply_display_state(DisplayState(current=[call("A001", 1)], recent=[], waiting={}))
    model.set_connected(True)
    with qtbot.waitSignal(model.connection_changed) as blocker:
        model.set_connected(False)
    assert blocker.args == [False]
    assert not model.connected
    assert [c.number for c in model.current] == ["A001"]


def test_clock_is_lima_time(model):
    tr = model.tr
    assert lima_clock(NOW, tr) == ("10:42", "viernes 27 de noviembre de 2026")
    assert lima_clock(datetime(2026, 1, 1, 4, 59, tzinfo=UTC), tr)[0] == "23:59"
    assert lima_clock(NOW + timedelta(hours=14), tr)[1].startswith("sábado 28")
    assert model.clock_text() == ("10:42", "viernes 27 de noviembre de 2026")
