"""
The results of a run as tables, one row per input row: a projection of the checked
inventory, the plan, the ledger's verdicts and the journal's fold. The workbook writer
only renders it. Pure.

Status of a camera row (``model.cameras.CameraStatus``): ``loaded``, ``failed``, ``rejected``,
``duplicate``, ``unchanged``, ``changed``, ``unknown`` or ``held`` (a failed canary kept it).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from loader.check.inventory import ROW, SHEET
from loader.check.load import Loaded
from loader.check.mapping import SETTINGS_FIELDS
from loader.check.validate import STATUS, default_texts
from loader.model.cameras import STATUSES, CameraStatus, LedgerEntry, RowStatus
from loader.model.problems import Severity
from loader.model.vias import FAILED_TASK_STATES
from loader.planning.batches import Batch, Plan
from loader.planning.delta import Delta, Earlier
from loader.report.changes import CHANGE_COLUMNS
from loader.report.summaries import schedule_text
from loader.state.events import CanaryFailed
from loader.state.runstate import BatchState, BatchStatus, RunState

RESULT_COLUMNS: Final = ("Status", "Batch", "Batch ID", "Task State", "Message", "Source Row")
API_PREFIX: Final = "api."
NAN: Final = float("nan")  # an empty number cell
_ID_TOKEN = re.compile(r"[A-Za-z0-9_.:-]+")


@dataclass
class Outcomes:
    """Per input row (by position): status, batch, batch id, task state, message."""

    status: np.ndarray
    batch: np.ndarray
    batch_id: np.ndarray
    task_state: np.ndarray
    message: np.ndarray

    @classmethod
    def empty(cls, rows: int) -> Outcomes:
        return cls(*(np.full(rows, "", dtype=object) for _ in range(5)))

    def set(
        self,
        position: int,
        status: str,
        batch: str = "",
        batch_id: str = "",
        task_state: str = "",
        message: str = "",
    ) -> None:
        self.status[position] = status
        self.batch[position], self.batch_id[position] = batch, batch_id
        self.task_state[position], self.message[position] = task_state, message

    def counts(self) -> dict[str, int]:
        found = Counter(self.status.tolist())
        return {s: found.get(s, 0) for s in STATUSES}


@dataclass
class Results:
    """Everything the results workbook shows."""

    facts: list[tuple[str, str]]
    counts: dict[str, int]
    cameras: pd.DataFrame
    groups: pd.DataFrame
    batches: pd.DataFrame
    problems: pd.DataFrame
    not_in_sheet: pd.DataFrame
    original_columns: list[str] = field(default_factory=list)
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)  # the Changes sheet


def outcomes(loaded: Loaded, planned: Plan, delta: Delta, state: RunState) -> Outcomes:
    """Each input row's outcome."""
    checked = loaded.checked
    result = Outcomes.empty(len(checked.rows))
    _from_validation(result, loaded)
    for position, (earlier, entry) in delta.held.items():
        result.set(
            position, earlier.value, entry.batch, entry.batch_id, "", _held_message(earlier, entry)
        )
    held = {b.name for b in state.held()}
    for batch in planned.batches:
        outcome_of_batch(result, batch, state, held=batch.name in held)
    return result


def outcome_of_batch(result: Outcomes, batch: Batch, state: RunState, *, held: bool) -> None:
    """The outcome of each camera of one planned batch, as the run knows it now (``held``:
    the batch is one a failed canary keeps back)."""
    batch_state = state.batches.get(batch.name)
    cameras = [c for e in batch.entries for c in e.cameras]
    if batch_state is None:
        for camera in cameras:
            result.set(camera.position, CameraStatus.UNKNOWN, batch.name, message="not sent yet")
        return
    if held and isinstance(state.verdict, CanaryFailed):
        note = canary_note(state.verdict)
        for camera in cameras:
            result.set(camera.position, CameraStatus.HELD, batch.name, message=note)
        return
    _from_batch(result, batch_state, [(c.position, c.video_source_id) for c in cameras])


