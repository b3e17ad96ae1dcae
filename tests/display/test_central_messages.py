"""Display messages edited centrally reach the waiting-room ticker: a pulled page applied on the
hub's file (the hub side of sync), the running hub (engine + bridge, real Mosquitto) publishes
them with its retained display state within their validity window, and the display scrolls
them. The screen is rendered offscreen to a PNG."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from contracts.sync import Change, RecordType
from display.app import connect_display
from display.style import stylesheet
from display.viewmodel import DisplayViewModel
from display.views import DisplayWindow
from qtcommon.screenshot import save_png
from tests.helpers.devtools import store_pulled_page

pytestmark = pytest.mark.mqtt
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "display"


def message(message_id: str, text: str, revision: int = 1, **window: datetime) -> Change:
    body = {"id": message_id, "text": text, "deleted": False}
    body.update({k: v.isoformat() for k, v in window.items()})
    return Change(
        record_type=RecordType.DISPLAY_MESSAGE, record_id=message_id, revision=revision, body=body
    )


def test_central_messages_scroll_on_the_display_ticker(hub, make_client, qtbot, qapp):
    qapp.setStyleSheet("")
    model = DisplayViewModel(highlight_ms=200)
    window = DisplayWindow(model)
    window.setStyleSheet(stylesheet())
    qtbot.addWidget(window)
    window.resize(1920, 1080)
    window.show()
    app = connect_display(make_client("display", "display-1"), model, None)
    qtbot.waitUntil(lambda: model.connected and model.has_state, timeout=15000)
    assert not window.ticker.isVisible()  # nothing from central yet

    now = datetime.now(UTC)
    store_pulled_page(
        hub.engine.db_path,
        [
            message("m1", "Atención gratuita: no pague a tramitadores"),
            message("m2", "Campaña de conciliación el sábado 9:00", starts_at=now),
            message("m3", "Horario de verano ya terminó", ends_at=now - timedelta(hours=1)),
            message(
                "m4", "Mañana: charla sobre pensión de alimentos", starts_at=now + timedelta(days=1)
            ),  # fmt: skip
        ],
    )
    # the bridge's housekeeping (every 0.5 s here) notices and republishes the display state
    qtbot.waitUntil(lambda: window.ticker.isVisible(), timeout=15000)
    assert model.messages == [
        "Atención gratuita: no pague a tramitadores",
        "Campaña de conciliación el sábado 9:00",
    ]
    assert "tramitadores" in window.ticker.text and "Horario de verano" not in window.ticker.text
    path = save_png(window, ARTIFACTS / "display-central-messages.png", (1920, 1080))
    image = QImage(str(path))
    ticker = window.ticker.geometry()
    strip = image.copy(ticker)
    background = strip.pixel(2, 2)
    assert any(
        strip.pixel(x, y) != background
        for x in range(0, strip.width(), 4)
        for y in range(0, strip.height(), 4)
    ), "the ticker strip shows text"

    # withdrawn centrally (a tombstone): the ticker follows
    store_pulled_page(
        hub.engine.db_path,
        [
            Change(record_type=RecordType.DISPLAY_MESSAGE, record_id=m, revision=2, deleted=True)
            for m in ("m1", "m2")
        ],
    )
    qtbot.waitUntil(lambda: not window.ticker.isVisible(), timeout=15000)
    app.stop()
