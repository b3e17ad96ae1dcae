"""Wire shape of a sede's hub configuration, as central publishes it
(``GET /api/v1/sedes/{id}/hub-config``) and the hub reads it from its TOML file.

It mirrors ``hub.config.SedeConfig`` field for field so that central never imports the hub; a
test validates central's output with the hub's own model. Pure pydantic, no I/O.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
TicketLetter = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}$")]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceConf(_Wire):
    code: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    letter: TicketLetter


class CounterConf(_Wire):
    id: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    number: int = Field(ge=1, le=999)
    services: dict[str, Annotated[int, Field(ge=1, le=100)]]  # service code -> weight


class HoursConf(_Wire):
    weekdays: list[Annotated[int, Field(ge=0, le=6)]]  # 0 = Monday, Lima time
    opens: time
    closes: time


class QueuePolicyConf(_Wire):
    reset: str = "daily"  # "daily" | "keep_overnight"
    max_recalls: int = Field(default=2, ge=0, le=10)
    appointment_window_min: int = Field(default=15, ge=0, le=240)
    aging_after_s: int = Field(default=1200, ge=60)
    recent_service_samples: int = Field(default=20, ge=1, le=500)
    default_service_s: int = Field(default=600, ge=30)
    issue_outside_hours: bool = False


class StaffConf(_Wire):
    username: Code
    display_name: str
    password_hash: str  # argon2id
    counters: list[Code] = Field(default_factory=list)


class SedeConf(_Wire):
    id: Code
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    kind: str = "ALEGRA"  # or "Mega ALEGRA"
    timezone: str = "America/Lima"
    services: list[ServiceConf]
    counters: list[CounterConf]
    hours: list[HoursConf] = Field(default_factory=list)
    queue: QueuePolicyConf = QueuePolicyConf()
    staff: list[StaffConf] = Field(default_factory=list)
