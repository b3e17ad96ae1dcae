"""The ``alegra`` command. Each component owns a Typer app; only the one asked for is imported,
so ``alegra kiosk`` does not pay for FastAPI and ``alegra central`` does not pay for Qt."""

from __future__ import annotations

import sys
from importlib import import_module

COMPONENTS: dict[str, tuple[str, str]] = {
    "demo": ("alegra.demo:app", "demo sede (hub, kiosk, display, counters, traffic) + central"),
    "hub": ("hub.cli:app", "sede hub: run, status"),
    "kiosk": ("kiosk.cli:app", "ticket kiosk (PySide6)"),
    "display": ("display.cli:app", "waiting-room display (PySide6)"),
    "counter": ("counter.cli:app", "counter client for staff (PySide6)"),
    "screens": ("alegra.screens:app", "render every Qt screen to PNG"),
    "hardware": (
        "hardware.cli:app",
        "printer and speech checks (status, print-test, preview, say)",
    ),
    "central": ("central.cli:app", "central server: run, create-admin, seed"),
    "audit": ("central.audit_cli:app", "audit log: verify, export"),
    "sync": ("sync.cli:app", "hub sync agent: enroll, run, status"),
}


def _usage() -> str:
    lines = ["usage: alegra COMPONENT [ARGS]...", "", "components:"]
    lines += [f"  {name:<10} {help_text}" for name, (_, help_text) in COMPONENTS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    name = args[0]
    if name not in COMPONENTS:
        print(f"alegra: componente desconocido: {name}\n\n{_usage()}", file=sys.stderr)
        return 2
    target, _ = COMPONENTS[name]
    module_name, attr = target.split(":")
    app = getattr(import_module(module_name), attr)
    app(args=args[1:], prog_name=f"alegra {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
