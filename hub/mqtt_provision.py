"""Per-device MQTT credentials and the Mosquitto ACL of one sede, generated from the sede's
effective configuration: the one its hub runs on (central's revision last applied, kept in the
hub's SQLite file), else its TOML.

Every device gets its own username (= its device id; for a counter, the counter id) and a random
password. The ACL binds each username to its role: a kiosk may only ask for tickets, a display
only reads, a counter acts only as its own counter, and only the hub writes state, events,
responses and the hub's availability. ``alegra hub provision-mqtt`` writes:

- ``passwd``            Mosquitto password file (hashed with ``mosquitto_passwd -U``)
- ``acl``               Mosquitto ACL file
- ``credentials.toml``  the plain passwords, one table per device, to install on each device
                        (mode 0600; delete it once the devices are configured)

``alegra hub status`` compares the effective configuration's counters with the installed
password file (``counters_without_credential``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import subprocess
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from contracts.mqtt import ROLE_ACTIONS, SEGMENT_RE, Action, Role, sede_base
from hub.config import SedeConfig
from hub.domain import central_records

HUB_USERNAME = "hub"


@dataclass(frozen=True)
class DeviceCredential:
    username: str  # = device id (counter id for counters); "hub" for the hub
    role: str  # "hub", "kiosk", "counter", "display", "admin"
    password: str


class ProvisionError(ValueError):
    pass


@dataclass(frozen=True)
class EffectiveConfig:
    """The sede configuration credentials are made for, and where it came from.

    ``source`` is ``"central"`` (the revision ``revision`` the hub applied, read from its
    ``hub_meta``) or ``"toml"`` (with ``reason``, in Spanish, saying why). ``pending`` is set
    when the hub file holds a pull from central the hub has not applied (yet, or at all)."""

    config: SedeConfig
    source: str
    revision: int | None = None
    reason: str = ""
    pending: str = ""


def _marker_parts(marker: str) -> tuple[int, bool] | None:
    """(revision, deleted) of a ``central_records.PulledConfig.marker`` ("rev:deleted:digest")."""
    parts = marker.split(":")
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    return int(parts[0]), parts[1] == "1"


def effective_config(bootstrap: SedeConfig, db_path: Path | None) -> EffectiveConfig:
    """The configuration the hub of ``db_path`` runs on, as ``HubEngine`` takes it up at start:
    central's revision last applied (``hub_meta.sede_config_applied`` and
    ``sede_config_in_effect``), else the TOML (``bootstrap``: no hub file, nothing applied, or
    central withdrew its configuration). Reads only; never creates or changes the file."""
    if db_path is None:
        return EffectiveConfig(bootstrap, "toml", reason="sin --data-dir")
    if not db_path.exists():
        return EffectiveConfig(
            bootstrap, "toml", reason=f"no hay base de datos del hub en {db_path}"
        )
    try:
        # mode=rw: never create the file; the hub's WAL needs its -shm even to read
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=rw", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise ProvisionError(f"{db_path}: no se pudo abrir ({exc})") from exc
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        try:
            meta = dict(conn.execute("SELECT key, value FROM hub_meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise ProvisionError(f"{db_path}: no es una base de datos del hub ({exc})") from exc
        if meta.get("sede_id", bootstrap.id) != bootstrap.id:
            raise ProvisionError(
                f"{db_path} es de la sede {meta['sede_id']!r}, no de {bootstrap.id!r}"
            )
        applied = meta.get("sede_config_applied", "")
        pulled = central_records.pulled_config(conn, bootstrap)
    finally:
        conn.close()
    pending = ""
    if pulled.marker and pulled.marker != applied and (parts := _marker_parts(pulled.marker)):
        if pulled.error:
            pending = f"la revisión {parts[0]} de la central no se aplicó: {pulled.error}"
        else:
            pending = (
                f"la central envió la revisión {parts[0]}, que el hub aún no aplicó "
                "(el hub en marcha la aplica en segundos; `alegra hub status` también)"
            )
    parts = _marker_parts(applied)
    if parts is None:
        return EffectiveConfig(
            bootstrap,
            "toml",
            reason="el hub aún no aplicó una configuración de la central",
            pending=pending,
        )
    revision, deleted = parts
    if deleted:
        return EffectiveConfig(
            bootstrap,
            "toml",
            reason=f"la central retiró su configuración (revisión {revision})",
            pending=pending,
        )
    config = central_records.config_from_json(meta.get("sede_config_in_effect"), bootstrap)
    if config is None:
        return EffectiveConfig(
            bootstrap,
            "toml",
            reason="la configuración aplicada guardada en el hub no es válida",
            pending=pending,
        )
    return EffectiveConfig(config, "central", revision=revision, pending=pending)


@dataclass(frozen=True)
class KeptDevice:
    """One device of an earlier ``credentials.toml`` (``--keep``)."""

    role: str
    password: str


def read_kept(path: Path) -> dict[str, KeptDevice]:
    """Device id -> role and password of an earlier ``credentials.toml`` (``--keep``)."""
    try:
        devices = tomllib.loads(path.read_text(encoding="utf-8")).get("devices", {})
        return {
            name: KeptDevice(role=str(entry["role"]), password=str(entry["password"]))
            for name, entry in devices.items()
        }
    except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ProvisionError(f"{path}: no es un credentials.toml válido ({exc})") from exc


def carried_devices(
    kept: dict[str, KeptDevice],
    *,
    kiosks: list[str],
    displays: list[str],
    admins: list[str],
    drop: list[str],
) -> tuple[list[str], list[str], list[str]]:
    """Kiosks, displays and consoles to provision: those of the kept file (by the role it
    records) plus the named ones, minus ``drop``. Counters are not carried: they come from the
    configuration. A device named with another role than the kept one takes the named role."""
    named = {*kiosks, *displays, *admins}
    unknown = sorted(set(drop) - set(kept))
    if unknown:
        raise ProvisionError(f"--drop de equipos que no están en --keep: {', '.join(unknown)}")
    contradictory = sorted(named & set(drop))
    if contradictory:
        raise ProvisionError(f"nombrados y retirados a la vez: {', '.join(contradictory)}")
    carried: dict[str, list[str]] = {Role.KIOSK.value: [], Role.DISPLAY.value: [],
                                     Role.ADMIN.value: []}  # fmt: skip
    for name, device in kept.items():
        if device.role in carried and name not in named and name not in drop:
            carried[device.role].append(name)
    return (
        carried[Role.KIOSK.value] + kiosks,
        carried[Role.DISPLAY.value] + displays,
        carried[Role.ADMIN.value] + admins,
    )


def passwd_usernames(path: Path) -> list[str]:
    """Usernames of a Mosquitto password file (each line's prefix before ':'), in file order."""
    return [
        line.split(":", 1)[0].strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if ":" in line and not line.lstrip().startswith("#")
    ]


def counters_without_credential(config: SedeConfig, usernames: Iterable[str]) -> list[str]:
    """Counters of ``config`` that have no username in the broker's password file: they
    cannot connect until their credential is provisioned and installed."""
    known = set(usernames)
    return [counter.id for counter in config.counters if counter.id not in known]


def plan_devices(
    config: SedeConfig,
    *,
    kiosks: list[str],
    displays: list[str],
    admins: list[str] = (),  # type: ignore[assignment]
) -> list[tuple[str, str]]:
    """(username, role) for the hub, every counter of the config and the named devices."""
    devices = [(HUB_USERNAME, "hub")]
    devices += [(counter.id, Role.COUNTER.value) for counter in config.counters]
    devices += [(kiosk, Role.KIOSK.value) for kiosk in kiosks]
    devices += [(display, Role.DISPLAY.value) for display in displays]
    devices += [(admin, Role.ADMIN.value) for admin in admins]
    seen: set[str] = set()
    for username, role in devices:
        if not SEGMENT_RE.match(username):
            raise ProvisionError(f"{role} {username!r}: use only a-z, 0-9, '-' y '_'")
        if username in seen:
            # usernames double as device ids in topics, so they must be unique across roles
            raise ProvisionError(f"identificador repetido: {username!r}")
        seen.add(username)
    return devices


def render_acl(sede_id: str, devices: list[tuple[str, str]]) -> str:
    """The Mosquitto ACL for ``sede_id``. ``pattern`` lines apply to every user (``%u`` is the
    username, which is the device id); ``user`` blocks add what only that device may do."""
    base = sede_base(sede_id)
    lines = [
        f"# Mosquitto ACL of sede {sede_id}: generated by `alegra hub provision-mqtt`.",
        "# Usernames are device ids (a counter's username is its counter id).",
        "# Anything not granted here is denied; a denied publish is dropped by the broker and",
        "# never reaches the hub.",
        "",
        "# --- every device -------------------------------------------------------------",
        "# what the hub publishes for everyone to read",
        f"pattern read {base}/config",
        f"pattern read {base}/hub/availability",
        f"pattern read {base}/queue/+/state",
        f"pattern read {base}/counter/+/state",
        f"pattern read {base}/display/state",
        f"pattern read {base}/event/call",
        "# its own availability (retained, last will), its own print jobs, its own answers",
        f"pattern readwrite {base}/device/%u/availability",
        f"pattern read {base}/device/%u/print",
        f"pattern read {base}/+/%u/response/+",
        "",
    ]
    for username, role in devices:
        lines.append(f"user {username}")
        if role == "hub":
            lines.append("# the hub: state, events, responses, print jobs, its availability")
            lines.append(f"topic readwrite {base}/#")
        elif role == Role.COUNTER.value:
            lines.append(f"topic write {base}/counter/{username}/request/+")
        elif role == Role.DISPLAY.value:
            lines.append("# a display only reads (patterns above)")
        else:
            for action in sorted(ROLE_ACTIONS[Role(role)], key=lambda a: a.value):
                lines.append(f"topic write {base}/{role}/{username}/request/{Action(action).value}")
        lines.append("")
    return "\n".join(lines)


def _hash_password_file(path: Path) -> None:
    exe = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not Path(exe).exists():
        raise ProvisionError("mosquitto_passwd no está instalado (paquete mosquitto)")
    result = subprocess.run([exe, "-U", str(path)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ProvisionError(f"mosquitto_passwd falló: {result.stderr.strip()}")


def provision(
    config: SedeConfig,
    out_dir: Path,
    *,
    kiosks: list[str],
    displays: list[str],
    admins: list[str] = (),  # type: ignore[assignment]
    passwords: dict[str, str] | None = None,
) -> list[DeviceCredential]:
    """Write passwd, acl and credentials.toml under ``out_dir``; return the credentials.
    ``passwords`` keeps given passwords (re-provisioning without touching every device)."""
    devices = plan_devices(config, kiosks=kiosks, displays=displays, admins=admins)
    passwords = passwords or {}
    credentials = [
        DeviceCredential(username, role, passwords.get(username) or secrets.token_urlsafe(18))
        for username, role in devices
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    old_umask = os.umask(0o077)
    try:
        passwd = out_dir / "passwd"
        passwd.write_text(
            "".join(f"{c.username}:{c.password}\n" for c in credentials), encoding="utf-8"
        )
        _hash_password_file(passwd)
        (out_dir / "acl").write_text(render_acl(config.id, devices), encoding="utf-8")
        secrets_file = out_dir / "credentials.toml"
        body = [
            f"# MQTT credentials of sede {config.id}. Install each on its device "
            "(ALEGRA_MQTT_USERNAME / ALEGRA_MQTT_PASSWORD), then delete this file.",
            "",
        ]
        for c in credentials:
            body += [
                f'[devices."{c.username}"]',
                f'role = "{c.role}"',
                f'password = "{c.password}"',
                "",
            ]
        secrets_file.write_text("\n".join(body), encoding="utf-8")
        for name in ("passwd", "acl", "credentials.toml"):
            (out_dir / name).chmod(0o600 if name != "acl" else 0o644)
    finally:
        os.umask(old_umask)
    return credentials
