"""Splitting the outbox into request bodies that fit central's size limit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

ENVELOPE_BYTES = 256  # seq, ids, types and time around a payload, generously


def encoded_size(event: dict[str, Any]) -> int:
    if "payload_json" in event:  # the hub's stored text, sent as is
        return len(event["payload_json"].encode()) + ENVELOPE_BYTES
    return len(json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str))


def take_batch(
    events: Sequence[dict[str, Any]], *, max_events: int, max_bytes: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The longest prefix of ``events`` within both limits (at least one event), and the
    events among it that alone exceed ``max_bytes`` (to be sent as oversized stubs)."""
    batch: list[dict[str, Any]] = []
    oversized: list[dict[str, Any]] = []
    total = 2  # "[]"
    for event in events[: max(1, max_events)]:
        size = encoded_size(event) + 1
        if size > max_bytes:
            if batch:
                break
            oversized.append(event)
            batch.append(event)
            break
        if batch and total + size > max_bytes:
            break
        batch.append(event)
        total += size
    return batch, oversized
