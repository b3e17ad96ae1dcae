"""Sede configuration: one TOML file per sede (services, counters, hours, queue policy) and
process settings from ``ALEGRA_*`` environment variables (pydantic-settings).

A bad file raises ConfigError whose message names the offending field, e.g.
``sede.toml: counters.1.services.Z: servicio desconocido``.
"""

from __future__ import annotations

import tomllib
from datetime import datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
LIMA = ZoneInfo("America/Lima")
DEMO_SEDE_FILE = Path(__file__).parent / "sedes" / "demo.toml"


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or invalid; the message names the field."""


class ResetPolicy(StrEnum):
    DAILY = "daily"  # numbering restarts and leftover tickets expire at local midnight
    KEEP_OVERNIGHT = "keep_overnight"  # numbering restarts; waiting tickets stay in line


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceConfig(_Strict):
    code: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    letter: Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}$")]


class CounterConfig(_Strict):
    id: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    number: int = Field(ge=1, le=999)
    # service code -> weight (how many of this service it takes per round; >= 1)
    services: dict[str, Annotated[int, Field(ge=1, le=100)]]

    @field_validator("services")
    @classmethod
    def _not_empty(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError("la ventanilla debe atender al menos un servicio")
        return value


class HoursConfig(_Strict):
    # 0 = Monday ... 6 = Sunday, Lima time
    weekdays: list[Annotated[int, Field(ge=0, le=6)]]
    opens: time
    closes: time

    @model_validator(mode="after")
    def _order(self) -> HoursConfig:
        if self.opens >= self.closes:
            raise ValueError("la hora de apertura debe ser anterior a la de cierre")
        return self


class QueuePolicy(_Strict):
    reset: ResetPolicy = ResetPolicy.DAILY
    max_recalls: int = Field(default=2, ge=0, le=10)  # recalls allowed before no-show
    appointment_window_min: int = Field(default=15, ge=0, le=240)
    aging_after_s: int = Field(default=1200, ge=60)  # a service waiting this long goes first
    recent_service_samples: int = Field(default=20, ge=1, le=500)
    default_service_s: int = Field(default=600, ge=30)  # before any attention was measured
    issue_outside_hours: bool = False


class StaffUserConfig(_Strict):
    """Counter staff known to the hub before central's users arrive through sync."""

    username: Code
    display_name: str
    password_hash: str  # argon2id
    counters: list[Code] = Field(default_factory=list)  # empty: any counter


class SedeConfig(_Strict):
    id: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    kind: str = "ALEGRA"  # or "Mega ALEGRA"
    timezone: str = "America/Lima"
    services: list[ServiceConfig]
    counters: list[CounterConfig]
    hours: list[HoursConfig] = Field(default_factory=list)
    queue: QueuePolicy = QueuePolicy()
    staff: list[StaffUserConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> SedeConfig:
        codes = [s.code for s in self.services]
        if not codes:
            raise ValueError("services: la sede debe tener al menos un servicio")
        if len(set(codes)) != len(codes):
            raise ValueError("services: código de servicio repetido")
        letters = [s.letter for s in self.services]
        if len(set(letters)) != len(letters):
            raise ValueError("services: letra de turno repetida")
        ids = [c.id for c in self.counters]
        if len(set(ids)) != len(ids):
            raise ValueError("counters: identificador de ventanilla repetido")
        for index, counter in enumerate(self.counters):
            for code in counter.services:
                if code not in codes:
                    raise ValueError(f"counters.{index}.services.{code}: servicio desconocido")
        return self

    def service(self, code: str) -> ServiceConfig | None:
        return next((s for s in self.services if s.code == code), None)

    def counter(self, counter_id: str) -> CounterConfig | None:
        return next((c for c in self.counters if c.id == counter_id), None)

    def is_open(self, at: datetime) -> bool:
        if not self.hours:
            return True
        local = at.astimezone(ZoneInfo(self.timezone))
        return any(
            local.weekday() in h.weekdays and h.opens <= local.time() < h.closes for h in self.hours
        )


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(x) for x in item["loc"]) or "(raíz)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def load_sede_config(path: Path | str) -> SedeConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: el archivo no existe") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML inválido ({exc})") from exc
    try:
        return SedeConfig.model_validate(raw.get("sede", raw))
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc)}") from exc


class HubSettings(BaseSettings):
    """Process settings of the hub (``ALEGRA_*``)."""

    model_config = SettingsConfigDict(env_prefix="ALEGRA_", extra="ignore")

    data_dir: Path = Path("var")
    sede_config: Path = DEMO_SEDE_FILE
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_tls: bool = False
    # the broker's installed password file, read by `alegra hub status` to name counters of
    # the configuration in effect that have no credential (None: not checked)
    mqtt_passwd_file: Path | None = None
    log_level: str = "INFO"
