"""Password hashing (argon2id) and the password policy, with Spanish messages."""

from __future__ import annotations

import gzip
import string
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from central.domain.errors import FieldError, ValidationFailed
from contracts.errors import ErrorCode


@lru_cache(maxsize=8)
def hasher(time_cost: int = 2, memory_kib: int = 19456, parallelism: int = 1) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hash_password(password: str, ph: PasswordHasher) -> str:
    return ph.hash(password)


def verify_password(password_hash: str, password: str, ph: PasswordHasher) -> bool:
    try:
        return ph.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# Verified against when the username does not exist, so timing does not reveal which usernames do.
_DUMMY_HASHES: dict[int, str] = {}


def dummy_verify(password: str, ph: PasswordHasher) -> None:
    key = id(ph)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = ph.hash("alegra-dummy-password")
    verify_password(_DUMMY_HASHES[key], password, ph)


COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"
_EDGE = string.digits + string.punctuation + " ¡¿"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords (lowercase), read once."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip() and line[0] != "#")


def is_common(password: str) -> bool:
    """The password, or its word once the digits and symbols around it are taken off
    ("Password1234!" -> "password"), is on the list; letter case does not matter."""
    lowered = password.lower()
    listed = common_passwords()
    return lowered in listed or lowered.strip(_EDGE) in listed


def password_problems(password: str, *, username: str, min_length: int = 12) -> list[str]:
    """Spanish reasons why ``password`` is not acceptable (empty list: it is)."""
    problems: list[str] = []
    if len(password) < min_length:
        problems.append(f"La contraseña debe tener al menos {min_length} caracteres.")
    if len(password) > 256:
        problems.append("La contraseña no puede tener más de 256 caracteres.")
    classes = sum(
        [
            any(c in string.ascii_lowercase or (c.isalpha() and c.islower()) for c in password),
            any(c.isalpha() and c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if password and classes < 2:
        problems.append(
            "La contraseña debe combinar al menos dos tipos de caracteres "
            "(minúsculas, mayúsculas, números o símbolos)."
        )
    if username and username.lower() in password.lower():
        problems.append("La contraseña no puede contener el nombre de usuario.")
    if password and len(set(password)) < 4:
        problems.append("La contraseña repite demasiado los mismos caracteres.")
    if password and is_common(password):
        problems.append(
            "La contraseña es demasiado común (figura en listas de contraseñas filtradas); "
            "elija otra."
        )
    return problems


def check_password_policy(
    password: str, *, username: str, min_length: int = 12, field: str = "password"
) -> None:
    problems = password_problems(password, username=username, min_length=min_length)
    if problems:
        raise ValidationFailed(
            code=ErrorCode.WEAK_PASSWORD,
            fields=[FieldError(field, problem) for problem in problems],
        )
