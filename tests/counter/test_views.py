"""Counter widgets with qtbot: sign in, buttons and F-key shortcuts, dialogs, banner, and the
rendered PNGs of every state."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from contracts.messages import CounterState
from counter.screens import FIXED_NOW, counter_state, render_all, sample_queues, sample_sede
from counter.style import stylesheet
from counter.viewmodel import CounterViewModel, Phase
from counter.views import CounterWindow
from qtcommon.screenshot import distinct_colours

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "counter"


@pytest.fixture
def window(qtbot, sender):
    model = CounterViewModel("v1", sender, now=lambda: FIXED_NOW)
    model.apply_sede_info(sample_sede())
    for queue in sample_queues():
        model.apply_queue_state(queue)
    model.set_connected(True)
    window = CounterWindow(model)
    window.setStyleSheet(stylesheet())
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_sign_in_with_enter_then_open_with_the_configured_services(window, sender, qtbot):
    page = window.sign_in_page
    assert window.pages.currentWidget() is page
    qtbot.keyClicks(page.username, "ana")
    qtbot.keyClicks(page.password, "demo-ventanilla-1")
    qtbot.keyClick(page.password, Qt.Key.Key_Return)
    assert sender.sent[-1].params == {"username": "ana", "password": "demo-ventanilla-1"}
    assert page.password.text() == ""  # the password does not stay on screen
    closed = counter_state("closed")
    sender.reply_ok(closed.model_dump(mode="json"))
    window.model.apply_counter_state(closed)
    assert window.pages.currentWidget() is window.open_page
    assert window.open_page.selected() == ["orientacion", "victimas"]
    window.open_page.checks["conciliacion"].setChecked(True)
    qtbot.mouseClick(window.open_page.submit, Qt.MouseButton.LeftButton)
    assert (sender.actions[-1], sender.sent[-1].params) == (
        "open_counter",
        {"services": ["orientacion", "victimas", "conciliacion"]},
    )


def test_function_keys_act_only_when_allowed(window, sender, qtbot):
    window.model.apply_counter_state(counter_state("idle"))
    qtbot.keyClick(window, Qt.Key.Key_F2)  # recall: nothing called yet
    assert sender.sent == []
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert sender.actions == ["call_next"]
    assert not window.work_page.buttons["call_next"].isEnabled()  # in flight
    sender.reply_ok({"ticket": {"number": "A031"}})
    assert window.notice_label.text() == "Turno A031 llamado."
    qtbot.keyClick(window, Qt.Key.Key_F1)  # key repeat before the new state: ignored
    assert sender.actions == ["call_next"]
    window.model.apply_counter_state(counter_state("calling"))
    qtbot.keyClick(window, Qt.Key.Key_F3)
    assert sender.actions[-1] == "start_attention"


def test_buttons_enabled_match_the_model(window):
    for phase in ("idle", "calling", "serving", "paused"):
        window.model.apply_counter_state(counter_state(phase))
        for action, button in window.work_page.buttons.items():
            assert button.isEnabled() == window.model.enabled(action), (phase, action)


def test_finish_dialog_sends_outcome_and_note(window, sender, qtbot):
    window.model.apply_counter_state(counter_state("serving"))
    qtbot.keyClick(window, Qt.Key.Key_F4)
    dialog = window.finish_dialog
    assert dialog is not None and dialog.isVisible()
    assert "A030" in dialog.findChild(QLabel, "dialogTitle").text()
    dialog.note.setPlainText("Se orientó sobre pensión de alimentos")
    qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    assert (sender.actions[-1], sender.sent[-1].params) == (
        "finish_attention",
        {"outcome": "atendido", "note": "Se orientó sobre pensión de alimentos"},
    )


def test_transfer_dialog_to_another_counter(window, sender, qtbot):
    window.model.apply_counter_state(counter_state("serving"))
    window.work_page.buttons["transfer"].click()
    dialog = window.transfer_dialog
    dialog.counter.setCurrentIndex(dialog.counter.findData("v2"))
    dialog.note.setText("requiere defensor penal")
    dialog.submit_button.click()
    assert (sender.actions[-1], sender.sent[-1].params) == (
        "transfer_ticket",
        {"to_counter_id": "v2", "note": "requiere defensor penal"},
    )


def test_pause_dialog_with_a_common_reason_or_free_text(window, sender, qtbot):
    window.model.apply_counter_state(counter_state("idle"))
    qtbot.keyClick(window, Qt.Key.Key_F8)
    window.pause_dialog.reasons.setCurrentRow(1)
    window.pause_dialog.submit_button.click()
    assert sender.sent[-1].params == {"reason": "Reunión"}
    sender.reply_ok()
    window.model.apply_counter_state(counter_state("idle"))  # e.g. the pause was refused
    qtbot.keyClick(window, Qt.Key.Key_F8)
    window.pause_dialog.other.setText("Atención a autoridad")
    window.pause_dialog.submit_button.click()
    assert sender.sent[-1].params == {"reason": "Atención a autoridad"}


def test_resume_parked_and_reprint_buttons(window, sender):
    window.model.apply_counter_state(counter_state("idle"))
    queue = window.work_page.queue
    queue.resume_buttons["t-V004"].click()
    assert (sender.actions[-1], sender.sent[-1].params) == (
        "resume_ticket",
        {"ticket_id": "t-V004"},
    )
    sender.reply_ok()
    assert not window.work_page.queue.reprint_buttons["t-A037"].isEnabled()  # settling
    window.model.apply_counter_state(counter_state("idle"))
    window.work_page.queue.reprint_buttons["t-A037"].click()
    assert sender.actions[-1] == "reprint_ticket"


def test_unreachable_banner_disables_everything_and_keeps_the_ticket(window, qtbot):
    window.model.apply_counter_state(counter_state("serving"))
    window.model.set_connected(False)
    assert window.banner.isVisible()
    assert not any(button.isEnabled() for button in window.work_page.buttons.values())
    assert window.work_page.card.number.text() == "A030"
    window.model.set_connected(True)
    assert not window.banner.isVisible()


def test_hub_error_is_shown(window, sender):
    window.model.apply_counter_state(counter_state("idle"))
    window.work_page.buttons["call_next"].click()
    sender.reply_error("queue_empty", "No hay personas en espera.")
    assert window.error_label.isVisible()
    assert window.error_label.text() == "No hay personas en espera."


def test_signed_out_by_the_hub_goes_back_to_sign_in(window):
    window.model.apply_counter_state(counter_state("idle"))
    assert window.model.phase == Phase.IDLE
    signed_out: CounterState = counter_state("closed").model_copy(
        update={"user_display_name": None}
    )
    window.model.apply_counter_state(signed_out)
    assert window.pages.currentWidget() is window.sign_in_page


def test_every_counter_state_renders_to_png(qtbot):
    paths = render_all(ARTIFACTS)
    names = {path.name for path in paths}
    for expected in (
        "counter-signed-out.png",
        "counter-idle-open.png",
        "counter-calling.png",
        "counter-serving.png",
        "counter-paused.png",
        "counter-hub-unreachable.png",
    ):
        assert expected in names
    assert {"counter-dialog-finish.png", "counter-dialog-transfer.png"} <= names
    for path in paths:
        image = QImage(str(path))
        if not path.name.startswith("counter-dialog"):
            assert (image.width(), image.height()) == (1366, 768)
        assert distinct_colours(image) > 4, path.name


def test_more_line_counts_every_waiting_ticket_not_only_the_listed_ones(window):
    """The hub sends only the first tickets of a long queue; 'y N más' must use the total."""
    queue = sample_queues()[0]
    long_queue = queue.model_copy(update={"waiting": 250})
    window.model.apply_queue_state(long_queue)
    window.work_page.queue.refresh()
    texts = [label.text() for label in window.work_page.queue.findChildren(QLabel)]
    shown = min(len(queue.tickets), window.work_page.queue.MAX_TICKETS)
    assert f"y {250 - shown} más…" in texts
