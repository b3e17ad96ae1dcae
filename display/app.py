"""Wires the display together: HubClient → DisplayViewModel → DisplayWindow, and each call the
view-model asks to announce → the hardware Announcer (one queue: calls never overlap)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from display.viewmodel import DisplayViewModel
from hardware.speech import Announcer
from qtcommon.hub_client import HubClient

log = logging.getLogger(__name__)


@dataclass
class DisplayApp:
    client: HubClient
    model: DisplayViewModel
    announcer: Announcer | None

    def stop(self) -> None:
        self.client.stop()
        if self.announcer is not None:
            self.announcer.close()


def connect_display(
    client: HubClient, model: DisplayViewModel, announcer: Announcer | None
) -> DisplayApp:
    """Bind the client's typed signals to the model; replay what the client already cached
    (retained state that arrived before the binding) so the screen is full at once."""
    client.config_changed.connect(model.apply_sede_info)
    client.display_changed.connect(model.apply_display_state)
    client.call_received.connect(model.apply_call_event)
    client.connection_changed.connect(model.set_connected)
    if client.sede_info is not None:
        model.apply_sede_info(client.sede_info)
    if client.display is not None:
        model.apply_display_state(client.display)
    model.set_connected(client.connected)
    if announcer is not None:

        def announce(call) -> None:  # noqa: ANN001 (CallView)
            try:
                announcer.announce(call)
            except RuntimeError:
                log.warning("announcer closed: call %s not spoken", call.number)

        model.announce_requested.connect(announce)
    return DisplayApp(client, model, announcer)
