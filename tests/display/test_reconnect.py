"""The display through hub outages: it keeps the last state and says so discreetly, a display
started while the hub is down shows the retained state at once, and both recover by themselves."""

from __future__ import annotations

import pytest

from display.app import connect_display
from display.viewmodel import DisplayViewModel
from display.views import DisplayWindow
from hub.mqtt_client import DeviceClient

pytestmark = pytest.mark.mqtt


def device(mqtt_broker, sede_id, role, device_id) -> DeviceClient:
    return DeviceClient(
        sede_id=sede_id,
        role=role,
        device_id=device_id,
        host=mqtt_broker.host,
        port=mqtt_broker.port,
    ).connect()


def ok(response):
    assert response.status == "ok", response.error
    return response.result


def make_display(qtbot, make_client):
    model = DisplayViewModel(highlight_ms=200)
    window = DisplayWindow(model)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    connect_display(make_client("display", f"display-{id(model) % 1000}"), model, None)
    return model, window


def test_display_survives_a_hub_outage_and_shows_retained_state_at_once(
    hub, make_client, qtbot, mqtt_broker, sede_id
):
    kiosk = device(mqtt_broker, sede_id, "kiosk", "kiosk-1")
    counter = device(mqtt_broker, sede_id, "counter", "v1")
    try:
        number = ok(kiosk.request("issue_ticket", {"service_code": "orientacion"}))["ticket"][
            "number"
        ]
        ok(counter.request("sign_in", {"username": "ana", "password": "demo-ventanilla-1"}))
        ok(counter.request("open_counter", {}))
        model, window = make_display(qtbot, make_client)
        qtbot.waitUntil(lambda: model.connected, timeout=20000)
        ok(counter.request("call_next"))
        qtbot.waitUntil(lambda: [c.number for c in model.current] == [number], timeout=20000)

        hub.stop()
        qtbot.waitUntil(lambda: not model.connected, timeout=20000)
        assert window.connection_label.isVisible()
        assert [c.number for c in model.current] == [number]  # last state kept

        # a display switched on during the outage shows the retained state at once
        late_model, late_window = make_display(qtbot, make_client)
        qtbot.waitUntil(lambda: late_model.has_state, timeout=20000)
        assert [c.number for c in late_model.current] == [number]
        assert late_model.sede_name == "Centro ALEGRA Lima Cercado"
        assert not late_model.connected and late_window.connection_label.isVisible()

        hub.start()
        qtbot.waitUntil(lambda: model.connected and late_model.connected, timeout=20000)
        assert not window.connection_label.isVisible()
        ok(counter.request("recall"))
        qtbot.waitUntil(lambda: late_model.highlighted is not None, timeout=20000)
        assert late_model.highlighted.number == number and late_model.highlighted.recalls == 1
    finally:
        kiosk.close()
        counter.close()
