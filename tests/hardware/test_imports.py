"""The adapters stay light to import (the kiosk starts in under 2 s) and depend on nothing of
ours but contracts."""

from __future__ import annotations

import subprocess
import sys

HEAVY_OR_FORBIDDEN = ("escpos", "pyttsx3", "PySide6", "hub", "central", "sync", "usb", "serial")


def test_importing_and_configuring_loads_no_driver_and_no_app_code() -> None:
    code = (
        "import sys, hardware.printer, hardware.speech, hardware.escpos_bytes\n"
        "hardware.printer.PrinterConfig(kind='network', host='10.0.0.9', codepage='CP850')\n"
        "hardware.speech.SpeechConfig(voice='roa/es')\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY_OR_FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_escpos_printer_database_is_cached_in_the_user_cache(tmp_path) -> None:
    import os

    code = (
        "from hardware.printer import warm_up\n"
        "warm_up()\n"
        "import os; print(os.environ['ESCPOS_CAPABILITIES_PICKLE_DIR'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    directory = tmp_path / "alegra" / "escpos"
    assert result.stdout.strip() == str(directory)
    assert list(directory.glob("*.capabilities.pickle"))
