"""The sync agent on a slow link (in-process central behind a transport that takes time in
proportion to the bytes sent): batches shrink until a push fits, the backlog drains, and a
slow push does not make the scheduler warn about every run it skips."""

from __future__ import annotations

import logging
import threading
import time
import uuid

import httpx

from contracts.mqtt import Role
from hub.domain import outbox
from hub.ports import Actor
from sync.agent import RetryLater, SyncAgent

KIOSK = Actor(role=Role.KIOSK, device_id="k1")


class SlowLink(httpx.BaseTransport):
    """A WAN in front of ``inner``: each push costs ``latency_s`` plus ``per_kib_s`` per KiB of
    its body; past ``timeout_s`` the request times out (and never reaches central)."""

    def __init__(
        self, inner: httpx.BaseTransport, *, latency_s: float, per_kib_s: float, timeout_s: float
    ) -> None:
        self.inner = inner
        self.latency_s, self.per_kib_s, self.timeout_s = latency_s, per_kib_s, timeout_s
        self.timeouts = 0
        self.pushes: list[int] = []  # bytes of each push that got through

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sync/push"):
            size = len(request.read())
            cost = self.latency_s + size / 1024 * self.per_kib_s
            if cost > self.timeout_s:
                time.sleep(self.timeout_s)
                self.timeouts += 1
                raise httpx.ReadTimeout("slow link", request=request)
            time.sleep(cost)
            self.pushes.append(size)
        return self.inner.handle_request(request)


def _issue(engine, count: int) -> None:
    for _ in range(count):
        engine.execute(
            actor=KIOSK,
            action="issue_ticket",
            params={"service_code": "orientacion"},
            request_id=str(uuid.uuid4()),
        )


def _slow_agent(central, db_path, link: SlowLink, **kwargs) -> SyncAgent:
    client = httpx.Client(base_url="http://testserver", transport=link)
    return SyncAgent(
        db_path, central_url="http://testserver", token=central.token, client=client, **kwargs
    )


def test_on_a_slow_link_batches_shrink_after_timeouts_and_the_backlog_drains(central, hub_engine):
    """600 pending events are more than the link carries within the timeout. The agent used to
    shrink a batch only on 413, so it sent the same batch, timed out, and never got anywhere."""
    _issue(hub_engine, 600)
    link = SlowLink(central.client._transport, latency_s=0.05, per_kib_s=0.006, timeout_s=1.0)
    agent = _slow_agent(central, hub_engine.db_path, link, batch_events=600, push_target_s=0.3)
    try:
        attempts = 0
        while outbox.backlog(agent.conn)[0] and attempts < 30:
            attempts += 1
            try:
                agent.push_once()
            except RetryLater as exc:
                assert exc.timed_out
        assert outbox.backlog(agent.conn)[0] == 0, f"still pending after {attempts} attempts"
        assert 1 <= link.timeouts <= 4
        assert agent.batch_events < 300
        # once sized, a push fits the target: no more timeouts, and every batch under the limit
        assert max(link.pushes) / 1024 * link.per_kib_s + link.latency_s <= 1.0
    finally:
        agent.stop()
    with central.connect() as conn:
        from central.sync import service

        counts = service.event_counts(conn, sede_id="sede-sync")
    assert len(counts) == 600 and set(counts.values()) == {1}


def test_a_slow_push_does_not_make_the_scheduler_warn_about_skipped_runs(
    central, hub_engine, caplog
):
    """While one push is slow, the interval and every commit the watcher sees fall due again;
    APScheduler warned "maximum number of running instances reached" for each of them."""
    _issue(hub_engine, 5)
    link = SlowLink(central.client._transport, latency_s=1.5, per_kib_s=0.0, timeout_s=10.0)
    agent = _slow_agent(central, hub_engine.db_path, link, push_interval_s=0.1, pull_interval_s=0.1)
    stop = threading.Event()

    def traffic() -> None:
        while not stop.wait(0.05):
            _issue(hub_engine, 1)

    writer = threading.Thread(target=traffic)
    with caplog.at_level(logging.DEBUG, logger="apscheduler"):
        agent.start()
        writer.start()
        try:
            time.sleep(3.5)
        finally:
            stop.set()
            writer.join()
            agent.stop()
    assert link.pushes, "no push got through"
    skipped = [r for r in caplog.records if "maximum number of running instances" in r.getMessage()]
    assert skipped == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
