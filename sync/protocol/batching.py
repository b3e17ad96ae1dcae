"""Splitting the outbox into request bodies that fit central's size limit, and sizing them by
the time a push takes on the sede's link."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
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
    out again, and the backlog only grows. So the size follows the answers. A push is taken
    to cost a fixed overhead (round trips, central's transaction) plus a time per event, both
    estimated from the last answered pushes; the goal is ``target_s``,
    or twice the overhead when the overhead alone exceeds it (smaller batches would then
    only lower throughput, not the time a push takes):

    - a push that took longer than the goal (by a fifth: answers vary) shrinks the next one
      towards the size that fits it (at most by half at a time);
    - a push that timed out halves it (no answer, so no better estimate); so does ``413``;
    - a *full* push (as many events as allowed) whose size could grow by a quarter and still
      fit the goal grows it (at most doubling), up to ``ceiling``; a short push (the backlog
      was smaller) says nothing about a bigger one.

    Never below ``floor`` nor above ``ceiling`` (``ALEGRA_SYNC_BATCH_EVENTS``)."""

    ceiling: int
    target_s: float = 5.0
    floor: int = 1
    events: int = 0  # the current size; 0: start at the ceiling
    # (events, seconds) of the last answered pushes: the overhead is their regression's
    # intercept (several points, so one slow answer does not swing it)
    _history: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=8))

    def __post_init__(self) -> None:
        self.ceiling = max(1, self.ceiling)
        self.floor = min(max(1, self.floor), self.ceiling)
        self.events = self._clamp(self.events or self.ceiling)

    def _clamp(self, events: int) -> int:
        return max(self.floor, min(self.ceiling, events))

    def _overhead(self, elapsed_s: float) -> float:
        """The fixed part of a push's time: the intercept of the least-squares line through
        the recent (events, seconds), 0 while they are all of one size or when bigger pushes
        were faster; never more than most of this push's time."""
        points = self._history
        mean_n = sum(n for n, _ in points) / len(points)
        mean_t = sum(t for _, t in points) / len(points)
        spread = sum((n - mean_n) ** 2 for n, _ in points)
        if spread == 0:
            return 0.0
        per_event = sum((n - mean_n) * (t - mean_t) for n, t in points) / spread
        if per_event <= 0:
            return 0.0
        return min(max(0.0, mean_t - per_event * mean_n), elapsed_s * 0.9)

    def took(self, *, sent: int, elapsed_s: float) -> int:
        """A push of ``sent`` events was answered after ``elapsed_s``; the next size."""
        if sent <= 0:
            return self.events
        elapsed_s = max(elapsed_s, 1e-3)
        self._history.append((sent, elapsed_s))
        overhead = self._overhead(elapsed_s)
        goal = max(self.target_s, 2 * overhead)
        ideal = int(sent * (goal - overhead) / (elapsed_s - overhead))
        if elapsed_s > goal * 1.2:
            self.events = self._clamp(min(self.events, max(ideal, sent // 2)))
        elif sent >= self.events and ideal >= sent * 5 // 4:
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
