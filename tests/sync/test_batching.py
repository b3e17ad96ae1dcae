"""Push batches sized by the time they take (sync.protocol.batching.BatchSizer): on a slow link
they shrink until a push fits the target time, after a timeout they halve, on a fast link they
grow back to the ceiling; never outside [floor, ceiling]."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sync.protocol.batching import BatchSizer


def _link(latency_s: float, per_event_s: float):
    """How long a push of n events takes on a link (fixed round trip + transfer)."""
    return lambda n: latency_s + n * per_event_s


def _run(sizer: BatchSizer, push_time, *, pushes: int, timeout_s: float = 20.0) -> list[int]:
    sizes = []
    for _ in range(pushes):
        sent = sizer.events
        took = push_time(sent)
        if took > timeout_s:
            sizer.timed_out(sent=sent)
        else:
            sizer.took(sent=sent, elapsed_s=took)
        sizes.append(sizer.events)
    return sizes


def test_starts_at_the_ceiling():
    assert BatchSizer(ceiling=1000).events == 1000


def test_a_slow_link_shrinks_batches_until_a_push_fits_the_target():
    """2 s of round trip and 30 ms per event: 1000 events take 32 s, past the 20 s timeout.
    (The old agent shrank only on 413, so it sent the same 1000 again and again.)"""
    sizer = BatchSizer(ceiling=1000, target_s=5.0)
    push_time = _link(2.0, 0.03)
    sizes = _run(sizer, push_time, pushes=12)
    assert sizes[0] == 500  # the first push timed out: halved
    assert sizes[-1] == sizes[-2]  # settled
    assert push_time(sizes[-1]) <= 5.0 * 1.2  # about the target...
    assert sizes[-1] >= 60  # ...and not collapsed to nothing
    assert all(b <= a for a, b in zip(sizes, sizes[1:], strict=False))  # never grew meanwhile


def test_a_link_whose_round_trip_alone_exceeds_the_target_does_not_collapse_batches():
    """4 s of round trip, target 3 s: no size meets the target, and smaller batches would only
    cut throughput. The size settles where a push takes about twice the round trip."""
    sizer = BatchSizer(ceiling=1000, target_s=3.0)
    push_time = _link(4.0, 0.01)
    sizes = _run(sizer, push_time, pushes=20)
    assert 200 <= sizes[-1] <= 500
    assert all(size >= 200 for size in sizes[3:])


def test_answers_that_vary_keep_the_size_near_the_target():
    import random

    rng = random.Random(7)
    sizer = BatchSizer(ceiling=1000, target_s=5.0)
    sizes = _run(sizer, lambda n: (2.0 + 0.03 * n) * rng.uniform(0.8, 1.2), pushes=40)
    assert all(60 <= size <= 250 for size in sizes[5:])


def test_a_fast_link_grows_batches_back_to_the_ceiling():
    sizer = BatchSizer(ceiling=1000, target_s=5.0, events=10)
    sizes = _run(sizer, _link(0.05, 0.0005), pushes=10)
    assert sizes[:3] == [20, 40, 80]  # at most doubling a push
    assert sizes[-1] == 1000


def test_a_link_that_gets_slow_then_fast_again_follows_it():
    sizer = BatchSizer(ceiling=1000, target_s=5.0)
    slow = _run(sizer, _link(2.0, 0.03), pushes=10)[-1]
    assert slow < 200
    assert _run(sizer, _link(0.05, 0.0005), pushes=10)[-1] == 1000


def test_a_short_push_says_nothing_about_a_full_one():
    """Three pending events answered in 50 ms do not grow a batch cut down by a slow link."""
    sizer = BatchSizer(ceiling=1000, target_s=5.0, events=100)
    assert sizer.took(sent=3, elapsed_s=0.05) == 100
    assert sizer.took(sent=100, elapsed_s=0.05) == 200


def test_a_push_within_the_target_keeps_the_size():
    sizer = BatchSizer(ceiling=1000, target_s=5.0, events=400)
    assert sizer.took(sent=400, elapsed_s=4.5) == 400  # could grow by a ninth: not worth it
    assert sizer.took(sent=400, elapsed_s=5.5) == 400  # a tenth over: answers vary
    assert sizer.took(sent=0, elapsed_s=30.0) == 400  # a heartbeat carries nothing


def test_timeouts_halve_down_to_the_floor_and_a_heartbeat_timeout_changes_nothing():
    sizer = BatchSizer(ceiling=8, target_s=5.0)
    assert [sizer.timed_out(sent=sizer.events) for _ in range(5)] == [4, 2, 1, 1, 1]
    assert sizer.timed_out(sent=0) == 1
    assert BatchSizer(ceiling=8, floor=3).timed_out(sent=4) == 3


def test_a_too_large_answer_halves_like_a_timeout():
    sizer = BatchSizer(ceiling=1000)
    assert sizer.too_large(sent=1000) == 500


@given(
    ceiling=st.integers(1, 5000),
    floor=st.integers(1, 50),
    target=st.floats(0.5, 30),
    steps=st.lists(
        st.tuples(st.sampled_from(["took", "timed_out", "too_large"]), st.integers(0, 6000),
                  st.floats(0, 120)),
        max_size=40,
    ),
)  # fmt: skip
def test_the_size_stays_within_floor_and_ceiling(ceiling, floor, target, steps):
    sizer = BatchSizer(ceiling=ceiling, target_s=target, floor=floor)
    for kind, sent, elapsed in steps:
        if kind == "took":
            sizer.took(sent=sent, elapsed_s=elapsed)
        else:
            getattr(sizer, kind)(sent=sent)
        assert min(floor, ceiling) <= sizer.events <= ceiling
