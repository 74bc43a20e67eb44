"""The shared pacer and the AIMD concurrency cap, on a fake clock, without sleeping."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable

import anyio
import httpx
import pytest
from anyio import wait_all_tasks_blocked
from anyio.lowlevel import checkpoint
from hypothesis import given, settings
from hypothesis import strategies as st

from loader.send.pacing import (
    AFTER_TURN,
    LEAVING,
    LEFT_LATE,
    PACING_MARGIN,
    AdaptiveLimit,
    RateLimiter,
)
from loader.sim import SimConfig, running_simulator
from tests.conftest import FakeClock


@pytest.mark.anyio
async def test_slots_are_evenly_spaced_whoever_asks(clock: FakeClock) -> None:
    """Five concurrent callers at 10/s get slots 0.102 s apart, in arrival order."""
    limiter = RateLimiter(10, clock)
    started = clock.now()
    times: list[float] = []

    async def call() -> None:
        await limiter.take()
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
        await limiter.take()
        times.append(clock.now())

    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest == 20


@pytest.mark.anyio
async def test_pause_holds_every_caller(clock: FakeClock) -> None:
    """Retry-After pauses the pacer: the next slot is after the pause."""
    limiter = RateLimiter(10, clock)
    await limiter.take()
    limiter.pause(3.0)
    before = clock.now()

    await limiter.take()

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
        await limiter.take()
        granted.append(clock.now())

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(call)

    gaps = [round(b - a, 3) for a, b in itertools.pairwise(granted)]
    assert min(gaps) >= PACING_MARGIN / 10


class VirtualClock:
    """Time that moves only when every task waits: to the earliest wake-up. Sleeps end late
    by ``late`` in turn; ``stall`` freezes the whole process once, at the first wake-up."""

    def __init__(self, *, late: tuple[float, ...] = (0.0,), stall: float = 0.0) -> None:
        self.time = 1000.0
        self.late, self.stall = itertools.cycle(late), stall
        self.waiting: list[tuple[float, int, anyio.Event]] = []
        self.order = itertools.count()

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        woken = anyio.Event()
        heapq.heappush(
            self.waiting, (self.time + seconds + next(self.late), next(self.order), woken)
        )
        await woken.wait()

    async def run(self, calls: list[Callable[[], Awaitable[None]]]) -> None:
        """Run ``calls`` concurrently, moving time whenever all of them wait."""
        async with anyio.create_task_group() as outer:

            async def drive() -> None:
                while True:
                    await wait_all_tasks_blocked()
                    if self.waiting:
                        wake, _, woken = heapq.heappop(self.waiting)
                        self.time = max(self.time, wake + self.stall)
                        self.stall = 0.0
                        woken.set()
                    await checkpoint()

            outer.start_soon(drive)
            async with anyio.create_task_group() as group:
                for call in calls:
                    group.start_soon(call)
            outer.cancel_scope.cancel()


async def _granted(limiter: RateLimiter, clock: VirtualClock, callers: int) -> list[float]:
    """When each of ``callers`` concurrent callers got its call, from the clock's start."""
    times: list[float] = []

    async def call() -> None:
        await limiter.take()
        times.append(round(clock.now() - 1000.0, 6))

    await clock.run([call] * callers)
    return times


@pytest.mark.anyio
async def test_late_wake_ups_do_not_add_up() -> None:
    """Sleeps ending 2 ms and 0.5 ms late in turn delay each call by its own lateness: the
    calls stay on their schedule, the hundredth is not 100 wake-ups late."""
    clock = VirtualClock(late=(0.002, 0.0005))

    times = await _granted(RateLimiter(20, clock), clock, 100)

    step = PACING_MARGIN / 20
    late = [0.0, *itertools.islice(itertools.cycle((0.002, 0.0005)), 99)]
    assert times == [round(i * step + late[i], 6) for i in range(100)]


@pytest.mark.anyio
async def test_wake_ups_late_by_varying_amounts_do_not_add_up() -> None:
    """Sleeps ending 4, 0 and 1 ms late in turn (a cycle that does not divide the 20 calls
    of a second): 400 calls at 20/s each go within 4 ms of their turn. A call a second
    later, woken less late than the call it is spaced from, would otherwise wait again
    and wake late again, and the lateness would grow along the run (the 400th call
    41 ms late)."""
    clock = VirtualClock(late=(0.004, 0.0, 0.001))

    times = await _granted(RateLimiter(20, clock), clock, 400)

    step = PACING_MARGIN / 20
    lateness = [round(t - i * step, 6) for i, t in enumerate(times)]
    assert max(lateness) == 0.004


