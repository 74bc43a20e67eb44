"""
What each camera row's outcome is, decided once for every user: the ledger follower
during a run, the conclusion, the canary, the exit code and the results workbook.

Status of a camera row (``model.cameras.CameraStatus``): ``loaded``, ``failed``, ``rejected``,
``duplicate``, ``unchanged``, ``changed``, ``unknown`` or ``held`` (a failed canary kept it);
after the changes (``overlay``): ``updated``, ``restarted``, ``replaced``, and for removed
tasks (``removed_status``) ``stopped`` or ``deleted``. A projection of the checked
inventory, the plan, the ledger's verdicts and the journal's fold. Pure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from loader.check.inventory import ROW, SHEET
from loader.check.load import Loaded
from loader.check.validate import STATUS, blank_texts
from loader.model.cameras import STATUSES, CameraStatus, LedgerEntry, RowStatus
from loader.model.changes import Action
from loader.model.problems import Severity
from loader.model.vias import FAILED_TASK_STATES
from loader.planning.batches import Batch, Plan
from loader.planning.delta import Delta, Earlier, TaskChange
from loader.state.events import CanaryFailed
from loader.state.runstate import BatchState, BatchStatus, RunState

DONE, REFUSED = "done", "refused"  # a change's status in the fold (``ChangeStatus``)
NOT_FOUND: Final = (
    "its task was not found in batch {} (deleted outside bulkload?): bulkload refresh,"
    " then run again"
)
_ID_TOKEN = re.compile(r"[A-Za-z0-9_.:-]+")


# The statuses a run's page lists, camera by camera: someone has to do something.
NEEDS_ATTENTION: Final = (CameraStatus.FAILED, CameraStatus.UNKNOWN, CameraStatus.HELD)


@dataclass(frozen=True)
class CameraResult:
    """One camera row's outcome as the run concluded it, with where the row is and the
    camera it names (what a page lists of a camera that needs attention)."""

    status: str
    batch: str
    task_state: str
    message: str
    sheet: str
    row: int | None  # the Excel row
    camera: str  # video source id
    name: str
    group: str


@dataclass
class Outcomes:
    """Per input row (by position): status, batch, batch id, task state, message."""

    status: np.ndarray
    batch: np.ndarray
    batch_id: np.ndarray
    task_state: np.ndarray
    message: np.ndarray

    @classmethod
    def empty(cls, rows: int) -> Outcomes:
        return cls(*(blank_texts(rows) for _ in range(5)))

    def set(
        self,
        position: int,
        status: str,
        batch: str = "",
        batch_id: str = "",
        task_state: str = "",
        message: str = "",
    ) -> None:
        self.status[position] = status
        self.batch[position], self.batch_id[position] = batch, batch_id
        self.task_state[position], self.message[position] = task_state, message

    def fill(
        self,
        positions: list[int],
        status: str,
        batch: str,
        batch_id: str,
        task_state: str,
        message: str,
    ) -> None:
        """``set`` of many rows to the same outcome, in one step per field."""
        at = np.asarray(positions, dtype=np.intp)  # once: a list is converted at each use
        self.status[at], self.batch[at] = status, batch
        self.batch_id[at], self.task_state[at] = batch_id, task_state
        self.message[at] = message

    def columns(self) -> tuple[np.ndarray, ...]:
        """The five columns, in the order of the fields."""
        return (self.status, self.batch, self.batch_id, self.task_state, self.message)

    def counts(self) -> dict[str, int]:
        found = Counter(self.status.tolist())
        return {s: found.get(s, 0) for s in STATUSES}


def needing_attention(loaded: Loaded, result: Outcomes) -> list[CameraResult]:
    """The camera rows that failed, are unknown or were held back, in row order."""
    rows = loaded.checked.rows
    wanted = np.flatnonzero(np.isin(result.status, [str(s) for s in NEEDS_ATTENTION]))

    def column(name: str) -> np.ndarray:
        if name not in rows.columns:
            return np.full(len(rows), "", dtype=object)
        return rows[name].to_numpy(dtype=object)

    sheets, numbers = rows[SHEET].to_numpy(), rows[ROW].to_numpy()
    cameras, names, groups = column("video_source_id"), column("camera_name"), column("group")
    return [
        CameraResult(
            status=str(result.status[at]),
            batch=str(result.batch[at]),
            task_state=str(result.task_state[at]),
            message=str(result.message[at]),
            sheet=str(sheets[at]),
            row=int(numbers[at]),
            camera=_text(cameras[at]),
            name=_text(names[at]),
            group=_text(groups[at]),
        )
        for at in wanted.tolist()
    ]


def _text(value: Any) -> str:
    """A cell as the results workbook shows it ("" for none)."""
    return "" if value is None or value != value else str(value)  # NaN != NaN


def outcomes(loaded: Loaded, planned: Plan, delta: Delta, state: RunState) -> Outcomes:
    """Each input row's outcome."""
    result = unsent_outcomes(loaded, delta)
    held = {b.name for b in state.held()}
    for batch in planned.batches:
        outcome_of_batch(result, batch, state, held=batch.name in held)
    return result


