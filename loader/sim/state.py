"""
The simulated VIAS project: batches, their tasks, tokens, the request log, and the ground
truth tests count (how many tasks each camera holds, in which state, with which settings).
Thread-safe: the server mutates it on its own thread while tests read it from theirs.

States derive from ``clock`` (``loader.sim.lifecycle``); tasks whose delete has finished
leave ``tasks`` and their batch on the next call or read, and a deleted batch goes with
its last task, so every count is of what still exists.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from loader.sim.lifecycle import (
    RESTARTABLE_STATES,
    STARTED_STATES,
    TASK_STATES,
    Camera,
    SimBatch,
    SimTask,
    Timings,
    gone,
    phase,
)
from loader.sim.registry import Registry
from loader.sim.settings import (
    SETTING_FIELDS,
    SETTING_FIELDS_OPTIONAL,
    Settings,
    masked,
    settings_key,
    task_settings,
)

__all__ = [
    "SETTING_FIELDS",
    "SETTING_FIELDS_OPTIONAL",
    "TASK_STATES",
    "Camera",
    "LoggedRequest",
    "SimBatch",
    "SimState",
    "SimTask",
]

Refusal = str | None  # why the service does not allow an operation, or None: done
Held = tuple[str, str, str]  # a camera's task in the report: (settings key, state, task id)


class LoggedRequest(tuple[float, str, str, int]):
    """
    One API call as the gateway saw it on arrival. Unpacks as ``(at, method, path, status)``
    (``status`` is the refusal's, or 0 when it passed); ``request_id`` is its X-Request-Id.
    """

    request_id: str

    def __new__(cls, at: float, method: str, path: str, status: int, request_id: str) -> Self:
        entry = super().__new__(cls, (at, method, path, status))
        entry.request_id = request_id
        return entry

    @property
    def at(self) -> float:
        return self[0]

    @property
    def method(self) -> str:
        return self[1]

    @property
    def path(self) -> str:
        return self[2]

    @property
    def status(self) -> int:
        return self[3]


@dataclass
class SeenGroup:
    """A group a valid create body named: when first and last."""

    first: float
    last: float
    sources: set[str] = field(default_factory=set)


@dataclass
class SimState:
    """Everything the simulated project holds."""

    clock: Callable[[], float] = time.monotonic
    unknown_sources: frozenset[str] = frozenset()
    anonymous_errors: bool = False
    start_fail_percent: int = 5
    starting_after: float = 0.5
    running_after: float = 1.5
    stopping_after: float = 1.0
    deleting_after: float = 1.0
    abnormal_after: float = 3.0
    abnormal_sources: frozenset[str] = frozenset()
    always_fail_sources: frozenset[str] = frozenset()
    batches: dict[str, SimBatch] = field(default_factory=dict)
    tasks: dict[str, SimTask] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)  # valid now
    issued: list[str] = field(default_factory=list)  # every token IAM handed out
    requests: list[LoggedRequest] = field(default_factory=list)
    seen: set[Camera] = field(default_factory=set)  # cameras named by a valid create body
    groups: dict[str, SeenGroup] = field(default_factory=dict)  # groups named by one
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> task settings
    lock: threading.Lock = field(default_factory=threading.Lock)
    deleting: dict[str, SimTask] = field(default_factory=dict)  # tasks on their way out
    deleted_batches: dict[str, SimBatch] = field(default_factory=dict)  # and batches
    registry: Registry = field(default_factory=Registry)  # registered sources and groups
    registered_only: bool = False  # a task needs its source registered in its group

    @property
    def timings(self) -> Timings:
        return Timings(
            self.starting_after,
            self.running_after,
            self.stopping_after,
            self.deleting_after,
            self.abnormal_after,
            self.abnormal_sources,
        )

    # ---- creating -------------------------------------------------------------------------

    def create(self, body: dict[str, Any], hidden_for: float = 0.0) -> SimBatch:
        """Commit a validated body: a batch and one task per known camera."""
        now = self.clock()
        headers = (body["output"].get("webhook") or {}).get("headers") or {}
        groups = body["batch_input"]["video_source_group"]
        batch = SimBatch(
            uuid.uuid4().hex,
            body["name"],
            body["service_name"],
            now,
            [],
            [],
            dict(headers),
            visible_from=now + hidden_for,
            group_ids=tuple(dict.fromkeys(g["video_source_group_id"] for g in groups)),
        )
        for group in groups:
            for source in group["video_source_list"]:
                self._add_task(batch, body, group["video_source_group_id"], source)
        with self.lock:
            self.batches[batch.id] = batch
            for task in batch.tasks:
                self.tasks[task.id] = task
        return batch

    def _add_task(
        self, batch: SimBatch, body: dict[str, Any], group_id: str, source: dict[str, Any]
    ) -> None:
        """One camera of a batch: a task, or an error_list entry when the source is unknown."""
        source_id = source["video_source_id"]
        if source_id in self.unknown_sources:
            named = "a video source" if self.anonymous_errors else f"video source {source_id}"
            batch.failed.append(f"{named} does not exist (VIAS.00010002)")
            return
        if self.registered_only and not self.registry.admits(group_id, source_id):
            batch.failed.append(
                f"video source {source_id} is not registered in video group {group_id}"
                " (VIAS.00010002)"
            )
            return
        service = (body["service_name"], body["service_version"])
        batch.tasks.append(
            SimTask(
                uuid.uuid4().hex,
                batch.id,
                f"{body['name']}-{len(batch.tasks) + 1}",
                group_id,
                source_id,
                batch.created_at,
                _fails(source_id, self.start_fail_percent) or source_id in self.always_fail_sources,
                self._record(task_settings(body, service, source.get("target_roi"))),
                description=body.get("description", ""),
            )
        )

    def _record(self, settings: Settings) -> str:
        """Record one task's settings once (masked); the key is a hash of them."""
        key = settings_key(settings)
        with self.lock:
            self.settings.setdefault(key, masked(settings))
        return key

    def note_seen(self, body: dict[str, Any]) -> None:
        """Remember the cameras (and groups) a valid create body names, created or not."""
        now = self.clock()
        with self.lock:
            for group in body["batch_input"]["video_source_group"]:
                group_id = group["video_source_group_id"]
                seen = self.groups.setdefault(group_id, SeenGroup(now, now))
                seen.last = now
                for source in group["video_source_list"]:
                    seen.sources.add(source["video_source_id"])
                    self.seen.add((group_id, source["video_source_id"]))

    # ---- changing -------------------------------------------------------------------------

    def task(self, task_id: str) -> SimTask | None:
        """The task with this id, unless it is gone."""
        with self.lock:
            self._sweep()
            return self.tasks.get(task_id)

    def batch(self, batch_id: str) -> SimBatch | None:
        """The batch with this id, unless it is gone."""
        with self.lock:
            self._sweep()
            return self.batches.get(batch_id)

    def service_of(self, task: SimTask) -> tuple[str, str]:
        """The algorithm and version a task runs (an update cannot change them)."""
        known = self.settings[task.settings]
        return known["service_name"], known["service_version"]

    def update_task(
        self, task: SimTask, body: dict[str, Any], *, name: str | None, roi: str | None = None
    ) -> Refusal:
        """Replace a task's settings by a validated update body (``roi``: a batch entry's)."""
        if task.deleting_at is not None:
            return f"task {task.id} is being deleted"
        key = self._record(task_settings(body, self.service_of(task), roi))
        with self.lock:
            task.settings, task.changed_at = key, self.clock()
            task.description = body.get("description", "")
            task.name = name or task.name
        return None

    def delete_task(self, task: SimTask) -> Refusal:
        """DELETING from now on, gone ``deleting_after`` s later."""
        with self.lock:
            if task.deleting_at is not None:
                return f"task {task.id} is already being deleted"
            task.deleting_at = self.clock()
            self.deleting[task.id] = task
        return None

    def stop_task(self, task: SimTask) -> Refusal:
        """STOPPING from now on, STOPPED ``stopping_after`` s later; a stopped one: no-op."""
        with self.lock:
            state = self._phase(task)[0]
            if state == "DELETING":
                return f"task {task.id} is being deleted"
            if state not in ("STOPPING", "STOPPED"):
                task.stopped_at = self.clock()
        return None

    def start_task(self, task: SimTask) -> Refusal:
        """A stopped, failed or abnormal task starts over; a started one: no-op."""
        with self.lock:
            state = self._phase(task)[0]
            if state == "DELETING":
                return f"task {task.id} is being deleted"
            if state == "STOPPING":
                return f"task {task.id} is stopping: start it once it is STOPPED"
            if state in RESTARTABLE_STATES:
                task.stopped_at, task.started_at = None, self.clock()
                task.fails_to_start = task.video_source_id in self.always_fail_sources
        return None

    def delete_batch(self, batch: SimBatch) -> list[SimTask]:
        """Mark a batch deleted (it goes with its last task); its tasks, to delete each."""
        with self.lock:
            batch.deleting_at = self.clock()
            self.deleted_batches[batch.id] = batch
            return list(batch.tasks)

    def reconfigure_batch(self, batch: SimBatch, body: dict[str, Any]) -> list[SimTask]:
        """A batch's own fields from a validated update body; its tasks, to update each."""
        headers = (body["output"].get("webhook") or {}).get("headers") or {}
        with self.lock:
            batch.name, batch.webhook_headers = body["name"], dict(headers)
            return list(batch.tasks)

    def sweep(self) -> None:
        """Drop what has finished deleting (reads and calls do it on their own)."""
        with self.lock:
            self._sweep()

    def _sweep(self) -> None:
        """Drop tasks whose delete has finished, and deleted batches left without tasks."""
        now, timings = self.clock(), self.timings
        for task in [t for t in self.deleting.values() if gone(t, now, timings)]:
            del self.deleting[task.id]
            self.tasks.pop(task.id, None)
            batch = self.batches.get(task.batch_id)
            if batch is not None:
                batch.tasks = [t for t in batch.tasks if t is not task]
        for batch in list(self.deleted_batches.values()):
            since = batch.deleting_at
            if since is not None and not batch.tasks and now >= since + self.deleting_after:
                del self.batches[batch.id], self.deleted_batches[batch.id]

    # ---- reading --------------------------------------------------------------------------

    def _phase(self, task: SimTask) -> tuple[str, float]:
        return phase(task, self.clock(), self.timings)

    def state_of(self, task: SimTask) -> str:
        """A task's state now (``loader.sim.lifecycle``)."""
        return self._phase(task)[0]

    def since(self, task: SimTask) -> float:
        """When the task last changed: its state, or its settings by an update."""
        entered = self._phase(task)[1]
        return entered if task.changed_at is None else max(entered, task.changed_at)

    def visible_batches(self, lag: float) -> list[SimBatch]:
        """Batches a list call sees: past the read-after-write lag and committed, newest first."""
        now = self.clock()
        with self.lock:
            self._sweep()
            found = [
                b
                for b in self.batches.values()
                if now - b.created_at >= lag and now >= b.visible_from
            ]
        return sorted(found, key=lambda b: b.created_at, reverse=True)

    def visible_tasks(self, batch_id: str | None) -> list[SimTask]:
        """Tasks ListTasks shows (of one batch, or all): none of a batch lists cannot see yet."""
        now = self.clock()
        with self.lock:
            self._sweep()
            return [
                t
                for t in self.tasks.values()
                if batch_id in (None, t.batch_id) and now >= self.batches[t.batch_id].visible_from
            ]

    def log(self, method: str, path: str, status: int, request_id: str) -> None:
        """Record a request on arrival; ``status`` is the gateway's refusal, or 0 (passed)."""
        with self.lock:
            self._sweep()
            self.requests.append(LoggedRequest(self.clock(), method, path, status, request_id))

    def in_use(self, *, source_id: str = "", group_id: str = "") -> bool:
        """Whether a task (not being deleted) runs on the source, or in the group."""
        with self.lock:
            self._sweep()
            return any(
                t.deleting_at is None and (t.video_source_id == source_id or t.group_id == group_id)
                for t in self.tasks.values()
            )

    def task_counts(self) -> Counter[Camera]:
        """How many tasks (not being deleted) exist per (group, camera): the exactly-once truth."""
        with self.lock:
            self._sweep()
            return Counter(t.camera for t in self.tasks.values() if t.deleting_at is None)

    def names(self) -> Counter[str]:
        """How many batches exist per name."""
        with self.lock:
            self._sweep()
            return Counter(b.name for b in self.batches.values())

    def camera_report(self) -> dict[str, Any]:
        """
        Per camera seen or holding a task: its tasks (those being deleted apart), each one's
        settings and state; the cameras by task count, and the tasks by state.
        """
        with self.lock:
            self._sweep()
            by_camera: dict[Camera, list[Held]] = {camera: [] for camera in self.seen}
            deleting: Counter[Camera] = Counter()
            by_state: Counter[str] = Counter()
            for task in self.tasks.values():
                state = self._phase(task)[0]
                by_state[state] += 1
                held = by_camera.setdefault(task.camera, [])
                if state == "DELETING":
                    deleting[task.camera] += 1
                else:
                    held.append((task.settings, state, task.id))
            settings = dict(self.settings)
        buckets = Counter(min(len(held), 2) for held in by_camera.values())
        return {
            "cameras_by_task_count": {"0": buckets[0], "1": buckets[1], "2+": buckets[2]},
            "duplicated_cameras": buckets[2],
            "running_cameras": sum(1 for held in by_camera.values() if _started(held) == 1),
            "tasks_by_state": {state: by_state[state] for state in TASK_STATES},
            "cameras": [
                _camera_entry(camera, sorted(held), deleting[camera])
                for camera, held in sorted(by_camera.items())
            ],
            "settings": settings,
        }


def _started(held: list[Held]) -> int:
    """How many of a camera's tasks are running or on their way."""
    return sum(1 for _, state, _ in held if state in STARTED_STATES)


def _camera_entry(camera: Camera, held: list[Held], deleting: int) -> dict[str, Any]:
    """One camera of the report; ``settings``, ``states`` and ``task_ids`` align by index."""
    return {
        "group_id": camera[0],
        "video_source_id": camera[1],
        "tasks": len(held),
        "deleting": deleting,
        "settings": [key for key, _, _ in held],
        "states": [state for _, state, _ in held],
        "task_ids": [task_id for _, _, task_id in held],
    }


def _fails(source_id: str, percent: int) -> bool:
    """Whether a camera's task will fail to start (stable per camera id)."""
    return int(hashlib.sha256(source_id.encode()).hexdigest()[:8], 16) % 100 < percent
