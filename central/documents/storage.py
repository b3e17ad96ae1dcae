"""Storage adapters for case documents. Content is addressed by a key made by the caller's
record id; the SHA-256 is computed while writing and checked on every read."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1024 * 1024
_KEY_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


class TooLarge(Exception):
    """The stream was longer than the allowed size (nothing was kept)."""


class IntegrityFailure(Exception):
    """Stored bytes no longer match their recorded SHA-256."""


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    sha256: str


class DocumentStorage(Protocol):
    def put(self, key: str, stream: BinaryIO, *, max_bytes: int) -> Stored: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


def _check_key(key: str) -> str:
    if not _KEY_OK.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class LocalDirectoryStorage:
    """Files under one directory (mode 0600), written to a temp file and renamed into place so
    a crash never leaves a half file under a real key."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, stream: BinaryIO, *, max_bytes: int) -> Stored:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(size)
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o600)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return Stored(key=key, size=size, sha256=digest.hexdigest())

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class MemoryStorage:
    """In-memory storage (tests and one-shot tools); same contract as the local directory."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def put(self, key: str, stream: BinaryIO, *, max_bytes: int) -> Stored:
        _check_key(key)
        data = bytearray()
        while chunk := stream.read(CHUNK):
            data += chunk
            if len(data) > max_bytes:
                raise TooLarge(len(data))
        self._blobs[key] = bytes(data)
        return Stored(key=key, size=len(data), sha256=hashlib.sha256(data).hexdigest())

    def get(self, key: str) -> bytes:
        try:
            return self._blobs[_check_key(key)]
        except KeyError:
            raise FileNotFoundError(key) from None

    def delete(self, key: str) -> None:
        self._blobs.pop(_check_key(key), None)

    def exists(self, key: str) -> bool:
        return _check_key(key) in self._blobs


def read_verified(storage: DocumentStorage, key: str, sha256: str) -> bytes:
    data = storage.get(key)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise IntegrityFailure(key)
    return data


# Allowed types: extension -> content type. Anything else is refused.
ALLOWED_TYPES: dict[str, str] = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".txt": "text/plain",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
# Magic numbers checked for the binary types (a renamed .exe is not a PDF).
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/vnd.oasis.opendocument.text": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
}


def content_type_for(filename: str, head: bytes) -> str | None:
    """The allowed content type of a file by its extension, confirmed by its first bytes; None
    when the type is not allowed or the bytes do not match."""
    suffix = Path(filename).suffix.lower()
    content_type = ALLOWED_TYPES.get(suffix)
    if content_type is None:
        return None
    magic = _MAGIC.get(content_type)
    if magic and not any(head.startswith(m) for m in magic):
        return None
    if content_type == "text/plain":
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            # a cut multi-byte character at the end of the sniffed head is fine
            try:
                head[:-3].decode("utf-8")
            except UnicodeDecodeError:
                return None
        if b"\x00" in head:
            return None
    return content_type