def unsent_outcomes(loaded: Loaded, delta: Delta) -> Outcomes:
    """The outcome of each input row no batch of this run sends: rejected, duplicate, or
    kept from the ledger (``outcomes`` adds each planned batch's)."""
    result = Outcomes.empty(len(loaded.checked.rows))
    _from_validation(result, loaded)
    for position, (earlier, entry) in delta.kept.items():
        result.set(
            position, earlier.value, entry.batch, entry.batch_id, "", _held_message(earlier, entry)
        )
    return result


def outcome_of_batch(result: Outcomes, batch: Batch, state: RunState, *, held: bool) -> None:
    """The outcome of each camera of one planned batch, as the run knows it now (``held``:
    the batch is one a failed canary keeps back)."""
    batch_state = state.batches.get(batch.name)
    at = batch.at
    positions = batch.of.position[at].tolist()
    if batch_state is None:
        result.fill(positions, CameraStatus.UNKNOWN, batch.name, "", "", "not sent yet")
        return
    if held and isinstance(state.verdict, CanaryFailed):
        note = canary_note(state.verdict)
        result.fill(positions, CameraStatus.HELD, batch.name, "", "", note)
        return
    sources = batch.of.video_source_id[at].tolist()
    _from_batch(result, batch_state, list(zip(positions, sources, strict=True)))


def _from_validation(result: Outcomes, loaded: Loaded) -> None:
    """Rejected and duplicate rows, with their first error (or the duplicate's note)."""
    statuses = loaded.checked.rows[STATUS].to_numpy()
    sheets = loaded.checked.rows[SHEET].to_numpy()
    rows = loaded.checked.rows[ROW].to_numpy()
    notes: dict[tuple[str, int], str] = {}
    for problem in loaded.checked.problems:
        if problem.row is not None and problem.severity != Severity.INFO:
            key = (problem.sheet, problem.row)
            if key not in notes or (
                problem.severity == Severity.ERROR and not notes[key].startswith("E")
            ):
                notes[key] = ("E" if problem.severity == Severity.ERROR else "W") + problem.message
    out = [RowStatus.REJECTED.value, RowStatus.DUPLICATE.value]  # hashed: half np.isin's time
    kept_out = loaded.checked.rows[STATUS].isin(out).to_numpy(dtype=bool)
    for position in np.flatnonzero(kept_out).tolist():  # a look at each row took a second
        note = notes.get((str(sheets[position]), int(rows[position])), " ")[1:]
        result.set(position, str(statuses[position]), message=note)


