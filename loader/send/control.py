"""
What every step of a run that talks to the API shares: how hard and how long to try
(``SubmitOptions``), the run's stop switch, retry budget and failure streak
(``RunControl``, one per run, so an interrupt, an outage or a spent budget stops creates,
changes and the canary's watch alike), a sleep that a stop cuts short, and the ``Sender``
that binds them once a pass with the client, the recorder, the clock and the limit in
flight (as httpx's ``AsyncClient`` binds its collaborators in its constructor).

Used by the settler (``settle``: the creates of ``engine`` and the changes of ``changes``),
the task lists (``observe``) and the canary's watch (``run.canary``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio

from loader.send.answers import Outcome, Scope
from loader.send.client import ViasClient
from loader.send.pacing import AdaptiveLimit, Clock
from loader.state.events import Emit

MIN_RETRY_BUDGET = 20  # retries a run may spend whatever its size


@dataclass(frozen=True, kw_only=True)
class SubmitOptions:
    """How hard and how long to try."""

    concurrency: int = 8  # the most requests in flight (the AIMD cap)
    workers: int | None = None  # jobs in progress at once; default max(4 x concurrency, 32)
    max_attempts: int = 6  # sends per job and pass; reads per verification of a change
    backoff_base: float = 0.5
    backoff_cap: float = 20.0
    retry_budget: int | None = None  # default: one retry per batch, at least 20
    outage_after: int = 12  # failures in a row, none succeeding, that end the run
    lookup_delays: tuple[float, ...] = (
        1.0,
        2.0,
        4.0,
    )  # waits for the list's lag (--settle, 2x, 4x)
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
        """Take no new job and make no new attempt; the first reason stands."""
        if not self.stopping:
            self.stop_reason, self.final = reason, final
            self._stopped.set()

    def stop_for(self, refusal: Outcome) -> None:
        """The API refused the run; for good (project, permissions) if its scope says so."""
        self.stop(refusal.stop_reason, final=refusal.scope == Scope.PROJECT)

    def failed(self) -> None:
        """A send failed (retriable or ambiguous): spend budget, watch for an outage."""
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


async def sleep_unless_stopped(clock: Clock, control: RunControl, seconds: float) -> None:
    """Sleep on ``clock``, cut short when the run is stopped."""
    if control.stopping:
        return
    async with anyio.create_task_group() as group:

        async def wake_on_stop() -> None:
            await control.stopped()
            group.cancel_scope.cancel()

        group.start_soon(wake_on_stop)
        await clock.sleep(seconds)
        group.cancel_scope.cancel()


@dataclass(frozen=True, kw_only=True)
class Sender:
    """What one pass sends with, bound once: the client (its pacer), the recorder of
    events, the clock, how hard to try, the run's control and its room in flight.

    The run's creates and changes go out at the same time to one API: they share the
    limit in flight and the control (one stop switch, budget and streak).
    """

    client: ViasClient
    emit: Emit  # journal first, then the fold, the ledger, the log and the screen
    clock: Clock
    options: SubmitOptions
    control: RunControl
    limit: AdaptiveLimit

    @classmethod
    def of(
        cls,
        client: ViasClient,
        emit: Emit,
        clock: Clock,
        options: SubmitOptions,
        *,
        jobs: int = 0,
        control: RunControl | None = None,
    ) -> Sender:
        """A pass's sender; ``jobs``: how many pieces of work the pass has (the default
        retry budget: one retry each, at least ``MIN_RETRY_BUDGET``), unless ``control``
        (the run's) is given. Nothing leaves the client once the control stops."""
        if control is None:
            budget = options.retry_budget
            budget = budget if budget is not None else max(MIN_RETRY_BUDGET, jobs)
            control = RunControl(budget, options.outage_after)
        limit = AdaptiveLimit(options.concurrency)
        sender = cls(
            client=client, emit=emit, clock=clock, options=options, control=control, limit=limit
        )
        client.stopped = lambda: sender.control.stopping
        return sender
