"""
Pacing and adaptive concurrency for the submission workers, over an injectable clock so
tests run without sleeping.

- ``RateLimiter``: one shared pacer. Calls are handed out evenly, ``1/rate`` apart plus a
  2% margin, on a fixed schedule (a late wake-up does not delay the calls after it, a
  stall moves it on), never much closer together than that after a stall, and no
  one-second window at the API sees more than ``rate`` calls even with scheduling jitter;
  a throttled answer's Retry-After pauses every worker at once. A throttled answer
  without Retry-After (the gateway documents none) means the API's limit is below
  ``rate``: the rate is cut to 70% (not below 1/s), once per cut like the limit below, and
  grows back by about 1/s per second of answers that are not throttled.
- ``AdaptiveLimit``: AIMD on the number of requests in flight, as TCP does it: a slow start
  that doubles the limit every window until the first sign of congestion, then +1 per
  window of successes; halved on throttling or timeouts (once per window: requests that
  started before a cut cannot cut again).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

import anyio
import anyio.lowlevel

PACING_MARGIN = 1.02
SPACING: Final = 0.9  # of an interval, at least, between two calls (see RateLimiter)
RATE_CUT: Final = 0.7  # the rate kept after a 429 without Retry-After
RATE_FLOOR: Final = 1.0  # requests/s a cut never goes below (unless --rate is lower)
# Seconds after its turn a request may take to leave (its bytes written) and still count
# as gone at its turn; a later one counts from when it left (``Grant.left``) less these,
# and a call let go later than these moves the schedule on (``RateLimiter.take``).
LEFT_LATE: Final = 0.005
# Seconds past a waiting call's turn that background work waits before it looks for a gap
# again (``RateLimiter.gap``), and between two looks while a call let go has not left.
AFTER_TURN: Final = 0.002
# Seconds a call let go may take to leave (its request written) before background work
# stops waiting for it (``RateLimiter.gap``): a connection being opened, say.
LEAVING: Final = 0.1


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


class Grant:
    """One call's turn: the epoch it goes out in, and when it went. ``went`` is when the
    pacer let it go, until the call says its request left (``left``): a call that
    stalls between the two (the event loop busy, another thread holding the interpreter)
    reaches the API later than its turn, and the calls after it are spaced from then.

    ``counted``: the time the one-second rule counts the call from, its turn (``slot``)
    or, for a call that went later, when it left less ``LEFT_LATE``: a call is never
    counted more than ``LEFT_LATE`` before it left, so every ``burst`` calls still span
    ``burst`` intervals less ``LEFT_LATE`` at the API, and a late wake-up or a slow write
    of a few milliseconds is not carried on to the call a second later, and from it to
    the next, to the end of the run (measured: 0.33 s lost over 20 s of sending, 3.5 s
    over 200 s, before this rule)."""

    __slots__ = ("clock", "epoch", "gone", "out", "slot", "went")

    def __init__(self, epoch: int, clock: Clock, slot: float) -> None:
        self.epoch, self.clock, self.slot = epoch, clock, slot
        self.went = self.gone = clock.now()
        self.out = False  # its request has left, or the call ended without one

    def leaving(self, now: float) -> bool:
        """Whether the call was let go but its request has not left yet (``LEAVING`` at
        most): background work run now would hold its request back."""
        return not self.out and now - self.went < LEAVING

    def done(self) -> None:
        """The call is over, its request sent or not: nothing more of it is to leave."""
        self.out = True

    def counted(self, forgiven: float) -> float:
        """When the call counts as gone for the one-second rule (see the class), with
        ``forgiven`` seconds of its lateness not counted (``LEFT_LATE`` at most)."""
        return max(self.slot, self.gone - forgiven)

    def left(self) -> None:
        """The call's request has left (its last byte written): it went now, if that is
        later than its turn by more than a request's own writing takes (``LEFT_LATE``).
        Counting those few milliseconds too would add them to every second's calls."""
        now = self.clock.now()
        self.gone = max(self.gone, now)
        self.out = True
        if now - self.went > LEFT_LATE:
            self.went = now

    async def trace(self, event: str, info: object) -> None:
        """httpcore's trace hook of an async client (``extensions={"trace": ...}``):
        ``left`` once the request's body is written, over HTTP/1.1 or HTTP/2."""
        if event.endswith("send_request_body.complete"):
            self.left()


