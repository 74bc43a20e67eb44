"""
The submission engine: the ``Submitter``'s workers, fed from a memory stream, settle each
batch exactly once.

    Submitter.run -> _take -> _settle -> _send_once / _absent

- Every call goes through the client's shared ``RateLimiter``; requests in flight are
  capped by an AIMD ``AdaptiveLimit``.
- A request that provably did not reach the API (throttled, connection refused) is sent
  again after full-jitter backoff or the API's Retry-After.
- A request that may have reached it (5xx, timeout, reset, "name exists") is never sent
  again blindly: the batch is looked up by its exact name over a settle window that covers
  the list's lag, the read timeout and the batch's size (a big batch may still be
  committing when its answer is lost); found, it is accepted; absent in lookups that span
  the whole window, it is sent again; anything less leaves it in doubt for ``resume``.
- An answer refusing the request itself is final for its batch; one refusing the run
  (credentials, quota, permissions, a wrong project) stops the run. A refusal for good
  (permissions, project) fails the batches never sent: nothing can have been created.
- Attempts per batch are capped, retries across the run are budgeted, and a run of
  failures with no success anywhere is an outage: the run stops in bounded time and every
  batch that is not settled is reported (``resume`` finishes it).
- Every decision is an event, recorded durably before the action that depends on it, with
  the request id of the answer behind it.

The options, the run's control, backoff and the stoppable sleep live in ``control``: the
``Changer`` (``changes``) shares them. ``SubmitOptions``, ``RunControl`` and ``Emit`` are
re-exported here for the callers that import them from this module.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from loader.errors import SubmitError
from loader.model.vias import BatchTaskResponse
from loader.send.answers import Outcome, Verdict
from loader.send.client import ReadFailed, RunRefused, ViasClient
from loader.send.control import RunControl as RunControl
from loader.send.control import SubmitOptions as SubmitOptions
from loader.send.control import backoff_delay, fan_out, sleep_unless_stopped, worker_count
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
from loader.state.events import Emit as Emit
from loader.state.runstate import BatchState, BatchStatus

MIN_LOOKUP_STEP: Final = 1.0  # seconds between lookups past the settle delays, at least
_EPSILON: Final = 1e-6  # clock arithmetic slack when checking that the window has passed


@dataclass
class Job:
    """One batch to settle: its name, exact bytes (secrets resolved) and folded state.

    ``earlier`` counts the attempts of earlier passes (a resume): each pass may make
    ``max_attempts`` of its own, or a batch given up once could never be sent again.
    """

    name: str
    content: bytes
    state: BatchState
    earlier: int = field(init=False)

    def __post_init__(self) -> None:
        self.earlier = self.state.attempts


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
        """Feed the jobs to the workers (``control.worker_count``) and wait for all of them."""
        await fan_out(jobs, worker_count(self.options), self._take)

    async def _take(self, job: Job) -> None:
        """One job of a worker: settled, or given up once the run is stopping."""
        if self.control.stopping:
            await self._give_up(job, self.control.stop_reason)
        else:
            await self._settle(job)

    async def _emit(self, job: Job, event: Event) -> None:
        """Fold the event into the job's state, then record it (before acting on it)."""
        job.state.apply(event)
        await self.emit(event)

    async def _give_up(self, job: Job, reason: str) -> None:
        """No more attempts: in doubt stays so; never created, after a refusal for good, fails."""
        final = self.control.final and job.state.status == BatchStatus.PENDING
        if final:  # never sent, or every send provably never arrived
            reason = f"{'not created' if job.state.attempts else 'not sent'}: {reason}"
        elif job.state.status == BatchStatus.IN_DOUBT and not reason.startswith("in doubt"):
            reason = f"in doubt: {reason}"
        await self._emit(job, BatchGaveUp(batch=job.name, reason=reason, final=final))

    async def _settle(self, job: Job) -> None:
        """Drive one batch until it is accepted, rejected, or the run gives up on it."""
        if job.state.status == BatchStatus.IN_DOUBT and not await self._absent(job):
            return
        while True:
            reason = self._give_up_reason(job)
            if reason:
                await self._give_up(job, reason)
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
        made = job.state.attempts - job.earlier
        if made >= self.options.max_attempts:
            return f"{made} attempts without a clear answer; last: {job.state.message}"
        return ""

    async def _send_once(self, job: Job) -> Outcome | None:
        """One create request, recorded before it leaves and after it is classified.

        None when the run stopped while this worker waited for room in flight.
        """
        epoch = await self.limit.acquire()
        if self.client.refused is not None:  # answered to another worker, not yet recorded
            self._stop_for(self.client.refused)
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
        match outcome.verdict:
            case Verdict.ACCEPTED if outcome.response is not None:
                self.control.succeeded()
                await self._emit(job, _accepted(job.name, outcome.response, outcome.request_id))
            case Verdict.REJECTED:
                self.control.succeeded()
                await self._emit(job, _rejected(job.name, outcome))
                if outcome.stops_run:  # after this batch, nothing more can succeed
                    self._stop_for(outcome)
            case Verdict.FATAL | Verdict.UNAUTHORIZED:
                retrying = BatchRetrying(
                    batch=job.name,
                    attempt=job.state.attempts,
                    reason=outcome.text or outcome.verdict.value,
                    request_id=outcome.request_id,
                )
                await self._emit(job, retrying)
                self._stop_for(self.client.refused or outcome)  # not sent: the refusal itself
            case Verdict.RETRIABLE:
                self.control.failed()
            case Verdict.AMBIGUOUS | Verdict.EXISTS:
                if outcome.verdict == Verdict.AMBIGUOUS:
                    self.control.failed()
                ambiguous = BatchAmbiguous(
                    batch=job.name,
                    attempt=job.state.attempts,
                    reason=outcome.text or outcome.verdict.value,
                    status=outcome.status,
                    request_id=outcome.request_id,
                )
                await self._emit(job, ambiguous)

    def _stop_for(self, refusal: Outcome) -> None:
        """The API refused the run; for good (project, permissions) if its scope says so."""
        self.control.stop_for(refusal)

    async def _back_off(self, job: Job, outcome: Outcome) -> None:
        """Wait before resending what never arrived: Retry-After, else full jitter.

        The client already paused (Retry-After) or slowed (none) the shared pacer.
        """
        delay = backoff_delay(self.options, job.state.attempts, outcome.retry_after, self.random)
        await self._emit(
            job,
            BatchRetrying(
                batch=job.name,
                attempt=job.state.attempts,
                reason=outcome.text or outcome.verdict.value,
                delay=round(delay, 3),
                request_id=outcome.request_id,
            ),
        )
        await self._sleep(delay)

    async def _absent(self, job: Job) -> bool:
        """Look the batch up by name until its window has passed: True only if provably absent.

        Found: recorded as accepted (False). Absent: every lookup that answered found
        nothing, at least ``len(lookup_delays)`` answered, and the last was sent after the
        whole window (True). Anything less (lookups failing, the run stopping) leaves the
        batch in doubt: the run gives up on it and ``resume`` looks again (False).
        """
        window = self._window(job)
        began, answered, failure = self.clock.now(), 0, ""
        for number, delay in enumerate(lookup_schedule(self.options.lookup_delays, window) * 2, 1):
            await self._sleep(delay)
            if self.control.stopping:
                break
            spanned = self.clock.now() - began >= window - _EPSILON
            try:
                found = await self._look_up(job, number)
            except SubmitError as exc:
                failure = exc.message
                continue
            if found:
                return False
            answered += 1
            if spanned and answered >= len(self.options.lookup_delays):
                await self._emit(job, BatchAbsent(batch=job.name, lookups=answered))
                return True
        reason = f"lookups failed ({failure})" if failure else "lookups did not span the window"
        reason = f"{reason}: it may or may not exist"
        await self._give_up(job, self.control.stop_reason or reason)
        return False

    def _window(self, job: Job) -> float:
        """Seconds the lookups must span: the list's lag, the read timeout, the batch's size."""
        slow_commit = (
            self.options.lookup_window + job.state.cameras * self.options.window_per_camera
        )
        return max(sum(self.options.lookup_delays), slow_commit)

    async def _look_up(self, job: Job, number: int) -> bool:
        """One lookup by name, recorded; found: accepted. A failure is recorded and raised.

        A lookup the API refuses the whole run for stops the run.
        """
        try:
            found = await self.client.find_batch(job.name)
        except SubmitError as exc:
            request_id = exc.request_id if isinstance(exc, ReadFailed) else ""
            failed = LookupFailed(
                batch=job.name, what="lookup by name", reason=exc.message, request_id=request_id
            )
            await self._emit(job, failed)
            if isinstance(exc, RunRefused):
                self._stop_for(exc.outcome)
            raise
        finally:
            self.control.lookups += 1
        found_id = found.ids[0] if found.ids else ""
        looked_up = BatchLookedUp(
            batch=job.name, found_id=found_id, lookup=number, request_id=found.request_id
        )
        await self._emit(job, looked_up)
        if found_id:
            self.control.succeeded()
            accepted = BatchAccepted(
                batch=job.name, batch_id=found_id, found_by_lookup=True, request_id=found.request_id
            )
            await self._emit(job, accepted)
        return bool(found_id)

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the engine's clock, cut short when the run is stopped."""
        await sleep_unless_stopped(self.clock, self.control, seconds)


def lookup_schedule(delays: Sequence[float], window: float) -> list[float]:
    """Waits before each lookup: the settle delays, then doubling, until they span the window.

    The last wait is cut so that the last lookup goes out when the window ends.
    """
    schedule = list(delays) or [0.0]
    while window - sum(schedule) > _EPSILON:
        step = max(2 * schedule[-1], MIN_LOOKUP_STEP)
        schedule.append(min(step, window - sum(schedule)))
    return schedule


def _accepted(name: str, answer: BatchTaskResponse, request_id: str) -> BatchAccepted:
    """The event for a 200: the API's id, counts and error_list."""
    return BatchAccepted(
        batch=name,
        batch_id=answer.id,
        total=answer.total_count,
        failed=answer.failed_count,
        succeeded=answer.succeed_count,
        error_list=list(answer.error_list),
        request_id=request_id,
    )


def _rejected(name: str, outcome: Outcome) -> BatchRejected:
    """The event for a refusal that no resend would change, with what to check."""
    return BatchRejected(
        batch=name,
        status=outcome.status,
        code=outcome.code,
        message=outcome.message,
        request_id=outcome.request_id,
        hint=outcome.hint,
    )
