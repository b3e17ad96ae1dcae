"""Retry timing of the hub agent: exponential back-off with full jitter, honouring the
server's Retry-After (429/503) so that hundreds of sedes coming back at once spread out."""

from __future__ import annotations

import random


def backoff_delay(
    attempt: int,
    *,
    base_s: float = 1.0,
    cap_s: float = 300.0,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = first retry)."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    ceiling = min(cap_s, base_s * (2 ** max(0, attempt - 1)))
    delay = rng.uniform(0, ceiling)
    if retry_after_s is not None:
        # never earlier than asked; add up to 50% jitter so a herd does not return in step
        delay = max(delay, retry_after_s + rng.uniform(0, retry_after_s * 0.5))
    return min(delay, max(cap_s, retry_after_s or 0.0))


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
