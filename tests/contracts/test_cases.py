"""The case-intake vocabulary the hub and the counters use stays the same as central's."""

from __future__ import annotations

import pytest

from central.cases import catalogues
from central.citizens import identifiers
from contracts import cases


def test_default_matters_are_centrals_catalogue():
    assert cases.DEFAULT_MATTERS == catalogues.MATTERS


def test_document_types_are_centrals():
    assert cases.DOC_TYPES == identifiers.DOC_TYPES


@pytest.mark.parametrize(
    ("doc_type", "number"),
    [
        ("dni", "40718293"),
        ("dni", " 4071-8293 "),
        ("dni", "4071829"),
        ("dni", "4071829A"),
        ("dni", ""),
        ("ce", "ab.123456"),
        ("ce", "ABC1234567890"),
        ("pasaporte", "X1234"),
        ("pasaporte", "X12"),
        ("cpp", "12345"),
        ("ninguno", None),
        ("ninguno", "123"),
        ("libreta", "123"),
    ],
)
def test_document_rules_answer_as_centrals(doc_type, number):
    assert cases.normalize_document(doc_type, number) == identifiers.normalize_document(
        doc_type, number
    )


def test_intake_names_put_surnames_first_with_a_comma():
    assert (
        cases.intake_names("  María   Elena ", "Condori  Huanca") == "Condori Huanca, María Elena"
    )
    assert cases.intake_names("Rosa", "") == "Rosa"
