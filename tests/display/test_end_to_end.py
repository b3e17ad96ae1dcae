"""End to end through a REAL hub (HubEngine + bridge on a temp SQLite) and a real Mosquitto:
a ticket issued at the kiosk view-model is printed (ESC/POS bytes), appears on the counter's
waiting list, is called with F1 from the counter window, and the display shows it and
announces it (a WAV from espeak-ng written by the file sink)."""

from __future__ import annotations

import shutil
import wave

import pytest
from PySide6.QtCore import Qt

from qtcommon.i18n import Translator

pytestmark = pytest.mark.mqtt


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_kiosk_ticket_reaches_the_counter_is_called_and_announced(
    hub, make_client, qtbot, tmp_path
):
    del hub  # running: HubEngine + bridge on a temp SQLite (conftest)
    from counter.hub_link import HubSender, connect_counter
    from counter.viewmodel import CounterViewModel, Phase
    from counter.views import CounterWindow
    from display.app import connect_display
    from display.viewmodel import DisplayViewModel
    from display.views import DisplayWindow
    from hardware.speech import SpeechConfig, SpeechOutputKind, make_announcer
    from kiosk.printing import make_kiosk_printer
    from kiosk.viewmodel import KioskViewModel

    # display, with real speech written to files
    announcer = make_announcer(
        SpeechConfig(
            voice="roa/es-419",
            cache_dir=tmp_path / "speech-cache",
            output=SpeechOutputKind.FILE,
            file_dir=tmp_path / "announcements",
        )
    )
    display_model = DisplayViewModel(highlight_ms=5000)
    display_window = DisplayWindow(display_model)
    qtbot.addWidget(display_window)
    display_app = connect_display(make_client("display", "display-1"), display_model, announcer)

    # counter v1, signed in through its window
    counter_client = make_client("counter", "v1")
    counter_model = CounterViewModel("v1", HubSender(counter_client))
    counter_window = CounterWindow(counter_model)
    qtbot.addWidget(counter_window)
    connect_counter(counter_client, counter_model)
    counter_window.show()
    qtbot.waitUntil(
        lambda: counter_model.connected and counter_model.sede is not None, timeout=10000
    )
    page = counter_window.sign_in_page
    qtbot.keyClicks(page.username, "ana")
    qtbot.keyClicks(page.password, "demo-ventanilla-1")
    qtbot.keyClick(page.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: counter_model.phase == Phase.CLOSED, timeout=20000)
    assert counter_model.user_display_name == "Ana Quispe"
    qtbot.mouseClick(counter_window.open_page.submit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: counter_model.phase == Phase.IDLE, timeout=20000)

    # kiosk: orientation, no preference, no DNI → ticket printed to a file printer
    kiosk_client = make_client("kiosk", "kiosk-1")
    printer_dir = tmp_path / "tickets"
    kiosk = KioskViewModel(
        kiosk_client,
        make_kiosk_printer(printer_dir=printer_dir),
        Translator.load(packages=("kiosk",)),
    )
    qtbot.waitUntil(lambda: kiosk.step == "home", timeout=20000)
    kiosk.choose_service("orientacion")
    kiosk.choose_preference("none")
    kiosk.skip_dni()
    qtbot.waitUntil(lambda: kiosk.ticket is not None and kiosk.ticket.printed, timeout=20000)
    number = kiosk.ticket.number
    printed = list(printer_dir.glob("*.bin"))
    assert printed and number.encode() in printed[0].read_bytes()

    # the counter sees it waiting, then calls it with F1
    def waiting_numbers() -> list[str]:
        return [t.number for row in counter_model.service_rows() for t in row.tickets]

    qtbot.waitUntil(lambda: number in waiting_numbers(), timeout=20000)
    assert counter_model.enabled("call_next")
    qtbot.keyClick(counter_window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: counter_model.phase == Phase.CALLING, timeout=20000)
    assert counter_model.current.number == number
    assert counter_window.work_page.card.number.text() == number

    # the display shows it, highlighted, and announces it
    qtbot.waitUntil(
        lambda: any(c.number == number and c.counter_id == "v1" for c in display_model.current),
        timeout=20000,
    )
    assert display_model.highlighted is not None and display_model.highlighted.number == number
    assert display_model.recent[0].number == number
    assert announcer.wait_idle(60)
    wavs = sorted((tmp_path / "announcements").glob("*.wav"))
    assert len(wavs) == 1 and number in wavs[0].name
    with wave.open(str(wavs[0])) as audio:
        duration = audio.getnframes() / audio.getframerate()
        frames = audio.readframes(audio.getnframes())
    assert frames.strip(b"\x00")  # not silence
    # chime + "Turno A cero cero uno, ventanilla uno" at 150 wpm: a few seconds
    assert 2.0 < duration < 12.0, duration

    # recall from the counter: announced again
    qtbot.keyClick(counter_window, Qt.Key.Key_F2)
    qtbot.waitUntil(
        lambda: len(list((tmp_path / "announcements").glob("*.wav"))) == 2, timeout=30000
    )
    display_app.stop()
