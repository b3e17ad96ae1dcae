"""Render the counter app's states to PNG (``alegra screens``; the tests look at them too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.cases import DEFAULT_MATTERS
from contracts.messages import (
    CaseIntakeView,
    CounterInfo,
    CounterState,
    CounterStatus,
    MatterInfo,
    PreferenceCategory,
    QueueState,
    SedeInfo,
    ServiceInfo,
    TicketStatus,
    TicketView,
)

FIXED_NOW = datetime(2026, 11, 27, 13, 12, tzinfo=UTC)  # 08:12 in Lima

SERVICES = [
    ServiceInfo(code="orientacion", name="Orientación legal", letter="A"),
    ServiceInfo(code="defensa-penal", name="Defensa penal", letter="P"),
    ServiceInfo(code="victimas", name="Defensa de víctimas", letter="V"),
    ServiceInfo(code="conciliacion", name="Conciliación extrajudicial", letter="C"),
]


def sample_sede() -> SedeInfo:
    return SedeInfo(
        sede_id="lima-cercado",
        name="Centro ALEGRA Lima Cercado",
        services=SERVICES,
        counters=[
            CounterInfo(
                counter_id="v1",
                name="Ventanilla 1",
                number=1,
                services={"orientacion": 3, "victimas": 1},
            ),
            CounterInfo(
                counter_id="v2",
                name="Ventanilla 2",
                number=2,
                services={"orientacion": 1, "defensa-penal": 2},
            ),
        ],
        hours=[],
        is_open_now=True,
        matters=[MatterInfo(code=code, name=name) for code, name in DEFAULT_MATTERS.items()],
    )


def ticket(
    number: str,
    service: str,
    minutes_ago: int,
    *,
    status: TicketStatus = TicketStatus.WAITING,
    preference: PreferenceCategory = PreferenceCategory.NONE,
    needs_reprint: bool = False,
) -> TicketView:
    arrived = FIXED_NOW - timedelta(minutes=minutes_ago)
    return TicketView(
        ticket_id=f"t-{number}",
        number=number,
        service_code=service,
        status=status,
        preference_category=preference,
        issued_at=arrived,
        arrived_at=arrived,
        needs_reprint=needs_reprint,
    )


def sample_queues() -> list[QueueState]:
    orientation = [
        ticket("A031", "orientacion", 41, preference=PreferenceCategory.ADULTO_MAYOR),
        ticket("A032", "orientacion", 40, preference=PreferenceCategory.GESTANTE),
    ] + [ticket(f"A{33 + i:03d}", "orientacion", 39 - i, needs_reprint=i == 4) for i in range(30)]
    victims = [ticket(f"V{7 + i:03d}", "victimas", 25 - 3 * i) for i in range(8)]
    return [
        QueueState(
            service_code="orientacion",
            service_name="Orientación legal",
            waiting=len(orientation),
            preferential_waiting=2,
            longest_wait_s=41 * 60,
            average_wait_s=900,
            average_service_s=600,
            served_today=12,
            open_counters=2,
            estimated_wait_s=1800,
            tickets=orientation,
        ),
        QueueState(
            service_code="victimas",
            service_name="Defensa de víctimas",
            waiting=len(victims),
            preferential_waiting=0,
            longest_wait_s=25 * 60,
            average_wait_s=600,
            average_service_s=900,
            served_today=3,
            open_counters=1,
            estimated_wait_s=1200,
            tickets=victims,
        ),
    ]


def counter_state(phase: str) -> CounterState:
    status = {"closed": CounterStatus.CLOSED, "paused": CounterStatus.PAUSED}.get(
        phase, CounterStatus.OPEN
    )
    current = None
    if phase in ("calling", "serving"):
        current = ticket(
            "A030",
            "orientacion",
            44,
            status=TicketStatus.CALLED,
        )
        current = current.model_copy(
            update={
                "status": TicketStatus.SERVING if phase == "serving" else TicketStatus.CALLED,
                "called_at": FIXED_NOW - timedelta(seconds=95 if phase == "serving" else 35),
                "started_at": FIXED_NOW - timedelta(seconds=72) if phase == "serving" else None,
                "counter_id": "v1",
                "recalls": 1 if phase == "calling" else 0,
            }
        )
    parked = [ticket("V004", "victimas", 70, status=TicketStatus.PARKED)] if phase == "idle" else []
    return CounterState(
        counter_id="v1",
        name="Ventanilla 1",
        number=1,
        status=status,
        pause_reason="Refrigerio" if phase == "paused" else None,
        services=["orientacion", "victimas"] if status != CounterStatus.CLOSED else [],
        user_display_name="Ana Quispe",
        current=current,
        parked=parked,
    )


def build(phase: str, *, connected: bool = True, error: str = ""):
    """A counter window in ``phase`` (signed_out, closed, idle, calling, serving, paused)."""
    from counter.viewmodel import CounterViewModel
    from counter.views import CounterWindow

    def no_hub(action, params, on_reply):  # screens never talk to a hub
        return None

    model = CounterViewModel("v1", no_hub, now=lambda: FIXED_NOW)
    model.apply_sede_info(sample_sede())
    for queue in sample_queues():
        model.apply_queue_state(queue)
    if phase != "signed_out":
        model.apply_counter_state(counter_state(phase))
    model.set_connected(connected)
    if error:
        model.show_error(error)
    window = CounterWindow(model)
    return model, window


def render_all(out_dir: Path) -> list[Path]:
    from counter.style import apply
    from qtcommon.screenshot import ensure_app, save_png

    app = ensure_app()
    previous_sheet, previous_font = app.styleSheet(), app.font()
    apply(app)
    cases = [
        ("counter-signed-out.png", "signed_out", True, ""),
        ("counter-choose-services.png", "closed", True, ""),
        ("counter-idle-open.png", "idle", True, ""),
        ("counter-calling.png", "calling", True, ""),
        ("counter-serving.png", "serving", True, ""),
        ("counter-paused.png", "paused", True, ""),
        ("counter-hub-unreachable.png", "serving", False, ""),
        ("counter-error.png", "idle", True, "No hay personas en espera."),
    ]
    written = []
    for name, phase, connected, error in cases:
        model, window = build(phase, connected=connected, error=error)
        written.append(save_png(window, out_dir / name, (1366, 768)))
        window.close()
        window.deleteLater()
        model.deleteLater()
        app.processEvents()
    written += render_dialogs(out_dir)
    written += render_intake(out_dir)
    app.setStyleSheet(previous_sheet)  # `alegra screens` renders several apps in one process
    app.setFont(previous_font)
    return written


def attended_ticket() -> TicketView:
    """The attention just finished at v1, for the "Abrir expediente" screens."""
    return ticket("A030", "orientacion", 44, status=TicketStatus.DONE).model_copy(
        update={"counter_id": "v1"}
    )


def render_intake(out_dir: Path) -> list[Path]:
    """The idle counter offering "Abrir expediente", the empty form, and the form with
    the errors staff see for a short DNI and missing data (sample data, no real person)."""
    from counter.style import apply
    from counter.viewmodel import IntakeForm
    from qtcommon.screenshot import ensure_app, save_png

    app = ensure_app()
    previous_sheet, previous_font = app.styleSheet(), app.font()
    apply(app)  # as the counter app shows them
    written = []
    model, window = build("idle")
    model.last_attended = attended_ticket()
    model.changed.emit()
    app.processEvents()  # the queue panel's replaced rows are deleted later
    written.append(save_png(window, out_dir / "counter-intake-offer.png", (1366, 768)))
    model.begin_intake()
    written.append(save_png(window, out_dir / "counter-intake-form.png", (1366, 768)))
    page = window.intake_page
    page.doc_number.setText("4071829")
    page.given_names.setText("Rosa")
    page.summary.setPlainText("Consulta por pensión de alimentos.")
    model.submit_intake(page.form())
    written.append(save_png(window, out_dir / "counter-intake-errors.png", (1366, 768)))
    assert isinstance(page.form(), IntakeForm)
    window.close()
    window.deleteLater()
    model.deleteLater()
    app.processEvents()
    # later: the counter's intakes of today, one already numbered by central
    model, window = build("idle")
    model.intakes_today = sample_intakes()
    model.changed.emit()
    app.processEvents()
    written.append(save_png(window, out_dir / "counter-intake-numbers.png", (1366, 768)))
    model.begin_amend("i-2")  # "Corregir A030": only the matter and the summary
    written.append(save_png(window, out_dir / "counter-intake-amend.png", (1366, 768)))
    window.close()
    window.deleteLater()
    model.deleteLater()
    app.processEvents()
    app.setStyleSheet(previous_sheet)
    app.setFont(previous_font)
    return written


def sample_intakes() -> list[CaseIntakeView]:
    return [
        CaseIntakeView(
            intake_id="i-2",
            ticket_number="A030",
            status="open",
            created_at=FIXED_NOW - timedelta(minutes=3),
            matter="alimentos",
            summary="Consulta por pensión de alimentos para dos hijos menores.",
        ),
        CaseIntakeView(
            intake_id="i-1",
            ticket_number="A027",
            status="open",
            created_at=FIXED_NOW - timedelta(minutes=40),
            case_number="LIMA-2026-000042",
        ),
    ]


def render_dialogs(out_dir: Path) -> list[Path]:
    """The finish, transfer and pause dialogs, as staff see them over the serving screen."""
    from counter.views import FinishDialog, PauseDialog, TransferDialog
    from qtcommon.screenshot import ensure_app, save_png

    app = ensure_app()
    model, window = build("serving")
    written = []
    for name, dialog_class, size in (
        ("counter-dialog-finish.png", FinishDialog, (560, 420)),
        ("counter-dialog-transfer.png", TransferDialog, (720, 320)),
        ("counter-dialog-pause.png", PauseDialog, (560, 520)),
    ):
        dialog = dialog_class(model, window)
        written.append(save_png(dialog, out_dir / name, size))
        dialog.close()
        dialog.deleteLater()
    window.deleteLater()
    model.deleteLater()
    app.processEvents()
    return written
