"""Every text key the kiosk uses exists in es-PE; Quechua loads from a file; CLI input errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from contracts.messages import PreferenceCategory
from qtcommon.i18n import Translator

ROOT = Path(__file__).resolve().parents[2]
KEY_RE = re.compile(r"""\btr\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""")


def used_keys() -> set[str]:
    keys: set[str] = set()
    for package in ("kiosk", "qtcommon"):
        for path in (ROOT / package).rglob("*.py"):
            keys |= set(KEY_RE.findall(path.read_text("utf-8")))
    # keys built from enums
    for category in PreferenceCategory:
        keys.add(f"pref.{category}")
        keys.add(f"kiosk.pref.{category}")
    return keys


def test_every_used_key_is_in_the_spanish_catalogues():
    spanish = Translator.load("es-PE", packages=("kiosk",))
    keys = used_keys()
    assert len(keys) > 40  # the scan found the keys
    missing = sorted(key for key in keys if not spanish.has(key))
    assert missing == []


def test_quechua_is_partial_and_falls_back_per_key():
    qu = Translator.load("qu", packages=("kiosk",))
    es = Translator.load("es-PE", packages=("kiosk",))
    assert qu("kiosk.home.title") == "Allinllachu"
    assert qu("kiosk.dni.title") == es("kiosk.dni.title") == "Su DNI"
    qu_keys = set(json.loads((ROOT / "kiosk/i18n/qu.json").read_text("utf-8")))
    es_keys = set(json.loads((ROOT / "kiosk/i18n/es-PE.json").read_text("utf-8")))
    assert qu_keys - {"_lang", "_name"} <= es_keys  # no key that Spanish lacks


def test_kiosk_screens_in_another_language_from_a_file(qapp, tmp_path):
    from kiosk.viewmodel import KioskViewModel
    from kiosk.views import KioskWindow

    from .conftest import FakeHub, demo_sede

    catalogue = tmp_path / "ay.json"
    catalogue.write_text(
        json.dumps({"_lang": "ay", "kiosk.home.title": "Aski jutawi", "kiosk.dni.skip": "Jaytaña"}),
        "utf-8",
    )
    tr = Translator.load("es-PE", packages=("kiosk",), lang_file=catalogue)
    from hardware.printer import DummyPrinter, PrinterConfig, PrinterKind

    vm = KioskViewModel(
        FakeHub(demo_sede()), DummyPrinter(PrinterConfig(kind=PrinterKind.DUMMY)), tr
    )
    window = KioskWindow(vm, tr)
    from PySide6.QtWidgets import QLabel

    titles = [label.text() for label in window.home.findChildren(QLabel)]
    assert "Aski jutawi" in titles
    assert window.dni.skip.text() == "Jaytaña"
    assert window.dni.submit.text() == "Continuar"  # not in the file: Spanish
    window.close()


def test_cli_refuses_bad_input_clearly(tmp_path):
    from kiosk.cli import app

    runner = CliRunner()
    bad_sede = runner.invoke(app, ["--sede", "Lima Cercado"])
    assert bad_sede.exit_code == 2
    assert "invalid MQTT topic segment" in bad_sede.output

    bad_hub = runner.invoke(app, ["--sede", "lima", "--hub", "hub:puerto"])
    assert bad_hub.exit_code == 2 and "puerto inválido" in bad_hub.output

    bad_lang = tmp_path / "x.json"
    bad_lang.write_text("{", "utf-8")
    result = runner.invoke(app, ["--sede", "lima", "--lang-file", str(bad_lang)])
    assert result.exit_code == 2 and "JSON inválido" in result.output

    printer = tmp_path / "printer.toml"
    printer.write_text('[printer]\nkind = "network"\n', "utf-8")
    result = runner.invoke(app, ["--sede", "lima", "--printer-config", str(printer)])
    assert result.exit_code == 2
    assert "printer.toml: host: la impresora de red necesita una dirección" in result.output


def test_alegra_kiosk_process_connects_and_says_goodbye(mqtt_broker, sede_id, tmp_path):
    """The real command, as an operator runs it: online on start, retained offline on exit."""
    import os
    import subprocess
    import sys
    import time

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from contracts import mqtt as topics
    from contracts.messages import Availability

    states: list[str] = []
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2)
    watcher.on_message = lambda c, u, m: (
        m.payload and states.append(Availability.model_validate_json(m.payload).state)
    )
    watcher.connect(mqtt_broker.host, mqtt_broker.port)
    watcher.subscribe(topics.device_availability(sede_id, "kiosk-9"), qos=1)
    watcher.loop_start()
    try:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "alegra.cli",
                "kiosk",
                "--sede",
                sede_id,
                "--hub",
                f"{mqtt_broker.host}:{mqtt_broker.port}",
                "--device-id",
                "kiosk-9",
                "--printer-dir",
                str(tmp_path / "tickets"),
                "--windowed",
                "--quit-after-s",
                "2",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert proc.returncode == 0, proc.stderr
        deadline = time.monotonic() + 5
        while states[-1:] != ["offline"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "online" in states and states[-1] == "offline"
    finally:
        watcher.publish(topics.device_availability(sede_id, "kiosk-9"), b"", qos=1, retain=True)
        time.sleep(0.2)
        watcher.loop_stop()
        watcher.disconnect()
