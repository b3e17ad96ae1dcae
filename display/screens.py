"""Render the display's screens to PNG (``alegra screens``; the tests look at them too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.messages import (
    CallEvent,
    CallView,
    CounterInfo,
    DisplayState,
    SedeInfo,
    ServiceInfo,
)

FIXED_NOW = datetime(2026, 11, 27, 15, 42, tzinfo=UTC)  # 10:42 in Lima

SERVICES = [
    ServiceInfo(code="orientacion", name="Orientación legal", letter="A"),
    ServiceInfo(code="defensa-penal", name="Defensa penal", letter="P"),
    ServiceInfo(code="victimas", name="Defensa de víctimas", letter="V"),
    ServiceInfo(code="conciliacion", name="Conciliación extrajudicial", letter="C"),
]


def sample_sede(counters: int) -> SedeInfo:
    return SedeInfo(
        sede_id="lima-cercado",
        name="Centro ALEGRA Lima Cercado",
        services=SERVICES,
        counters=[
            CounterInfo(
                counter_id=f"v{n}", name=f"Ventanilla {n}", number=n, services={"orientacion": 1}
            )
            for n in range(1, counters + 1)
        ],
        hours=[],
        is_open_now=True,
    )


def sample_calls(counters: int) -> list[CallView]:
    calls = []
    for n in range(1, counters + 1):
        service = SERVICES[(n - 1) % len(SERVICES)]
        calls.append(
            CallView(
                number=f"{service.letter}{100 + n * 7:03d}",
                service_code=service.code,
                counter_id=f"v{n}",
                counter_name=f"Ventanilla {n}",
                counter_number=n,
                called_at=FIXED_NOW - timedelta(minutes=counters - n),
            )
        )
    return calls


def sample_state(counters: int) -> DisplayState:
    calls = sample_calls(counters)
    return DisplayState(
        current=list(reversed(calls)),
        recent=list(reversed(calls))[:8],
        waiting={"orientacion": 23, "defensa-penal": 7, "victimas": 4, "conciliacion": 0},
        messages=[
            "La atención en los Centros ALEGRA es gratuita.",
            "Campaña de conciliación extrajudicial: sábado 5 de diciembre.",
        ],
    )


def build(
    counters: int,
    *,
    size: tuple[int, int] = (1920, 1080),
    connected: bool = True,
    highlight_last: bool = True,
):
    """A display window showing ``counters`` current calls, ready to grab."""
    from display.viewmodel import DisplayViewModel
    from display.views import DisplayWindow

    model = DisplayViewModel(now=lambda: FIXED_NOW, highlight_ms=60_000)
    model.apply_sede_info(sample_sede(counters))
    state = sample_state(counters)
    model.apply_display_state(state)
    model.set_connected(connected)
    window = DisplayWindow(model)
    window.resize(*size)
    if highlight_last and state.current:
        model.apply_call_event(CallEvent(call=state.current[0]))
    return model, window


def render_all(out_dir: Path) -> list[Path]:
    """Display with 1, 4, 12 and 24 counters, disconnected, and a small 1280x720 screen."""
    from PySide6.QtWidgets import QApplication

    from display.style import stylesheet

    app = QApplication.instance() or QApplication([])
    previous_sheet = app.styleSheet()  # `alegra screens` renders several apps in one process
    app.setStyleSheet(stylesheet())
    out_dir.mkdir(parents=True, exist_ok=True)
    # (file, counters, size, connected, a new call flashing)
    cases = [
        ("display-1-counter.png", 1, (1920, 1080), True, True),
        ("display-4-counters.png", 4, (1920, 1080), True, True),
        ("display-12-counters.png", 12, (1920, 1080), True, False),
        ("display-12-counters-new-call.png", 12, (1920, 1080), True, True),
        ("display-24-counters.png", 24, (1920, 1080), True, True),
        ("display-disconnected.png", 3, (1920, 1080), False, False),
        ("display-12-counters-720p.png", 12, (1280, 720), True, False),
    ]
    written = []
    for name, counters, size, connected, new_call in cases:
        model, window = build(counters, size=size, connected=connected, highlight_last=new_call)
        window.show()
        app.processEvents()
        path = out_dir / name
        window.grab().save(str(path))
        written.append(path)
        window.close()
        window.deleteLater()
        model.deleteLater()
        app.processEvents()
    app.setStyleSheet(previous_sheet)
    return written