def _held_message(earlier: Earlier, entry: LedgerEntry) -> str:
    """Why a camera task was not sent this time."""
    if earlier == Earlier.UNCHANGED:
        return f"loaded by run {entry.run}; same settings"
    if earlier == Earlier.CHANGED:
        return (
            f"loaded by run {entry.run} with other settings, but its task is not known:"
            " bulkload refresh learns it, then the next run updates it"
        )
    if earlier == Earlier.UNKNOWN:
        return (
            f"sent by run {entry.run}, outcome not known yet: bulkload resume (or reconcile)"
            " that run; it is not sent again meanwhile"
        )
    return f"failed in run {entry.run}: {entry.message}; fix it, then run with --retry-failed"


def canary_note(verdict: CanaryFailed) -> str:
    """Why a camera was held back by a failed canary, and what sends it."""
    if verdict.final:
        then = "fix that, then run the sheet again (--retry-failed resends the canary's cameras)"
    else:
        then = "bulkload resume checks the canary's tasks again and sends this once all run"
    return f"not sent: the canary failed: {verdict.reason}; {then}"


def _from_batch(result: Outcomes, batch: BatchState, cameras: list[tuple[int, str]]) -> None:
    """The outcome of each camera of one sent batch."""
    name, batch_id = batch.name, batch.batch_id
    if batch.status == BatchStatus.REJECTED:
        # Refused itself, or never sent once the API refused the run for good (gave_up).
        reason = batch.gave_up or f"the API refused the batch: {batch.message}"
        for position, _ in cameras:
            result.set(position, CameraStatus.FAILED, name, "", "", reason)
        return
    if batch.status != BatchStatus.ACCEPTED:
        note = batch.gave_up or "not settled"
        for position, _ in cameras:
            result.set(
                position, CameraStatus.UNKNOWN, name, "", "", f"{note}; bulkload resume settles it"
            )
        return
    if batch.tasks is not None:
        _from_tasks(result, batch, cameras)
        return
    named = attribute_errors(batch.error_list, {source for _, source in cameras})
    unexplained = max(batch.failed - len(named), 0)
    if not named and not unexplained:  # every camera loaded: set at once, not row by row
        note = "found by name after an unclear answer" if batch.found_by_lookup else ""
        result.fill([p for p, _ in cameras], CameraStatus.LOADED, name, batch_id, "", note)
        return
    for position, source in cameras:
        if source in named:
            result.set(position, CameraStatus.FAILED, name, batch_id, "", named[source])
        elif unexplained and batch.failed >= batch.total > 0:
            result.set(
                position,
                CameraStatus.FAILED,
                name,
                batch_id,
                "",
                "; ".join(batch.error_list) or "failed",
            )
        elif unexplained:
            result.set(
                position,
                CameraStatus.UNKNOWN,
                name,
                batch_id,
                "",
                f"{batch.failed} of {batch.total or 'its'} cameras failed and the API did not"
                " say which;"
                " bulkload reconcile asks it",
            )
        else:
            note = "found by name after an unclear answer" if batch.found_by_lookup else ""
            result.set(position, CameraStatus.LOADED, name, batch_id, "", note)


def _from_tasks(result: Outcomes, batch: BatchState, cameras: list[tuple[int, str]]) -> None:
    """Outcomes from observed tasks: a camera with no task failed to be created.

    Only when the API shows at least as many tasks as it said it created: a shorter list
    may still be filling, and its missing cameras are ``unknown``, not failed.
    """
    tasks = {source: list(found) for source, found in (batch.tasks or {}).items()}
    named = attribute_errors(batch.error_list, {source for _, source in cameras})
    seen = sum(len(found) for found in tasks.values())
    created = batch.total - batch.failed if batch.total else len(cameras) - len(named)
    complete = seen >= created
    for position, source in cameras:
        found = tasks.get(source) or []
        if not found and (source in named or complete):
            reason = named.get(source, "no task was created for this camera")
            result.set(position, CameraStatus.FAILED, batch.name, batch.batch_id, "", reason)
            continue
        if not found:
            result.set(
                position,
                CameraStatus.UNKNOWN,
                batch.name,
                batch.batch_id,
                "",
                f"the API lists {seen} of {created} tasks so far; bulkload reconcile later",
            )
            continue
        task_id, task_state = found.pop(0)
        failed_state = batch.judge_states and task_state.upper() in FAILED_TASK_STATES
        status = CameraStatus.FAILED if failed_state else CameraStatus.LOADED
        message = f"task {task_id} is {task_state}" if status == CameraStatus.FAILED else ""
        result.set(position, status, batch.name, batch.batch_id, task_state, message)


