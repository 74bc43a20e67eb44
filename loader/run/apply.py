"""
Applying the diff's changes to tasks that exist, after the run's creates: updates,
restarts (``--restart-failed``), removals (``--prune``: stop, or delete) and the second
half of each replace (the old task is deleted only once its successor exists and has not
failed, so a camera is never left uncovered). Every change is one ``Mutation`` that the
``Changer`` settles exactly once. Tasks the ledger knows by batch only (a load records
its batches, not its task ids: they are learned here, when a change needs them) are found
first: ListVideoSources for the names of their groups' cameras, ListTasks of their
batches joined by those names, ShowTaskInfo for what the names leave open. [I/O: HTTP]
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import structlog

from loader.errors import SubmitError
from loader.model.cameras import Camera, LedgerState
from loader.model.changes import Action, Mutation
from loader.model.vias import FAILED_TASK_STATES, UPDATED_FIELDS
from loader.planning.delta import TaskChange, to_data
from loader.planning.documents import masked, update_body
from loader.report import files
from loader.run.context import RunContext
from loader.send.changes import ChangeJob, Changer
from loader.send.client import ViasClient
from loader.send.engine import RunControl, SubmitOptions
from loader.send.observe import find_tasks
from loader.send.pacing import AdaptiveLimit, Clock
from loader.send.secrecy import resolve
from loader.state.events import Emit
from loader.state.rundir import DIFF
from loader.state.runstate import ChangeState


class Applier:
    """The mutations of one run's diff, and what each needs to be sent."""

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.cameras: dict[int, Camera] = {c.position: c for c in context.loaded.checked.cameras}
        self.batch_of: dict[int, str] = {
            c.position: b.name
            for b in context.planned.batches
            for e in b.entries
            for c in e.cameras
        }
        self.found: dict[tuple[str, str], tuple[str, str]] = {}  # (batch id, source) -> (id, name)
        self.sought: set[str] = set()  # batch ids whose tasks were listed: once a run

    def wanted(self) -> list[tuple[Action, TaskChange]]:
        """Every change the diff and the options call for, whether its task is known or
        still to be found (what the run's retry budget covers)."""
        delta, options = self.context.delta, self.context.options
        wanted: list[tuple[Action, TaskChange]] = [(Action.UPDATE, c) for c in delta.updates]
        if options.restart_failed:
            wanted += [(Action.START, c) for c in delta.restarts]
        if options.prune:
            action = Action.DELETE if options.prune == "delete" else Action.STOP
            wanted += [
                (action, c)
                for c in delta.removes
                if not (action == Action.STOP and c.entry.state == LedgerState.STOPPED)
            ]
        wanted += [(Action.DELETE, c) for c in delta.replaces.values()]
        return wanted

    def changes(self) -> list[tuple[Mutation, TaskChange]]:
        """The mutations of the wanted changes whose task is known, each with its change."""
        return [
            (Mutation(action, c.entry.task_id, c.key, c.position), c)
            for action, c in self.wanted()
            if c.entry.task_id  # a task not found (nor its batch) cannot be changed
        ]

    def successor(self, position: int) -> tuple[str, str]:
        """The task this run created for the camera at ``position``: (task id, state), or
        ("", "") while it is not known to exist."""
        batch = self.context.state.batches.get(self.batch_of.get(position, ""))
        camera = self.cameras.get(position)
        if batch is None or camera is None or not batch.task_ids:
            return "", ""
        found = batch.task_ids.get(camera.video_source_id) or [("", "")]
        return found[0]

    def ready(self, mutation: Mutation) -> bool:
        """A replace's delete waits for a successor that exists and has not failed."""
        if mutation.action != Action.DELETE or mutation.position not in self.context.delta.replaces:
            return True
        task_id, state = self.successor(mutation.position)
        return bool(task_id) and state.upper() not in FAILED_TASK_STATES

    def unfound(self) -> list[TaskChange]:
        """Changes whose task the ledger knows only by its batch (or without its name)."""
        return [c for c in self._all_changes() if not (c.entry.task_id and c.entry.task_name)]

    async def find_tasks(self, client: ViasClient) -> None:
        """Task ids (and names) of changes whose ledger entry knows only their batch: the
        names of their groups' video sources (ListVideoSources, 200 a page), then one
        ListTasks (1,000 a page) per batch joined by those names; ShowTaskInfo only for the
        tasks the names leave open that may be a changed camera's (never the rest of the
        batch: that was one request per task of an untouched camera). A camera with two
        tasks in one batch (two of its groups) stays unfound: its change is reported as not
        applied, never sent to the wrong task."""
        unfound = [c for c in self.unfound() if c.entry.batch_id not in self.sought]
        batch_ids = {c.entry.batch_id for c in unfound if c.entry.batch_id}
        if not batch_ids:
            return
        self.sought |= batch_ids  # a second pass (a replace's deletes) does not list again
        log = structlog.get_logger()
        groups = {c.entry.group_id for c in unfound}
        log.info("bulkload.tasks_finding", batches=len(batch_ids), groups=len(groups))
        try:
            names = await self.context.sources.of(client, groups)
        except SubmitError:
            if client.refused is not None:
                return
            names = {}  # ShowTaskInfo tells each task's video source instead
        wanted: dict[str, set[str]] = {}
        for change in unfound:
            wanted.setdefault(change.entry.batch_id, set()).add(change.entry.video_source_id)
        concurrency = self.context.options.pacing.concurrency
        found = await find_tasks(client, batch_ids, names, wanted=wanted, concurrency=concurrency)
        self.found = {key: task for key, task in found.items() if task[0]}
        log.info("bulkload.tasks_found", tasks=len(self.found), named=len(names))
        self._adopt_found()

    def _adopt_found(self) -> None:
        """The diff's changes with the task ids (and names) found: from here on, a change's
        entry names its task, for the journal's ids, the results and the ledger alike."""
        delta = self.context.delta

        def known(change: TaskChange) -> TaskChange:
            entry = change.entry
            task_id, name = self.found.get((entry.batch_id, entry.video_source_id), ("", ""))
            if (entry.task_id and entry.task_name) or not task_id:
                return change
            named = entry._replace(
                task_id=entry.task_id or task_id, task_name=entry.task_name or name
            )
            return replace(change, entry=named)

        delta.updates = [known(c) for c in delta.updates]
        delta.restarts = [known(c) for c in delta.restarts]
        delta.removes = [known(c) for c in delta.removes]
        delta.replaces = {at: known(c) for at, c in delta.replaces.items()}

    def _all_changes(self) -> Iterable[TaskChange]:
        delta = self.context.delta
        return [*delta.updates, *delta.restarts, *delta.removes, *delta.replaces.values()]

    def jobs(self) -> list[ChangeJob]:
        """The unsettled, ready mutations with their bodies (secrets resolved)."""
        context = self.context
        jobs = []
        for mutation, change in self.changes():
            state = context.state.changes.get(mutation.id) or ChangeState()
            if state.settled or not self.ready(mutation):
                continue
            if mutation.action != Action.UPDATE:
                jobs.append(ChangeJob(mutation, None, state))
                continue
            body = self._update_body(mutation, change.entry.task_name)
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            content, used = resolve(text, context.options.environment)
            context.scrubber.add(used)
            wanted = {k: v for k, v in masked(body).items() if k in UPDATED_FIELDS}
            jobs.append(ChangeJob(mutation, content, state, wanted))
        return jobs

    def _update_body(self, mutation: Mutation, name: str) -> dict[str, Any]:
        """UpdateTask's body for a camera row: the sheet's settings, the task's own name."""
        camera = self.cameras[mutation.position]
        classes = self.context.loaded.checked.settings_classes
        settings = classes[camera.settings_class].task_settings
        return update_body(settings, camera.target_roi, name, camera.video_source_id)

    async def apply(
        self,
        client: ViasClient,
        emit: Emit,
        clock: Clock,
        options: SubmitOptions,
        control: RunControl,
        limit: AdaptiveLimit | None = None,
    ) -> None:
        """Find unknown task ids, then settle every ready mutation exactly once (``limit``:
        the run's room in flight, which its creates use at the same time)."""
        if control.stopping:  # stopped during the creates: resume applies the changes
            return
        if self.unfound():
            await self.find_tasks(client)
            # The plan now names those tasks: a resume must not have to find them again
            # (a replaced task, once deleted, could no longer be found).
            files.write_json(self.context.run_dir / DIFF, to_data(self.context.delta), compact=True)
        jobs = self.jobs()
        if jobs:
            await Changer(client, emit, clock, options, control, limit=limit).run(jobs)
