"""The display runs all day and emits signals every second: the Qt binding must not leak or
drop references per emit. PySide6 6.12.0 on CPython 3.11 drops one reference to True on
every Signal.emit() and aborts the process after a few hundred (pyproject excludes it)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from PySide6.QtCore import QObject, Signal

from display.viewmodel import DisplayViewModel


class _Emitter(QObject):
    plain = Signal()
    flag = Signal(bool)


def test_signal_emit_keeps_the_reference_count_of_true_and_false():
    emitter = _Emitter()
    emitter.flag.connect(lambda value: None)
    true_before, false_before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(2000):
        emitter.plain.emit()
        emitter.flag.emit(False)
    assert abs(sys.getrefcount(True) - true_before) < 50
    assert abs(sys.getrefcount(False) - false_before) < 50


def test_a_day_of_clock_ticks_does_not_drain_references(qtbot):
    model = DisplayViewModel(now=lambda: datetime(2026, 11, 27, 15, 0, tzinfo=UTC))
    true_before = sys.getrefcount(True)
    for _ in range(3000):  # the clock ticks once a second
        model.tick_clock()
    assert abs(sys.getrefcount(True) - true_before) < 50
    model.deleteLater()
