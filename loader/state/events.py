"""
The events of a run. Every state change is one of these, appended to the journal before
anything depends on it; progress, logs, results and ``resume`` are folds of them.

Events that record an answer of the API carry its ``request_id`` (the X-Request-Id header,
or a gateway error body's ``request_id``): the one thing Huawei support asks for. Every
field has a default, so journals written before a field existed still decode.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of all events; ``kind`` names the type in the journal."""

    kind: ClassVar[str] = "Event"
    batch: str = ""  # the batch name, for batch events ("" for a change's: see ``change``)

    def payload(self) -> dict[str, Any]:
        """The fields as JSON-ready data (without ``batch``, which has its own column)."""
        data = dataclasses.asdict(self)
        data.pop("batch")
        return data


# How a stage hands an event on: journal first, then the fold, the ledger, log and screen.
Emit = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True)
class RunStarted(Event):
    """A run began (or resumed): what it reads and where it sends."""

    kind: ClassVar[str] = "RunStarted"
    input_file: str = ""
    input_sha256: str = ""
    mapping: str = ""
    mapping_sha256: str = ""
    endpoint: str = ""
    project_id: str = ""
    batches: int = 0
    cameras: int = 0
    rejected_rows: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    resumed: bool = False
    run_id: str = ""
    started_at: str = ""


@dataclass(frozen=True)
class BatchPlanned(Event):
    """A batch the run will send."""

    kind: ClassVar[str] = "BatchPlanned"
    file: str = ""
    groups: int = 0
    cameras: int = 0
    canary: bool = False  # sent first and alone; the rest waits for its tasks to run


@dataclass(frozen=True)
class BatchSending(Event):
    """A create request is about to go out (from here the batch may exist)."""

    kind: ClassVar[str] = "BatchSending"
    attempt: int = 0


@dataclass(frozen=True)
class BatchAccepted(Event):
    """The API created the batch (``failed > 0``: some cameras failed inside a 200)."""

    kind: ClassVar[str] = "BatchAccepted"
    batch_id: str = ""
    total: int = 0
    failed: int = 0
    succeeded: int = 0
    error_list: list[str] = field(default_factory=list)
    found_by_lookup: bool = False
    request_id: str = ""


@dataclass(frozen=True)
class BatchRejected(Event):
    """The API refused the batch (validation, wrong project, no permission): not retried."""

    kind: ClassVar[str] = "BatchRejected"
    status: int = 0
    code: str = ""
    message: str = ""
    request_id: str = ""
    hint: str = ""  # what to check (a wrong project id, permissions, the payload size)


@dataclass(frozen=True)
class BatchRetrying(Event):
    """The request provably did not reach the API (throttled, refused): it will be sent again."""

    kind: ClassVar[str] = "BatchRetrying"
    attempt: int = 0
    reason: str = ""
    delay: float = 0.0
    request_id: str = ""


@dataclass(frozen=True)
class BatchAmbiguous(Event):
    """The request went out and no clear answer came back: the batch may exist."""

    kind: ClassVar[str] = "BatchAmbiguous"
    attempt: int = 0
    reason: str = ""
    status: int = 0  # the HTTP status of the unclear answer (0: none came)
    request_id: str = ""


@dataclass(frozen=True)
class BatchLookedUp(Event):
    """A lookup by exact name answered (found or not)."""

    kind: ClassVar[str] = "BatchLookedUp"
    found_id: str = ""
    lookup: int = 0
    request_id: str = ""
    window_left: float = 0.0  # seconds the lookups of a lost answer go on (0: spanned)


@dataclass(frozen=True)
class LookupFailed(Event):
    """A read-only call about a batch (lookup by name, count, task list) got no answer."""

    kind: ClassVar[str] = "LookupFailed"
    what: str = ""  # "lookup by name", "count of tasks", "task list"
    reason: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class BatchAbsent(Event):
    """Lookups over the settle window never found the batch: it may be sent again."""

    kind: ClassVar[str] = "BatchAbsent"
    lookups: int = 0