def _from_validation(result: Outcomes, loaded: Loaded) -> None:
    """Rejected and duplicate rows, with their first error (or the duplicate's note)."""
    statuses = loaded.checked.rows[STATUS].to_numpy()
    sheets = loaded.checked.rows[SHEET].to_numpy()
    rows = loaded.checked.rows[ROW].to_numpy()
    notes: dict[tuple[str, int], str] = {}
    for problem in loaded.checked.problems:
        if problem.row is not None and problem.severity != Severity.INFO:
            key = (problem.sheet, problem.row)
            if key not in notes or (
                problem.severity == Severity.ERROR and not notes[key].startswith("E")
            ):
                notes[key] = ("E" if problem.severity == Severity.ERROR else "W") + problem.message
    for position, status in enumerate(statuses):
        if status == RowStatus.REJECTED.value or status == RowStatus.DUPLICATE.value:
            note = notes.get((str(sheets[position]), int(rows[position])), " ")[1:]
            result.set(position, str(status), message=note)


def _held_message(earlier: Earlier, entry: LedgerEntry) -> str:
    """Why a camera task was not sent this time."""
    if earlier == Earlier.UNCHANGED:
        return f"loaded by run {entry.run}; same settings"
    if earlier == Earlier.CHANGED:
        return (
            f"loaded by run {entry.run} with other settings, but its task is not known:"
            " bulkload refresh learns it, then the next run updates it"
        )
    if earlier == Earlier.UNKNOWN:
        return (
            f"sent by run {entry.run}, outcome not known yet: bulkload resume (or reconcile)"
            " that run; it is not sent again meanwhile"
        )
    return f"failed in run {entry.run}: {entry.message}; fix it, then run with --retry-failed"


def canary_note(verdict: CanaryFailed) -> str:
    """Why a camera was held back by a failed canary, and what sends it."""
    if verdict.final:
        then = "fix that, then run the sheet again (--retry-failed resends the canary's cameras)"
    else:
        then = "bulkload resume checks the canary's tasks again and sends this once all run"
    return f"not sent: the canary failed: {verdict.reason}; {then}"


def _from_batch(result: Outcomes, batch: BatchState, cameras: list[tuple[int, str]]) -> None:
    """The outcome of each camera of one sent batch."""
    name, batch_id = batch.name, batch.batch_id
    if batch.status == BatchStatus.REJECTED:
        # Refused itself, or never sent once the API refused the run for good (gave_up).
        reason = batch.gave_up or f"the API refused the batch: {batch.message}"
        for position, _ in cameras:
            result.set(position, CameraStatus.FAILED, name, "", "", reason)
        return
    if batch.status != BatchStatus.ACCEPTED:
        note = batch.gave_up or "not settled"
        for position, _ in cameras:
            result.set(
                position, CameraStatus.UNKNOWN, name, "", "", f"{note}; bulkload resume settles it"
            )
        return
    if batch.tasks is not None:
        _from_tasks(result, batch, cameras)
        return
    named = attribute_errors(batch.error_list, {source for _, source in cameras})
    unexplained = max(batch.failed - len(named), 0)
    for position, source in cameras:
        if source in named:
            result.set(position, CameraStatus.FAILED, name, batch_id, "", named[source])
        elif unexplained and batch.failed >= batch.total > 0:
            result.set(
                position,
                CameraStatus.FAILED,
                name,
                batch_id,
                "",
                "; ".join(batch.error_list) or "failed",
            )
        elif unexplained:
            result.set(
                position,
                CameraStatus.UNKNOWN,
                name,
                batch_id,
                "",
                f"{batch.failed} of {batch.total or 'its'} cameras failed and the API did not"
                " say which;"
                " bulkload reconcile asks it",
            )
        else:
            note = "found by name after an unclear answer" if batch.found_by_lookup else ""
            result.set(position, CameraStatus.LOADED, name, batch_id, "", note)


