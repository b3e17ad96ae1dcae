"""The sync over a slow WAN (real central process, PostgreSQL, a proxy delaying every chunk
towards central by 2 s): batches shrink until a push is answered in time, and the backlog drains
exactly once. The agent used to shrink only on 413, so it re-sent the same batch, timed out
each time, and the hub never saw an acknowledgement while its backlog grew."""

from __future__ import annotations

import pytest

from .conftest import assert_exactly_once, hub_backlog, wait_for, wait_traffic

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_a_backlog_drains_over_a_link_with_2_s_of_delay(rig):
    rig.proxy.set("down")
    rig.hub.start_traffic(250)
    wait_traffic(rig)
    backlog = hub_backlog(rig)
    assert backlog > 900  # more than the link carries in one push within the timeout
    rig.proxy.delay_s = 2.0
    rig.proxy.set("slow")
    rig.hub.start_agent(
        ALEGRA_SYNC_BATCH_EVENTS="1000",
        ALEGRA_SYNC_TIMEOUT_S="10",
        ALEGRA_SYNC_PUSH_TARGET_S="3",
        ALEGRA_SYNC_PULL_INTERVAL_S="30",
        ALEGRA_LOG_LEVEL="INFO",
    )
    wait_for(lambda: hub_backlog(rig) == 0, 150, "the backlog to drain over the slow link")
    assert assert_exactly_once(rig) == backlog
    log = rig.hub.db_path.with_suffix(".agent.log").read_text()
    assert "Traceback" not in log
    assert "batches now at most" in log or "next at most" in log  # it did resize
    assert "maximum number of running instances" not in log  # slow pushes, no warning spam
