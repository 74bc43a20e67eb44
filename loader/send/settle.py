"""
The settler: workers fed from a memory stream settle each piece of work exactly once,
whatever its kind: a batch to create (``engine``: the ``Submitter``) or a change of an
existing task (``changes``: the ``Changer``). A kind (``Work``) supplies only its request,
the events that record its answers, and how an answer lost on the way back is verified;
every rule below is the settler's, the same for both kinds. To settle means one thing
here and in the folds (``BatchState.settled``, ``ChangeState.settled``): a job brought to
its final answer (done or refused), exactly once; the lookups of a lost answer wait out the
list's lag (``--settle``, ``SubmitOptions.lookup_delays``).

    Settler.run -> _take -> _settle -> _send_once / _verify

- Workers outnumber the requests in flight (``worker_count``): one waiting out a backoff
  or a verification holds no request. Requests in flight are capped by an AIMD
  ``AdaptiveLimit``, one per run: a run's changes go out while its creates do (they wait
  on none), so the two share the room in flight and what either learns of congestion,
  as they share the client's ``RateLimiter`` (the rate, a Retry-After pause, the cut
  after a 429) and the run's ``RunControl``: every settler of a pass takes the pass's
  ``Sender`` (``control``), which binds them once.
- A request that provably did not reach the API (throttled, connection refused) is sent
  again after full-jitter backoff or the API's Retry-After.
- A request that may have reached it (5xx, timeout, reset, "name exists") is never sent
  again blindly: it is verified (``Verification``), reading on the kind's schedule until
  a read settles the job (found, applied, gone) or proves it absent, and only then sent
  again; anything less leaves it in doubt for ``resume``. A job in doubt when taken (a
  crash, a resume) is verified before anything is sent.
- An answer refusing the request is final for its job; one refusing the run (credentials,
  quota, permissions, a wrong project) stops the run, and the kind says what a refusal
  for good means for a job never sent (``Work.gave_up``: ``final``).
- Each pass (a run, a resume) sends a job ``max_attempts`` times at most, or a job given
  up once could never be sent again; retries across the run are budgeted, and failures
  in a row with none succeeding anywhere are an outage: the run stops in bounded time and
  every job not settled is given up (``resume`` finishes it). Only sends spend the budget
  or lengthen the streak: a verification's reads are bounded by its own schedule, and one
  that settles its job ends the streak.
- Every decision is an event, folded into the job's state and recorded before the action
  that depends on it, with the request id of the answer behind it.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Generic, Protocol, TypeVar

import anyio
from anyio.abc import ObjectReceiveStream

from loader.errors import SubmitError
from loader.send.answers import Outcome, Verdict
from loader.send.client import ReadRefused, RunRefused
from loader.send.control import Sender, SubmitOptions, sleep_unless_stopped
from loader.state.events import Event


class JobState(Protocol):
    """What the settler reads of a job's folded state (``BatchState``, ``ChangeState``)."""

    @property
    def settled(self) -> bool: ...

    @property
    def attempts(self) -> int: ...

    @property
    def message(self) -> str: ...

    def apply(self, event: Event) -> None: ...


class Piece(Protocol):
    """A job: whatever the kind needs to send it, and its folded state."""

    @property
    def state(self) -> JobState: ...


J = TypeVar("J", bound=Piece)
J_contra = TypeVar("J_contra", bound=Piece, contravariant=True)


class Finding(Enum):
    """What one read of a verification found."""

    SETTLED = "settled"  # the job is done or refused (found, applied, its task gone)
    ABSENT = "absent"  # provably not done: send it (again)
    UNSURE = "unsure"  # an answer, not yet enough to say (a list may lag)


class Verification(Protocol):
    """One verification of a job whose answer may have been lost: reads on a schedule."""

    def waits(self, backoff: Callable[[int], float]) -> Iterable[float | None]:
        """Seconds before each read (None: at once), one per read allowed.

        ``backoff(n)`` is the settler's full-jitter delay before the n-th retry.
        """
        ...

    async def read(self, number: int) -> tuple[Finding, list[Event]]:
        """Read once: what it found, and the events recording it; a failure raises."""
        ...

    def failed(self, exc: SubmitError) -> Event:
        """The event recording a read that failed."""
        ...

    def undecided(self, failure: str) -> str:
        """Why the job is left in doubt, after the last failure ("": none failed)."""
        ...

    def close(self) -> None:
        """The verification ended (settled, absent, left in doubt or cancelled)."""
        ...


@dataclass(frozen=True)
class Events:
    """The event types of the steps every kind takes, each keyed by the kind's ``key``:
    they differ between kinds only by that field, so the settler builds them.

    ``retrying``: attempt, reason, delay, request_id (sent again, or the run refused);
    ``ambiguous``: attempt, reason, status, request_id (the answer was lost);
    ``refused``: status, code, message, request_id, hint (no resend would change it).
    """

    retrying: Callable[..., Event]
    ambiguous: Callable[..., Event]
    refused: Callable[..., Event]