def _from_tasks(result: Outcomes, batch: BatchState, cameras: list[tuple[int, str]]) -> None:
    """Outcomes from observed tasks: a camera with no task failed to be created.

    Only when the API shows at least as many tasks as it said it created: a shorter list
    may still be filling, and its missing cameras are ``unknown``, not failed.
    """
    tasks = {source: list(found) for source, found in (batch.tasks or {}).items()}
    named = attribute_errors(batch.error_list, {source for _, source in cameras})
    seen = sum(len(found) for found in tasks.values())
    created = batch.total - batch.failed if batch.total else len(cameras) - len(named)
    complete = seen >= created
    for position, source in cameras:
        found = tasks.get(source) or []
        if not found and (source in named or complete):
            reason = named.get(source, "no task was created for this camera")
            result.set(position, CameraStatus.FAILED, batch.name, batch.batch_id, "", reason)
            continue
        if not found:
            result.set(
                position,
                CameraStatus.UNKNOWN,
                batch.name,
                batch.batch_id,
                "",
                f"the API lists {seen} of {created} tasks so far; bulkload reconcile later",
            )
            continue
        task_id, task_state = found.pop(0)
        failed_state = batch.judge_states and task_state.upper() in FAILED_TASK_STATES
        status = CameraStatus.FAILED if failed_state else CameraStatus.LOADED
        message = f"task {task_id} is {task_state}" if status == CameraStatus.FAILED else ""
        result.set(position, status, batch.name, batch.batch_id, task_state, message)


def attribute_errors(error_list: Sequence[str], sources: set[str]) -> dict[str, str]:
    """error_list entries that name a camera of the batch: source id -> message."""
    named: dict[str, str] = {}
    for message in error_list:
        for token in _ID_TOKEN.findall(message):
            if token in sources:
                named.setdefault(token, message)
    return named


def build(
    loaded: Loaded,
    planned: Plan,
    state: RunState,
    result: Outcomes,
    facts: list[tuple[str, str]],
    not_in_sheet: Sequence[LedgerEntry] = (),
    changes: pd.DataFrame | None = None,
    static: CameraColumns | None = None,
) -> Results:
    """All the tables of the results workbook, around the outcomes ``outcomes`` computed
    (``static``: the Cameras columns ``camera_columns`` made, if made already)."""
    cameras, original = _cameras(loaded, result, static)
    return Results(
        facts=facts,
        counts=result.counts(),
        cameras=cameras,
        groups=_groups(loaded, result),
        batches=_batches(planned, state),
        problems=pd.DataFrame(
            [p.as_dict() for p in loaded.checked.problems],
            columns=[
                "severity",
                "code",
                "file",
                "sheet",
                "row",
                "column",
                "value",
                "message",
                "fix",
            ],
        ),
        not_in_sheet=pd.DataFrame(
            [
                (
                    e.group_id,
                    e.video_source_id,
                    e.service_name,
                    e.state,
                    e.run,
                    e.batch,
                    e.batch_id,
                    e.at,
                )
                for e in not_in_sheet
            ],
            columns=[
                "Group ID",
                "Video Source ID",
                "Service",
                "Ledger State",
                "Run",
                "Batch",
                "Batch ID",
                "Recorded",
            ],
        ),
        original_columns=original,
        changes=changes if changes is not None else pd.DataFrame(columns=list(CHANGE_COLUMNS)),
    )


@dataclass(frozen=True)
class CameraColumns:
    """The Cameras sheet's columns that no outcome changes: the input's own (``original``),
    then after the result columns, the source row and the fields as resolved
    (``trailing``). A run makes them while it waits on the network."""

    original: pd.DataFrame
    trailing: dict[str, object]

    def named(self) -> dict[str, object]:
        """Every column by name, in the sheet's order (the result columns left out)."""
        return {**{str(name): self.original[name] for name in self.original}, **self.trailing}


