"""
Applying the diff's changes to tasks that exist, after the run's creates: updates,
restarts (``--restart-failed``), removals (``--prune``: stop, or delete) and the second
half of each replace (the old task is deleted only once its successor exists and has not
failed, so a camera is never left uncovered). Every change is one ``Mutation`` that the
``Changer`` settles exactly once. Tasks the ledger knows by batch only (a load records
its batches, not its task ids: they are learned here, when a change needs them) are found
first: ListVideoSources for the names of their groups' cameras, ListTasks of their
batches joined by those names, ShowTaskInfo for what the names leave open. The ids found
are journaled (``TaskIdsFound``) and read through ``Run.changes_named``: the plan itself
never changes. [I/O: HTTP]
"""

from __future__ import annotations

import json
from typing import Any

import structlog

from loader.errors import SubmitError
from loader.model.cameras import LedgerState
from loader.model.changes import Action, Mutation
from loader.model.vias import FAILED_TASK_STATES, UPDATED_FIELDS
from loader.planning.delta import Delta, TaskChange
from loader.planning.documents import masked, update_body
from loader.run.run import Run
from loader.send.changes import ChangeJob, Changer
from loader.send.control import Sender
from loader.send.observe import find_tasks
from loader.send.secrecy import resolve
from loader.state.events import TaskIdsFound
from loader.state.runstate import ChangeState


async def apply_changes(run: Run, sender: Sender) -> None:
    """Find unknown task ids, then settle every ready mutation exactly once (with the
    pass's limit in flight, which its creates use at the same time)."""
    if sender.control.stopping:  # stopped during the creates: resume applies the changes
        return
    missing = unfound(run.changes_named())
    if missing:
        await find_task_ids(run, sender, missing)
    jobs = change_jobs(run)
    if jobs:
        await Changer(sender).run(jobs)


def wanted(run: Run) -> list[tuple[Action, TaskChange]]:
    """Every change the diff and the options call for, whether its task is known or
    still to be found (what the run's retry budget covers)."""
    delta, options = run.changes_named(), run.options
    found: list[tuple[Action, TaskChange]] = [(Action.UPDATE, c) for c in delta.updates]
    if options.restart_failed:
        found += [(Action.START, c) for c in delta.restarts]
    if options.prune:
        action = Action.DELETE if options.prune == "delete" else Action.STOP
        found += [
            (action, c)
            for c in delta.removes
            if not (action == Action.STOP and c.entry.state == LedgerState.STOPPED)
        ]
    found += [(Action.DELETE, c) for c in delta.replaces.values()]
    return found


def unfound(delta: Delta) -> list[TaskChange]:
    """Changes whose task the ledger knows only by its batch (or without its name)."""
    changes = [*delta.updates, *delta.restarts, *delta.removes, *delta.replaces.values()]
    return [c for c in changes if not (c.entry.task_id and c.entry.task_name)]


async def find_task_ids(run: Run, sender: Sender, missing: list[TaskChange]) -> None:
    """Task ids (and names) of changes whose ledger entry knows only their batch: the
    names of their groups' video sources (ListVideoSources, 200 a page), then one
    ListTasks (1,000 a page) per batch joined by those names; ShowTaskInfo only for the
    tasks the names leave open that may be a changed camera's (never the rest of the
    batch: that was one request per task of an untouched camera). A camera with two
    tasks in one batch (two of its groups) stays unfound: its change is reported as not
    applied, never sent to the wrong task. A pass lists a batch once. ``missing``: the
    ``unfound`` changes of the run's named diff."""
    changes = [c for c in missing if c.entry.batch_id not in run.found.listed]
    batch_ids = {c.entry.batch_id for c in changes if c.entry.batch_id}
    if not batch_ids:
        return
    client, log = sender.client, structlog.get_logger()
    groups = {c.entry.group_id for c in changes}
    log.info("bulkload.tasks_finding", batches=len(batch_ids), groups=len(groups))
    try:
        names = await run.sources.of(client, groups)
    except SubmitError:
        if client.refused is not None:
            return
        names = {}  # ShowTaskInfo tells each task's video source instead
    sought: dict[str, set[str]] = {}
    for change in changes:
        sought.setdefault(change.entry.batch_id, set()).add(change.entry.video_source_id)
    concurrency = sender.options.concurrency
    found = await find_tasks(client, batch_ids, names, wanted=sought, concurrency=concurrency)
    rows = [  # the changes' own tasks: the rest of a batch is never looked at
        [b, s, task_id, name]
        for (b, s), (task_id, name) in found.items()
        if task_id and s in sought.get(b, ())
    ]
    tasks = sum(1 for task_id, _ in found.values() if task_id)
    log.info("bulkload.tasks_found", tasks=tasks, named=len(names))
    # Journaled before a change uses them: a resume reads them back (a replaced task,
    # once deleted, could no longer be found).
    await sender.emit(TaskIdsFound(batch_ids=sorted(batch_ids), tasks=rows))


def change_jobs(run: Run) -> list[ChangeJob]:
    """The unsettled, ready mutations with their bodies (secrets resolved)."""
    jobs = []
    for action, change in wanted(run):
        if not change.entry.task_id:  # a task not found (nor its batch) cannot be changed
            continue
        mutation = Mutation(action, change.entry.task_id, change.key, change.position)
        state = run.state.changes.get(mutation.id) or ChangeState()
        if state.settled or not _ready(run, mutation):
            continue
        if mutation.action != Action.UPDATE:
            jobs.append(ChangeJob(mutation, None, state))
            continue
        body = _update_body(run, mutation, change.entry.task_name)
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        content, used = resolve(text, run.options.environment)
        run.scrubber.add(used)
        sent = {k: v for k, v in masked(body).items() if k in UPDATED_FIELDS}
        jobs.append(ChangeJob(mutation, content, state, sent))
    return jobs


def _successor(run: Run, position: int) -> tuple[str, str]:
    """The task this run created for the camera at ``position``: (task id, state), or
    ("", "") while it is not known to exist."""
    batch = run.state.batches.get(run.batch_at.get(position, ""))
    camera = run.camera_at.get(position)
    if batch is None or camera is None or not batch.task_ids:
        return "", ""
    found = batch.task_ids.get(camera.video_source_id) or [("", "")]
    return found[0]


def _ready(run: Run, mutation: Mutation) -> bool:
    """A replace's delete waits for a successor that exists and has not failed."""
    if mutation.action != Action.DELETE or mutation.position not in run.delta.replaces:
        return True
    task_id, state = _successor(run, mutation.position)
    return bool(task_id) and state.upper() not in FAILED_TASK_STATES


def _update_body(run: Run, mutation: Mutation, name: str) -> dict[str, Any]:
    """UpdateTask's body for a camera row: the sheet's settings, the task's own name."""
    camera = run.camera_at[mutation.position]
    classes = run.loaded.checked.settings_classes
    settings = classes[camera.settings_class].task_settings
    return update_body(settings, camera.target_roi, name, camera.video_source_id)