class RateLimiter:
    """Hands out evenly spaced slots at most ``rate`` per second, shared by all workers.

    Each caller reserves the next slot at once (callers never collide). A slot is a time
    on a fixed schedule, so a caller that wakes a little late (sleeps end up to a
    millisecond or two after their time) does not push the ones after it: lateness never
    adds up. A call let go more than ``LEFT_LATE`` after its slot (the process stalled,
    or a call before it left late) moves the whole schedule on by its lateness
    (``moved``): the calls after it keep their intervals from it rather than hurry to
    make the time up, which would bring every second's calls to the edge of the rule
    below for as long as they took (a run 0.2 s behind met five 429s in 200 s where it
    met none). Two rules hold on the actual times of the calls, whatever the schedule:

    - no ``burst`` calls (the whole number of calls a second, at least 1) within less than
      ``burst`` intervals less ``LEFT_LATE``: no one-second window sees more than ``rate``
      calls, most of the margin kept, even after a stall. A call counts from its slot, or
      from when its request left (``Grant.left``; else when it was let go) less
      ``LEFT_LATE`` if that is later (``Grant.counted``): a few milliseconds of lateness
      are not carried to the call a second later, and from it to the next, to the end.
      Once the API has throttled a call (``pause``, ``slow_down``), its window evidently
      tolerates less than the margin: no lateness is forgiven for the rest of the run
      (``forgiven``), every ``burst`` calls then ``burst`` intervals apart as they left;
    - nine tenths of an interval at least between two calls: a wake-up a few milliseconds
      late is absorbed by the next call, and calls let go together (their slots passed
      while the process stalled) go one after another.
    """

    def __init__(self, rate: float, clock: Clock) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.ceiling = rate  # the configured rate: recovery never goes past it
        self.rate = rate
        self.interval = PACING_MARGIN / rate
        self.clock = clock
        self.next_slot = 0.0  # as booked: the schedule is the booked slots plus ``moved``
        self.moved = 0.0  # how far late calls have moved the schedule on, in all
        self.granted: deque[Grant] = deque()  # the latest calls, ``burst`` at most
        self.queued: list[float] = []  # the booked slots of the callers not let go yet
        self.epoch = 0  # increments on every cut
        self.forgiven = LEFT_LATE  # of a call's lateness, until the API throttles one

    @property
    def burst(self) -> int:
        """How many calls fit in one second at the current rate (at least one)."""
        return max(1, math.floor(self.rate))

    async def take(self) -> Grant:
        """Wait for this caller's slot and for the two rules on the calls already made;
        the grant's epoch is the one to name to ``slow_down``."""
        booked = max(self.clock.now() - self.moved, self.next_slot)
        self.next_slot = booked + self.interval
        self.queued.append(booked)
        try:
            while (wait := self._ready_at(booked + self.moved) - self.clock.now()) > 0:
                await self.clock.sleep(wait)
        finally:
            self.queued.remove(booked)
        late = self.clock.now() - (booked + self.moved)
        if late > LEFT_LATE:
            self.moved += late
        grant = Grant(self.epoch, self.clock, booked + self.moved)
        self.granted.append(grant)
        while len(self.granted) > self.burst:
            self.granted.popleft()
        return grant

    async def gap(
        self,
        length: float,
        patience: float = math.inf,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """Return at a moment when the next caller waiting for its turn has it ``length``
        seconds from now at the earliest: work of that length, done at once without
        awaiting, then delays no call (a run's background work, in steps, while it
        sends). Waits past each turn that falls too soon; while no caller waits for a
        turn (the run waits on the network: answers to take, each starting a request),
        looks again an interval later. Never while a call let go has not left yet: its
        request is written over a few awaits, and work run between them held it back (a
        request let go at its turn left 79 ms later, behind a step of the work ahead).
        Returns after ``patience`` seconds whatever the turns (at a rate whose interval is
        shorter than ``length``, no such gap opens). ``sleep``: how to wait (the pacer's
        clock's, unless a run's background work waits on real time: a fake clock's sleeps
        return at once and move the run's time on)."""
        sleep = sleep or self.clock.sleep
        await anyio.lowlevel.checkpoint()
        until = self.clock.now() + patience
        while (now := self.clock.now()) < until:
            if any(grant.leaving(now) for grant in self.granted):
                await sleep(min(AFTER_TURN, until - now))
                continue
            if not self.queued:
                await sleep(min(self.interval, until - now))
                continue
            wait = self._ready_at(self.queued[0] + self.moved) - now
            if wait >= length:
                return
            await sleep(max(wait, 0.0) + AFTER_TURN)

    def _ready_at(self, slot: float) -> float:
        """The earliest a call of ``slot`` may go."""
        ready, granted, burst = slot, self.granted, self.burst
        if granted:
            ready = max(ready, granted[-1].went + self.interval * SPACING)
        if len(granted) >= burst:
            ready = max(ready, granted[-burst].counted(self.forgiven) + burst * self.interval)
        return ready

    def pause(self, seconds: float) -> None:
        """Hold every caller off for ``seconds`` (the API said Retry-After)."""
        self.next_slot = max(self.next_slot, self.clock.now() + seconds - self.moved)
        self.forgiven = 0.0

    def slow_down(self, *, epoch: int) -> None:
        """Throttled with no Retry-After: cut the rate, once for all calls sent before a cut."""
        self.forgiven = 0.0
        if epoch != self.epoch:
            return
        self.epoch += 1
        self._set(max(min(RATE_FLOOR, self.ceiling), self.rate * RATE_CUT))

    def recover(self) -> None:
        """An answer that was not throttled: +1/rate, about +1/s per second of such answers."""
        if self.rate < self.ceiling:
            self._set(min(self.ceiling, self.rate + 1 / self.rate))

    def _set(self, rate: float) -> None:
        """The new rate spaces the slots handed out from now on."""
        self.rate = rate
        self.interval = PACING_MARGIN / rate


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
