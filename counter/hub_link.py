"""Binds a CounterViewModel to the HubClient: typed state in, commands out.

A command that got no answer (hub unreachable) and is repeated by the user with the same
parameters reuses its request id, so the hub applies it at most once (idempotent commands).
"""

from __future__ import annotations

import json
from typing import Any

from contracts.errors import ErrorCode
from contracts.messages import CommandResponse
from counter.viewmodel import CounterViewModel, ReplyCallback
from qtcommon.hub_client import DEFAULT_TIMEOUT_S, HubClient


class HubSender:
    """The view-model's CommandSender on top of HubClient.request."""

    def __init__(self, client: HubClient, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self._unanswered: dict[str, str] = {}  # action + params → request id of the lost try
        self.last_request_id: str | None = None

    def __call__(self, action: str, params: dict[str, Any], on_reply: ReplyCallback) -> None:
        key = f"{action}:{json.dumps(params, sort_keys=True)}"
        pending = self.client.request(
            action, params, self.timeout_s, request_id=self._unanswered.get(key)
        )
        self.last_request_id = pending.request_id

        def finished(response: CommandResponse) -> None:
            error = response.error
            if error is not None and error.code == ErrorCode.HUB_UNREACHABLE:
                self._unanswered[key] = pending.request_id
            else:
                self._unanswered.pop(key, None)
            on_reply(response)

        pending.finished.connect(finished)


def connect_counter(client: HubClient, model: CounterViewModel) -> None:
    client.config_changed.connect(model.apply_sede_info)
    client.queue_changed.connect(model.apply_queue_state)
    client.counter_changed.connect(model.apply_counter_state)
    client.queue_removed.connect(model.remove_queue)
    client.counter_removed.connect(model.remove_counter)
    client.connection_changed.connect(model.set_connected)
    if client.sede_info is not None:
        model.apply_sede_info(client.sede_info)
    for queue in client.queues.values():
        model.apply_queue_state(queue)
    if model.counter_id in client.counters:
        model.apply_counter_state(client.counters[model.counter_id])
    model.set_connected(client.connected)
