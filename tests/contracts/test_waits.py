"""One table for an estimated wait in words, on the kiosk's screen (through the Qt catalogue)
and on the paper ticket (the es-PE default): they must never disagree again."""

from __future__ import annotations

import pytest

from contracts.waits import WAIT_TEXTS, format_wait
from qtcommon.i18n import Translator

WAITS = [
    (None, "no disponible"),
    (0, "menos de 1 min"),
    (59, "menos de 1 min"),
    (60, "1 min"),
    (61, "2 min"),
    (700, "12 min"),
    (3540, "59 min"),
    (3541, "1 h 00 min"),  # 59 min 1 s rounds up to the hour
    (3600, "1 h 00 min"),
    (3901, "1 h 06 min"),
    (5400, "1 h 30 min"),
    (7199, "2 h 00 min"),
    (7260, "2 h 01 min"),
    (36000, "10 h 00 min"),
]


@pytest.mark.parametrize(("seconds", "text"), WAITS)
def test_wait_in_words(seconds: int | None, text: str) -> None:
    assert format_wait(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), WAITS)
def test_the_screen_catalogue_says_the_same(seconds: int | None, text: str) -> None:
    assert format_wait(seconds, Translator.load("es-PE")) == text


def test_the_es_pe_catalogue_carries_the_reference_texts() -> None:
    es = Translator.load("es-PE")
    assert {key: es(key) for key in WAIT_TEXTS} == WAIT_TEXTS
