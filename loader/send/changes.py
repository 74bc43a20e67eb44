"""
Changes: the ``Changer`` applies each change of an existing task (UpdateTask, DeleteTask,
StartStopTask) exactly once, with the settler's rules (``settle``: workers, the limit in
flight, backoff, refusals, give-up and the check of a lost answer). What is the changes'
own (``Changes``):

- The request: the action's call on the task; an update carries the whole configuration,
  so every change converges when repeated.
- A lost answer is verified by reading the task (ShowTaskInfo, ``TaskCheck``): the change
  is done if the task shows it (``applied``); a change whose task is gone is refused,
  except a delete, which is then done; otherwise it is sent again. Reads fail and are
  tried again after backoff, ``max_attempts`` of them at most; right after a lost answer
  the first waits a backoff too (a 5xx: let the API breathe).
- A delete refused because no task has the id is done. A change never applied when the
  run is refused for good is left for ``resume`` (the refusal may be lifted).
- Events are keyed by the change (``Mutation.id``).

The ``Sender`` is the pass's (the ``Submitter``'s): one stop switch, budget, streak and
room in flight for creates and changes alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from loader.errors import SubmitError
from loader.model.changes import Action, Mutation
from loader.model.vias import (
    DELETED_TASK_STATES,
    STARTED_TASK_STATES,
    STOPPED_TASK_STATES,
    UPDATED_FIELDS,
)
from loader.planning.documents import masked
from loader.send.answers import Outcome
from loader.send.client import ReadFailed, ViasClient
from loader.send.control import SubmitOptions
from loader.send.settle import Events, Finding, Settler
from loader.state.events import (
    ChangeAmbiguous,
    ChangeChecked,
    ChangeCheckFailed,
    ChangeDone,
    ChangeGaveUp,
    ChangeRefused,
    ChangeRetrying,
    ChangeSending,
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


class Changer(Settler[ChangeJob]):
    """Applies change jobs with the pass's ``Sender`` (the ``Submitter``'s); ``run``
    returns when all are settled or given up."""

    def _kind(self) -> Changes:
        """Changes of existing tasks."""
        return Changes(self.client, self.options)


class Changes:
    """The kind of work of a ``Changer``: updates, deletes, starts and stops of tasks."""

    events = Events(retrying=ChangeRetrying, ambiguous=ChangeAmbiguous, refused=ChangeRefused)

    def __init__(self, client: ViasClient, options: SubmitOptions) -> None:
        self.client = client
        self.reads = options.max_attempts

    def key(self, job: ChangeJob) -> dict[str, str]:
        """A change's events name it by ``Mutation.id``."""
        return {"change": job.mutation.id}

    def in_doubt(self, job: ChangeJob) -> bool:
        """Sent, or answered unclearly, and not found applied or unapplied since."""
        return job.state.status == ChangeStatus.IN_DOUBT

    def sending(self, job: ChangeJob) -> Event:
        """From here the change may be applied."""
        mutation, attempt = job.mutation, job.state.attempts + 1
        action, task_id = mutation.action.value, mutation.task_id
        return ChangeSending(change=mutation.id, action=action, task_id=task_id, attempt=attempt)

    async def request(self, job: ChangeJob) -> Outcome:
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

    def accepted(self, job: ChangeJob, outcome: Outcome) -> Event:
        """Applied; a delete refused because the task is gone is done as a check finds it."""
        change = job.mutation.id
        return ChangeDone(change=change, request_id=outcome.request_id, checked=outcome.missing)

    def moot(self, job: ChangeJob, outcome: Outcome) -> bool:
        """No task has the id: there is nothing left to delete."""
        return outcome.missing and job.mutation.action == Action.DELETE

    def gave_up(self, job: ChangeJob, reason: str, *, final: bool) -> Event:
        """Given up, whatever the refusal: a change never applied is resume's to send."""
        return ChangeGaveUp(change=job.mutation.id, reason=reason)

    def verification(self, job: ChangeJob, *, lost: bool) -> TaskCheck:
        """The task read back; right after a lost answer, after a backoff."""
        return TaskCheck(self.client, job, reads=self.reads, lost=lost)


class TaskCheck:
    """Reads the task of a change in doubt (ShowTaskInfo) until it answers."""

    def __init__(self, client: ViasClient, job: ChangeJob, *, reads: int, lost: bool) -> None:
        self.client, self.job, self.reads, self.lost = client, job, reads, lost

    def waits(self, backoff: Callable[[int], float]) -> Iterator[float | None]:
        """Backoff between reads; before the first only right after a lost answer."""
        yield backoff(self.job.state.attempts) if self.lost else None
        for number in range(1, self.reads):
            yield backoff(number)

    async def read(self, number: int) -> tuple[Finding, list[Event]]:
        """One ShowTaskInfo: applied, done; the task gone, refused; else send again."""
        job, change = self.job, self.job.mutation.id
        detail, request_id = await self.client.find_task(job.mutation.task_id)
        state = str(detail.get("state") or "") if detail is not None else ""
        checked = ChangeChecked(
            change=change, state=state, exists=detail is not None, request_id=request_id
        )
        if applied(job.mutation.action, detail, job.wanted):
            done = ChangeDone(change=change, request_id=request_id, checked=True)
            return Finding.SETTLED, [checked, done]
        if detail is None:
            refused = ChangeRefused(change=change, message=GONE, request_id=request_id)
            return Finding.SETTLED, [checked, refused]
        return Finding.ABSENT, [checked]

    def close(self) -> None:
        """Nothing to release: each read is the change's own (one ShowTaskInfo)."""

    def failed(self, exc: SubmitError) -> Event:
        """A read that got no answer, with the request id of the one that came."""
        request_id = exc.request_id if isinstance(exc, ReadFailed) else ""
        return ChangeCheckFailed(
            change=self.job.mutation.id, reason=exc.message, request_id=request_id
        )

    def undecided(self, failure: str) -> str:
        """Reads failed, or none was made: the change may be applied."""
        reason = f"checks failed ({failure})" if failure else "not checked"
        return f"{reason}: it may or may not be applied"


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
