"""TagTracker: repeats, the learnt interval, staleness and the publishing schedule."""

from __future__ import annotations

import itertools

import pytest

from drivers.ble.tracking import MIN_STALE_AFTER, UNLEARNT_STALE_AFTER, TagTracker


def feed(tracker: TagTracker, times: list[float], *, first_id: int = 0) -> None:
    for i, at in enumerate(times):
        packet_id = (first_id + i) & 0xFF
        assert not tracker.is_repeat(packet_id)
        tracker.accept(packet_id, at)


def test_the_same_packet_id_is_a_repeat_a_new_one_is_not() -> None:
    tracker = TagTracker()
    assert not tracker.is_repeat(7)
    assert tracker.accept(7, 0.0) is True  # first: came online
    assert tracker.is_repeat(7)
    assert tracker.is_repeat(7)
    assert not tracker.is_repeat(8)
    assert tracker.accept(8, 10.0) is False
    assert (tracker.new, tracker.repeats) == (2, 2)


def test_packets_without_id_are_never_repeats() -> None:
    tracker = TagTracker()
    tracker.accept(None, 0.0)
    assert not tracker.is_repeat(None)


def test_interval_is_learnt_after_three_gaps() -> None:
    tracker = TagTracker()
    feed(tracker, [0.0, 10.0, 20.0])
    assert tracker.interval is None
    assert tracker.stale_limit == UNLEARNT_STALE_AFTER
    tracker.accept(3, 30.0)
    assert tracker.interval == 10.0


def test_missed_packets_do_not_move_the_learnt_interval() -> None:
    """Every fourth packet lost on air: some gaps are 20 s, the median stays 10 s."""
    times = [10.0 * i for i in range(40) if i % 4 != 3]
    tracker = TagTracker()
    feed(tracker, times)
    assert tracker.interval == 10.0


def test_jitter_is_smoothed_by_the_median() -> None:
    times = [0.0]
    for i in range(20):
        times.append(times[-1] + (9.5 if i % 2 else 10.5))
    tracker = TagTracker()
    feed(tracker, times)
    assert tracker.interval == pytest.approx(10.0, abs=0.5)


def test_stale_limit_is_three_intervals_but_at_least_a_minute() -> None:
    fast = TagTracker()
    feed(fast, [10.0 * i for i in range(5)])
    assert fast.stale_limit == MIN_STALE_AFTER
    slow = TagTracker()
    feed(slow, [60.0 * i for i in range(5)])
    assert slow.stale_limit == 180.0
    fixed = TagTracker(stale_after=25.0)
    feed(fixed, [60.0 * i for i in range(5)])
    assert fixed.stale_limit == 25.0


def test_goes_stale_once_at_its_deadline_and_comes_back() -> None:
    tracker = TagTracker()
    feed(tracker, [60.0 * i for i in range(5)])  # last at 240, limit 180
    assert tracker.deadline == 420.0
    assert not tracker.check(419.9)
    assert tracker.check(420.0)
    assert tracker.online is False
    assert not tracker.check(500.0)  # once
    assert tracker.deadline is None
    assert tracker.accept(9, 900.0) is True  # back online
    assert tracker.online is True


def test_a_gap_across_an_outage_is_not_learnt() -> None:
    tracker = TagTracker()
    feed(tracker, [60.0 * i for i in range(5)])
    tracker.check(1000.0)
    tracker.accept(5, 5000.0)
    tracker.accept(6, 5060.0)
    assert tracker.interval == 60.0


def test_repeats_do_not_keep_a_tag_fresh() -> None:
    tracker = TagTracker(stale_after=30.0)
    tracker.accept(1, 0.0)
    for _ in range(20):
        assert tracker.is_repeat(1)  # a hung firmware advertising its last frame
    assert tracker.check(30.0)


def published(tracker: TagTracker, times: list[float]) -> list[float]:
    out = []
    for i, at in enumerate(times):
        tracker.accept(i & 0xFF, at)
        if tracker.due(at):
            out.append(at)
    return out


def test_no_cap_publishes_every_measurement() -> None:
    times = [10.0 * i for i in range(10)]
    assert published(TagTracker(), times) == times


def test_cap_publishes_every_third_of_a_ten_second_tag() -> None:
    tracker = TagTracker(publish_every=30.0)
    times = [10.0 * i for i in range(13)]
    assert published(tracker, times) == [0.0, 30.0, 60.0, 90.0, 120.0]
    assert tracker.held_back == 8


def test_cap_keeps_its_average_rate_when_the_tag_is_not_a_divisor() -> None:
    """A 20 s tag under a 30 s cap: two of every three, on average one per 30 s."""
    times = [20.0 * i for i in range(31)]  # 600 s
    out = published(TagTracker(publish_every=30.0), times)
    assert len(out) == 21  # 600 s / 30 s + the first
    assert max(b - a for a, b in itertools.pairwise(out)) <= 40.0


def test_a_tag_as_fast_as_the_cap_is_not_halved_by_jitter() -> None:
    times = [0.0]
    for i in range(30):
        times.append(times[-1] + (29.0 if i % 2 else 31.0))
    out = published(TagTracker(publish_every=30.0), times)
    assert len(out) == len(times)


def test_a_tag_as_fast_as_the_cap_is_not_held_back_before_its_interval_is_learnt() -> None:
    tracker = TagTracker(publish_every=10.0)
    assert published(tracker, [0.0, 9.9, 19.9]) == [0.0, 9.9, 19.9]
    assert tracker.interval is None


def test_cap_starts_afresh_after_an_outage() -> None:
    tracker = TagTracker(publish_every=30.0)
    assert published(tracker, [0.0, 10.0]) == [0.0]
    tracker.accept(50, 1000.0)
    assert tracker.due(1000.0)
    tracker.accept(51, 1010.0)
    assert not tracker.due(1010.0)
