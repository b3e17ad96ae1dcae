"""Kiosk test kit: a fake hub port (named as such; the real HubClient has its own tests on
Mosquitto, and the end-to-end test uses the real hub), real printer adapters from hardware/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from PySide6.QtCore import QObject, Signal

from contracts.errors import ErrorCode, message_es
from contracts.messages import (
    CommandRequest,
    CommandResponse,
    CounterInfo,
    ErrorBody,
    IssuedTicket,
    OpeningHours,
    PreferenceCategory,
    SedeInfo,
    ServiceInfo,
    TicketStatus,
    TicketView,
)
from qtcommon.hub_client import PendingRequest, unreachable_response
from qtcommon.i18n import Translator


def demo_sede(*, is_open_now: bool = True) -> SedeInfo:
    return SedeInfo(
        sede_id="lima-cercado",
        name="Centro ALEGRA Lima Cercado",
        services=[
            ServiceInfo(code="orientacion", name="Orientación legal", letter="A"),
            ServiceInfo(code="defensa-penal", name="Defensa penal", letter="P"),
            ServiceInfo(code="victimas", name="Defensa de víctimas", letter="V"),
            ServiceInfo(code="conciliacion", name="Conciliación extrajudicial", letter="C"),
        ],
        counters=[
            CounterInfo(counter_id="v1", name="Ventanilla 1", number=1, services={"orientacion": 1})
        ],
        hours=[OpeningHours(weekday=d, opens="08:00", closes="17:00") for d in range(5)]
        + [OpeningHours(weekday=5, opens="08:00", closes="13:00")],
        is_open_now=is_open_now,
    )


def issued_ticket(
    number: str = "A007",
    *,
    people_ahead: int = 3,
    wait_s: int = 840,
    preference: PreferenceCategory = PreferenceCategory.NONE,
) -> IssuedTicket:
    now = datetime(2026, 11, 27, 15, 5, tzinfo=UTC)
    return IssuedTicket(
        ticket=TicketView(
            ticket_id=f"tk-{number.lower()}",
            number=number,
            service_code="orientacion",
            status=TicketStatus.WAITING,
            preference_category=preference,
            issued_at=now,
            arrived_at=now,
            people_ahead=people_ahead,
            estimated_wait_s=wait_s,
        ),
        sede_name="Centro ALEGRA Lima Cercado",
        service_name="Orientación legal",
    )


class FakeHub(QObject):
    """Stands in for HubClient at the view-model's port: records requests; the test answers."""

    config_changed = Signal(object)
    connection_changed = Signal(bool)
    print_job = Signal(object)

    def __init__(self, sede: SedeInfo | None = None, connected: bool = True) -> None:
        super().__init__()
        self.sede_info = sede
        self._connected = connected
        self.requests: list[tuple[str, dict[str, Any], PendingRequest]] = []

    @property
    def connected(self) -> bool:
        return self._connected

    def set_connected(self, connected: bool) -> None:
        self._connected = connected
        self.connection_changed.emit(connected)

    def set_sede(self, sede: SedeInfo) -> None:
        self.sede_info = sede
        self.config_changed.emit(sede)

    def request(self, action, params=None, timeout_s: float = 8.0) -> PendingRequest:
        request = CommandRequest.new(params)
        pending = PendingRequest(str(action), "fake/topic", request, timeout_s)
        self.requests.append((str(action), dict(params or {}), pending))
        return pending

    def actions(self) -> list[str]:
        return [action for action, _, _ in self.requests]

    def last(self, action: str) -> tuple[dict[str, Any], PendingRequest]:
        for name, params, pending in reversed(self.requests):
            if name == action:
                return params, pending
        raise AssertionError(f"no {action} request; got {self.actions()}")

    def answer_ok(self, action: str, result: dict[str, Any]) -> None:
        _, pending = self.last(action)
        pending.resolve(
            CommandResponse(
                correlation_id=pending.correlation_id,
                request_id=pending.request_id,
                status="ok",
                result=result,
            )
        )

    def answer_error(self, action: str, code: ErrorCode) -> None:
        _, pending = self.last(action)
        pending.resolve(
            CommandResponse(
                correlation_id=pending.correlation_id,
                request_id=pending.request_id,
                status="error",
                error=ErrorBody(code=code, message=message_es(code)),
            )
        )

    def time_out(self, action: str) -> None:
        """What HubClient does when the hub never answers (tested in tests/qtcommon)."""
        _, pending = self.last(action)
        pending.resolve(unreachable_response(pending.correlation_id, pending.request_id))


@pytest.fixture
def tr() -> Translator:
    return Translator.load("es-PE", packages=("kiosk",))


@pytest.fixture
def dummy_printer():
    from hardware.printer import DummyPrinter, PrinterConfig, PrinterKind

    return DummyPrinter(PrinterConfig(kind=PrinterKind.DUMMY))


@pytest.fixture
def broken_printer(tmp_path):
    """A real file printer that cannot write (its directory is a regular file)."""
    from hardware.printer import PrinterConfig, PrinterKind, make_printer

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    return make_printer(PrinterConfig(kind=PrinterKind.FILE, file_dir=blocker / "tickets"))
