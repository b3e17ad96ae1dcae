"""Cyclic garbage collection paused while a push batch is parsed and applied.

Parsing and applying a batch of thousands of events creates hundreds of thousands of short-lived
dicts and strings, none in reference cycles (JSON never makes one), which reference counting
frees. Each few hundred allocations would start a cyclic collection, and the frequent full
ones walk the whole server heap: measured, that is about half of the JSON parse and a third
of the pydantic envelope check. The pause is reference-counted across concurrent batches and
lifted as soon as none is being worked on, so collection resumes between batches (anything
cyclic made meanwhile by other requests is collected then); it never re-enables a collector
that someone else had disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_disabled_here = False


@contextmanager
def collection_paused() -> Iterator[None]:
    global _holders, _disabled_here
    with _lock:
        if _holders == 0:
            _disabled_here = gc.isenabled()
            if _disabled_here:
                gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _disabled_here:
                _disabled_here = False
                gc.enable()
