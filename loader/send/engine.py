"""
The submission engine: the ``Submitter``'s workers, fed from a memory stream, settle each
batch exactly once.

    Submitter.run -> _worker -> _settle -> _send_once / _absent

- Every call goes through the client's shared ``RateLimiter``; requests in flight are
  capped by an AIMD ``AdaptiveLimit``.
- A request that provably did not reach the API (throttled, connection refused) is sent
  again after full-jitter backoff or the API's Retry-After.
- A request that may have reached it (5xx, timeout, reset, "name exists") is never sent
  again blindly: the batch is looked up by its exact name over a settle window (the list
  may lag behind writes); found, it is accepted; provably absent, it is sent again.
- Attempts per batch are capped, retries across the run are budgeted, and a run of
  failures with no success anywhere is an outage: the run stops in bounded time and every
  batch that is not settled is reported (``resume`` finishes it).
- Every decision is an event, recorded durably before the action that depends on it.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import anyio
from anyio.abc import ObjectReceiveStream

from loader.errors import SubmitError
from loader.send.client import Outcome, Verdict, ViasClient
from loader.send.pacing import AdaptiveLimit, Clock
from loader.state.events import (
    BatchAbsent,
    BatchAccepted,
    BatchAmbiguous,
    BatchGaveUp,
    BatchLookedUp,
    BatchRejected,
    BatchRetrying,
    BatchSending,
    Event,
    LookupFailed,
)
from loader.state.runstate import BatchState, BatchStatus

Emit = Callable[[Event], Awaitable[None]]


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


@dataclass
class Job:
    """One batch to settle: its name, exact bytes (secrets resolved) and folded state."""

    name: str
    content: bytes
    state: BatchState


@dataclass
class RunControl:
    """Shared stop switch, retry budget and failure streak of one run."""

    budget: int
    outage_after: int
    stop_reason: str = ""
    streak: int = 0
    retries: int = 0
    lookups: int = 0
    _stopped: anyio.Event = field(default_factory=anyio.Event)

    @property
    def stopping(self) -> bool:
        return self._stopped.is_set()

    def stop(self, reason: str) -> None:
        """Take no new batch and no new attempt; the first reason stands."""
        if not self.stopping:
            self.stop_reason = reason
            self._stopped.set()

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


class Submitter:
    """Settles jobs against one client; ``run`` returns when all are settled or given up."""

    def __init__(
        self,
        client: ViasClient,
        emit: Emit,
        clock: Clock,
        options: SubmitOptions,
        *,
        jobs: int,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.emit = emit
        self.clock = clock
        self.options = options
        self.random = rng or random.Random()
        budget = options.retry_budget if options.retry_budget is not None else max(20, jobs)
        self.control = RunControl(budget, options.outage_after)
        self.limit = AdaptiveLimit(options.concurrency)

    async def run(self, jobs: Sequence[Job]) -> None:
        """Feed the jobs to ``concurrency`` workers and wait for all of them."""
        send, receive = anyio.create_memory_object_stream[Job]()
        async with anyio.create_task_group() as group:
            for _ in range(self._workers()):
                group.start_soon(self._worker, receive.clone())
            receive.close()
            async with send:
                for job in jobs:
                    await send.send(job)

    def _workers(self) -> int:
        """Workers outnumber the requests in flight: a worker waiting out a backoff or a
        lookup's settle window holds no request, and must not hold up the other batches."""
        if self.options.workers is not None:
            return max(1, self.options.workers)
        return max(4 * self.options.concurrency, 32)

    async def _worker(self, jobs: ObjectReceiveStream[Job]) -> None:
        async with jobs:
            async for job in jobs:
                if self.control.stopping:
                    await self._emit(
                        job, BatchGaveUp(batch=job.name, reason=self.control.stop_reason)
                    )
                    continue
                await self._settle(job)

    async def _emit(self, job: Job, event: Event) -> None:
        """Fold the event into the job's state, then record it (before acting on it)."""
        job.state.apply(event)
        await self.emit(event)

    async def _settle(self, job: Job) -> None:
        """Drive one batch until it is accepted, rejected, or the run gives up on it."""
        if job.state.status == BatchStatus.IN_DOUBT and not await self._absent(job):
            return
        while True:
            reason = self._give_up_reason(job)
            if reason:
                await self._emit(job, BatchGaveUp(batch=job.name, reason=reason))
                return
            outcome = await self._send_once(job)
            if outcome is None:
                continue  # the run stopped meanwhile: the next turn records giving up
            if outcome.verdict in (Verdict.ACCEPTED, Verdict.REJECTED):
                return
            if outcome.verdict in (Verdict.FATAL, Verdict.UNAUTHORIZED):
                continue  # the run is stopping: the next turn records giving up
            if outcome.verdict == Verdict.RETRIABLE:
                await self._back_off(job, outcome)
            elif not await self._absent(job):
                return

    def _give_up_reason(self, job: Job) -> str:
        """Why no further attempt is made, or "" to go on."""
        if self.control.stopping:
            return self.control.stop_reason
        if job.state.attempts >= self.options.max_attempts:
            return f"{job.state.attempts} attempts without a clear answer"
        return ""

    async def _send_once(self, job: Job) -> Outcome | None:
        """One create request, recorded before it leaves and after it is classified.

        None when the run stopped while this worker waited for room in flight.
        """
        epoch = await self.limit.acquire()
        if self.control.stopping:
            await self.limit.release(epoch=epoch, congested=False)
            return None
        await self._emit(job, BatchSending(batch=job.name, attempt=job.state.attempts + 1))
        outcome = await self.client.create_batch(job.content)
        await self.limit.release(epoch=epoch, congested=outcome.congested)
        await self._record(job, outcome)
        return outcome

    async def _record(self, job: Job, outcome: Outcome) -> None:
        """The event for an outcome, and what it means for the run."""
        name = job.name
        match outcome.verdict:
            case Verdict.ACCEPTED if outcome.response is not None:
                answer = outcome.response
                self.control.succeeded()
                await self._emit(
                    job,
                    BatchAccepted(
                        batch=name,
                        batch_id=answer.id,
                        total=answer.total_count,
                        failed=answer.failed_count,
                        succeeded=answer.succeed_count,
                        error_list=list(answer.error_list),
                    ),
                )
            case Verdict.REJECTED:
                self.control.succeeded()
                await self._emit(
                    job,
                    BatchRejected(
                        batch=name,
                        status=outcome.status,
                        code=outcome.code,
                        message=outcome.message,
                    ),
                )
            case Verdict.FATAL | Verdict.UNAUTHORIZED:
                await self._emit(
                    job,
                    BatchRetrying(
                        batch=name, attempt=job.state.attempts, reason=_describe(outcome)
                    ),
                )
                self.control.stop(f"the API refused the run: {_describe(outcome)}")
            case Verdict.RETRIABLE:
                self.control.failed()
            case Verdict.AMBIGUOUS | Verdict.EXISTS:
                if outcome.verdict == Verdict.AMBIGUOUS:
                    self.control.failed()
                await self._emit(
                    job,
                    BatchAmbiguous(
                        batch=name,
                        attempt=job.state.attempts,
                        reason=_describe(outcome),
                        status=outcome.status,
                    ),
                )

    async def _back_off(self, job: Job, outcome: Outcome) -> None:
        """Wait before resending what never arrived: Retry-After, else full jitter."""
        ceiling = min(
            self.options.backoff_cap, self.options.backoff_base * 2 ** (job.state.attempts - 1)
        )
        delay = self.random.uniform(0, ceiling)
        if outcome.retry_after is not None:
            delay = max(delay, outcome.retry_after)
            self.client.limiter.pause(outcome.retry_after)
        await self._emit(
            job,
            BatchRetrying(
                batch=job.name,
                attempt=job.state.attempts,
                reason=_describe(outcome),
                delay=round(delay, 3),
            ),
        )
        await self._sleep(delay)

    async def _absent(self, job: Job) -> bool:
        """Look the batch up by name over the settle window: True only if provably absent.

        Found: recorded as accepted (False). Every lookup answered and none found: absent
        (True). Lookups failing: the batch stays in doubt and the run gives up on it (False).
        """
        answered = 0
        for number, delay in enumerate(self.options.lookup_delays * 2, start=1):
            if self.control.stopping:
                break
            await self._sleep(delay)
            try:
                found = await self.client.find_batch(job.name)
            except SubmitError as exc:
                failed = LookupFailed(batch=job.name, what="lookup by name", reason=exc.message)
                await self._emit(job, failed)
                continue
            finally:
                self.control.lookups += 1
            found_id = found[0] if found else ""
            await self._emit(job, BatchLookedUp(batch=job.name, found_id=found_id, lookup=number))
            if found:
                self.control.succeeded()
                accepted = BatchAccepted(batch=job.name, batch_id=found_id, found_by_lookup=True)
                await self._emit(job, accepted)
                return False
            answered += 1
            if answered == len(self.options.lookup_delays):
                await self._emit(job, BatchAbsent(batch=job.name, lookups=answered))
                return True
        reason = self.control.stop_reason or "lookups failed: it may or may not exist"
        await self._emit(job, BatchGaveUp(batch=job.name, reason=f"in doubt: {reason}"))
        return False

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the engine's clock, cut short when the run is stopped."""
        if self.control.stopping:
            return
        async with anyio.create_task_group() as group:

            async def wake_on_stop() -> None:
                await self.control.stopped()
                group.cancel_scope.cancel()

            group.start_soon(wake_on_stop)
            await self.clock.sleep(seconds)
            group.cancel_scope.cancel()


def _describe(outcome: Outcome) -> str:
    """An outcome in a few words for events and logs."""
    parts = [str(outcome.status) if outcome.status else "", outcome.code, outcome.message]
    return " ".join(p for p in parts if p) or outcome.verdict.value