@settings(max_examples=40, deadline=None)
@given(
    late=st.lists(
        st.sampled_from((0.0, 0.0005, 0.002, 0.004, 0.009, 0.03)), min_size=1, max_size=7
    ),
    writing=st.lists(
        st.sampled_from((0.0, 0.001, 0.004, 0.006, 0.02, 0.3)), min_size=1, max_size=7
    ),
    stall=st.sampled_from((0.0, 0.07, 0.6)),
)
def test_however_late_calls_wake_and_leave_no_second_at_the_api_sees_more_than_the_rate(
    late: list[float], writing: list[float], stall: float
) -> None:
    """Wake-ups late, requests slow to leave, a stall: every 21 calls at 20/s leave at
    least 20 intervals less ``LEFT_LATE`` apart (1.015 s), so no second holds 21."""
    clock = VirtualClock(late=tuple(late), stall=stall)
    limiter = RateLimiter(20, clock)
    writes = itertools.cycle(writing)
    gone: list[tuple[float, float]] = []  # (when granted, when its request left)

    async def call() -> None:
        grant = await limiter.take()
        granted = clock.now()
        await clock.sleep(next(writes))  # writing the request (the clock adds its lateness)
        grant.left()
        gone.append((granted, clock.now()))

    anyio.run(clock.run, [call] * 70)

    left = [t for _, t in sorted(gone)]  # in the order the calls were let go
    spans = [b - a for a, b in zip(left, left[20:], strict=False)]
    busiest = max(sum(1 for t in left if start <= t < start + 1) for start in left)
    assert min(spans) >= 20 * PACING_MARGIN / 20 - LEFT_LATE - 1e-9
    assert busiest <= 20


@pytest.mark.anyio
async def test_after_a_stall_the_calls_keep_to_the_rate_in_every_window() -> None:
    """Callers whose slots passed in a 1.5 s stall go one interval apart from the first of
    them (no burst): the schedule moves on by the stall, never 21 calls in one second at
    20/s. (Hurrying to make the time up would hold every second's calls at the edge of
    the API's window for as long as it took.)"""
    clock = VirtualClock(stall=1.5)

    times = await _granted(RateLimiter(20, clock), clock, 80)

    step = PACING_MARGIN / 20
    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert times == [0.0, *(round(i * step + 1.5, 6) for i in range(1, 80))]
    assert busiest == 20


@pytest.mark.anyio
async def test_a_call_that_left_late_spaces_the_calls_a_second_after_it_from_then(
    clock: FakeClock,
) -> None:
    """At 10/s the 11th call waits ten intervals after the first: after when the first
    request left (0.3 s after its turn: the process stalled) less ``LEFT_LATE``, not after
    its turn."""
    limiter = RateLimiter(10, clock)
    first = await limiter.take()
    turn = clock.now()
    clock.time += 0.3
    first.left()
    for _ in range(9):
        await limiter.take()

    eleventh = await limiter.take()

    assert round(eleventh.went - turn, 6) == round(0.3 - LEFT_LATE + 10 * PACING_MARGIN / 10, 6)


@pytest.mark.anyio
async def test_a_request_that_left_within_its_writing_time_counts_at_its_turn(
    clock: FakeClock,
) -> None:
    """Left 4 ms after its turn (``LEFT_LATE`` is 5): the calls a second after it are not
    moved, else every second's calls would lose those milliseconds."""
    limiter = RateLimiter(10, clock)
    first = await limiter.take()
    turn = clock.now()
    clock.time += 0.004
    first.left()

    assert (first.went, LEFT_LATE) == (turn, 0.005)


@pytest.mark.anyio
@pytest.mark.parametrize("throttled", ["retry-after", "no retry-after", None])
async def test_once_throttled_no_lateness_is_forgiven(
    clock: FakeClock, throttled: str | None
) -> None:
    """At 10/s the first request left 4 ms after its turn: the 11th call goes ten intervals
    after its turn, until the API throttles a call; from then, ten intervals after the
    first left (the API's window tolerates less than the margin)."""
    limiter = RateLimiter(10, clock)
    first = await limiter.take()
    turn = clock.now()
    clock.time += 0.004
    first.left()
    if throttled == "retry-after":
        limiter.pause(0.0)
    elif throttled == "no retry-after":
        limiter.slow_down(epoch=first.epoch)
        limiter.rate, limiter.interval = 10, PACING_MARGIN / 10  # the cut's rate aside
    for _ in range(9):
        await limiter.take()

    eleventh = await limiter.take()

    late = 0.0 if throttled is None else 0.004
    assert round(eleventh.went - turn, 6) == round(late + 10 * PACING_MARGIN / 10, 6)