@dataclass(frozen=True)
class BatchGaveUp(Event):
    """The run stopped trying this batch (attempts, budget, outage, interrupt, refusal).

    ``final``: the API refused the whole run for good (wrong project, no permission) and
    this batch was provably never created: its cameras failed, nothing is left to resume.
    """

    kind: ClassVar[str] = "BatchGaveUp"
    reason: str = ""
    final: bool = False


@dataclass(frozen=True)
class TasksObserved(Event):
    """What ListBatchTasks and ListTasks said of an accepted batch (reconciliation)."""

    kind: ClassVar[str] = "TasksObserved"
    batch_id: str = ""
    state_counts: dict[str, int] = field(default_factory=dict)
    tasks: list[list[str]] = field(default_factory=list)  # [source id, task id, state, name]
    complete: bool = True  # False: some tasks could not be matched to a camera
    judge_states: bool = True  # False: asked only whether tasks exist (end of a run)
    ids_only: bool = False  # matched by camera name only, to learn task ids: no verdict


@dataclass(frozen=True)
class CanaryWaiting(Event):
    """The canary batch was created: the run waits (``wait`` s at most) for its tasks to run."""

    kind: ClassVar[str] = "CanaryWaiting"
    cameras: int = 0
    wait: float = 0.0


@dataclass(frozen=True)
class CanaryPassed(Event):
    """Every task of the canary batch is listed and running: the rest may be sent."""

    kind: ClassVar[str] = "CanaryPassed"
    tasks: int = 0
    request_id: str = ""


@dataclass(frozen=True)
class CanaryFailed(Event):
    """The canary failed: the rest is held back, not sent.

    ``reason`` is written for people, with the request id of the answer behind it.
    ``final``: the batch was refused, or cameras failed inside its 200: no later look at
    its tasks can make it pass.
    """

    kind: ClassVar[str] = "CanaryFailed"
    reason: str = ""
    request_id: str = ""
    final: bool = False


@dataclass(frozen=True)
class RunInterrupted(Event):
    """The run was stopped before every batch was settled."""

    kind: ClassVar[str] = "RunInterrupted"
    reason: str = ""


@dataclass(frozen=True)
class RunFinished(Event):
    """The run ended; its exit code and counts."""

    kind: ClassVar[str] = "RunFinished"
    exit_code: int = 0
    counts: dict[str, int] = field(default_factory=dict)


# Changes of existing tasks (UpdateTask, DeleteTask, StartStopTask), each keyed by its
# ``change`` (``Mutation.id``: ``<action>:<task id>``); ``batch`` stays "". Each is a direct
# subclass of Event, so KINDS below finds it.


@dataclass(frozen=True)
class ChangeSending(Event):
    """A change request is about to go out (from here it may have been applied)."""

    kind: ClassVar[str] = "ChangeSending"
    change: str = ""
    action: str = ""  # update, delete, stop, start
    task_id: str = ""
    attempt: int = 0


@dataclass(frozen=True)
class ChangeDone(Event):
    """The change is applied: the API said so, or a check found it applied (``checked``)."""

    kind: ClassVar[str] = "ChangeDone"
    change: str = ""
    request_id: str = ""
    checked: bool = False


@dataclass(frozen=True)
class ChangeRefused(Event):
    """The API refused the change, or a check found its task gone: not sent again."""

    kind: ClassVar[str] = "ChangeRefused"
    change: str = ""
    status: int = 0
    code: str = ""
    message: str = ""
    request_id: str = ""
    hint: str = ""


@dataclass(frozen=True)
class ChangeRetrying(Event):
    """The request provably was not applied (throttled, refused the run): sent again later."""

    kind: ClassVar[str] = "ChangeRetrying"
    change: str = ""
    attempt: int = 0
    reason: str = ""
    delay: float = 0.0
    request_id: str = ""


