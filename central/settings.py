"""Process settings of the central server (``ALEGRA_*`` environment variables)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class CentralSettings(BaseSettings):
    """Everything configurable about central. Institution names are configuration because a 2026
    decree moves the service to a new body (SUNADEP)."""

    model_config = SettingsConfigDict(env_prefix="ALEGRA_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None  # default: SQLite file under data_dir
    secret_key: SecretStr | None = None  # default: generated once into data_dir/central-secret.key
    audit_key: SecretStr | None = None  # default: generated once into data_dir/audit-hmac.key
    # append-only file of audit chain checkpoints (default: data_dir/audit-checkpoints.jsonl)
    audit_checkpoint_file: Path | None = None
    log_level: str = "INFO"

    institution_name: str = "Ministerio de Justicia y Derechos Humanos"
    service_name: str = "Dirección General de Defensa Pública y Acceso a la Justicia"
    system_name: str = "ALEGRA"
    # where citizens reach central: the QR of every signed document points to its public
    # verification page under this URL
    public_base_url: str = "http://127.0.0.1:8000"

    # tokens and sessions
    access_token_minutes: int = Field(default=10, ge=1, le=120)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    web_session_hours: int = Field(default=8, ge=1, le=72)
    web_session_idle_minutes: int = Field(default=30, ge=5, le=720)
    cookie_secure: bool = True
    totp_issuer: str = "ALEGRA"
    totp_setup_minutes: int = Field(default=10, ge=1, le=60)

    # progressive lockout: after `lockout_threshold` consecutive failures the account locks for
    # lockout_base_seconds, doubling with each further failure up to lockout_max_seconds
    lockout_threshold: int = Field(default=5, ge=1, le=50)
    lockout_base_seconds: int = Field(default=60, ge=1)
    lockout_max_seconds: int = Field(default=3600, ge=1)
    # throttling per client address: after signin_ip_max_failures failed sign-ins from one
    # address within signin_ip_window_seconds, that address is refused (429) until the window ends
    signin_ip_max_failures: int = Field(default=30, ge=1)
    signin_ip_window_seconds: int = Field(default=900, ge=1)

    # argon2id (RFC 9106 / OWASP minimum: 19 MiB, t=2, p=1). Measured ~25-40 ms per verify on
    # the 2-core development machine, keeping sign-in p99 well below 300 ms under load.
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19456, ge=8192)
    argon2_parallelism: int = Field(default=1, ge=1)

    password_min_length: int = Field(default=12, ge=8)
    enrollment_code_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'central.sqlite3').resolve()}"

    def resolved_audit_key(self) -> str:
        """The audit chain's HMAC key: ``ALEGRA_AUDIT_KEY`` or generated once into
        ``<data dir>/audit-hmac.key`` (mode 0600). Outside the database on purpose: whoever can
        write the audit table cannot recompute the chain without it. Back it up with the data
        dir; losing it leaves the existing rows unverifiable."""
        if self.audit_key is not None:
            return self.audit_key.get_secret_value()
        return _key_file(self.data_dir / "audit-hmac.key")

    def resolved_audit_checkpoint_file(self) -> Path:
        return self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.jsonl"

    def resolved_secret_key(self) -> str:
        """The signing key; generated on first use into the data dir (mode 0600), never in git."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "central-secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it first
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
        key = path.read_text().strip()
        self.secret_key = SecretStr(key)
        return key


def _key_file(path: Path) -> str:
    """A random key generated once into ``path`` (mode 0600; a concurrent creator wins)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
