"""When to send the next ARP request and to whom: a rate pacer and a retry schedule.

Both are pure (time is passed in), so the sweep's politeness and its retries are
tested without sockets or clocks; ``ipaudit.scan.arp`` drives them with
``time.monotonic()``.
"""

from __future__ import annotations

import math
from typing import Collection, Sequence


class Pacer:
    """Allows ``rate`` packets per second on average, in bursts of at most ``burst``.

    Sleeping has a granularity of a millisecond or more, so the sender wakes, sends
    what fell due since it last woke, and sleeps again; the default burst covers
    5 ms of sending. After a longer stall (the machine was busy) it does not catch
    up with a flood: at most ``burst`` packets go out at once.
    """

    def __init__(self, rate: float, burst: int | None = None, start: float = 0.0):
        if not rate > 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.burst = burst if burst is not None else max(4, math.ceil(rate / 200))
        self.next_at = start

    def due(self, now: float) -> int:
        """How many packets may go out at ``now``; the caller must send exactly that many."""
        if now < self.next_at:
            return 0
        self.next_at = max(self.next_at, now - (self.burst - 1) * self.interval)
        count = min(self.burst, int((now - self.next_at) / self.interval) + 1)
        self.next_at += count * self.interval
        return count

    def wait(self, now: float) -> float:
        """Seconds until the next packet is due (0 when one is due now)."""
        return max(0.0, self.next_at - now)


class RetrySchedule:
    """Which address to ask next: every target once, then non-responders again.

    Round 0 asks every target in order. Each of the ``retries`` later rounds asks
    the targets not yet ``answered`` (checked as each is reached, so a late reply
    saves a request), and starts no sooner than ``retry_wait`` seconds after the
    previous round's last request, so a slow host gets that long to answer.
    """

    def __init__(self, targets: Sequence[int], retries: int, retry_wait: float):
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.targets = list(targets)
        self.retries = retries
        self.retry_wait = retry_wait
        self.round = 0
        self._queue: list[int] = list(self.targets)
        self._position = 0
        self._round_ended_at: float | None = None
        self.finished = not self.targets
        self.sent = 0

    def take(self, count: int, now: float, answered: Collection[int]) -> list[int]:
        """Up to ``count`` targets to ask at ``now``; empty when waiting between rounds or done."""
        chosen: list[int] = []
        while len(chosen) < count and not self.finished:
            if self._position >= len(self._queue):
                if self._round_ended_at is None:
                    self._round_ended_at = now
                if not self._start_next_round(now, answered):
                    break
                continue
            target = self._queue[self._position]
            self._position += 1
            if self.round == 0 or target not in answered:
                chosen.append(target)
        if chosen and self._position >= len(self._queue):
            self._round_ended_at = now
            self.finished = self.round >= self.retries
        self.sent += len(chosen)
        return chosen

    def _start_next_round(self, now: float, answered: Collection[int]) -> bool:
        if self.round >= self.retries:
            self.finished = True
            return False
        if len(answered) < len(self.targets) and now < self._round_ended_at + self.retry_wait:
            return False
        self._queue = [t for t in self.targets if t not in answered]
        if not self._queue:
            self.finished = True
            return False
        self.round += 1
        self._position = 0
        self._round_ended_at = None
        return True

    def wait(self, now: float, answered: Collection[int]) -> float:
        """Seconds until another target can be due (0 inside a round, or when all answered).

        ``answered`` must hold only targets: its size tells whether a retry round is needed.
        """
        if self.finished or self._position < len(self._queue) or self._round_ended_at is None:
            return 0.0
        if len(answered) >= len(self.targets):
            return 0.0
        return max(0.0, self._round_ended_at + self.retry_wait - now)