def camera_columns(loaded: Loaded) -> CameraColumns:
    """The Cameras sheet's columns that come from the inventory alone."""
    parts = []
    for table in loaded.cameras.tables:
        headers = _unique_headers(table.headers, table.body.shape[1])
        parts.append(pd.DataFrame(table.body.to_numpy(dtype=object), columns=headers))
    original = pd.concat(parts, ignore_index=True).fillna("") if parts else pd.DataFrame()
    rows = loaded.checked.rows
    sources = [f"{s}!{r}" for s, r in zip(rows[SHEET].tolist(), rows[ROW].tolist(), strict=True)]
    trailing: dict[str, object] = {"Source Row": sources}
    for name in ("video_source_id", "group", "target_roi", "camera_name"):
        if name in rows.columns:
            trailing[API_PREFIX + name] = rows[name].to_numpy(dtype=object)
    trailing[API_PREFIX + "settings"] = task_settings_json(rows, default_texts(loaded.mapping))
    return CameraColumns(original, trailing)


def _cameras(
    loaded: Loaded, result: Outcomes, static: CameraColumns | None
) -> tuple[pd.DataFrame, list[str]]:
    """Original columns of every camera row, the result columns, then the resolved fields."""
    static = static or camera_columns(loaded)
    columns: dict[str, object] = {
        "Status": result.status,
        "Batch": result.batch,
        "Batch ID": result.batch_id,
        "Task State": result.task_state,
        "Message": result.message,
        **static.trailing,
    }
    frame = pd.concat([static.original, pd.DataFrame(columns)], axis=1)
    return frame, list(static.original.columns)


def task_settings_json(rows: pd.DataFrame, defaults: Mapping[str, str]) -> np.ndarray:
    """Each row's resolved settings as one JSON object (computed once per distinct row)."""
    present = [f for f in SETTINGS_FIELDS if f in rows.columns]
    if present:
        keys = (
            rows[present].astype(str).agg("\x1f".join, axis=1)
            if len(rows)
            else pd.Series([], dtype=object)
        )
        codes, uniques = pd.factorize(keys.to_numpy(dtype=object), use_na_sentinel=False)
    else:
        codes, uniques = np.zeros(len(rows), dtype=np.int64), np.array([""], dtype=object)
    texts = []
    for unique in uniques:
        values = dict(zip(present, str(unique).split("\x1f"), strict=True)) if present else {}
        merged = {f: values.get(f) or defaults.get(f, "") for f in SETTINGS_FIELDS}
        texts.append(
            json.dumps(
                {k: v for k, v in merged.items() if v}, ensure_ascii=False, separators=(",", ":")
            )
        )
    return np.asarray(texts, dtype=object)[codes]


def _unique_headers(headers: list[str], width: int) -> list[str]:
    """Headers usable as column names: empty ones named by letter, repeats numbered."""
    seen: Counter[str] = Counter()
    names = []
    for position in range(width):
        header = (
            headers[position]
            if position < len(headers) and headers[position]
            else _letter(position)
        )
        seen[header] += 1
        names.append(header if seen[header] == 1 else f"{header} ({seen[header]})")
    return names


def _letter(position: int) -> str:
    """Excel's column letter for a 0-based position (A, B, ..., AA)."""
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return f"Column {letters}"


