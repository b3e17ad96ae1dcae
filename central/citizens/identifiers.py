"""Peruvian identifiers: identity documents, ubigeo, and name normalisation for search and
duplicate detection. Pure functions."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

# identity documents and their rules are defined once, with the hub and the counters
from contracts.cases import DOC_TYPES as DOC_TYPES
from contracts.cases import normalize_document as normalize_document

UBIGEO_RE = re.compile(r"^\d{6}$")
JUDICIAL_RE = re.compile(r"^(\d{5})-(\d{4})-(\d{1,3})-(\d{4})-([A-Z]{2})-([A-Z]{2})-(\d{2})$")


def fold(text: str) -> str:
    """Lower-case, accents removed (ñ kept as n), only letters, digits and single spaces."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", stripped).split())


def name_key(given_names: str, surnames: str) -> str:
    """The stored search key: surnames first, as lists and registries sort people in Peru."""
    return fold(f"{surnames} {given_names}")


def name_similarity(a: str, b: str) -> float:
    """0..1 similarity of two folded names, insensitive to word order (token sort + difflib)."""
    left, right = " ".join(sorted(fold(a).split())), " ".join(sorted(fold(b).split()))
    if not left or not right:
        return 0.0
    return max(
        SequenceMatcher(None, left, right).ratio(), SequenceMatcher(None, fold(a), fold(b)).ratio()
    )


def valid_judicial_number(value: str) -> bool:
    """Poder Judicial file number, e.g. ``00123-2024-0-1801-JR-FA-01``."""
    match = JUDICIAL_RE.match(value or "")
    if not match:
        return False
    year = int(match.group(2))
    return 1900 <= year <= 2100


def mask_document(doc_number: str | None) -> str:
    """For lists and logs: only the last three characters."""
    if not doc_number:
        return "—"
    return "•" * max(0, len(doc_number) - 3) + doc_number[-3:]
