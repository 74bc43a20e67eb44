"""
The simulated VIAS project: batches, their tasks, tokens, and the ground truth tests count
(how many tasks each camera got). Thread-safe: the server mutates it on its own thread
while tests read it from theirs.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TASK_STATES = ("PENDING", "STARTING", "RUNNING", "START_FAILED")


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


@dataclass
class SimBatch:
    """One created batch."""

    id: str
    name: str
    service_name: str
    created_at: float
    tasks: list[SimTask]
    failed: list[str]
    webhook_headers: dict[str, str] = field(default_factory=dict)


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
    requests: list[tuple[float, str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, body: dict[str, Any]) -> SimBatch:
        """Commit a validated body: a batch and one task per known camera."""
        now = self.clock()
        headers = (body["output"].get("webhook") or {}).get("headers") or {}
        batch = SimBatch(
            uuid.uuid4().hex, body["name"], body["service_name"], now, [], [], dict(headers)
        )
        for group in body["batch_input"]["video_source_group"]:
            for source in group["video_source_list"]:
                source_id = source["video_source_id"]
                if source_id in self.unknown_sources:
                    named = (
                        "a video source" if self.anonymous_errors else f"video source {source_id}"
                    )
                    batch.failed.append(f"{named} does not exist (VIAS.00010002)")
                    continue
                task = SimTask(
                    uuid.uuid4().hex,
                    batch.id,
                    f"{body['name']}-{len(batch.tasks) + 1}",
                    group["video_source_group_id"],
                    source_id,
                    now,
                    _fails(source_id, self.start_fail_percent),
                )
                batch.tasks.append(task)
        with self.lock:
            self.batches[batch.id] = batch
            for task in batch.tasks:
                self.tasks[task.id] = task
        return batch

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
        """Batches a list call sees: those older than the read-after-write lag, newest first."""
        now = self.clock()
        with self.lock:
            found = [b for b in self.batches.values() if now - b.created_at >= lag]
        return sorted(found, key=lambda b: b.created_at, reverse=True)

    def log(self, method: str, path: str, status: int) -> None:
        """Record a request on arrival; ``status`` is the gateway's refusal, or 0 (passed)."""
        with self.lock:
            self.requests.append((self.clock(), method, path, status))

    def task_counts(self) -> Counter[tuple[str, str]]:
        """How many tasks exist per (group, camera): the exactly-once ground truth."""
        with self.lock:
            return Counter((t.group_id, t.video_source_id) for t in self.tasks.values())

    def names(self) -> Counter[str]:
        """How many batches exist per name."""
        with self.lock:
            return Counter(b.name for b in self.batches.values())


def _fails(source_id: str, percent: int) -> bool:
    """Whether a camera's task will fail to start (stable per camera id)."""
    return int(hashlib.sha256(source_id.encode()).hexdigest()[:8], 16) % 100 < percent