class Work(Protocol[J_contra]):
    """One kind of work: its request, the events recording it, how a lost answer is verified."""

    @property
    def events(self) -> Events: ...

    def key(self, job: J_contra) -> dict[str, str]:
        """The field that names the job in its events (``batch``, ``change``)."""
        ...

    def in_doubt(self, job: J_contra) -> bool:
        """Whether a request for the job may have been done unanswered: verify it first."""
        ...

    def sending(self, job: J_contra) -> Event:
        """The event recorded before the job's next request leaves."""
        ...

    async def request(self, job: J_contra) -> Outcome:
        """The job's request, classified; never raises for transport trouble."""
        ...

    def accepted(self, job: J_contra, outcome: Outcome) -> Event:
        """The event of an answer that settles the job as done."""
        ...

    def moot(self, job: J_contra, outcome: Outcome) -> bool:
        """Whether a refusal is what the job wanted (it is then ``accepted``)."""
        ...

    def gave_up(self, job: J_contra, reason: str, *, final: bool) -> Event:
        """The event of giving up; ``final``: the run was refused for good, the job is not
        in doubt (never sent, or every send provably never arrived)."""
        ...

    def verification(self, job: J_contra, *, lost: bool) -> Verification:
        """How the job is verified: right after a lost answer (``lost``), or when taken."""
        ...


