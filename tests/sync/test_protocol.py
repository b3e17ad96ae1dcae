"""Fast unit and property tests of the sync protocol's pure logic."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.protocol.ack import central_behind, contiguous_through, epoch_restored
from sync.protocol.backoff import backoff_delay, parse_retry_after
from sync.protocol.batching import encoded_size, take_batch
from sync.protocol.cursor import START, BadCursor, Cursor, after, row_check
from sync.protocol.fingerprint import fingerprint
from sync.protocol.records import (
    INTAKE_STATUSES,
    arbitrate_site_edit,
    check_central_edit,
    forward_status,
)


@given(st.lists(st.integers(min_value=1, max_value=60)), st.integers(min_value=0, max_value=20))
def test_contiguous_ack_never_passes_a_gap(seqs, held):
    result = contiguous_through(held, seqs)
    present = set(range(1, held + 1)) | set(seqs)
    assert all(n in present for n in range(1, result + 1))
    assert result + 1 not in present
    assert result >= held


@given(st.permutations(list(range(1, 40))), st.integers(min_value=1, max_value=39))
def test_contiguous_ack_is_order_independent(order, cut):
    delivered = list(order[:cut])
    step = 0
    for seq in delivered:
        step = contiguous_through(step, [seq] + delivered)
    assert step == contiguous_through(0, delivered)


def test_restored_and_behind_detection():
    assert epoch_restored(held_through=10, local_last_seq=7)
    assert not epoch_restored(held_through=7, local_last_seq=7)
    assert central_behind(held_through=3, local_sent_through=5)
    assert not central_behind(held_through=5, local_sent_through=5)


@given(
    st.integers(min_value=0, max_value=2**62),
    st.integers(min_value=1, max_value=2**62),
    st.text(alphabet="abcdef0123456789", min_size=8, max_size=8),
)
def test_cursor_round_trip(txid, row_id, check):
    cursor = Cursor(txid, row_id, check)
    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("bad", ["x", "1.2", "1.2.zz", "-1.2.abcdef01", "1.2.abcdef012"])
def test_bad_cursor_is_refused(bad):
    with pytest.raises(BadCursor):
        Cursor.decode(bad)


def test_start_cursor_is_empty_text():
    assert START.encode() == "" and Cursor.decode("") == START


@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=50), st.integers(min_value=1, max_value=500)),
        min_size=1,
        max_size=60,
        unique=True,
    ),
    st.randoms(use_true_random=False),
)
def test_serving_in_txid_order_never_skips_a_late_commit(rows, rng):
    """Rows (txid, id): ids were drawn in any order, transactions commit in any order. Serving
    only rows below the snapshot xmin in (txid, id) order, every row is served exactly once."""
    rows = sorted(rows)
    txids = sorted({t for t, _ in rows})
    commit_order = txids[:]
    rng.shuffle(commit_order)
    committed: set[int] = set()
    served: list[tuple[int, int]] = []
    cursor = START
    while len(served) < len(rows):
        if commit_order and rng.random() < 0.6:
            committed.add(commit_order.pop())
        running = [t for t in txids if t not in committed]
        xmin = min(running) if running else 10**9
        page = [r for r in rows if r[0] < xmin and after(cursor, r)][: rng.randint(1, 5)]
        served += page
        if page:
            cursor = Cursor(*page[-1], row_check("x", "y", 0))
        # a row is only ever served after its transaction committed
        assert all(t in committed for t, _ in page)
    assert served == sorted(served) and sorted(served) == rows


def test_backoff_grows_with_jitter_and_honours_retry_after():
    rng = random.Random(7)
    delays = [backoff_delay(n, base_s=1, cap_s=60, rng=rng) for n in range(1, 12)]
    assert all(0 <= d <= 60 for d in delays)
    assert len(set(delays)) > 5  # jitter
    for _ in range(50):
        assert backoff_delay(1, retry_after_s=5, rng=rng) >= 5
    assert parse_retry_after("7") == 7 and parse_retry_after("soon") is None


def test_batches_fit_the_byte_limit_and_oversized_go_alone():
    events = [{"seq": i, "payload": {"x": "a" * (10 if i != 3 else 5000)}} for i in range(1, 8)]
    batch, oversized = take_batch(events, max_events=100, max_bytes=200)
    assert [e["seq"] for e in batch] == [1, 2] and not oversized
    assert sum(encoded_size(e) for e in batch) <= 200
    batch, oversized = take_batch(events[2:], max_events=100, max_bytes=200)
    assert [e["seq"] for e in batch] == [3] and oversized == batch
    batch, _ = take_batch(events, max_events=1, max_bytes=10_000)
    assert len(batch) == 1


def test_fingerprint_ignores_order_but_not_content():
    a = [{"id": "1", "v": 1}, {"id": "2", "v": 2}]
    assert fingerprint(a) == fingerprint(list(reversed(a)))
    assert fingerprint(a) != fingerprint([{"id": "1", "v": 1}, {"id": "2", "v": 3}])


statuses = st.sampled_from(INTAKE_STATUSES)


@given(statuses, statuses)
def test_status_only_moves_forward(a, b):
    merged = forward_status(a, b)
    assert INTAKE_STATUSES.index(merged) == max(INTAKE_STATUSES.index(a), INTAKE_STATUSES.index(b))


def _intake(summary="s", status="open", deleted=False, revision=1):
    return {
        "citizen_doc_type": "dni",
        "citizen_doc_number": "12345678",
        "citizen_names": "X",
        "service_code": "orientacion",
        "matter": "alimentos",
        "summary": summary,
        "status": status,
        "ticket_id": None,
        "deleted": deleted,
        "revision": revision,
    }


def test_edit_from_current_revision_is_accepted():
    decision = arbitrate_site_edit(
        central=_intake(revision=2), incoming=_intake("nuevo"), base_revision=2
    )
    assert decision.outcome == "accept" and decision.current["summary"] == "nuevo"


def test_concurrent_edit_keeps_both_versions():
    decision = arbitrate_site_edit(
        central=_intake("central", status="referred", revision=3),
        incoming=_intake("sede", status="closed"),
        base_revision=2,
    )
    assert decision.outcome == "conflict" and decision.conflict_kind == "edit_edit"
    assert decision.current["summary"] == "central" and decision.losing["summary"] == "sede"
    assert decision.current["status"] == "closed"  # forward wins whatever version is kept


def test_same_content_is_not_a_conflict():
    decision = arbitrate_site_edit(
        central=_intake("igual", revision=5), incoming=_intake("igual"), base_revision=1
    )
    assert decision.outcome == "noop"


def test_delete_against_edit_never_loses_the_edit():
    site_deletes = arbitrate_site_edit(
        central=_intake("editada", revision=3), incoming=_intake(deleted=True), base_revision=2
    )
    assert site_deletes.outcome == "conflict" and site_deletes.conflict_kind == "delete_edit"
    assert site_deletes.current["deleted"] is False and site_deletes.current["summary"] == "editada"
    central_deleted = arbitrate_site_edit(
        central=_intake(deleted=True, revision=3), incoming=_intake("editada"), base_revision=2
    )
    assert central_deleted.outcome == "conflict"
    assert central_deleted.current["deleted"] is False
    assert central_deleted.current["summary"] == "editada"


def test_central_edit_cannot_move_status_back():
    with pytest.raises(ValueError):
        check_central_edit(current=_intake(status="closed"), proposed=_intake(status="open"))


def test_unknown_status_is_refused():
    with pytest.raises(ValueError):
        arbitrate_site_edit(central=None, incoming=_intake(status="weird"), base_revision=0)