def _groups(loaded: Loaded, result: Outcomes) -> pd.DataFrame:
    """Per group: its row on the Groups sheet (if any), and its camera rows by status."""
    counts = _camera_counts(loaded, result)
    sheet = loaded.groups
    if sheet is None:
        return counts
    frame = sheet.frame
    ids = (
        frame["group_id"].where(frame["group_id"] != "", frame["group"])
        if "group_id" in frame
        else frame["group"]
    )
    errors = {(p.sheet, p.row) for p in loaded.checked.problems if p.severity == Severity.ERROR}
    places = list(zip(frame[SHEET].tolist(), frame[ROW].tolist(), strict=True))
    rows = pd.DataFrame(
        {
            "Source Row": [f"{s}!{r}" for s, r in places],
            "Group": frame["group"].to_numpy(dtype=object),
            "Group ID": ids.to_numpy(dtype=object),
            "Group Name": frame["group_name"].to_numpy(dtype=object)
            if "group_name" in frame
            else "",
            "Row Status": ["rejected" if place in errors else "valid" for place in places],
        }
    )
    counted = counts.drop(columns=["Group Name"], errors="ignore")
    table = rows.merge(counted, on="Group ID", how="left")
    missing = counted[~counted["Group ID"].isin(rows["Group ID"])].assign(
        **{"Row Status": "not on the sheet"}
    )
    table = pd.concat([table, missing], ignore_index=True)
    number_columns = ["Cameras", *STATUSES]
    table[number_columns] = table[number_columns].fillna(0).astype(int)
    return table.fillna("")


def _camera_counts(loaded: Loaded, result: Outcomes) -> pd.DataFrame:
    """Per group id: its name and how many of its camera rows ended in each status."""
    rows = loaded.checked.rows
    frame = pd.DataFrame(
        {"Group ID": rows["group"].to_numpy(dtype=object), "Status": result.status}
    )
    if "group_name" in rows.columns:
        frame["Group Name"] = rows["group_name"].to_numpy(dtype=object)
    # size() counts in C; crosstab aggregated group by group in Python (1.4 s at 40,000 groups)
    table = (
        frame.groupby(["Group ID", "Status"], sort=True)
        .size()
        .unstack(fill_value=0)
        .reindex(columns=list(STATUSES), fill_value=0)
    )
    table.columns.name = None
    table.insert(0, "Cameras", table.sum(axis=1))
    table = table.reset_index()
    if "Group Name" in frame:
        names = frame.drop_duplicates("Group ID").set_index("Group ID")["Group Name"]
        table.insert(1, "Group Name", table["Group ID"].map(names).fillna(""))
    return table


def _batch_message(batch: BatchState) -> str:
    """Why a batch stands where it does; a batch found by name says so, and after what."""
    if batch.found_by_lookup:
        after = f" after an unclear answer ({batch.message})" if batch.message else ""
        return f"found by its name{after}"
    return batch.gave_up or batch.message


def _batches(planned: Plan, state: RunState) -> pd.DataFrame:
    """Per planned batch: what was sent and what the API answered."""
    records = []
    for batch in planned.batches:
        found = state.batches.get(batch.name)
        settings = planned.settings_classes[batch.settings_class].task_settings
        records.append(
            {
                "Batch": batch.name,
                "Service": settings.service_name,
                "Version": settings.service_version,
                "Schedule": schedule_text(settings),
                "Groups": len({e.group for e in batch.entries}),
                "Cameras": batch.camera_count,
                "Status": found.status.value if found else "planned",
                "Attempts": found.attempts if found else 0,
                "HTTP Status": float(found.http_status) if found and found.http_status else NAN,
                "Batch ID": found.batch_id if found else "",
                "Total": found.total if found else 0,
                "Failed": found.failed if found else 0,
                "Error List": " | ".join(found.error_list) if found else "",
                "Task States": _states(found.state_counts) if found else "",
                "Message": _batch_message(found) if found else "",
                "Request ID": found.request_id if found else "",
            }
        )
    return pd.DataFrame(
        records,
        columns=[
            "Batch",
            "Service",
            "Version",
            "Schedule",
            "Groups",
            "Cameras",
            "Status",
            "Attempts",
            "HTTP Status",
            "Batch ID",
            "Total",
            "Failed",
            "Error List",
            "Task States",
            "Message",
            "Request ID",
        ],
    )


def _states(counts: Mapping[str, int]) -> str:
    """Non-zero per-state counts as ``running 90, start_failed 2``."""
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v)
