"""One contract for every document storage adapter (local directory, memory): what goes in
comes out with its SHA-256, the size limit keeps nothing, keys cannot escape the root; and the
type check looks at the bytes, not only the name."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from central.documents.storage import (
    IntegrityFailure,
    LocalDirectoryStorage,
    MemoryStorage,
    TooLarge,
    content_type_for,
    read_verified,
)


@pytest.fixture(params=["local", "memory"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalDirectoryStorage(tmp_path / "docs")
    return MemoryStorage()


def test_round_trip_with_sha256(storage):
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk
    stored = storage.put("case-1/doc-1", io.BytesIO(data), max_bytes=10 * 1024 * 1024)
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert storage.exists("case-1/doc-1")
    assert read_verified(storage, "case-1/doc-1", stored.sha256) == data
    storage.delete("case-1/doc-1")
    assert not storage.exists("case-1/doc-1")


def test_over_the_limit_keeps_nothing(storage, tmp_path):
    with pytest.raises(TooLarge):
        storage.put("case-1/big", io.BytesIO(b"x" * 2048), max_bytes=1024)
    assert not storage.exists("case-1/big")
    if isinstance(storage, LocalDirectoryStorage):
        assert list((tmp_path / "docs").rglob("*")) in ([], [tmp_path / "docs" / "case-1"])


def test_keys_cannot_escape(storage):
    for key in ("../etc/passwd", "/abs", "a/../../b", ""):
        with pytest.raises(ValueError):
            storage.put(key, io.BytesIO(b"x"), max_bytes=10)


def test_tampering_is_detected(storage):
    stored = storage.put("k", io.BytesIO(b"original"), max_bytes=100)
    storage.put("k", io.BytesIO(b"changed!"), max_bytes=100)
    with pytest.raises(IntegrityFailure):
        read_verified(storage, "k", stored.sha256)


def test_local_files_are_private(tmp_path):
    storage = LocalDirectoryStorage(tmp_path)
    storage.put("a/b", io.BytesIO(b"secret"), max_bytes=100)
    assert (tmp_path / "a" / "b").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("escrito.pdf", b"%PDF-1.7\n", "application/pdf"),
        ("foto.JPG", b"\xff\xd8\xff\xe0", "image/jpeg"),
        ("foto.png", b"\x89PNG\r\n\x1a\n....", "image/png"),
        ("nota.txt", "Declaración del usuario".encode(), "text/plain"),
        (
            "acta.docx",
            b"PK\x03\x04",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("virus.exe", b"MZ", None),
        ("renombrado.pdf", b"MZ\x90\x00", None),
        ("binario.txt", b"\x00\x01\x02", None),
        ("sin_extension", b"%PDF-", None),
        ("script.html", b"<script>", None),
    ],
)
def test_content_type_by_name_and_bytes(name, head, expected):
    assert content_type_for(name, head) == expected
