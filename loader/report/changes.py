"""
The diff as people read it: the plan's counts and lists (``diff_data`` for ``--json`` and
plan.json, ``format_diff`` for a terminal), and the Changes sheet of the results workbook
(the statuses come from ``state.outcomes``). Pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import pandas as pd

from loader.model.cameras import Camera
from loader.model.changes import Change
from loader.planning.delta import Delta, TaskChange
from loader.state.outcomes import removed_status
from loader.state.runstate import RunState

SHOWN: Final = 20  # changes listed per kind in a terminal (plan.json lists all)
CHANGE_COLUMNS: Final = (
    "Change",
    "Status",
    "Group ID",
    "Video Source ID",
    "Service",
    "Task ID",
    "Field",
    "Old Value",
    "New Value",
    "Row",
    "Message",
)
_SIGNS: Final = {
    Change.CREATE: "+",
    Change.UPDATE: "~",
    Change.REPLACE: "-/+",
    Change.REMOVE: "-",
    Change.RESTART: ">",
    Change.UNCHANGED: "=",
}


def diff_data(
    delta: Delta,
    cameras: Sequence[Camera],
    rows: Mapping[int, int],
    inventory: str = "",
    *,
    creates: bool = True,
) -> dict[str, Any]:
    """The diff's counts and every change, JSON-ready; ``rows``: Excel row by position;
    ``inventory``: this sheet's file name (removals loaded by other files are named);
    ``creates``: False leaves the list of cameras to create empty (their count stays), for
    a reader that shows none of them."""

    def item(change: TaskChange) -> dict[str, Any]:
        group, source, service = change.key
        return {
            "group_id": group,
            "video_source_id": source,
            "service_name": service,
            "task_id": change.entry.task_id,
            "task_state": change.entry.task_state,
            "row": rows.get(change.position),
            "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in change.fields],
        }

    new = [c for c in delta.send if c.position not in delta.replaces] if creates else []
    return {
        "counts": {str(k): v for k, v in delta.counts().items()},
        "create": [
            {"group_id": c.group, "video_source_id": c.video_source_id, "row": rows.get(c.position)}
            for c in new
        ],
        "update": [item(c) for c in delta.updates],
        "replace": [item(c) for c in delta.replaces.values()],
        "remove": [item(c) for c in delta.removes],
        "remove_loaded_by": sorted(
            {c.entry.inventory for c in delta.removes if c.entry.inventory not in ("", inventory)}
        ),
        "restart": [item(c) for c in delta.restarts],
    }


def format_diff(data: Mapping[str, Any], *, prune: str = "", restart_failed: bool = False) -> str:
    """The diff as a plan people read before anything changes, like an infrastructure plan."""
    counts = data["counts"]
    remove_note = {
        "": "listed only: --prune stops them, --prune=delete deletes them",
        "stop": "stopped (--prune)",
        "delete": "deleted (--prune=delete)",
    }[prune]
    restart_note = (
        "started again" if restart_failed else "listed only: --restart-failed starts them"
    )
    lines = [
        f"  {_SIGNS[Change.CREATE]} {counts['create']:,} to create",
        f"  {_SIGNS[Change.UPDATE]} {counts['update']:,} to update in place",
        f"  {_SIGNS[Change.REPLACE]} {counts['replace']:,} to replace"
        " (a new task, then the old one deleted)",
        f"  {_SIGNS[Change.REMOVE]} {counts['remove']:,} to remove ({remove_note})",
        f"  {_SIGNS[Change.RESTART]} {counts['restart']:,} to restart ({restart_note})",
        f"  {_SIGNS[Change.UNCHANGED]} {counts['unchanged']:,} unchanged",
    ]
    held = [
        (counts.get("held_failed", 0), "failed earlier (--retry-failed sends them)"),
        (counts.get("held_unknown", 0), "of unknown outcome (resume or reconcile their run)"),
        (
            counts.get("held_changed", 0),
            "changed, but their tasks are not known (bulkload refresh)",
        ),
    ]
    others = data.get("remove_loaded_by") or []
    if others:
        lines.append(
            f"    (removals include tasks loaded by {', '.join(others)}: the same batch name"
            " prefix; sites sharing a project keep apart with a name_prefix each)"
        )
    lines += [f"    {n:,} held: {why}" for n, why in held if n]
    for kind in ("update", "replace", "remove", "restart"):
        items = data[kind]
        if not items:
            continue
        lines.append("")
        lines.append(f"{kind.capitalize()}:")
        for found in items[:SHOWN]:
            lines += list(_item_lines(kind, found))
        if len(items) > SHOWN:
            lines.append(f"  ... and {len(items) - SHOWN:,} more (plan.json lists them all)")
    return "\n".join(lines)


def _item_lines(kind: str, item: Mapping[str, Any]) -> Iterator[str]:
    """One change: the camera task, then one line per field."""
    where = f" (row {item['row']})" if item.get("row") else ""
    task = f" task {item['task_id']}" if item.get("task_id") else ""
    state = f" {item['task_state']}" if kind == "restart" and item.get("task_state") else ""
    sign = _SIGNS[Change(kind)]
    yield (
        f"  {sign} {item['group_id']} / {item['video_source_id']} / {item['service_name']}"
        f"{where}{task}{state}"
    )
    for field in item["fields"]:
        yield f"      {field['field']}: {field['old']} -> {field['new']}"


def changes_table(
    delta: Delta, state: RunState, status: Any, message: Any, rows: Mapping[int, int]
) -> pd.DataFrame:
    """The Changes sheet: one row per changed field of each camera task, and per removal."""
    records: list[tuple[Any, ...]] = []

    def add(change: TaskChange, outcome: str, text: str) -> None:
        group, source, service = change.key
        fields = change.fields or ()
        base = (str(change.change), outcome, group, source, service, change.entry.task_id)
        row = rows.get(change.position, math.nan)  # an empty number cell for removals
        if not fields:
            records.append((*base, "", "", "", row, text))
        for f in fields:
            records.append((*base, f.field, f.old, f.new, row, text))

    for change in [*delta.updates, *delta.replaces.values(), *delta.restarts]:
        add(change, str(status[change.position]), str(message[change.position]))
    for change in delta.removes:
        add(change, *removed_status(state, change))
    return pd.DataFrame(records, columns=list(CHANGE_COLUMNS))