class Settler(ABC, Generic[J]):
    """Settles jobs of one kind (``_kind``) with the pass's ``Sender``; ``run`` returns
    when all are settled or given up. The sender's control and limit are the run's: one
    stop switch, budget, streak and room in flight for every settler of the run."""

    def __init__(self, sender: Sender, *, rng: random.Random | None = None) -> None:
        self.sender = sender
        self.client, self.emit, self.clock = sender.client, sender.emit, sender.clock
        self.options, self.control, self.limit = sender.options, sender.control, sender.limit
        self.random = rng or random.Random()
        self.work = self._kind()

    @abstractmethod
    def _kind(self) -> Work[J]:
        """The kind of work settled (``engine.Creates``, ``changes.Changes``)."""

    async def run(self, jobs: Sequence[J]) -> None:
        """Feed the jobs to the workers (``worker_count``) and wait for all of them."""
        await fan_out(jobs, worker_count(self.options), self._take)

    async def _take(self, job: J) -> None:
        """One job of a worker: skipped if settled, given up once the run is stopping."""
        if job.state.settled:
            return
        if self.control.stopping:
            await self._give_up(job, self.control.stop_reason)
        else:
            await self._settle(job)

    async def _emit(self, job: J, event: Event) -> None:
        """Fold the event into the job's state, then record it (before acting on it)."""
        job.state.apply(event)
        await self.emit(event)

    async def _give_up(self, job: J, reason: str) -> None:
        """No more attempts: a job in doubt says so (resume verifies it first)."""
        in_doubt = self.work.in_doubt(job)
        if in_doubt and not reason.startswith("in doubt"):
            reason = f"in doubt: {reason}"
        final = self.control.final and not in_doubt
        await self._emit(job, self.work.gave_up(job, reason, final=final))

    async def _settle(self, job: J) -> None:
        """Drive one job until it is settled, or the run gives up on it."""
        if self.work.in_doubt(job) and not await self._verify(job, lost=False):
            return
        earlier = job.state.attempts  # sends of earlier passes: this one gets max_attempts anew
        while True:
            reason = self._give_up_reason(job, earlier)
            if reason:
                await self._give_up(job, reason)
                return
            outcome = await self._send_once(job)
            if outcome is None or outcome.verdict in (Verdict.FATAL, Verdict.UNAUTHORIZED):
                continue  # the run is stopping: the next turn records giving up
            if outcome.verdict in (Verdict.ACCEPTED, Verdict.REJECTED):
                return
            if outcome.verdict == Verdict.RETRIABLE:
                await self._back_off(job, outcome)
            elif not await self._verify(job, lost=True):
                return

    def _give_up_reason(self, job: J, earlier: int) -> str:
        """Why no further attempt is made, or "" to go on."""
        if self.control.stopping:
            return self.control.stop_reason
        made = job.state.attempts - earlier
        if made < self.options.max_attempts:
            return ""
        in_all = f" ({job.state.attempts} in all)" if earlier else ""
        return f"{made} attempts without a clear answer{in_all}; last: {job.state.message}"

    async def _send_once(self, job: J) -> Outcome | None:
        """One request, recorded before it leaves and after it is classified.

        None when the run stopped while this worker waited for room in flight.
        """
        epoch = await self.limit.acquire()
        if self.client.refused is not None:  # answered to another worker, not yet recorded
            self.control.stop_for(self.client.refused)
        if self.control.stopping:
            await self.limit.release(epoch=epoch, congested=False)
            return None
        await self._emit(job, self.work.sending(job))
        outcome = await self.work.request(job)
        await self.limit.release(epoch=epoch, congested=outcome.congested)
        await self._record(job, outcome)
        return outcome

    async def _record(self, job: J, outcome: Outcome) -> None:
        """The event for an outcome, and what it means for the run."""
        key, events, said = self.work.key(job), self.work.events, _said(outcome)
        attempt, request_id = job.state.attempts, outcome.request_id
        match outcome.verdict:
            case Verdict.ACCEPTED | Verdict.REJECTED:
                self.control.succeeded()
                await self._emit(job, self._answered(job, outcome))
                if outcome.stops_run:  # after this job, nothing more can succeed
                    self.control.stop_for(outcome)
            case Verdict.FATAL | Verdict.UNAUTHORIZED:
                refused = events.retrying(
                    **key, attempt=attempt, reason=said, request_id=request_id
                )
                await self._emit(job, refused)
                self.control.stop_for(self.client.refused or outcome)  # not sent: the refusal
            case Verdict.RETRIABLE:
                self.control.failed()
            case Verdict.AMBIGUOUS | Verdict.EXISTS:
                if outcome.verdict == Verdict.AMBIGUOUS:  # "exists" is an answer, no failure
                    self.control.failed()
                lost = events.ambiguous(
                    **key,
                    attempt=attempt,
                    reason=said,
                    status=outcome.status,
                    request_id=request_id,
                )
                await self._emit(job, lost)

    def _answered(self, job: J, outcome: Outcome) -> Event:
        """The event of a clear answer: done, or refused with what to check."""
        if outcome.verdict == Verdict.ACCEPTED or self.work.moot(job, outcome):
            return self.work.accepted(job, outcome)
        return self.work.events.refused(
            **self.work.key(job),
            status=outcome.status,
            code=outcome.code,
            message=outcome.message,
            request_id=outcome.request_id,
            hint=outcome.hint,
        )

    async def _back_off(self, job: J, outcome: Outcome) -> None:
        """Wait before resending what never arrived: Retry-After, else full jitter.

        The client already paused (Retry-After) or slowed (none) the shared pacer.
        """
        delay = self._delay(job.state.attempts, outcome.retry_after)
        retrying = self.work.events.retrying(
            **self.work.key(job),
            attempt=job.state.attempts,
            reason=_said(outcome),
            delay=round(delay, 3),
            request_id=outcome.request_id,
        )
        await self._emit(job, retrying)
        await self._sleep(delay)

    async def _verify(self, job: J, *, lost: bool) -> bool:
        """Read until the job is settled or proven absent: True to send it (again), False
        when a read settled it or it is left in doubt (given up: ``resume`` verifies again).

        A read the API refuses the run for stops the run; a refused query ends the reads
        (asking again as is would not help); a failed one is tried again on the schedule.
        """
        check = self.work.verification(job, lost=lost)
        try:
            return await self._read_until_decided(job, check)
        finally:
            check.close()

    async def _read_until_decided(self, job: J, check: Verification) -> bool:
        """``_verify``'s reads, on the verification's schedule."""
        failure = ""
        for number, wait in enumerate(check.waits(self._delay), 1):
            if wait is not None:
                await self._sleep(wait)
            if self.control.stopping:
                break
            try:
                finding, events = await check.read(number)
            except SubmitError as exc:
                failure = exc.message
                await self._emit(job, check.failed(exc))
                if isinstance(exc, RunRefused):
                    self.control.stop_for(exc.outcome)
                if isinstance(exc, RunRefused | ReadRefused):
                    break
                continue
            finally:
                self.control.lookups += 1
            for event in events:
                await self._emit(job, event)
            if finding != Finding.UNSURE:
                if finding == Finding.SETTLED:
                    self.control.succeeded()
                return finding == Finding.ABSENT
        await self._give_up(job, self.control.stop_reason or check.undecided(failure))
        return False

    def _delay(self, attempts: int, retry_after: float | None = None) -> float:
        """The backoff before the next try after ``attempts``: full jitter, >= Retry-After."""
        return backoff_delay(self.options, max(attempts, 1), retry_after, self.random)

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the settler's clock, cut short when the run is stopped."""
        await sleep_unless_stopped(self.clock, self.control, seconds)


def _said(outcome: Outcome) -> str:
    """An answer in a few words with its request id, or its verdict when none came."""
    return outcome.text or outcome.verdict.value


def worker_count(options: SubmitOptions) -> int:
    """Workers outnumber the requests in flight: a worker waiting out a backoff or a
    verification's wait holds no request, and must not hold up the others."""
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


T = TypeVar("T")


async def fan_out(jobs: Sequence[T], workers: int, handle: Callable[[T], Awaitable[None]]) -> None:
    """Feed ``jobs`` through a memory stream to ``workers`` workers, each handling one job
    at a time; return when every job is handled."""
    send, receive = anyio.create_memory_object_stream[T]()

    async def worker(stream: ObjectReceiveStream[T]) -> None:
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
