"""Who is acting in a command: the signed-in user (or device, or the system) plus the request
context every audit row needs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    user_id: str | None
    username: str | None
    profiles: tuple[str, ...] = ()
    scope_kind: str | None = None  # "sede" | "district" | "national"
    sede_id: str | None = None
    district_id: str | None = None
    device_id: str | None = None
    request_id: str | None = None
    ip: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def system(cls, name: str = "system", *, request_id: str | None = None) -> Actor:
        """The actor of CLI commands (seed, create-admin, migrations)."""
        return cls(user_id=None, username=name, scope_kind="national", request_id=request_id)

    @classmethod
    def anonymous(cls, *, request_id: str | None = None, ip: str | None = None) -> Actor:
        return cls(user_id=None, username=None, request_id=request_id, ip=ip)