@pytest.mark.anyio
async def test_a_grant_learns_when_its_request_left_from_httpcore_trace() -> None:
    """Through a real HTTP/1.1 exchange on loopback, the grant's time moves to when the
    request's body was written, and only then."""
    ticks = itertools.count(1)

    class Ticking:
        """A clock that moves one second at each look."""

        def now(self) -> float:
            return float(next(ticks))

        async def sleep(self, seconds: float) -> None:  # pragma: no cover - never waits
            await checkpoint()

    taken = await RateLimiter(10, Ticking()).take()
    seen: list[tuple[str, float]] = []

    async def trace(event: str, info: object) -> None:
        await taken.trace(event, info)
        seen.append((event, taken.went))

    with running_simulator(SimConfig()) as sim:
        async with httpx.AsyncClient() as client:
            await client.get(f"{sim.url}/v2/p/services", extensions={"trace": trace})

    moved = [(event, went) for event, went in seen if went != seen[0][1]]
    assert moved[0][0] == "http11.send_request_body.complete"
    assert len({went for _, went in moved}) == 1  # nothing after it moved it again


@pytest.mark.anyio
async def test_gap_waits_while_no_caller_waits_for_a_turn(clock: FakeClock) -> None:
    """No caller waits for a turn (the run waits on the network, answers to come): no gap
    is known, so the work waits, looking again each interval, until its patience ends."""
    limiter = RateLimiter(10, clock)
    (await limiter.take()).left()
    began = clock.now()

    await limiter.gap(0.03, patience=0.5)

    assert clock.sleeps == pytest.approx([0.102, 0.102, 0.102, 0.102, 0.092])
    assert (round(clock.now() - began, 6), limiter.queued) == (0.5, [])


@pytest.mark.anyio
async def test_work_done_in_the_gaps_delays_no_call() -> None:
    """At 20/s, 60 callers and a worker whose 25 steps each hold the process 30 ms (the
    virtual clock moves on while a step runs): every call is granted when it would be
    with no worker at all, and every step is done, each within the calls' gaps."""
    steps: list[tuple[float, float]] = []

    async def granted(with_worker: bool) -> list[float]:
        clock = VirtualClock()
        limiter = RateLimiter(20, clock)
        times: list[float] = []

        async def call() -> None:
            (await limiter.take()).left()  # its request written at once
            times.append(round(clock.now() - 1000.0, 6))

        async def worker() -> None:
            for _ in range(25):
                await limiter.gap(0.03)
                began = clock.now() - 1000.0
                clock.time += 0.03  # the step: nothing else runs meanwhile
                steps.append((round(began, 6), round(clock.now() - 1000.0, 6)))

        await clock.run([call] * 60 + ([worker] if with_worker else []))
        return sorted(times)

    alone = await granted(with_worker=False)
    beside = await granted(with_worker=True)

    assert beside == alone
    assert len(steps) == 25
    assert not [(b, e, t) for b, e in steps for t in alone if b < t < e]


@pytest.mark.anyio
@pytest.mark.parametrize("writing", [0.01, None])
async def test_no_gap_opens_until_the_call_let_go_has_left(writing: float | None) -> None:
    """At 20/s the first call, let go at once, writes its request over 10 ms (awaiting
    meanwhile): the work waits until it has left, though the next turn is 51 ms away,
    and goes at its first look after. A request that never says it left is waited for ``LEAVING``, then the
    work goes in the first gap after."""
    clock = VirtualClock()
    limiter = RateLimiter(20, clock)
    left: list[float] = []
    went: list[float] = []

    async def first() -> None:
        grant = await limiter.take()
        if writing is not None:
            await clock.sleep(writing)
            grant.left()
            left.append(round(clock.now() - 1000.0, 6))

    async def call() -> None:
        (await limiter.take()).left()

    async def worker() -> None:
        await checkpoint()  # the callers take their slots first
        await limiter.gap(0.03)
        went.append(round(clock.now() - 1000.0, 6))

    await clock.run([first, call, call, call, worker])

    if writing is not None:
        assert left == [0.01]
        assert went == [pytest.approx(0.01, abs=AFTER_TURN)]  # at its next look
    else:  # the third call's turn (0.102 s) too close at LEAVING: just after it
        assert went == [pytest.approx(2 * PACING_MARGIN / 20 + AFTER_TURN, abs=AFTER_TURN)]
        assert went[0] > LEAVING


@pytest.mark.anyio
async def test_a_gap_longer_than_the_interval_waits_for_its_patience() -> None:
    """At 20/s (an interval of 51 ms) a gap of 60 ms never opens while calls wait: the
    work goes when its patience of one second ends, calls still waiting."""
    clock = VirtualClock()
    limiter = RateLimiter(20, clock)
    times: list[float] = []
    went: list[float] = []

    async def call() -> None:
        (await limiter.take()).left()
        times.append(clock.now() - 1000.0)

    async def worker() -> None:
        await checkpoint()  # the callers take their slots first
        await limiter.gap(0.06, patience=1.0)
        went.append(clock.now() - 1000.0)

    await clock.run([call] * 40 + [worker])

    (at,) = went  # the first look past its patience: just after a turn
    assert 1.0 <= at <= 1.0 + PACING_MARGIN / 20 + AFTER_TURN
    assert len([t for t in times if t > at]) == 19
