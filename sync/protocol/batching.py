"""Splitting the outbox into request bodies that fit central's size limit, and sizing them by
the time a push takes on the sede's link."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass
class BatchSizer:
    """How many events the next push carries, sized by the time pushes take (pure).

    A batch that fits central's limits can still be too big for the link: on a slow WAN a
    push of ``ceiling`` events may outlast the request timeout, be sent again whole, time
    out again, and the backlog only grows. So the size follows the answers:

    - a push that took longer than ``target_s`` shrinks the next one towards the size that
      would have taken ``target_s`` (at most by half at a time);
    - a push that timed out halves it (no answer, so no better estimate);
    - a *full* push (as many events as allowed) answered in under half ``target_s`` grows it
      towards the size that would take ``target_s`` (at most doubling), up to ``ceiling``;
      a short push (the backlog was smaller) says nothing about a bigger one;
    - ``413`` (central's byte limit) halves it, as a timeout does.

    Never below ``floor`` nor above ``ceiling`` (``ALEGRA_SYNC_BATCH_EVENTS``)."""

    ceiling: int
    target_s: float = 5.0
    floor: int = 1
    events: int = 0  # the current size; 0: start at the ceiling

    def __post_init__(self) -> None:
        self.ceiling = max(1, self.ceiling)
        self.floor = min(max(1, self.floor), self.ceiling)
        self.events = self._clamp(self.events or self.ceiling)

    def _clamp(self, events: int) -> int:
        return max(self.floor, min(self.ceiling, events))

    def took(self, *, sent: int, elapsed_s: float) -> int:
        """A push of ``sent`` events was answered after ``elapsed_s``; the next size."""
        if sent <= 0:
            return self.events
        elapsed_s = max(elapsed_s, 1e-3)
        ideal = int(sent * self.target_s / elapsed_s)
        if elapsed_s > self.target_s:
            self.events = self._clamp(min(self.events, max(ideal, sent // 2)))
        elif elapsed_s < self.target_s / 2 and sent >= self.events:
            self.events = self._clamp(min(ideal, 2 * sent))
        return self.events

    def timed_out(self, *, sent: int) -> int:
        """A push of ``sent`` events got no answer in time; the next size."""
        if sent > 0:
            self.events = self._clamp(min(self.events, sent) // 2)
        return self.events

    def too_large(self, *, sent: int) -> int:
        """Central refused a push of ``sent`` events as too large (413); the next size."""
        return self.timed_out(sent=sent)
