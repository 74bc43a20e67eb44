"""
What a sync changes: the diff's kinds (``Change``), the API calls that change a task that
exists (``Action``, ``Mutation``), and one field's old and new value (``FieldChange``).
Pure.

A camera task is a camera in a group under one algorithm (``LedgerKey``). Its task is
created by a batch (as before); every later change goes to the task itself, by its id:
UpdateTask, DeleteTask, StartStopTask. A mutation's ``id`` is stable (the action and the
task id), so a journal can say, across a resume, whether it was settled.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from loader.model.cameras import LedgerKey

NO_POSITION: Final = -1  # a camera task whose camera is no longer in the sheet


class Change(StrEnum):
    """What the diff says of one camera task."""

    CREATE = "create"  # the sheet wants it; the project has no task for it
    UPDATE = "update"  # a task exists with other settings an update can express
    REPLACE = "replace"  # another algorithm (or version): a new task, then the old one deleted
    UNCHANGED = "unchanged"  # a task exists with the sheet's settings
    REMOVE = "remove"  # a managed task whose camera left the sheet
    RESTART = "restart"  # the sheet wants it; its task is failed or stopped


class Action(StrEnum):
    """An API call that changes a task that exists."""

    UPDATE = "update"  # PUT /tasks/{id}: the whole new configuration
    DELETE = "delete"  # DELETE /tasks/{id}
    STOP = "stop"  # PUT /tasks/{id}/action/stop
    START = "start"  # PUT /tasks/{id}/action/start


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One setting that differs: its dotted path, and old and new values as text."""

    field: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Mutation:
    """One call that changes an existing task, settled exactly once.

    ``position`` is the camera's row (``NO_POSITION`` for a camera no longer in the sheet);
    an update's body is built from that row's settings when it is sent.
    """

    action: Action
    task_id: str
    key: LedgerKey
    position: int = NO_POSITION

    @property
    def id(self) -> str:
        """Stable across runs of the same plan: ``update:<task id>``."""
        return f"{self.action}:{self.task_id}"
