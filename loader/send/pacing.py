"""
Pacing and adaptive concurrency for the submission workers, over an injectable clock so
tests run without sleeping.

- ``RateLimiter``: one shared pacer. Calls are handed out evenly, ``1/rate`` apart plus a
  2% margin, so no one-second window at the API sees more than ``rate`` calls even with
  scheduling jitter; a throttled answer's Retry-After pauses every worker at once.
- ``AdaptiveLimit``: AIMD on the number of requests in flight, as TCP does it: a slow start
  that doubles the limit every window until the first sign of congestion, then +1 per
  window of successes; halved on throttling or timeouts (once per window: requests that
  started before a cut cannot cut again).
"""

from __future__ import annotations

import time
from typing import Protocol

import anyio

PACING_MARGIN = 1.02


class Clock(Protocol):
    """Monotonic time and sleeping; tests pass a fake one."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class RateLimiter:
    """Hands out evenly spaced slots at most ``rate`` per second, shared by all workers.

    Each caller reserves the next slot at once (callers never collide), and on waking
    also keeps ``interval`` after the previous caller actually went: if the process
    stalled and two callers wake together, the second waits its turn instead of
    following the first within a millisecond.
    """

    def __init__(self, rate: float, clock: Clock) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = PACING_MARGIN / rate
        self.clock = clock
        self.next_slot = 0.0
        self.last_granted = -float("inf")

    async def acquire(self) -> None:
        """Wait for this caller's slot and for the spacing after the last caller."""
        now = self.clock.now()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        while True:
            wait = max(slot, self.last_granted + self.interval) - self.clock.now()
            if wait <= 0:
                break
            await self.clock.sleep(wait)
        self.last_granted = self.clock.now()

    def pause(self, seconds: float) -> None:
        """Hold every caller off for ``seconds`` (the API said Retry-After)."""
        self.next_slot = max(self.next_slot, self.clock.now() + seconds)


class AdaptiveLimit:
    """An AIMD cap on requests in flight, between 1 and ``maximum``."""

    def __init__(self, maximum: int, initial: int | None = None) -> None:
        self.maximum = max(1, maximum)
        self.limit = float(min(self.maximum, initial or min(self.maximum, 2)))
        self.in_flight = 0
        self.epoch = 0  # increments on every cut
        self.slow_start = True  # until the first congestion: +1 per success
        self._changed = anyio.Condition()

    async def acquire(self) -> int:
        """Wait for room in flight; returns the epoch the request starts in."""
        async with self._changed:
            while self.in_flight >= int(self.limit):
                await self._changed.wait()
            self.in_flight += 1
            return self.epoch

    async def release(self, *, epoch: int, congested: bool) -> None:
        """A request ended: grow on success, halve on congestion (once per epoch)."""
        async with self._changed:
            self.in_flight -= 1
            if congested:
                self.slow_start = False
                if epoch == self.epoch:
                    self.limit = max(1.0, self.limit / 2)
                    self.epoch += 1
            else:
                step = 1.0 if self.slow_start else 1 / self.limit
                self.limit = min(float(self.maximum), self.limit + step)
            self._changed.notify_all()
