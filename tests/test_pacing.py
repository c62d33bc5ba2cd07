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


def test_first_pass_asks_every_target_in_order_even_when_already_answered():
    schedule = RetrySchedule([1, 2, 3, 4, 5], retries=1, retry_wait=0.5)
    assert schedule.take(3, 0.0, answered={2}) == [1, 2, 3]
    assert schedule.take(10, 0.01, answered={2}) == [4, 5]
    assert not schedule.finished(answered={2})


def test_a_silent_target_is_asked_again_only_after_retry_wait():
    schedule = RetrySchedule([1, 2, 3, 4, 5], retries=1, retry_wait=0.5)
    schedule.take(5, 0.0, answered=set())
    assert schedule.take(5, 0.2, answered={1, 3}) == []  # too early: give slow hosts their time
    assert schedule.wait(0.2, answered={1, 3}) == pytest.approx(0.3)
    assert schedule.take(5, 0.5, answered={1, 3}) == [2, 4, 5]
    assert schedule.finished(answered={1, 3}) and schedule.sent == 8


def test_retries_interleave_with_the_first_pass_and_go_first_when_due():
    schedule = RetrySchedule([1, 2, 3, 4], retries=1, retry_wait=0.1)
    assert schedule.take(1, 0.0, answered=set()) == [1]
    assert schedule.take(1, 0.05, answered=set()) == [2]
    assert schedule.take(2, 0.1, answered=set()) == [1, 3]  # 1 is due again before 3 and 4 are asked
    assert schedule.take(2, 0.16, answered={2}) == [4]  # 2 answered: not asked again; 3 not due yet


def test_each_target_is_asked_at_most_retries_plus_one_times_spaced_by_retry_wait():
    schedule = RetrySchedule([7], retries=3, retry_wait=0.25)
    times, now = [], 0.0
    while not schedule.finished(answered=set()):
        if schedule.take(1, now, answered=set()):
            times.append(now)
        now = round(now + 0.01, 2)
    assert times == [0.0, 0.25, 0.5, 0.75]


def test_late_reply_saves_the_retry():
    schedule = RetrySchedule([1, 2, 3], retries=2, retry_wait=0.1)
    schedule.take(3, 0.0, answered=set())
    assert schedule.take(5, 0.2, answered={2}) == [1, 3]


def test_no_retries_finishes_after_one_pass_without_waiting():
    schedule = RetrySchedule([1, 2], retries=0, retry_wait=5.0)
    assert schedule.take(2, 0.0, answered=set()) == [1, 2]
    assert schedule.finished(answered=set()) and schedule.wait(0.0, answered=set()) == 0


def test_everyone_answered_ends_the_schedule_without_waiting_for_retries():
    schedule = RetrySchedule([1, 2], retries=3, retry_wait=5.0)
    schedule.take(2, 0.0, answered=set())
    assert not schedule.finished(answered={1})
    assert schedule.finished(answered={1, 2}) and schedule.sent == 2


def test_empty_target_list_is_finished_at_once():
    assert RetrySchedule([], retries=3, retry_wait=1).finished(answered=set())


def test_negative_retries_are_refused():
    with pytest.raises(ValueError):
        RetrySchedule([1], retries=-1, retry_wait=1)


def test_simulated_lossy_lan_every_host_is_asked_at_most_retries_plus_one_times():
    """100 targets; host t answers only its (t % 4)-th request (0-based); t % 4 == 3 never within 3 tries."""
    targets = list(range(100))
    asked = {t: 0 for t in targets}
    answered: set[int] = set()
    schedule, pacer, now = RetrySchedule(targets, retries=2, retry_wait=0.05), Pacer(1000), 0.0
    while not schedule.finished(answered) and now < 10:
        for target in schedule.take(pacer.due(now), now, answered):
            if asked[target] == target % 4:
                answered.add(target)
            asked[target] += 1
        now += 0.001
    assert schedule.finished(answered)
    assert answered == {t for t in targets if t % 4 < 3}
    assert all(asked[t] == (t % 4) + 1 for t in answered)
    assert all(asked[t] == 3 for t in targets if t % 4 == 3)
    # 225 requests at 1000/s with retries interleaved, plus the waits of the last few
    # retries; asking in separate rounds would take 0.325 s.
    assert schedule.sent == 225
    assert 0.225 <= now <= 0.3


def test_confirmations_fill_gaps_after_fresh_targets_and_are_asked_last():
    # 1 answered at once; its confirmations are due while fresh targets remain: the first pass
    # goes on, the confirmations wait for a gap, so the last request is a confirmation.
    schedule = RetrySchedule([1, 2, 3, 4], retries=1, retry_wait=0.5, confirm=2, confirm_wait=0.01)
    assert schedule.take(1, 0.0, set()) == [1]
    schedule.confirm_answered(1, 0.001)
    assert schedule.take(1, 0.1, {1}) == [2]  # a confirmation of 1 is due, the fresh target goes first
    assert schedule.take(3, 0.2, {1}) == [3, 4, 1]
    assert schedule.last_searched == 0.2 and schedule.last_confirmed == 0.2
    answered = {1, 2, 3, 4}
    assert schedule.take(3, 0.3, answered) == [1]
    assert schedule.last_searched == 0.2 and schedule.last_confirmed == 0.3
    assert schedule.finished(answered) and schedule.confirmations_sent == 2


def test_the_sweep_waits_like_arp_scan_after_a_retry_but_briefly_after_a_confirmation():
    from ipaudit.scan.arp import sweep_deadline

    schedule = RetrySchedule([1], retries=1, retry_wait=0.5, confirm=1, confirm_wait=0.1)
    assert sweep_deadline(schedule, 0.5, 1, started=10.0) == 10.0  # nothing asked
    schedule.take(1, 10.0, set())
    assert sweep_deadline(schedule, 0.5, 1, started=10.0) == pytest.approx(10.75)  # 0.5 * 1.5
    schedule.confirm_answered(1, 10.01)
    assert schedule.take(1, 10.2, {1}) == [1]
    assert sweep_deadline(schedule, 0.5, 1, started=10.0) == pytest.approx(10.75)  # the first request rules
    schedule.last_confirmed = 11.0
    assert sweep_deadline(schedule, 0.5, 1, started=10.0) == pytest.approx(11.25)
