"""
The canary of a run (``run --canary N``): its first batch goes alone, and the rest is sent
only once the API has created every camera of it and each of its tasks runs. [I/O: HTTP]

    judge -> _failed_at_once (refused, cameras failed inside the 200)
          -> _watch -> _look (ListBatchTasks for the request id, ListTasks by batch id)

The canary fails when its batch is refused, when cameras fail inside its 200, when one of
its tasks is in a failed state, or when its tasks are not all listed and RUNNING within
``--canary-wait`` seconds on the run's clock. A verdict is an event (CanaryPassed,
CanaryFailed) recorded before the rest is sent or held back. A canary that cannot be
judged (its batch in doubt, the run stopped) gets none: ``resume`` judges it then. A
resume judges a failed canary again too: a refusal stays a failure, but tasks that were
late or had failed are looked at afresh, and the rest is sent only if they all run now.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from loader.errors import SubmitError
from loader.model.vias import FAILED_TASK_STATES
from loader.send.client import ReadFailed, ViasClient
from loader.send.control import Sender, sleep_unless_stopped
from loader.state.events import (
    CanaryFailed,
    CanaryPassed,
    CanaryWaiting,
    Emit,
    LookupFailed,
    describe_answer,
)
from loader.state.runstate import BatchState, BatchStatus

CanaryVerdict = CanaryPassed | CanaryFailed
POLL_SECONDS: Final = 5.0  # between two looks at the canary's tasks
RUNNING: Final = "RUNNING"


@dataclass
class _Look:
    """What one look at the canary's tasks saw: tasks by state, or why nothing was seen."""

    states: Counter[str] = field(default_factory=Counter)
    request_id: str = ""
    error: str = ""

    @property
    def listed(self) -> int:
        return sum(self.states.values())

    def counts(self) -> str:
        """``RUNNING 37, START_FAILED 3``."""
        return ", ".join(f"{s or '(none)'} {n}" for s, n in sorted(self.states.items()))


async def judge(sender: Sender, batch: BatchState, *, wait: float) -> CanaryVerdict | None:
    """The canary's verdict, recorded.

    None (nothing recorded) while its batch is not settled, or when the run stops first.
    """
    if not batch.settled or sender.control.stopping:
        return None
    verdict: CanaryVerdict | None = _failed_at_once(batch)
    if verdict is None:
        await sender.emit(CanaryWaiting(batch=batch.name, cameras=batch.cameras, wait=wait))
        verdict = await _watch(sender, batch, wait)
        if verdict is None:
            return None
    await sender.emit(verdict)
    return verdict


def _failed_at_once(batch: BatchState) -> CanaryFailed | None:
    """The verdicts no look at the tasks can change: refused, or cameras failed in the 200."""
    if batch.status == BatchStatus.REJECTED:
        reason = batch.gave_up or f"the API refused the batch: {batch.message}"
        return CanaryFailed(
            batch=batch.name, reason=reason, request_id=batch.request_id, final=True
        )
    if batch.failed:
        errors = "; ".join(batch.error_list) or "the API did not say which or why"
        text = f"{batch.failed} of {batch.total} cameras failed inside the API's 200: {errors}"
        reason = describe_answer(0, "", text, batch.request_id)
        return CanaryFailed(
            batch=batch.name, reason=reason, request_id=batch.request_id, final=True
        )
    return None


async def _watch(sender: Sender, batch: BatchState, wait: float) -> CanaryVerdict | None:
    """Look at the tasks until all run, one failed, or ``wait`` seconds have passed.

    A batch found by name carries no counts: all its cameras must then have a task.
    """
    client, clock, control = sender.client, sender.clock, sender.control
    created = batch.total - batch.failed if batch.total else batch.cameras
    began = clock.now()
    while True:
        look = await _look(client, batch, sender.emit)
        if client.refused is not None:
            control.stop(client.refusal)
            return None
        verdict = _verdict(batch, look, created)
        left = wait - (clock.now() - began)
        if verdict is not None or left <= 0:
            return verdict if verdict is not None else _late(batch, look, created, wait)
        await sleep_unless_stopped(clock, control, min(POLL_SECONDS, left))
        if control.stopping:
            return None


async def _look(client: ViasClient, batch: BatchState, emit: Emit) -> _Look:
    """Each task's state, from ListTasks by batch id.

    ListBatchTasks, asked first about the same batch, gives the request id a verdict
    quotes: the client does not hand out ListTasks' own.
    """
    try:
        _, request_id = await client.list_batch(batch.name)
        tasks = await client.list_tasks(batch.batch_id)
    except SubmitError as exc:
        request_id = exc.request_id if isinstance(exc, ReadFailed) else ""
        failed = LookupFailed(
            batch=batch.name, what="canary tasks", reason=exc.message, request_id=request_id
        )
        await emit(failed)
        return _Look(request_id=request_id, error=exc.message)
    return _Look(Counter(str(t.get("state") or "").upper() for t in tasks), request_id)


def _verdict(batch: BatchState, look: _Look, created: int) -> CanaryVerdict | None:
    """Failed as soon as one task is in a failed state; passed once all are listed, running."""
    failed = sum(n for state, n in look.states.items() if state in FAILED_TASK_STATES)
    if failed:
        text = f"{failed} of {look.listed} tasks failed to start ({look.counts()})"
        reason = describe_answer(0, "", text, look.request_id)
        return CanaryFailed(batch=batch.name, reason=reason, request_id=look.request_id)
    if look.listed and look.listed >= created and look.states[RUNNING] == look.listed:
        return CanaryPassed(batch=batch.name, tasks=look.listed, request_id=look.request_id)
    return None


def _late(batch: BatchState, look: _Look, created: int, wait: float) -> CanaryFailed:
    """The wait ran out: what the last look saw."""
    if look.error:
        text = f"its tasks could not be listed within {wait:g} s: {look.error}"
    elif look.listed < created:
        text = f"the API listed {look.listed} of its {created} tasks within {wait:g} s"
        text += f" ({look.counts()})" if look.listed else ""
    else:
        text = f"not every task was RUNNING within {wait:g} s ({look.counts()})"
    reason = describe_answer(0, "", text, look.request_id)
    return CanaryFailed(batch=batch.name, reason=reason, request_id=look.request_id)
