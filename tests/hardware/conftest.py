"""Fixtures for the hardware adapters: ticket factories and printer emulators on real
transports (a TCP server on 127.0.0.1, a pseudo-terminal for serial)."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import tty
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from contracts.messages import PreferenceCategory, TicketStatus, TicketView
from hardware.printer import PrintableTicket

# Replies of an Epson-like printer to DLE EOT n, per emulated condition.
# n=1 printer status (bit 3 offline), n=2 offline cause (bit 2 cover open, bit 5 paper end),
# n=4 paper sensor (bits 2-3 near end, bits 5-6 roll end). Fixed bits 1 and 4 are always set.
STATUS_REPLIES: dict[str, dict[int, int]] = {
    "ok": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
    "near_end": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E},
    "paper_out": {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x72},
    "offline": {1: 0x1A, 2: 0x12, 3: 0x12, 4: 0x12},
    "cover_open": {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12},
}


def make_ticket(
    *,
    number: str = "A007",
    ticket_id: str | None = None,
    preference: PreferenceCategory = PreferenceCategory.NONE,
    issued_at: datetime | None = None,
    people_ahead: int | None = 4,
    estimated_wait_s: int | None = 700,
    reprint: bool = False,
    sede_name: str = "Centro ALEGRA Lima Cercado",
    service_name: str = "Orientación legal",
) -> PrintableTicket:
    issued = issued_at or datetime(2026, 11, 27, 13, 5, tzinfo=UTC)
    view = TicketView(
        ticket_id=ticket_id or str(uuid.uuid4()),
        number=number,
        service_code="orientacion",
        status=TicketStatus.WAITING,
        preference_category=preference,
        issued_at=issued,
        arrived_at=issued,
        people_ahead=people_ahead,
        estimated_wait_s=estimated_wait_s,
    )
    return PrintableTicket(
        sede_name=sede_name,
        service_name=service_name,
        ticket=view,
        people_ahead=people_ahead,
        estimated_wait_s=estimated_wait_s,
        reprint=reprint,
    )


@pytest.fixture
def ticket_factory() -> Callable[..., PrintableTicket]:
    return make_ticket


def _answer_status(buffer: bytearray, condition: str, reply: Callable[[bytes], None]) -> None:
    """Answer every DLE EOT n found in ``buffer`` (consumed up to the last one answered)."""
    if condition == "silent":
        return
    while True:
        at = buffer.find(b"\x10\x04")
        if at < 0 or at + 2 >= len(buffer):
            return
        request = buffer[at + 2]
        reply(bytes([STATUS_REPLIES[condition].get(request, 0x12)]))
        del buffer[: at + 3]


class TcpPrinterEmulator:
    """Fake of a network ESC/POS printer's raw port (the outer boundary: no printer here). It
    accepts TCP connections on 127.0.0.1, records every byte of each connection as one job and
    answers DLE EOT status requests according to ``condition``."""

    def __init__(self) -> None:
        self.condition = "ok"
        self.jobs: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._done = threading.Condition()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        received = bytearray()
        pending = bytearray()
        connection.settimeout(10)
        with connection:
            while True:
                try:
                    chunk = connection.recv(4096)
                except OSError:
                    break
                if not chunk:
                    break
                received += chunk
                pending += chunk
                _answer_status(pending, self.condition, connection.sendall)
        with self._done:
            self.jobs.append(bytes(received))
            self._done.notify_all()

    def wait_jobs(self, count: int, timeout: float = 5.0) -> list[bytes]:
        with self._done:
            self._done.wait_for(lambda: len(self.jobs) >= count, timeout)
            return list(self.jobs)

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(2)


class SerialPrinterEmulator:
    """Fake of a serial ESC/POS printer on a pseudo-terminal: pyserial opens the real tty
    device ``device``; this side records the bytes and answers status requests."""

    def __init__(self) -> None:
        self.condition = "ok"
        self.received = bytearray()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.device = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        pending = bytearray()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                continue
            with self._lock:
                self.received += chunk
            pending += chunk
            _answer_status(pending, self.condition, lambda data: os.write(self._master, data))

    def wait_bytes(self, predicate: Callable[[bytes], bool], timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                data = bytes(self.received)
            if predicate(data):
                return data
            time.sleep(0.02)
        with self._lock:
            return bytes(self.received)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self._master)
        os.close(self._slave)


@pytest.fixture
def tcp_printer():
    emulator = TcpPrinterEmulator()
    yield emulator
    emulator.close()


@pytest.fixture
def serial_printer():
    try:
        emulator = SerialPrinterEmulator()
    except OSError as exc:  # containers without /dev/ptmx
        pytest.skip(f"no pseudo-terminals here for the serial printer emulator: {exc}")
    yield emulator
    emulator.close()
