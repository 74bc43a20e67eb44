"""
The task ids a run found for its changes (``TaskIdsFound`` events), folded beside the plan:
the diff the run planned is never rewritten; its changes are read through ``named``, which
gives each change whose ledger entry knew only its batch the task id and name found.

A journal written before these events existed kept the ids in a rewritten ``diff.json``
instead: its changes are named already, and the fold adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from loader.planning.delta import Delta, TaskChange
from loader.state.events import Event, RunStarted, TaskIdsFound


class FoundTasks:
    """The fold of a run's ``TaskIdsFound`` events."""

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self.tasks: dict[tuple[str, str], tuple[str, str]] = {}  # (batch id, source) -> (id, name)
        self.listed: set[str] = set()  # batch ids listed since the run (re)started
        for event in events:
            self.apply(event)

    def apply(self, event: Event) -> None:
        """Fold one more event in; a pass lists a batch once (a resume lists it again)."""
        if isinstance(event, RunStarted):
            self.listed.clear()
        elif isinstance(event, TaskIdsFound):
            self.listed |= set(event.batch_ids)
            self.tasks |= {(b, s): (task_id, name) for b, s, task_id, name in event.tasks}

    def named(self, delta: Delta) -> Delta:
        """The diff's changes with the task ids (and names) found: a new diff, the plan's
        own unchanged; the journal's ids, the results and the ledger read this one."""
        if not self.tasks:
            return delta
        return replace(
            delta,
            updates=[self._named(c) for c in delta.updates],
            restarts=[self._named(c) for c in delta.restarts],
            removes=[self._named(c) for c in delta.removes],
            replaces={at: self._named(c) for at, c in delta.replaces.items()},
        )

    def _named(self, change: TaskChange) -> TaskChange:
        """The change, its entry naming the task found (what the entry knew stands)."""
        entry = change.entry
        task_id, name = self.tasks.get((entry.batch_id, entry.video_source_id), ("", ""))
        if (entry.task_id and entry.task_name) or not task_id:
            return change
        named = entry._replace(task_id=entry.task_id or task_id, task_name=entry.task_name or name)
        return replace(change, entry=named)
