"""Display widgets with qtbot: a call flashes and shows at once, the grid with 12 counters,
the discreet disconnected mark, the ticker; and the PNGs with 1 and 12 counters."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from contracts.messages import CallEvent, DisplayState
from display.screens import FIXED_NOW, render_all, sample_calls, sample_sede, sample_state
from display.style import stylesheet
from display.viewmodel import DisplayViewModel
from display.views import DisplayWindow
from qtcommon.screenshot import distinct_colours

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "display"


@pytest.fixture
def window(qtbot, qapp):
    qapp.setStyleSheet("")  # the display app owns its QApplication: no other app's sheet
    model = DisplayViewModel(now=lambda: FIXED_NOW, highlight_ms=300)
    model.apply_sede_info(sample_sede(12))
    window = DisplayWindow(model)
    window.setStyleSheet(stylesheet())
    qtbot.addWidget(window)
    window.resize(1920, 1080)
    window.show()
    qtbot.waitExposed(window)
    yield window
    model.deleteLater()


def visible_numbers(window: DisplayWindow) -> list[str]:
    return [cell.number.text() for cell in window.current_panel.cells if cell.number.text()]


def test_new_call_shows_at_once_and_flashes_for_a_while(window, qtbot):
    call = sample_calls(1)[0]
    window.model.apply_call_event(CallEvent(call=call))
    assert visible_numbers(window) == ["A107"]
    cell = window.current_panel.cells[0]
    assert cell.property("highlight") is True
    assert window.recent_panel.rows[0][0].text() == "A107"
    seen_flash = set()
    qtbot.waitUntil(lambda: seen_flash.add(cell.property("flash")) or len(seen_flash) == 2)
    qtbot.waitUntil(lambda: cell.property("highlight") is False, timeout=3000)


def test_twelve_counters_use_a_grid_and_nothing_is_clipped(window):
    window.model.apply_display_state(sample_state(12))
    assert window.model.layout.mode == "grid"
    assert len(visible_numbers(window)) == 12
    for cell in window.current_panel.cells:
        for label in (cell.number, cell.counter):
            metrics = label.fontMetrics()
            assert metrics.horizontalAdvance(label.text()) <= label.contentsRect().width()
            assert metrics.height() <= label.contentsRect().height()
        # readable from 5 m on a 1080p TV (about 2.5 cm letters on a 55" screen)
        assert cell.number.font().pixelSize() >= 70
        assert cell.counter.font().pixelSize() >= 40


def test_new_call_in_the_grid_also_shows_a_wide_banner(window, qtbot):
    window.model.apply_display_state(sample_state(12))
    call = sample_calls(12)[4]
    window.model.apply_call_event(CallEvent(call=call))
    banner = window.current_panel.banner
    assert banner.isVisible()
    assert (banner.number.text(), banner.counter.text()) == ("A135", "Ventanilla 5")
    assert (
        banner.number.font().pixelSize() > window.current_panel.cells[0].number.font().pixelSize()
    )
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=3000)


def test_list_mode_needs_no_banner(window):
    window.model.apply_call_event(CallEvent(call=sample_calls(1)[0]))
    assert not window.current_panel.banner.isVisible()


def test_waiting_counts_use_service_names(window):
    window.model.apply_display_state(sample_state(2))
    labels = window.waiting_panel._labels
    assert [(n.text(), c.text()) for n, c in labels[:2]] == [
        ("Orientación legal", "23"),
        ("Defensa penal", "7"),
    ]


def test_disconnected_is_discreet_and_keeps_the_last_state(window):
    window.model.apply_display_state(sample_state(3))
    window.model.set_connected(True)
    assert not window.connection_label.isVisible()
    window.model.set_connected(False)
    assert window.connection_label.isVisible()
    assert window.connection_label.text() == "● Sin conexión"
    assert len(visible_numbers(window)) == 3
    assert window.connection_label.height() < 80


def test_ticker_shows_messages_and_hides_without(window):
    window.model.apply_display_state(sample_state(1))
    assert window.ticker.isVisible()
    assert "gratuita" in window.ticker.text
    window.model.apply_display_state(DisplayState(current=[], recent=[], waiting={}))
    assert not window.ticker.isVisible()
    assert window.current_panel.empty_label.isVisible()


def test_display_renders_with_1_and_12_counters(qtbot):
    paths = {path.name: path for path in render_all(ARTIFACTS)}
    for name in (
        "display-1-counter.png",
        "display-12-counters.png",
        "display-12-counters-new-call.png",
    ):
        image = QImage(str(paths[name]))
        assert (image.width(), image.height()) == (1920, 1080)
        assert distinct_colours(image) > 4
