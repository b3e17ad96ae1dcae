"""Counter test helpers: a recording command sender the test answers by hand, and a real hub
(HubEngine + bridge, restartable) with HubClients for the MQTT tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from contracts.messages import CommandResponse, ErrorBody
from counter.hub_link import HubSender, connect_counter
from counter.screens import FIXED_NOW, sample_queues, sample_sede
from counter.viewmodel import CounterViewModel, Phase
from tests.qt_live_hub import hub, make_client  # noqa: F401 (fixtures)


@dataclass
class Sent:
    action: str
    params: dict[str, Any]
    on_reply: Any


@dataclass
class RecordingSender:
    sent: list[Sent] = field(default_factory=list)

    def __call__(self, action, params, on_reply) -> None:
        self.sent.append(Sent(action, dict(params), on_reply))

    @property
    def actions(self) -> list[str]:
        return [item.action for item in self.sent]

    def reply_ok(self, result: dict | None = None) -> None:
        item = self.sent[-1]
        item.on_reply(CommandResponse(correlation_id="c", status="ok", result=result or {}))

    def reply_error(self, code: str, message: str, field: str | None = None) -> None:
        item = self.sent[-1]
        item.on_reply(
            CommandResponse(
                correlation_id="c",
                status="error",
                error=ErrorBody(code=code, message=message, field=field),
            )
        )


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def clock():
    """The view-model's clock; a test moves it by setting ``clock["now"]``."""
    return {"now": FIXED_NOW}


@pytest.fixture
def model(qtbot, sender, clock):
    """A connected counter view-model (counter v1) with the sample sede and queues."""
    model = CounterViewModel("v1", sender, now=lambda: clock["now"])
    model.apply_sede_info(sample_sede())
    for queue in sample_queues():
        model.apply_queue_state(queue)
    model.set_connected(True)
    yield model
    model.deleteLater()


@pytest.fixture
def open_counter(hub, make_client, qtbot):  # noqa: F811 (hub, make_client: fixtures)
    """Counter v1 over the live hub (real Mosquitto): signed in as ana, open for orientación."""
    client = make_client("counter", "v1")
    model = CounterViewModel("v1", HubSender(client, timeout_s=8))
    connect_counter(client, model)
    qtbot.waitUntil(lambda: model.connected and model.sede is not None, timeout=20000)
    model.sign_in("ana", "demo-ventanilla-1")
    qtbot.waitUntil(lambda: model.phase == Phase.CLOSED, timeout=20000)
    model.open_counter(["orientacion"])
    qtbot.waitUntil(lambda: model.phase == Phase.IDLE, timeout=20000)
    yield model
    model.deleteLater()
