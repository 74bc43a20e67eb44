"""Camera rows' statuses after a sync's changes, and the plan as text (pure)."""

from __future__ import annotations

import numpy as np

from loader.model.cameras import LedgerEntry
from loader.model.changes import Change, FieldChange
from loader.planning.delta import Delta, TaskChange
from loader.report.changes import format_diff
from loader.state.events import ChangeDone, ChangeRefused, ChangeSending
from loader.state.outcomes import overlay
from loader.state.runstate import RunState

KEY = ("g1", "cam-1", "c-smoke")


def _entry(task_id: str) -> LedgerEntry:
    return LedgerEntry(*KEY, "fp", "loaded", "r1", "site-0123456789ab", "b1", task_id=task_id)


def _rows(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.full(count, "", dtype=object) for _ in range(3))  # type: ignore[return-value]


def test_updates_end_updated_failed_unknown_or_not_found() -> None:
    fields = (FieldChange("description", "(none)", "gate"),)
    delta = Delta(
        send=[],
        updates=[
            TaskChange(Change.UPDATE, KEY, _entry("t0"), 0, fields),
            TaskChange(Change.UPDATE, KEY, _entry("t1"), 1, fields),
            TaskChange(Change.UPDATE, KEY, _entry("t2"), 2, fields),
            TaskChange(Change.UPDATE, KEY, _entry(""), 3, fields),
        ],
    )
    state = RunState()
    for event in (
        ChangeSending(change="update:t0", action="update", task_id="t0", attempt=1),
        ChangeDone(change="update:t0"),
        ChangeSending(change="update:t1", action="update", task_id="t1", attempt=1),
        ChangeRefused(change="update:t1", status=400, code="VIAS.00010001", message="bad"),
        ChangeSending(change="update:t2", action="update", task_id="t2", attempt=1),
    ):
        state.apply(event)
    status, message, task_state = _rows(4)

    overlay(status, message, task_state, delta, state)

    assert status.tolist() == ["updated", "failed", "unknown", "failed"]
    assert message[0] == "task t0: description"
    assert message[2] == "update of task t2 not settled: bulkload resume"
    assert message[3].startswith("its task was not found in batch site-0123456789ab")


def test_the_plan_reads_like_an_infrastructure_plan() -> None:
    data = {
        "counts": {
            "create": 2,
            "update": 1,
            "replace": 0,
            "remove": 1,
            "restart": 0,
            "unchanged": 5,
        },
        "update": [
            {
                "group_id": "g1",
                "video_source_id": "cam-1",
                "service_name": "c-smoke",
                "task_id": "t1",
                "task_state": "RUNNING",
                "row": 3,
                "fields": [
                    {
                        "field": "schedule",
                        "old": "Mon-Fri 08:00-18:00",
                        "new": "Mon-Fri 09:00-17:00",
                    }
                ],
            }
        ],
        "replace": [],
        "remove": [
            {
                "group_id": "g1",
                "video_source_id": "cam-9",
                "service_name": "c-smoke",
                "task_id": "t9",
                "task_state": "RUNNING",
                "row": None,
                "fields": [],
            }
        ],
        "restart": [],
    }

    assert format_diff(data, prune="stop").splitlines() == [
        "  + 2 to create",
        "  ~ 1 to update in place",
        "  -/+ 0 to replace (a new task, then the old one deleted)",
        "  - 1 to remove (stopped (--prune))",
        "  > 0 to restart (listed only: --restart-failed starts them)",
        "  = 5 unchanged",
        "",
        "Update:",
        "  ~ g1 / cam-1 / c-smoke (row 3) task t1",
        "      schedule: Mon-Fri 08:00-18:00 -> Mon-Fri 09:00-17:00",
        "",
        "Remove:",
        "  - g1 / cam-9 / c-smoke task t9",
    ]
