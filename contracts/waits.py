"""An estimated wait in words: one rule for the kiosk's screen and the paper ticket (they used
to disagree from 60 minutes on). Rounded up to whole minutes (a shorter wait than promised is a
pleasant surprise, a longer one is not); hours from 60 minutes on, minutes always two digits.

The words are catalogue keys (``wait.*``), so a screen passes its translator and a second
language needs no code change; without one the es-PE texts below are used (the printer's
default, and the reference the Qt catalogue must match: tests/contracts/test_waits.py).
"""

from __future__ import annotations

from collections.abc import Callable

#: es-PE texts of the wait keys; ``qtcommon/i18n/es-PE.json`` carries the same.
WAIT_TEXTS: dict[str, str] = {
    "wait.unknown": "no disponible",
    "wait.under_minute": "menos de 1 min",
    "wait.minutes": "{minutes} min",
    "wait.hours": "{hours} h {minutes:02d} min",
}


def wait_parts(seconds: int | None) -> tuple[str, dict[str, int]]:
    """(catalogue key, its placeholders) for an estimated wait; None: no honest estimate."""
    if seconds is None:
        return "wait.unknown", {}
    if seconds < 60:
        return "wait.under_minute", {}
    minutes = -(-seconds // 60)
    if minutes < 60:
        return "wait.minutes", {"minutes": minutes}
    return "wait.hours", {"hours": minutes // 60, "minutes": minutes % 60}


def format_wait(seconds: int | None, tr: Callable[..., str] | None = None) -> str:
    """The wait in words, through ``tr(key, **placeholders)`` (a Qt ``Translator``) or, without
    one, the es-PE ``WAIT_TEXTS``."""
    key, params = wait_parts(seconds)
    if tr is None:
        return WAIT_TEXTS[key].format(**params)
    return tr(key, **params)
