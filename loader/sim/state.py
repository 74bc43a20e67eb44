"""
The simulated VIAS project: batches, their tasks, tokens, the request log, and the ground
truth tests count (how many tasks each camera got, with which settings). Thread-safe: the
server mutates it on its own thread while tests read it from theirs.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

TASK_STATES = ("PENDING", "STARTING", "RUNNING", "START_FAILED")
# The body fields that configure every task of a batch (with each camera's target_roi).
SETTING_FIELDS = ("service_name", "service_version", "schedule", "output", "config")
SETTING_FIELDS_OPTIONAL = ("resource_order_id",)

Camera = tuple[str, str]  # (video source group id, video source id)


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
class SimTask:
    """One task: a camera of a group entry of a batch."""

    id: str
    batch_id: str
    name: str
    group_id: str
    video_source_id: str
    created_at: float
    fails_to_start: bool
    settings: str = ""  # the key of its settings in SimState.settings


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


@dataclass
class SimState:
    """Everything the simulated project holds."""

    clock: Callable[[], float] = time.monotonic
    unknown_sources: frozenset[str] = frozenset()
    anonymous_errors: bool = False
    start_fail_percent: int = 5
    starting_after: float = 0.5
    running_after: float = 1.5
    batches: dict[str, SimBatch] = field(default_factory=dict)
    tasks: dict[str, SimTask] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)  # valid now
    issued: list[str] = field(default_factory=list)  # every token IAM handed out
    requests: list[LoggedRequest] = field(default_factory=list)
    seen: set[Camera] = field(default_factory=set)  # cameras named by a valid create body
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> task settings
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, body: dict[str, Any], hidden_for: float = 0.0) -> SimBatch:
        """Commit a validated body: a batch and one task per known camera."""
        now = self.clock()
        headers = (body["output"].get("webhook") or {}).get("headers") or {}
        batch = SimBatch(
            uuid.uuid4().hex,
            body["name"],
            body["service_name"],
            now,
            [],
            [],
            dict(headers),
            visible_from=now + hidden_for,
        )
        for group in body["batch_input"]["video_source_group"]:
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
        batch.tasks.append(
            SimTask(
                uuid.uuid4().hex,
                batch.id,
                f"{body['name']}-{len(batch.tasks) + 1}",
                group_id,
                source_id,
                batch.created_at,
                _fails(source_id, self.start_fail_percent),
                self._settings_key(body, source.get("target_roi")),
            )
        )

    def _settings_key(self, body: dict[str, Any], roi: str | None) -> str:
        """Record one task's settings once; the key is a hash of their canonical JSON."""
        settings = {k: body[k] for k in SETTING_FIELDS + SETTING_FIELDS_OPTIONAL if k in body}
        settings["target_roi"] = roi
        text = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        key = hashlib.sha256(text.encode()).hexdigest()[:12]
        with self.lock:
            self.settings.setdefault(key, _masked(settings))
        return key

    def note_seen(self, body: dict[str, Any]) -> None:
        """Remember the cameras a valid create body names, created or not."""
        cameras = {
            (group["video_source_group_id"], source["video_source_id"])
            for group in body["batch_input"]["video_source_group"]
            for source in group["video_source_list"]
        }
        with self.lock:
            self.seen |= cameras

    def delete(self, batch_id: str) -> SimBatch | None:
        """Remove a batch and its tasks."""
        with self.lock:
            batch = self.batches.pop(batch_id, None)
            for task in batch.tasks if batch else []:
                self.tasks.pop(task.id, None)
        return batch

    def state_of(self, task: SimTask) -> str:
        """A task's state now: PENDING, STARTING, then RUNNING or START_FAILED."""
        age = self.clock() - task.created_at
        if age < self.starting_after:
            return "PENDING"
        if age < self.running_after:
            return "STARTING"
        return "START_FAILED" if task.fails_to_start else "RUNNING"

    def visible_batches(self, lag: float) -> list[SimBatch]:
        """Batches a list call sees: past the read-after-write lag and committed, newest first."""
        now = self.clock()
        with self.lock:
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
            return [
                t
                for t in self.tasks.values()
                if batch_id in (None, t.batch_id) and now >= self.batches[t.batch_id].visible_from
            ]

    def log(self, method: str, path: str, status: int, request_id: str) -> None:
        """Record a request on arrival; ``status`` is the gateway's refusal, or 0 (passed)."""
        with self.lock:
            self.requests.append(LoggedRequest(self.clock(), method, path, status, request_id))

    def task_counts(self) -> Counter[Camera]:
        """How many tasks exist per (group, camera): the exactly-once ground truth."""
        with self.lock:
            return Counter((t.group_id, t.video_source_id) for t in self.tasks.values())

    def names(self) -> Counter[str]:
        """How many batches exist per name."""
        with self.lock:
            return Counter(b.name for b in self.batches.values())

    def camera_report(self) -> dict[str, Any]:
        """Per camera seen or holding a task: its task count and the settings of each task."""
        with self.lock:
            by_camera: dict[Camera, list[str]] = {camera: [] for camera in self.seen}
            for task in self.tasks.values():
                by_camera.setdefault((task.group_id, task.video_source_id), []).append(
                    task.settings
                )
            settings = dict(self.settings)
        buckets = Counter(min(len(keys), 2) for keys in by_camera.values())
        return {
            "cameras_by_task_count": {"0": buckets[0], "1": buckets[1], "2+": buckets[2]},
            "duplicated_cameras": buckets[2],
            "cameras": [
                {
                    "group_id": group_id,
                    "video_source_id": source_id,
                    "tasks": len(keys),
                    "settings": sorted(keys),
                }
                for (group_id, source_id), keys in sorted(by_camera.items())
            ],
            "settings": settings,
        }


def _masked(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings to show: webhook header values (often secrets) hidden, the rest as sent."""
    hook = (settings.get("output") or {}).get("webhook")
    if not isinstance(hook, dict) or not isinstance(hook.get("headers"), dict):
        return settings
    masked_hook = {**hook, "headers": dict.fromkeys(hook["headers"], "***")}
    return {**settings, "output": {**settings["output"], "webhook": masked_hook}}


def _fails(source_id: str, percent: int) -> bool:
    """Whether a camera's task will fail to start (stable per camera id)."""
    return int(hashlib.sha256(source_id.encode()).hexdigest()[:8], 16) % 100 < percent
