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


# ------------------------------------------------------------------ encryption at rest

_ENC_MAGIC = b"ALGE1"  # format marker of an encrypted blob: magic, key id (8), nonce (12), data


class EncryptedStorage:
    """Wraps another storage: content is AES-256-GCM encrypted before it reaches ``inner``.

    ``keys`` come from settings, newest first: the first encrypts, every one decrypts (each
    blob names its key by an 8-byte id, the start of the key's SHA-256). Rotation: configure
    the new key first, run ``rotate`` (re-encrypts every blob under the new key, one file at a
    time, atomically through the inner storage), then remove the old key. ``put`` returns the
    SHA-256 of the plain content, so integrity checks (``read_verified``) do not change."""

    def __init__(self, inner: DocumentStorage, keys: list[bytes]) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not keys or any(len(k) != 32 for k in keys):
            raise ValueError("document keys must be one or more 32-byte keys")
        self.inner = inner
        self._aead = [(hashlib.sha256(k).digest()[:8], AESGCM(k)) for k in keys]

    def _encrypt(self, data: bytes, key: str) -> bytes:
        key_id, aead = self._aead[0]
        nonce = os.urandom(12)
        return _ENC_MAGIC + key_id + nonce + aead.encrypt(nonce, data, key.encode())

    def _decrypt(self, blob: bytes, key: str) -> bytes:
        if not blob.startswith(_ENC_MAGIC):
            raise IntegrityFailure(key)
        key_id, nonce = blob[5:13], blob[13:25]
        for candidate_id, aead in self._aead:
            if candidate_id == key_id:
                from cryptography.exceptions import InvalidTag

                try:
                    return aead.decrypt(nonce, blob[25:], key.encode())
                except InvalidTag:
                    raise IntegrityFailure(key) from None
        raise IntegrityFailure(f"{key}: encrypted with a key that is no longer configured")

    def key_id_of(self, key: str) -> bytes:
        return self.inner.get(key)[5:13]

    def put(self, key: str, stream: BinaryIO, *, max_bytes: int) -> Stored:
        import io

        data = bytearray()
        while chunk := stream.read(CHUNK):
            data += chunk
            if len(data) > max_bytes:
                raise TooLarge(len(data))
        plain = bytes(data)
        self.inner.put(
            key, io.BytesIO(self._encrypt(plain, key)), max_bytes=max_bytes + len(_ENC_MAGIC) + 41
        )
        return Stored(key=key, size=len(plain), sha256=hashlib.sha256(plain).hexdigest())

    def get(self, key: str) -> bytes:
        return self._decrypt(self.inner.get(key), key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def rotate(self, keys: list[str]) -> int:
        """Re-encrypt ``keys`` (storage keys) under the current (first) key; returns how many
        blobs changed. Blobs already under the current key are left alone, so it can resume."""
        import io

        current_id = self._aead[0][0]
        changed = 0
        for key in keys:
            blob = self.inner.get(key)
            if blob[5:13] == current_id:
                continue
            plain = self._decrypt(blob, key)
            self.inner.put(key, io.BytesIO(self._encrypt(plain, key)), max_bytes=len(blob) + 64)
            changed += 1
        return changed


def parse_keys(text: str) -> list[bytes]:
    """Comma-separated urlsafe base64 keys (32 bytes each), newest first."""
    import base64

    keys = []
    for part in text.split(","):
        part = part.strip()
        if part:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
            if len(raw) != 32:
                raise ValueError("each document key must be 32 bytes (urlsafe base64)")
            keys.append(raw)
    if not keys:
        raise ValueError("no document key configured")
    return keys


def new_key() -> str:
    import base64

    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def keys_from_file(path: Path) -> str:
    """The key list kept in ``path``, made once (mode 0600) when it does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(new_key())
    return path.read_text().strip()


def stored_keys(root: Path) -> list[str]:
    """Every storage key under a LocalDirectoryStorage root (for rotation)."""
    root = Path(root)
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".upload-")
    )