def attribute_errors(error_list: Sequence[str], sources: set[str]) -> dict[str, str]:
    """error_list entries that name a camera of the batch: source id -> message."""
    named: dict[str, str] = {}
    for message in error_list:
        for token in _ID_TOKEN.findall(message):
            if token in sources:
                named.setdefault(token, message)
    return named


def change_outcome(state: RunState, action: Action, task_id: str) -> tuple[str, str]:
    """(status, message) of a mutation in this run: "" when it was not attempted."""
    change = state.changes.get(f"{action}:{task_id}")
    if change is None:
        return "", ""
    return str(change.status), change.message


def overlay(status: Any, message: Any, task_state: Any, delta: Delta, state: RunState) -> None:
    """Camera rows' statuses after the changes (arrays by position, changed in place)."""
    for change in delta.updates:
        done, text = change_outcome(state, Action.UPDATE, change.entry.task_id)
        at = change.position
        fields = ", ".join(f.field for f in change.fields)
        if not change.entry.task_id:
            status[at], message[at] = CameraStatus.FAILED, NOT_FOUND.format(change.entry.batch)
        elif done == DONE:
            status[at], message[at] = CameraStatus.UPDATED, f"task {change.entry.task_id}: {fields}"
        elif done == REFUSED:
            status[at], message[at] = CameraStatus.FAILED, f"update refused: {text}"
        else:
            status[at] = CameraStatus.UNKNOWN
            message[at] = f"update of task {change.entry.task_id} not settled: bulkload resume"
    for change in delta.restarts:
        done, text = change_outcome(state, Action.START, change.entry.task_id)
        at = change.position
        if done == DONE:
            if status[at] != CameraStatus.UPDATED:
                status[at] = CameraStatus.RESTARTED
            message[at] = f"{message[at]}; started again".lstrip("; ")
        elif done == REFUSED:
            status[at], message[at] = CameraStatus.FAILED, f"start refused: {text}"
        elif not done:
            if not status[at]:
                status[at] = CameraStatus.UNCHANGED
            message[at] = (
                f"its task {change.entry.task_id} is {change.entry.task_state or 'stopped'};"
                " --restart-failed starts it"
            )
    for at, change in delta.replaces.items():
        if status[at] != CameraStatus.LOADED:
            message[at] = f"{message[at]}; the old task {change.entry.task_id} keeps running"
            continue
        done, text = change_outcome(state, Action.DELETE, change.entry.task_id)
        if not change.entry.task_id:
            message[at] = f"{message[at]}; {NOT_FOUND.format(change.entry.batch)}".lstrip("; ")
        elif done == DONE:
            status[at] = CameraStatus.REPLACED
            message[at] = f"replaced task {change.entry.task_id}"
        else:
            status[at] = CameraStatus.UNKNOWN
            why = f"refused: {text}" if done == REFUSED else "not settled: bulkload resume"
            message[at] = f"new task created; deleting the old task {change.entry.task_id} {why}"


def removed_status(state: RunState, change: TaskChange) -> tuple[str, str]:
    """A removed camera task's status: stopped, deleted, or listed only."""
    for action, done_status in (
        (Action.DELETE, CameraStatus.DELETED),
        (Action.STOP, CameraStatus.STOPPED),
    ):
        done, text = change_outcome(state, action, change.entry.task_id)
        if done == DONE:
            return done_status, ""
        if done:
            return CameraStatus.UNKNOWN if done != REFUSED else CameraStatus.FAILED, text
    return "listed", "not in the sheet: --prune stops it, --prune=delete deletes it"