@dataclass(frozen=True)
class ChangeAmbiguous(Event):
    """The request went out and no clear answer came back: it may have been applied."""

    kind: ClassVar[str] = "ChangeAmbiguous"
    change: str = ""
    attempt: int = 0
    reason: str = ""
    status: int = 0  # the HTTP status of the unclear answer (0: none came)
    request_id: str = ""


@dataclass(frozen=True)
class ChangeChecked(Event):
    """ShowTaskInfo answered for a change in doubt: the task's state, or that it is gone."""

    kind: ClassVar[str] = "ChangeChecked"
    change: str = ""
    state: str = ""
    exists: bool = False
    request_id: str = ""


@dataclass(frozen=True)
class ChangeCheckFailed(Event):
    """ShowTaskInfo gave no usable answer for a change in doubt: it stays in doubt."""

    kind: ClassVar[str] = "ChangeCheckFailed"
    change: str = ""
    reason: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class ChangeGaveUp(Event):
    """The run stopped trying this change (attempts, budget, outage, interrupt, refusal)."""

    kind: ClassVar[str] = "ChangeGaveUp"
    change: str = ""
    reason: str = ""


@dataclass(frozen=True)
class TaskIdsFound(Event):
    """The ids of tasks the run's changes need, found by listing their batches (the ledger
    knew them by batch only): a fold of these sits beside the plan, which never changes,
    and a resume reads them back instead of listing again. ``batch`` stays "".

    ``batch_ids``: the batches listed; ``tasks``: rows [batch id, video source id, task
    id, task name] of the tasks found (a camera with two tasks in one batch has none).
    """

    kind: ClassVar[str] = "TaskIdsFound"
    batch_ids: list[str] = field(default_factory=list)
    tasks: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class RegistrationSending(Event):
    """A registering call is about to go out (from here the source or group may exist):
    ``what`` is source, group, join (UpdateVideoGroup), update (UpdateVideoSource) or
    delete; ``name`` the camera's or group's name. Never a body: bodies hold secrets."""

    kind: ClassVar[str] = "RegistrationSending"
    what: str = ""
    name: str = ""
    attempt: int = 0


@dataclass(frozen=True)
class RegistrationDone(Event):
    """A source or group registered (``created``: by this run; else found by its name),
    joined, updated or deleted; ``id`` the source's or group's."""

    kind: ClassVar[str] = "RegistrationDone"
    what: str = ""
    name: str = ""
    id: str = ""
    created: bool = False
    request_id: str = ""


@dataclass(frozen=True)
class RegistrationRefused(Event):
    """A registering call refused or given up (``reason`` as users read it)."""

    kind: ClassVar[str] = "RegistrationRefused"
    what: str = ""
    name: str = ""
    reason: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class IdsFilled(Event):
    """Registration over: the ids the run's batches name (camera name -> video source id,
    group name -> group id) and the rows it rejected, journaled before the batches are
    planned, so a resume plans the same batches without listing the project again."""

    kind: ClassVar[str] = "IdsFilled"
    sources: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    rejected: list[int] = field(default_factory=list)


# Every event type by its kind: derived, so a new event can never be left out.
KINDS: dict[str, type[Event]] = {cls.kind: cls for cls in Event.__subclasses__()}


def describe_answer(status: int, code: str, message: str, request_id: str = "") -> str:
    """An answer as users read it, with the request id Huawei support asks for.

    ``400 VIAS.00010001 The parameters are invalid.: detail (request id 7f3a...)``
    """
    text = " ".join(part for part in (str(status) if status else "", code, message) if part)
    return f"{text} (request id {request_id})" if request_id else text


def encode(event: Event) -> str:
    """An event's fields as compact JSON text."""
    return json.dumps(event.payload(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def decode(kind: str, batch: str, text: str) -> Event:
    """An event back from its journal columns."""
    return KINDS[kind](batch=batch, **json.loads(text))
