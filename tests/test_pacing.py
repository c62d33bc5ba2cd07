"""The sweep's pacing and retries, driven by a simulated clock: no sockets, no sleeping."""

from __future__ import annotations

import pytest

from ipaudit.scan.pacing import Pacer, RetrySchedule


def drive(pacer: Pacer, seconds: float, tick: float) -> list[int]:
    sent, now = [], 0.0
    while now < seconds:
        sent.append(pacer.due(now))
        now += tick
    return sent


@pytest.mark.parametrize("rate, tick", [(500, 0.001), (500, 0.0037), (20000, 0.001), (20000, 0.0011), (50, 0.05)])
def test_pacer_holds_the_average_rate_whatever_the_wakeup_interval(rate, tick):
    sent = drive(Pacer(rate), 2.0, tick)
    assert abs(sum(sent) - 2.0 * rate) <= max(2, rate * tick) + 1


def test_pacer_at_default_rate_sends_one_at_a_time_when_woken_often():
    assert max(drive(Pacer(500), 1.0, 0.0001)) == 1


def test_pacer_bursts_are_bounded_so_a_stall_does_not_flood_the_lan():
    pacer = Pacer(20000)
    assert pacer.burst == 100  # 5 ms worth
    assert pacer.due(0.0) == 1
    assert pacer.due(5.0) == 100  # five seconds late: 100,000 packets "owed", only a burst goes
    assert pacer.due(5.0) == 0
    assert pacer.wait(5.0) == pytest.approx(1 / 20000)


def test_pacer_refuses_a_zero_rate():
    with pytest.raises(ValueError):
        Pacer(0)


def test_round_zero_asks_every_target_in_order_even_when_already_answered():
    schedule = RetrySchedule([1, 2, 3, 4, 5], retries=1, retry_wait=0.5)
    assert schedule.take(3, 0.0, answered={2}) == [1, 2, 3]
    assert schedule.take(10, 0.01, answered={2}) == [4, 5]
    assert schedule.round == 0 and not schedule.finished


def test_retry_round_waits_then_asks_only_the_silent():
    schedule = RetrySchedule([1, 2, 3, 4, 5], retries=1, retry_wait=0.5)
    schedule.take(5, 0.0, answered=set())
    assert schedule.take(5, 0.2, answered={1, 3}) == []  # too early: give slow hosts their time
    assert schedule.wait(0.2, answered={1, 3}) == pytest.approx(0.3)
    assert schedule.take(5, 0.5, answered={1, 3}) == [2, 4, 5]
    assert schedule.finished and schedule.sent == 8


def test_late_reply_during_a_retry_round_saves_the_request():
    schedule = RetrySchedule([1, 2, 3], retries=2, retry_wait=0.1)
    schedule.take(3, 0.0, answered=set())
    assert schedule.take(1, 0.2, answered=set()) == [1]
    assert schedule.take(5, 0.21, answered={2}) == [3]  # 2 answered meanwhile: skipped


def test_no_retries_finishes_after_one_round_without_waiting():
    schedule = RetrySchedule([1, 2], retries=0, retry_wait=5.0)
    assert schedule.take(2, 0.0, answered=set()) == [1, 2]
    assert schedule.finished and schedule.wait(0.0, answered=set()) == 0


def test_everyone_answered_ends_the_schedule_without_waiting_for_the_retry_gap():
    schedule = RetrySchedule([1, 2], retries=3, retry_wait=5.0)
    schedule.take(2, 0.0, answered=set())
    assert schedule.wait(0.01, answered={1, 2}) == 0
    assert schedule.take(2, 0.01, answered={1, 2}) == []
    assert schedule.finished and schedule.sent == 2


def test_empty_target_list_is_finished_at_once():
    assert RetrySchedule([], retries=3, retry_wait=1).finished


def test_negative_retries_are_refused():
    with pytest.raises(ValueError):
        RetrySchedule([1], retries=-1, retry_wait=1)


def test_simulated_lossy_lan_every_host_is_asked_at_most_retries_plus_one_times():
    """100 targets; host t answers only its (t % 4)-th request (0-based); t % 4 == 3 never within 3 tries."""
    targets = list(range(100))
    asked = {t: 0 for t in targets}
    answered: set[int] = set()
    schedule, pacer, now = RetrySchedule(targets, retries=2, retry_wait=0.05), Pacer(1000), 0.0
    while not schedule.finished and now < 10:
        for target in schedule.take(pacer.due(now), now, answered):
            if asked[target] == target % 4:
                answered.add(target)
            asked[target] += 1
        now += 0.001
    assert schedule.finished
    assert answered == {t for t in targets if t % 4 < 3}
    assert all(asked[t] == (t % 4) + 1 for t in answered)
    assert all(asked[t] == 3 for t in targets if t % 4 == 3)
    # Three rounds of 100, 75 and 50 requests at 1000/s plus two 50 ms gaps: about 0.325 s.
    assert 0.3 <= now <= 0.4
