"""
The state of a run as the fold of its events: per batch, whether it is settled, whether a
request for it may have reached the API, and how many times it was sent; and the canary's
verdict, which holds back the rest of the run while it is a failure; and per change of an
existing task (``changes``, by ``Mutation.id``), the same questions. Pure; the engines,
``resume`` and the results all read the same fold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from loader.state import events as ev


class BatchStatus(StrEnum):
    """Where a batch stands."""

    PENDING = "pending"  # not sent yet, or provably not created: send it
    IN_DOUBT = "in_doubt"  # a request may have created it: look it up before any resend
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # refused, or never sent because the API refused the whole run


@dataclass
class BatchState:
    """The fold of one batch's events."""

    name: str
    file: str = ""
    cameras: int = 0
    status: BatchStatus = BatchStatus.PENDING
    attempts: int = 0
    batch_id: str = ""
    total: int = 0
    failed: int = 0
    error_list: list[str] = field(default_factory=list)
    message: str = ""
    http_status: int = 0
    gave_up: str = ""
    found_by_lookup: bool = False
    request_id: str = ""  # of the answer that settled the batch, else of the last one
    state_counts: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, list[tuple[str, str]]] | None = None  # source id -> [(task id, state)]
    task_ids: dict[str, list[tuple[str, str]]] | None = None  # the same, from any observation
    judge_states: bool = True  # whether a failed task state fails its camera
    canary: bool = False  # the batch sent first and alone

    @property
    def settled(self) -> bool:
        """Accepted or rejected: nothing more to send."""
        return self.status in (BatchStatus.ACCEPTED, BatchStatus.REJECTED)

    def becomes(self, status: BatchStatus) -> None:
        """``status`` (pending, in doubt), unless settled: a settled batch stays settled."""
        if not self.settled:
            self.status = status

    def apply(self, event: ev.Event) -> None:
        """Fold one of this batch's events in."""
        _apply_batch(self, event)


class ChangeStatus(StrEnum):
    """Where a change of an existing task stands."""

    PENDING = "pending"  # not sent yet, or provably not applied: send it
    IN_DOUBT = "in_doubt"  # a request may have applied it: check the task before any resend
    DONE = "done"
    REFUSED = "refused"  # the API refused it, or its task is gone: not sent again
    GAVE_UP = "gave_up"  # provably not applied, and this run stopped trying: resume sends it


# The events that belong to one change (keyed by ``change``, not ``batch``).
CHANGE_EVENTS = (
    ev.ChangeSending,
    ev.ChangeDone,
    ev.ChangeRefused,
    ev.ChangeRetrying,
    ev.ChangeAmbiguous,
    ev.ChangeChecked,
    ev.ChangeCheckFailed,
    ev.ChangeGaveUp,
)


@dataclass
class ChangeState:
    """The fold of one change's events."""

    change: str = ""  # Mutation.id (``<action>:<task id>``); set by the first event if ""
    status: ChangeStatus = ChangeStatus.PENDING
    attempts: int = 0
    message: str = ""
    request_id: str = ""  # of the answer that settled the change, else of the last one
    checked: bool = False  # settled by a check (found applied, or its task gone)
    task_state: str = ""  # the task's state at the last check ("" when gone or not checked)
    gave_up: str = ""

    @property
    def settled(self) -> bool:
        """Done or refused: nothing more to send."""
        return self.status in (ChangeStatus.DONE, ChangeStatus.REFUSED)

    def becomes(self, status: ChangeStatus) -> None:
        """``status`` (pending, in doubt), unless settled: a settled change stays settled."""
        if not self.settled:
            self.status = status

    def apply(self, event: ev.Event) -> None:
        """Fold one of this change's events in."""
        _apply_change(self, event)


@dataclass
class RunState:
    """The fold of a whole journal."""

    started: ev.RunStarted | None = None
    batches: dict[str, BatchState] = field(default_factory=dict)
    finished: ev.RunFinished | None = None
    interrupted: bool = False
    verdict: ev.CanaryPassed | ev.CanaryFailed | None = None  # the canary's, once judged
    changes: dict[str, ChangeState] = field(default_factory=dict)  # by Mutation.id
    task_names: dict[str, str] = field(default_factory=dict)  # task id -> name, as observed

    def apply(self, event: ev.Event) -> None:
        """Fold one more event in."""
        if isinstance(event, ev.RunStarted):
            self.started = self.started or event
            self.finished, self.interrupted = None, False
        elif isinstance(event, ev.RunFinished):
            self.finished = event
        elif isinstance(event, ev.RunInterrupted):
            self.interrupted = True
        elif isinstance(event, ev.CanaryPassed | ev.CanaryFailed):
            self.verdict = event
        elif isinstance(event, ev.CanaryWaiting):
            self.verdict = None  # judged (again): no verdict until one is recorded
        elif isinstance(event, CHANGE_EVENTS):
            self.changes.setdefault(event.change, ChangeState(event.change)).apply(event)
        elif event.batch:
            if isinstance(
                event, ev.TasksObserved
            ):  # rows [source, id, state, name]; older: no name
                self.task_names |= {row[1]: row[3] for row in event.tasks if len(row) > 3}
            self.batches.setdefault(event.batch, BatchState(event.batch)).apply(event)

    @property
    def canary(self) -> BatchState | None:
        """The canary batch, when the run has one."""
        return next((b for b in self.batches.values() if b.canary), None)

    def held(self) -> list[BatchState]:
        """Batches a failed canary holds back: never sent, and not to be sent blindly."""
        if not isinstance(self.verdict, ev.CanaryFailed):
            return []
        return [b for b in self.batches.values() if not (b.canary or b.settled or b.attempts)]

    def unsettled(self) -> list[BatchState]:
        """Batches still to send or to look up, in plan order (held ones are not)."""
        held = {b.name for b in self.held()}
        return [b for b in self.batches.values() if not b.settled and b.name not in held]

    def count(self, status: BatchStatus) -> int:
        """Batches in ``status``."""
        return sum(1 for b in self.batches.values() if b.status == status)

    def changes_unsettled(self) -> list[ChangeState]:
        """Changes still to send or to check (given up ones too), in the order first seen."""
        return [c for c in self.changes.values() if not c.settled]


