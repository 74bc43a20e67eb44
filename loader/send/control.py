"""
What the engines that send share: how hard and how long to try (``SubmitOptions``), the
run's stop switch, retry budget and failure streak (``RunControl``, one per run, so an
interrupt, an outage or a spent budget stops creates and changes alike), how many workers
to start, full-jitter backoff, and a sleep that a stop cuts short.

Used by ``engine`` (the ``Submitter``: batches created) and ``changes`` (the ``Changer``:
tasks updated, stopped, started, deleted).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
from anyio.abc import ObjectReceiveStream

from loader.send.answers import Outcome, Scope
from loader.send.pacing import Clock


@dataclass(frozen=True, kw_only=True)
class SubmitOptions:
    """How hard and how long to try."""

    concurrency: int = 8  # the most requests in flight (the AIMD cap)
    workers: int | None = None  # batches in progress at once; default max(4 x concurrency, 32)
    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 20.0
    retry_budget: int | None = None  # default: one retry per batch, at least 20
    outage_after: int = 12  # failures in a row, none succeeding, that end the run
    lookup_delays: tuple[float, ...] = (1.0, 2.0, 4.0)  # the settle window for list lag
    lookup_window: float = 0.0  # lookups span at least this (the read timeout), plus
    window_per_camera: float = 0.001  # this per camera of the batch (1 s per 1,000)


@dataclass
class RunControl:
    """Shared stop switch, retry budget and failure streak of one run."""

    budget: int
    outage_after: int
    stop_reason: str = ""
    final: bool = False  # the API refused the run for good: unsent batches cannot succeed
    streak: int = 0
    retries: int = 0
    lookups: int = 0
    _stopped: anyio.Event = field(default_factory=anyio.Event)

    @property
    def stopping(self) -> bool:
        return self._stopped.is_set()

    def stop(self, reason: str, *, final: bool = False) -> None:
        """Take no new batch and no new attempt; the first reason stands."""
        if not self.stopping:
            self.stop_reason, self.final = reason, final
            self._stopped.set()

    def stop_for(self, refusal: Outcome) -> None:
        """The API refused the run; for good (project, permissions) if its scope says so."""
        self.stop(refusal.stop_reason, final=refusal.scope == Scope.PROJECT)

    def failed(self) -> None:
        """A request failed (retriable or ambiguous): spend budget, watch for an outage."""
        self.retries += 1
        self.streak += 1
        if self.retries > self.budget:
            self.stop(f"retry budget of {self.budget} spent")
        elif self.streak >= self.outage_after:
            self.stop(f"the API failed {self.streak} requests in a row (outage)")

    def succeeded(self) -> None:
        self.streak = 0

    async def stopped(self) -> None:
        """Wait until the run is stopped."""
        await self._stopped.wait()


def worker_count(options: SubmitOptions) -> int:
    """Workers outnumber the requests in flight: a worker waiting out a backoff or a
    lookup's settle window holds no request, and must not hold up the others."""
    if options.workers is not None:
        return max(1, options.workers)
    return max(4 * options.concurrency, 32)


def backoff_delay(
    options: SubmitOptions, attempts: int, retry_after: float | None, rng: random.Random
) -> float:
    """Full jitter over ``base * 2^(attempts-1)`` (capped); never less than Retry-After."""
    ceiling = min(options.backoff_cap, options.backoff_base * 2 ** (attempts - 1))
    delay = rng.uniform(0, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


async def sleep_unless_stopped(clock: Clock, control: RunControl, seconds: float) -> None:
    """Sleep on the engine's clock, cut short when the run is stopped."""
    if control.stopping:
        return
    async with anyio.create_task_group() as group:

        async def wake_on_stop() -> None:
            await control.stopped()
            group.cancel_scope.cancel()

        group.start_soon(wake_on_stop)
        await clock.sleep(seconds)
        group.cancel_scope.cancel()


J = TypeVar("J")


async def fan_out(jobs: Sequence[J], workers: int, handle: Callable[[J], Awaitable[None]]) -> None:
    """Feed ``jobs`` through a memory stream to ``workers`` workers, each handling one job
    at a time; return when every job is handled (the Submitter's and the Changer's pool)."""
    send, receive = anyio.create_memory_object_stream[J]()

    async def worker(stream: ObjectReceiveStream[J]) -> None:
        async with stream:
            async for job in stream:
                await handle(job)

    async with anyio.create_task_group() as group:
        for _ in range(workers):
            group.start_soon(worker, receive.clone())
        receive.close()
        async with send:
            for job in jobs:
                await send.send(job)
