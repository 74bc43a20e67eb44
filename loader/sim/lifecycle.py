"""
A simulated task's life on the state's clock, derived from a few instants rather than
stored as a state, so that tests move time and read states without anything running.

From its create or its last start (``started_at``): PENDING, STARTING ``starting_after`` s
later, then at ``running_after`` RUNNING, or START_FAILED when it fails to start; a source in
``abnormal_sources`` turns ABNORMAL ``abnormal_after`` s after RUNNING. A stop (``stopped_at``)
shows STOPPING for ``stopping_after`` s, then STOPPED. A delete (``deleting_at``) shows
DELETING for ``deleting_after`` s; then the task is gone and the state drops it. The
transitions between states are not documented (research notes section 6); these are ours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Every state the simulator produces, in the order the SDK lists them.
TASK_STATES = (
    "PENDING",
    "STARTING",
    "START_FAILED",
    "RUNNING",
    "STOPPING",
    "STOPPED",
    "ABNORMAL",
    "DELETING",
)
# BatchTaskStatusInfoDto's counters, as the SDK lists them; upper-cased, ListTasks' task_state.
STATUS_INFO_KEYS = (
    "pending",
    "recovering",
    "starting",
    "upgrading",
    "create_failed",
    "start_failed",
    "running",
    "stopping",
    "stopped",
    "abnormal",
    "succeeded",
    "failed",
    "deleting",
    "freezing",
    "frozen",
    "stopped_no_service",
    "scheduling",
    "lack_of_resources",
)
STARTED_STATES = ("PENDING", "STARTING", "RUNNING")  # running, or on its way there
RESTARTABLE_STATES = ("STOPPED", "START_FAILED", "ABNORMAL")  # what a start brings back

Camera = tuple[str, str]  # (video source group id, video source id)


@dataclass
class SimTask:
    """One task: a camera of a group entry of a batch, and the instants that give its state."""

    id: str
    batch_id: str
    name: str
    group_id: str
    video_source_id: str
    created_at: float
    fails_to_start: bool
    settings: str = ""  # the key of its settings in SimState.settings
    started_at: float = math.nan  # its create (set from created_at) or its last start
    stopped_at: float | None = None
    deleting_at: float | None = None
    changed_at: float | None = None  # its last UpdateTask or UpdateBatchTask
    description: str = ""

    def __post_init__(self) -> None:
        if math.isnan(self.started_at):
            self.started_at = self.created_at

    @property
    def camera(self) -> Camera:
        return (self.group_id, self.video_source_id)


@dataclass
class SimBatch:
    """One created batch; list calls show it from ``visible_from`` on (slow commits)."""

    id: str
    name: str
    service_name: str
    created_at: float
    tasks: list[SimTask]
    failed: list[str]
    webhook_headers: dict[str, str] = field(default_factory=dict)
    visible_from: float = 0.0
    group_ids: tuple[str, ...] = ()  # the groups its create body named, in order
    deleting_at: float | None = None  # DeleteBatchTask: gone with its last task


@dataclass(frozen=True)
class Timings:
    """How long each state lasts, and which sources misbehave."""

    starting_after: float
    running_after: float
    stopping_after: float
    deleting_after: float
    abnormal_after: float
    abnormal_sources: frozenset[str]


def phase(task: SimTask, now: float, timings: Timings) -> tuple[str, float]:
    """The task's state at ``now``, and the instant it entered that state."""
    if task.deleting_at is not None:
        return "DELETING", task.deleting_at
    if task.stopped_at is not None:
        stopped = task.stopped_at + timings.stopping_after
        return ("STOPPED", stopped) if now >= stopped else ("STOPPING", task.stopped_at)
    begun = task.started_at
    if now - begun < timings.starting_after:
        return "PENDING", begun
    if now - begun < timings.running_after:
        return "STARTING", begun + timings.starting_after
    running = begun + timings.running_after
    if task.fails_to_start:
        return "START_FAILED", running
    abnormal = running + timings.abnormal_after
    if task.video_source_id in timings.abnormal_sources and now >= abnormal:
        return "ABNORMAL", abnormal
    return "RUNNING", running


def gone(task: SimTask, now: float, timings: Timings) -> bool:
    """Whether a deleted task has finished deleting."""
    return task.deleting_at is not None and now >= task.deleting_at + timings.deleting_after
