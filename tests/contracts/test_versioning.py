"""The versioning rules of docs/mqtt.md and docs/sync.md: what a newer peer may add is read
past by an older one (hub -> devices, central -> hub), and what must be exact is refused with
the field named (devices -> hub, hub -> central)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from contracts import messages, sync

ADDED = {"added_in_a_later_release": {"any": "shape"}}


def _newer(model: BaseModel) -> str:
    return json.dumps({**json.loads(model.model_dump_json()), **ADDED})


CENTRAL_REPLIES = [
    sync.PushAck(hub_epoch=1, held_through=10, applied=10),
    sync.EpochConflict(message="ya existe", hub_epoch=1, held_through=3),
    sync.PullPage(
        sede_id="s1",
        changes=[sync.Change(record_type="appointment", record_id="a1", revision=2, body={})],
        next_cursor="0.1.00000000",
        has_more=False,
    ),
]

HUB_PUBLISHES = [
    messages.CommandResponse(correlation_id="c1", status="ok", result={}),
    messages.Availability(state="online", device_id="hub", role="hub"),
    messages.DisplayState(current=[], recent=[], waiting={"orientacion": 2}),
]


@pytest.mark.parametrize("reply", CENTRAL_REPLIES + HUB_PUBLISHES, ids=lambda m: type(m).__name__)
def test_an_older_reader_reads_past_added_fields(reply):
    read = type(reply).model_validate_json(_newer(reply))
    assert read == reply


def test_a_field_added_inside_a_pulled_change_is_read_past():
    page = json.loads(CENTRAL_REPLIES[2].model_dump_json())
    page["changes"][0].update(ADDED)
    assert sync.PullPage.model_validate_json(json.dumps(page)).changes[0].revision == 2


@pytest.mark.parametrize(
    ("model", "document"),
    [
        (
            messages.CommandRequest,
            {
                "v": 1,
                "msg_id": "m-1",
                "ts": datetime(2026, 11, 27, 14, 3, tzinfo=UTC),
                "correlation_id": "c-1",
                "request_id": "k1-000001",
                "params": {},
            },
        ),
        (sync.PushBatch, {"v": 1, "sede_id": "s1", "hub_epoch": 1, "events": []}),
        (sync.HubHealth, {"backlog": 0}),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_what_a_reader_must_act_on_exactly_refuses_unknown_fields(model, document):
    model.model_validate(document)  # valid as it is
    with pytest.raises(ValidationError) as refused:
        model.model_validate({**document, **ADDED})
    [error] = refused.value.errors()
    assert error["type"] == "extra_forbidden" and error["loc"] == ("added_in_a_later_release",)


def test_every_payload_the_hub_publishes_is_a_hub_message():
    published = {
        messages.SedeInfo, messages.QueueState, messages.CounterState, messages.DisplayState,
        messages.CallEvent, messages.PrintJob, messages.CommandResponse, messages.Availability,
    }  # fmt: skip
    envelopes = {
        value
        for value in vars(messages).values()
        if isinstance(value, type) and issubclass(value, messages.Envelope)
    } - {messages.Envelope, messages.HubMessage}
    assert {cls for cls in envelopes if issubclass(cls, messages.HubMessage)} == published
    assert envelopes - published == {messages.CommandRequest}
