"""The shared pacer and the AIMD concurrency cap, on a fake clock, without sleeping."""

from __future__ import annotations

import itertools

import anyio
import pytest
from anyio import wait_all_tasks_blocked
from anyio.lowlevel import checkpoint

from loader.send.pacing import PACING_MARGIN, AdaptiveLimit, RateLimiter
from tests.conftest import FakeClock


@pytest.mark.anyio
async def test_slots_are_evenly_spaced_whoever_asks(clock: FakeClock) -> None:
    """Five concurrent callers at 10/s get slots 0.102 s apart, in arrival order."""
    limiter = RateLimiter(10, clock)
    started = clock.now()
    times: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        times.append(round(clock.now() - started, 6))

    for _ in range(5):
        await call()

    step = PACING_MARGIN / 10
    assert times == [round(i * step, 6) for i in range(5)]


@pytest.mark.anyio
async def test_no_one_second_window_exceeds_the_rate(clock: FakeClock) -> None:
    """Across 100 calls at 20/s, any window of one second holds at most 20."""
    limiter = RateLimiter(20, clock)
    times = []
    for _ in range(100):
        await limiter.acquire()
        times.append(clock.now())

    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest == 20


@pytest.mark.anyio
async def test_pause_holds_every_caller(clock: FakeClock) -> None:
    """Retry-After pauses the pacer: the next slot is after the pause."""
    limiter = RateLimiter(10, clock)
    await limiter.acquire()
    limiter.pause(3.0)
    before = clock.now()

    await limiter.acquire()

    assert clock.now() - before == pytest.approx(3.0)


def test_rate_must_be_positive(clock: FakeClock) -> None:
    """A zero rate is a programming error, refused at once."""
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0, clock)


@pytest.mark.anyio
async def test_slow_start_doubles_then_congestion_halves_then_growth_is_additive() -> None:
    """From 2: two successes make 4 (slow start); a cut halves to 2; then +1/limit per success."""
    limit = AdaptiveLimit(8, initial=2)
    for _ in range(2):
        epoch = await limit.acquire()
        await limit.release(epoch=epoch, congested=False)
    doubled = limit.limit
    epoch = await limit.acquire()
    await limit.release(epoch=epoch, congested=True)
    halved = limit.limit
    for _ in range(2):
        epoch = await limit.acquire()
        await limit.release(epoch=epoch, congested=False)

    assert (doubled, halved, round(limit.limit, 3)) == (4.0, 2.0, 2.9)


@pytest.mark.anyio
async def test_congestion_cuts_once_per_epoch() -> None:
    """Requests that started before a cut do not cut again: one halving, not three."""
    limit = AdaptiveLimit(8, initial=4)
    epochs = [await limit.acquire() for _ in range(3)]
    for epoch in epochs:
        await limit.release(epoch=epoch, congested=True)

    assert (limit.limit, limit.epoch) == (2.0, 1)


@pytest.mark.anyio
async def test_acquire_waits_while_full_and_wakes_on_release() -> None:
    """With 1 slot taken, a second caller blocks until the first releases."""
    limit = AdaptiveLimit(1, initial=1)
    first = await limit.acquire()
    admitted: list[str] = []

    async def second() -> None:
        await limit.acquire()
        admitted.append("second")

    async with anyio.create_task_group() as group:
        group.start_soon(second)
        await wait_all_tasks_blocked()
        blocked = list(admitted)
        await limit.release(epoch=first, congested=False)
        await wait_all_tasks_blocked()
        await checkpoint()

    assert (blocked, admitted, limit.in_flight) == ([], ["second"], 1)


@pytest.mark.anyio
async def test_callers_woken_together_after_a_stall_still_keep_their_spacing() -> None:
    """Two callers whose slots passed during a stall go one interval apart, not together."""

    class StallingClock(FakeClock):
        async def sleep(self, seconds: float) -> None:
            await super().sleep(seconds + 0.5)  # every wake-up is half a second late

    clock = StallingClock()
    limiter = RateLimiter(10, clock)
    granted: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        granted.append(clock.now())

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(call)

    gaps = [round(b - a, 3) for a, b in itertools.pairwise(granted)]
    assert min(gaps) >= PACING_MARGIN / 10
