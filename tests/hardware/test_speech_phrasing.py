"""Spanish phrasing of calls and Spanish number words (0-999 checked exhaustively)."""

from __future__ import annotations

import pytest

from hardware.speech import NumberReading, SpeechConfig, number_words, phrase_for_call

# An independent reader of Spanish cardinals, written from the grammar (not from the code under
# test), to check every number 0-999 both ways.
_VALUES = {
    "cero": 0, "uno": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13,
    "catorce": 14, "quince": 15, "dieciséis": 16, "diecisiete": 17, "dieciocho": 18,
    "diecinueve": 19, "veinte": 20, "veintiuno": 21, "veintiún": 21, "veintidós": 22,
    "veintitrés": 23, "veinticuatro": 24, "veinticinco": 25, "veintiséis": 26,
    "veintisiete": 27, "veintiocho": 28, "veintinueve": 29, "treinta": 30, "cuarenta": 40,
    "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100,
    "ciento": 100, "doscientos": 200, "trescientos": 300, "cuatrocientos": 400,
    "quinientos": 500, "seiscientos": 600, "setecientos": 700, "ochocientos": 800,
    "novecientos": 900,
}  # fmt: skip


def read_spanish(words: str) -> int:
    total = current = 0
    tokens = words.split(" ")
    for index, token in enumerate(tokens):
        if token == "y":
            # "y" only joins tens (30-90) and units 1-9
            assert 30 <= current % 100 <= 90 and current % 10 == 0, words
            assert 1 <= _VALUES[tokens[index + 1]] <= 9, words
            continue
        if token == "mil":
            total += (current or 1) * 1000
            current = 0
            continue
        current += _VALUES[token]
    return total + current


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "cero"),
        (1, "uno"),
        (10, "diez"),
        (15, "quince"),
        (16, "dieciséis"),
        (20, "veinte"),
        (21, "veintiuno"),
        (22, "veintidós"),
        (23, "veintitrés"),
        (26, "veintiséis"),
        (30, "treinta"),
        (31, "treinta y uno"),
        (45, "cuarenta y cinco"),
        (99, "noventa y nueve"),
        (100, "cien"),
        (101, "ciento uno"),
        (110, "ciento diez"),
        (121, "ciento veintiuno"),
        (200, "doscientos"),
        (500, "quinientos"),
        (555, "quinientos cincuenta y cinco"),
        (700, "setecientos"),
        (900, "novecientos"),
        (999, "novecientos noventa y nueve"),
        (1000, "mil"),
        (1001, "mil uno"),
        (2024, "dos mil veinticuatro"),
        (21000, "veintiún mil"),
        (31000, "treinta y un mil"),
        (100000, "cien mil"),
        (101000, "ciento un mil"),
    ],
)
def test_number_words(number: int, words: str) -> None:
    assert number_words(number) == words


def test_every_number_below_a_thousand_reads_back() -> None:
    seen = set()
    for number in range(1000):
        words = number_words(number)
        assert words == words.strip() and "  " not in words
        assert read_spanish(words) == number, words
        seen.add(words)
    assert len(seen) == 1000


@pytest.mark.parametrize("number", [1234, 9999, 21021, 45678, 100100, 999999])
def test_thousands_read_back(number: int) -> None:
    assert read_spanish(number_words(number)) == number


@pytest.mark.parametrize("number", [-1, 1_000_000])
def test_number_out_of_range(number: int) -> None:
    with pytest.raises(ValueError):
        number_words(number)


def test_phrase_digits_is_the_default() -> None:
    assert phrase_for_call("A007", 3) == "Turno A cero cero siete, ventanilla tres"


def test_phrase_natural() -> None:
    assert phrase_for_call("A007", 3, reading="natural") == "Turno A siete, ventanilla tres"
    assert (
        phrase_for_call("C120", 21, reading=NumberReading.NATURAL)
        == "Turno ce ciento veinte, ventanilla veintiuno"
    )


def test_phrase_counter_label() -> None:
    assert phrase_for_call("B015", 2, counter_label="módulo") == (
        "Turno be cero uno cinco, módulo dos"
    )


def test_letters_are_spoken_by_name() -> None:
    # "Y" alone would be read as the word "y"; vowels are said as themselves
    assert phrase_for_call("Y001", 1).startswith("Turno i griega cero cero uno")
    assert phrase_for_call("E001", 1).startswith("Turno E cero")
    assert phrase_for_call("AB12", 1, reading="natural").startswith("Turno A be doce")
    names = {**SpeechConfig().letter_names, "V": "uve"}
    assert phrase_for_call("V003", 1, letter_names=names).startswith("Turno uve cero")


@pytest.mark.parametrize("bad", ["", "007", "A", "a-b", "A007X", "A0070000"])
def test_bad_ticket_numbers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        phrase_for_call(bad, 1)
