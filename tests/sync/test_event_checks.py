"""The fast path of central's per-event validation never accepts what the payload model
refuses: ``certainly_valid`` is only a shortcut past ``validate_payload``."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sync.protocol.events import certainly_valid, validate_payload

GOOD = {
    "ticket": {
        "id": "t-1",
        "sede_id": "sede-a",
        "business_date": "2026-11-27",
        "service_code": "orientacion",
        "number": "A001",
        "status": "waiting",
        "revision": 1,
        "updated_at": "2026-11-27T09:00:00+00:00",
        "counter_id": None,
        "recalls": 0,
    },
    "event": {
        "id": "e-1",
        "ticket_id": "t-1",
        "event_type": "issued",
        "from_status": None,
        "to_status": "waiting",
        "at": "2026-11-27T09:00:00+00:00",
        "username": None,
    },
}

# values that break (or merely need coercion under) the model, per position
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([2**31 - 1, 2**31, 2**63]),  # around the stored revision's range
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=3),
    st.text(min_size=79, max_size=90),
    st.just("2026-11-2"),
    st.just("1"),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
PATHS = [("ticket", k) for k in GOOD["ticket"]] + [("event", k) for k in GOOD["event"]]


def _model_accepts(payload: object) -> bool:
    try:
        validate_payload("ticket", payload)  # type: ignore[arg-type]
    except (ValidationError, ValueError):
        return False
    return True


def test_a_well_formed_ticket_payload_takes_the_fast_path() -> None:
    assert certainly_valid("ticket", GOOD)
    assert _model_accepts(GOOD)


@settings(max_examples=400, deadline=None)
@given(
    changes=st.lists(st.tuples(st.sampled_from(PATHS), ODD_VALUES), min_size=1, max_size=4),
    drop=st.lists(st.sampled_from(PATHS), max_size=2),
    extra_top=st.booleans(),
)
def test_fast_path_accepts_only_what_the_model_accepts(changes, drop, extra_top) -> None:
    payload = copy.deepcopy(GOOD)
    for (part, key), value in changes:
        payload[part][key] = value
    for part, key in drop:
        payload[part].pop(key, None)
    if extra_top:
        payload["unexpected"] = 1
    if certainly_valid("ticket", payload):
        assert _model_accepts(payload), payload


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"ticket": GOOD["ticket"]},
        {**GOOD, "extra": 1},
        {**GOOD, "ticket": {**GOOD["ticket"], "revision": "2"}},  # the model may coerce: ask it
        {**GOOD, "ticket": {**GOOD["ticket"], "revision": True}},
        {**GOOD, "ticket": {**GOOD["ticket"], "revision": 0}},
        {**GOOD, "event": {**GOOD["event"], "to_status": ""}},
        {**GOOD, "ticket": {**GOOD["ticket"], "number": "A" * 21}},
    ],
)
def test_anything_unusual_is_left_to_the_model(payload) -> None:
    assert not certainly_valid("ticket", payload)


def test_types_without_a_fast_check_always_go_through_their_model() -> None:
    assert not certainly_valid("counter_session", {"id": "x"})
    assert not certainly_valid("printer_fault", {"id": "x"})
    assert not certainly_valid("unknown_kind", {})
