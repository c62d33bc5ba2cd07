"""When to send the next ARP request and to whom: a rate pacer and a retry schedule.

Both are pure (time is passed in), so the sweep's politeness and its retries are
tested without sockets or clocks; ``ipaudit.scan.arp`` drives them with
``time.monotonic()``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Container, Sequence


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
    """Which address to ask next: every target once, in order, the silent ones again, and
    the answered ones again to confirm.

    A target still not ``answered`` ``retry_wait`` seconds after its last request is
    asked again, up to ``retries`` more times (arp-scan's per-host timeout). A target
    reported by ``confirm_answered`` is asked ``confirm`` more times, ``confirm_wait``
    apart: a second holder of the address that missed one request (Wi-Fi drops) gets
    more chances to answer. Due retries go first, then fresh targets, then due
    confirmations: the sweep stays at the paced rate throughout, confirmations fill the
    gaps the first pass and the retries leave, and what is asked last is a confirmation.
    That matters for the end of the sweep: after a first request or a retry the sweep must
    wait as long as arp-scan would (a slow host answers late), but a confirmation asks an
    address that already answered, so only a short grace follows it. ``last_searched`` and
    ``last_confirmed`` are when each kind was last asked.
    """

    def __init__(self, targets: Sequence[int], retries: int, retry_wait: float,
                 confirm: int = 0, confirm_wait: float | None = None):
        if retries < 0 or confirm < 0:
            raise ValueError("retries and confirm must be 0 or more")
        self.targets = list(targets)
        self.retries = retries
        self.retry_wait = retry_wait
        self.confirm = confirm
        self.confirm_wait = retry_wait if confirm_wait is None else confirm_wait
        self._position = 0
        # (due time, target, requests so far): appended in send order, so sorted by due time.
        self._again: deque[tuple[float, int, int]] = deque()
        # (due time, target, confirmations left): appended as answers arrive, so sorted too.
        self._confirms: deque[tuple[float, int, int]] = deque()
        self._confirming: set[int] = set()
        self.sent = 0
        self.confirmations_sent = 0
        self.last_searched: float | None = None  # the last first request or retry
        self.last_confirmed: float | None = None

    def confirm_answered(self, target: int, now: float) -> None:
        """``target`` answered (first time): plan its confirmation requests."""
        if self.confirm and target not in self._confirming:
            self._confirming.add(target)
            self._confirms.append((now + self.confirm_wait, target, self.confirm))

    def take(self, count: int, now: float, answered: Container[int]) -> list[int]:
        """Up to ``count`` targets to ask at ``now``; empty while only future requests remain."""
        chosen: list[int] = []
        searched = 0
        while len(chosen) < count:
            if self._again and self._again[0][0] <= now:
                _, target, asked = self._again.popleft()
                if target in answered:
                    continue
            elif self._position < len(self.targets):
                target, asked = self.targets[self._position], 0
                self._position += 1
            elif self._confirms and self._confirms[0][0] <= now:
                _, target, left = self._confirms.popleft()
                chosen.append(target)
                self.confirmations_sent += 1
                self.last_confirmed = now
                if left > 1:
                    self._confirms.append((now + self.confirm_wait, target, left - 1))
                continue
            else:
                break
            chosen.append(target)
            searched += 1
            if asked < self.retries:
                self._again.append((now + self.retry_wait, target, asked + 1))
        if searched:
            self.last_searched = now
        self.sent += len(chosen)
        return chosen

    def _drop_answered(self, answered: Container[int]) -> None:
        while self._again and self._again[0][1] in answered:
            self._again.popleft()

    def finished(self, answered: Container[int]) -> bool:
        """Every target asked, no silent one left to ask again, no confirmation left."""
        self._drop_answered(answered)
        return self._position >= len(self.targets) and not self._again and not self._confirms

    def wait(self, now: float, answered: Container[int]) -> float:
        """Seconds until a request can be due (0 while fresh targets remain, or when finished)."""
        if self._position < len(self.targets):
            return 0.0
        self._drop_answered(answered)
        dues = [queue[0][0] for queue in (self._again, self._confirms) if queue]
        return max(0.0, min(dues) - now) if dues else 0.0
