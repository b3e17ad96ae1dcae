"""Contiguous acknowledgement: central answers with the highest n such that it holds every
sequence 1..n of an epoch, so a gap (a lost or reordered batch) is never acknowledged past."""

from __future__ import annotations

from collections.abc import Iterable


def contiguous_through(held_through: int, seqs: Iterable[int]) -> int:
    """Advance ``held_through`` over ``seqs`` (any order, duplicates allowed): the result is
    the highest n such that 1..n are all in {1..held_through} | set(seqs)."""
    present = {s for s in seqs if s > held_through}
    n = held_through
    while n + 1 in present:
        n += 1
    return n


def epoch_restored(*, held_through: int, local_last_seq: int) -> bool:
    """Central holds more of this epoch than the hub ever produced: the hub's file is an older
    backup and the next local sequence numbers would collide. Open a new epoch."""
    return held_through > local_last_seq


def central_behind(*, held_through: int, local_sent_through: int) -> bool:
    """Central holds less than the hub believes acknowledged: central was restored from an
    older backup. The hub must send again from ``held_through + 1``."""
    return held_through < local_sent_through
