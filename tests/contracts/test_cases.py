"""The case-intake vocabulary the hub, the counters and central share (contracts/cases.py):
central uses these definitions, so the rules are checked here against expected answers."""

from __future__ import annotations

import pytest

from central.cases import catalogues
from central.citizens import identifiers
from contracts import cases


def test_central_uses_the_shared_definitions():
    assert identifiers.normalize_document is cases.normalize_document
    assert identifiers.DOC_TYPES is cases.DOC_TYPES
    assert catalogues.MATTERS == cases.DEFAULT_MATTERS
    assert "violencia_familiar" in cases.DEFAULT_MATTERS and "otro" in cases.DEFAULT_MATTERS


@pytest.mark.parametrize(
    ("doc_type", "number", "expected"),
    [
        ("dni", "40718293", ("40718293", None)),
        ("dni", " 4071-8293 ", ("40718293", None)),
        ("dni", "4071829", (None, "El DNI debe tener 8 dígitos.")),
        ("dni", "4071829A", (None, "El DNI debe tener 8 dígitos.")),
        ("dni", "", (None, "Indique el número de documento.")),
        ("ce", "ab.123456", ("AB123456", None)),
        ("ce", "ABC1234567890", (None, "El carné de extranjería tiene hasta 12 letras o números.")),
        ("pasaporte", "X1234", ("X1234", None)),
        ("pasaporte", "X12", (None, "El pasaporte tiene de 5 a 15 letras o números.")),
        ("cpp", "12345", ("12345", None)),
        ("ninguno", None, (None, None)),
        ("ninguno", "123", (None, "Sin documento: no indique un número.")),
        ("libreta", "123", (None, "Tipo de documento no válido.")),
    ],
)
def test_document_rules(doc_type, number, expected):
    assert cases.normalize_document(doc_type, number) == expected


def test_intake_names_put_surnames_first_with_a_comma():
    assert (
        cases.intake_names("  María   Elena ", "Condori  Huanca") == "Condori Huanca, María Elena"
    )
    assert cases.intake_names("Rosa", "") == "Rosa"
