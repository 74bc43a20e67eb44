"""
The change engine: the ``Changer``'s workers, fed from a memory stream, apply each change of
an existing task (UpdateTask, DeleteTask, StartStopTask) exactly once.

    Changer.run -> _take -> _settle -> _send_once / _check

- It shares the ``Submitter``'s options, run control (an interrupt, an outage, a spent
  budget or a refused run stops both), adaptive limit and backoff (``control``).
- A request that provably was not applied (throttled, connection refused) is sent again
  after full-jitter backoff or the API's Retry-After.
- A request that may have been applied (5xx, timeout, reset) is never repeated blindly: the
  task is read (ShowTaskInfo) and the change is done if the task shows it (``applied``);
  a change whose task is gone is refused, except a delete, which is then done. Otherwise it
  is sent again: every change converges when repeated (an update carries the whole
  configuration). A change in doubt at the start (a crash, a resume) is checked first.
- A refusal is final for its change; a delete refused because no task has the id is done.
- Every decision is an event keyed by the change (``Mutation.id``), recorded durably
  before the action that depends on it, with the request id of the answer behind it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from loader.model.changes import Action, Mutation
from loader.model.vias import (
    DELETED_TASK_STATES,
    STARTED_TASK_STATES,
    STOPPED_TASK_STATES,
    UPDATED_FIELDS,
)
from loader.planning.documents import masked
from loader.send.answers import Outcome, Verdict
from loader.send.client import ReadFailed, ReadRefused, RunRefused, ViasClient
from loader.send.control import (
    RunControl,
    SubmitOptions,
    backoff_delay,
    fan_out,
    sleep_unless_stopped,
    worker_count,
)
from loader.send.pacing import AdaptiveLimit, Clock
from loader.state.events import (
    ChangeAmbiguous,
    ChangeChecked,
    ChangeCheckFailed,
    ChangeDone,
    ChangeGaveUp,
    ChangeRefused,
    ChangeRetrying,
    ChangeSending,
    Emit,
    Event,
)
from loader.state.runstate import ChangeState, ChangeStatus

GONE: Final = "the task no longer exists"


@dataclass
class ChangeJob:
    """One change to apply: its mutation, its body (updates only), and its folded state.

    ``wanted``: for an update, the masked document whose schedule, output and config a
    check compares with the task's; without it, an update in doubt is sent again.
    """

    mutation: Mutation
    content: bytes | None  # UpdateTask body bytes (secrets resolved); None otherwise
    state: ChangeState
    wanted: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.mutation.action == Action.UPDATE and self.content is None:
            raise ValueError(f"{self.mutation.id}: an update needs its body")


class Changer:
    """Applies change jobs against one client; ``run`` returns when all are settled or given up.

    ``control`` is the run's (pass the ``Submitter``'s): one stop switch, budget and
    outage count for creates and changes alike.
    """

    def __init__(
        self,
        client: ViasClient,
        emit: Emit,
        clock: Clock,
        options: SubmitOptions,
        control: RunControl,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.emit = emit
        self.clock = clock
        self.options = options
        self.control = control
        self.random = rng or random.Random()
        self.limit = AdaptiveLimit(options.concurrency)

    async def run(self, jobs: Sequence[ChangeJob]) -> None:
        """Feed the jobs to the workers and wait for all of them."""
        await fan_out(jobs, worker_count(self.options), self._take)

    async def _take(self, job: ChangeJob) -> None:
        """One job of a worker: skipped if settled, given up once the run is stopping."""
        if job.state.settled:
            return
        if self.control.stopping:
            await self._give_up(job, self.control.stop_reason)
        else:
            await self._settle(job)

    async def _emit(self, job: ChangeJob, event: Event) -> None:
        """Fold the event into the job's state, then record it (before acting on it)."""
        job.state.apply(event)
        await self.emit(event)

    async def _give_up(self, job: ChangeJob, reason: str) -> None:
        """No more attempts; a change in doubt says so (resume checks it first)."""
        if job.state.status == ChangeStatus.IN_DOUBT and not reason.startswith("in doubt"):
            reason = f"in doubt: {reason}"
        await self._emit(job, ChangeGaveUp(change=job.mutation.id, reason=reason))

    async def _settle(self, job: ChangeJob) -> None:
        """Drive one change until it is done, refused, or the run gives up on it."""
        if job.state.status == ChangeStatus.IN_DOUBT and not await self._check(job):
            return
        earlier = job.state.attempts  # sends of earlier runs: this run gets max_attempts anew
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
                continue
            await self._sleep(self._delay(job.state.attempts))  # 5xx: let the API breathe
            if not await self._check(job):
                return

    def _give_up_reason(self, job: ChangeJob, earlier: int) -> str:
        """Why no further attempt is made, or "" to go on."""
        if self.control.stopping:
            return self.control.stop_reason
        if job.state.attempts - earlier >= self.options.max_attempts:
            return (
                f"{job.state.attempts} attempts without a clear answer; last: {job.state.message}"
            )
        return ""

    async def _send_once(self, job: ChangeJob) -> Outcome | None:
        """One change request, recorded before it leaves and after it is classified.

        None when the run stopped while this worker waited for room in flight.
        """
        epoch = await self.limit.acquire()
        if self.client.refused is not None:  # answered to another worker, not yet recorded
            self.control.stop_for(self.client.refused)
        if self.control.stopping:
            await self.limit.release(epoch=epoch, congested=False)
            return None
        mutation = job.mutation
        sending = ChangeSending(
            change=mutation.id,
            action=mutation.action.value,
            task_id=mutation.task_id,
            attempt=job.state.attempts + 1,
        )
        await self._emit(job, sending)
        outcome = await self._request(job)
        await self.limit.release(epoch=epoch, congested=outcome.congested)
        await self._record(job, outcome)
        return outcome

    async def _request(self, job: ChangeJob) -> Outcome:
        """The API call of the job's action."""
        task_id = job.mutation.task_id
        match job.mutation.action:
            case Action.UPDATE:
                return await self.client.update_task(task_id, job.content or b"")
            case Action.DELETE:
                return await self.client.delete_task(task_id)
            case Action.STOP:
                return await self.client.start_stop_task(task_id, "stop")
            case Action.START:
                return await self.client.start_stop_task(task_id, "start")

    async def _record(self, job: ChangeJob, outcome: Outcome) -> None:
        """The event for an outcome, and what it means for the run."""
        change = job.mutation.id
        match outcome.verdict:
            case Verdict.ACCEPTED:
                self.control.succeeded()
                await self._emit(job, ChangeDone(change=change, request_id=outcome.request_id))
            case Verdict.REJECTED if outcome.missing and job.mutation.action == Action.DELETE:
                self.control.succeeded()  # no task has the id: there is nothing left to delete
                done = ChangeDone(change=change, request_id=outcome.request_id, checked=True)
                await self._emit(job, done)
            case Verdict.REJECTED:
                self.control.succeeded()
                await self._emit(job, _refused(change, outcome))
                if outcome.stops_run:  # after this change, nothing more can succeed
                    self.control.stop_for(outcome)
            case Verdict.FATAL | Verdict.UNAUTHORIZED:
                retrying = ChangeRetrying(
                    change=change,
                    attempt=job.state.attempts,
                    reason=outcome.text or outcome.verdict.value,
                    request_id=outcome.request_id,
                )
                await self._emit(job, retrying)
                self.control.stop_for(self.client.refused or outcome)  # not applied: refused
            case Verdict.RETRIABLE:
                self.control.failed()
            case _:  # AMBIGUOUS (EXISTS is not an answer to a change)
                self.control.failed()
                ambiguous = ChangeAmbiguous(
                    change=change,
                    attempt=job.state.attempts,
                    reason=outcome.text or outcome.verdict.value,
                    status=outcome.status,
                    request_id=outcome.request_id,
                )
                await self._emit(job, ambiguous)

    async def _back_off(self, job: ChangeJob, outcome: Outcome) -> None:
        """Wait before resending what was not applied: Retry-After, else full jitter."""
        delay = self._delay(job.state.attempts, outcome.retry_after)
        retrying = ChangeRetrying(
            change=job.mutation.id,
            attempt=job.state.attempts,
            reason=outcome.text or outcome.verdict.value,
            delay=round(delay, 3),
            request_id=outcome.request_id,
        )
        await self._emit(job, retrying)
        await self._sleep(delay)

    async def _check(self, job: ChangeJob) -> bool:
        """Read the task until it answers: True to send (again), False when settled or given up.

        A read that fails is tried again after backoff, ``max_attempts`` reads at most; one
        the API refuses the run for stops the run. Either way the change stays in doubt.
        """
        failure = ""
        for number in range(1, self.options.max_attempts + 1):
            if number > 1:
                await self._sleep(self._delay(number - 1))
            if self.control.stopping:
                break
            try:
                detail, request_id = await self._read(job)
            except RunRefused as exc:
                self.control.stop_for(exc.outcome)
                break
            except ReadRefused as exc:  # the query itself was refused: asking again won't help
                failure = exc.message
                break
            except ReadFailed as exc:
                failure = exc.message
                continue
            return await self._judge(job, detail, request_id)
        reason = f"checks failed ({failure})" if failure else "not checked"
        reason = f"{reason}: it may or may not be applied"
        await self._give_up(job, self.control.stop_reason or reason)
        return False

    async def _read(self, job: ChangeJob) -> tuple[dict[str, Any] | None, str]:
        """One ShowTaskInfo, recorded; a failure is recorded, counted and raised."""
        change = job.mutation.id
        try:
            detail, request_id = await self.client.find_task(job.mutation.task_id)
        except ReadFailed as exc:
            failed = ChangeCheckFailed(change=change, reason=exc.message, request_id=exc.request_id)
            await self._emit(job, failed)
            if not isinstance(exc, ReadRefused | RunRefused):  # refusals are no failures
                self.control.failed()
            raise
        finally:
            self.control.lookups += 1
        self.control.succeeded()
        state = str(detail.get("state") or "") if detail is not None else ""
        checked = ChangeChecked(
            change=change, state=state, exists=detail is not None, request_id=request_id
        )
        await self._emit(job, checked)
        return detail, request_id

    async def _judge(self, job: ChangeJob, detail: dict[str, Any] | None, request_id: str) -> bool:
        """What a check found: done, refused (the task is gone), or True to send again."""
        change, action = job.mutation.id, job.mutation.action
        if applied(action, detail, job.wanted):
            done = ChangeDone(change=change, request_id=request_id, checked=True)
            await self._emit(job, done)
            return False
        if detail is None:
            refused = ChangeRefused(change=change, message=GONE, request_id=request_id)
            await self._emit(job, refused)
            return False
        return True

    def _delay(self, attempts: int, retry_after: float | None = None) -> float:
        """The shared backoff: full jitter, never less than Retry-After."""
        return backoff_delay(self.options, max(attempts, 1), retry_after, self.random)

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the engine's clock, cut short when the run is stopped."""
        await sleep_unless_stopped(self.clock, self.control, seconds)


def applied(
    action: Action, detail: Mapping[str, Any] | None, wanted: Mapping[str, Any] | None
) -> bool:
    """Whether ShowTaskInfo's answer (None: no such task) shows the change applied."""
    if action == Action.DELETE:
        return detail is None or _state(detail) in DELETED_TASK_STATES
    if detail is None:
        return False
    if action == Action.STOP:
        return _state(detail) in STOPPED_TASK_STATES
    if action == Action.START:
        return _state(detail) in STARTED_TASK_STATES
    return wanted is not None and _compared(detail) == _compared(wanted)


def _state(detail: Mapping[str, Any]) -> str:
    """A task's state, in the SDK's upper case."""
    return str(detail.get("state") or "").upper()


def _compared(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What an update check compares: schedule, output and config, header values masked."""
    return masked({field: doc.get(field) for field in UPDATED_FIELDS})


def _refused(change: str, outcome: Outcome) -> ChangeRefused:
    """The event for a refusal that no resend would change, with what to check."""
    return ChangeRefused(
        change=change,
        status=outcome.status,
        code=outcome.code,
        message=outcome.message,
        request_id=outcome.request_id,
        hint=outcome.hint,
    )