def _apply_batch(state: BatchState, event: ev.Event) -> None:
    """One batch event; applying the same event twice changes nothing."""
    _note_request_id(state, event, (ev.BatchAccepted, ev.BatchRejected))
    match event:
        case ev.BatchPlanned():
            state.file, state.cameras, state.canary = event.file, event.cameras, event.canary
        case ev.BatchSending():
            state.attempts = max(state.attempts, event.attempt)
            state.becomes(BatchStatus.IN_DOUBT)
        case ev.BatchAccepted():
            state.status = BatchStatus.ACCEPTED
            state.batch_id, state.total, state.failed = event.batch_id, event.total, event.failed
            state.error_list = list(event.error_list)
            state.found_by_lookup = event.found_by_lookup
            state.http_status = 200 if not event.found_by_lookup else state.http_status
        case ev.TasksObserved():
            tasks: dict[str, list[tuple[str, str]]] = {}
            for source, task_id, task_state, *_ in event.tasks:  # a name may follow
                tasks.setdefault(source, []).append((task_id, task_state))
            state.task_ids = tasks
            if not event.ids_only:  # a whole observation: outcomes follow from it
                state.state_counts = dict(event.state_counts)
                state.tasks = tasks
                state.judge_states = event.judge_states
        case ev.BatchRejected():
            state.status = BatchStatus.REJECTED
            state.http_status = event.status
            answer = ev.describe_answer(event.status, event.code, event.message, event.request_id)
            state.message = f"{answer}; {event.hint}" if event.hint else answer
        case ev.BatchRetrying() | ev.BatchAbsent():
            state.becomes(BatchStatus.PENDING)
            if isinstance(event, ev.BatchRetrying):
                state.message = event.reason
        case ev.BatchAmbiguous():
            state.message = event.reason
            state.http_status = event.status or state.http_status
        case ev.BatchGaveUp():
            state.gave_up = event.reason
            if event.final and state.status == BatchStatus.PENDING:
                state.status = BatchStatus.REJECTED  # provably never created, never to be sent


def _note_request_id(
    state: BatchState | ChangeState, event: ev.Event, settling: tuple[type[ev.Event], ...]
) -> None:
    """Keep the id of the answer that settled a batch or a change (``settling``: the events
    that settle it); until then, of the latest answer."""
    request_id = str(getattr(event, "request_id", ""))
    if request_id and (not state.settled or isinstance(event, settling)):
        state.request_id = request_id


def _apply_change(state: ChangeState, event: ev.Event) -> None:
    """One change event; applying the same event twice changes nothing.

    Once settled, a change stays settled. Giving up keeps a change in doubt (resume checks
    its task first); a change provably not applied becomes ``gave_up``, which resume sends
    as it sends a pending one.
    """
    state.change = state.change or str(getattr(event, "change", ""))
    _note_request_id(state, event, (ev.ChangeDone, ev.ChangeRefused))
    match event:
        case ev.ChangeSending():
            state.attempts = max(state.attempts, event.attempt)
            state.becomes(ChangeStatus.IN_DOUBT)
        case ev.ChangeAmbiguous():
            state.message = event.reason
            state.becomes(ChangeStatus.IN_DOUBT)
        case ev.ChangeRetrying():
            state.message = event.reason
            state.becomes(ChangeStatus.PENDING)
        case ev.ChangeDone():
            state.status, state.checked = ChangeStatus.DONE, event.checked
        case ev.ChangeRefused():
            state.status = ChangeStatus.REFUSED
            answer = ev.describe_answer(event.status, event.code, event.message, event.request_id)
            state.message = f"{answer}; {event.hint}" if event.hint else answer
        case ev.ChangeChecked():
            state.task_state = event.state if event.exists else ""
        case ev.ChangeCheckFailed():
            state.message = event.reason
        case ev.ChangeGaveUp():
            state.gave_up = event.reason
            if state.status == ChangeStatus.PENDING:
                state.status = ChangeStatus.GAVE_UP


def replay(events: Iterable[ev.Event]) -> RunState:
    """The state after ``events``, in order."""
    state = RunState()
    for event in events:
        state.apply(event)
    return state
