"""
The results of a run as tables, one row per input row, around the outcomes
``state.outcomes`` decided: the workbook writer only renders them. Pure.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from loader.check.inventory import ROW, SHEET
from loader.check.load import Loaded
from loader.check.mapping import SETTINGS_FIELDS
from loader.check.validate import default_texts
from loader.model.cameras import LedgerEntry
from loader.planning.batches import Plan
from loader.report.changes import CHANGE_COLUMNS
from loader.report.groups import GroupCodes, groups_table
from loader.report.sheet_xml import column_letter
from loader.report.stepped import drained
from loader.report.summaries import schedule_text
from loader.state.outcomes import Outcomes
from loader.state.runstate import BatchState, RunState

RESULT_COLUMNS: Final = ("Status", "Batch", "Batch ID", "Task State", "Message", "Source Row")
API_PREFIX: Final = "api."
NAN: Final = float("nan")  # an empty number cell


@dataclass
class ResultTables:
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
    # The Registered sheet (a sheet of names only: empty, no sheet is written).
    registered: pd.DataFrame = field(default_factory=pd.DataFrame)


def build(
    loaded: Loaded,
    planned: Plan,
    state: RunState,
    result: Outcomes,
    facts: list[tuple[str, str]],
    not_in_sheet: Sequence[LedgerEntry] = (),
    changes: pd.DataFrame | None = None,
    static: CameraColumns | None = None,
    codes: GroupCodes | None = None,
) -> ResultTables:
    """All the tables of the results workbook, around the outcomes ``outcomes`` computed
    (``static``: the Cameras columns ``camera_columns`` made, ``codes``: the groups'
    codes, if made already)."""
    cameras, original = _cameras(loaded, result, static)
    return ResultTables(
        facts=facts,
        counts=result.counts(),
        cameras=cameras,
        groups=groups_table(loaded, result, codes),
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


REGISTERED_COLUMNS: Final = ("What", "Name", "ID", "How", "Message")


def registered_table(rows: Sequence[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    """The Registered sheet: each source and group a sheet of names needed, its id, and
    how it came (registered by this run, found by its name, updated, joined, refused)."""
    return pd.DataFrame(list(rows), columns=list(REGISTERED_COLUMNS))


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

    def rows(self, start: int, stop: int) -> CameraColumns:
        """The columns of the rows from position ``start`` to ``stop``, numbered from 0."""
        trailing = {name: _rows_of(values, start, stop) for name, values in self.trailing.items()}
        return CameraColumns(self.original.iloc[start:stop].reset_index(drop=True), trailing)


def _rows_of(values: object, start: int, stop: int) -> object:
    """A trailing column's rows from ``start`` to ``stop`` (a list or an array)."""
    if isinstance(values, list | np.ndarray | pd.Series):
        return values[start:stop]
    raise TypeError(f"not a column: {type(values).__name__}")


def camera_columns(loaded: Loaded) -> CameraColumns:
    """The Cameras sheet's columns that come from the inventory alone."""
    return drained(camera_columns_in_steps(loaded))


# Rows a step of ``camera_columns_in_steps`` makes: a few milliseconds at most.
COLUMN_STEP_ROWS: Final = 40_000


def camera_columns_in_steps(loaded: Loaded) -> Generator[None, None, CameraColumns]:
    """``camera_columns``, a step of ``COLUMN_STEP_ROWS`` rows at a time (a run makes
    them while it sends, between its calls): the same columns, made in pieces."""
    parts = []
    for table in loaded.cameras.tables:
        headers = _unique_headers(table.headers, table.body.shape[1])
        for start in range(0, max(len(table.body), 1), COLUMN_STEP_ROWS):
            body = table.body.iloc[start : start + COLUMN_STEP_ROWS]
            parts.append(pd.DataFrame(body.to_numpy(dtype=object), columns=headers))
            yield
    original = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    for column in range(original.shape[1]):  # then each column's gaps filled, a step each
        yield
        original.isetitem(column, original.iloc[:, column].fillna("").to_numpy(dtype=object))
    yield
    rows = loaded.checked.rows
    sheets, numbers = rows[SHEET].to_numpy(), rows[ROW].to_numpy()
    sources: list[str] = []
    for start in range(0, len(rows), COLUMN_STEP_ROWS):
        stop = start + COLUMN_STEP_ROWS
        pairs = zip(sheets[start:stop].tolist(), numbers[start:stop].tolist(), strict=True)
        sources += [f"{s}!{r}" for s, r in pairs]
        yield
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
    return cameras_frame(static, result), list(static.original.columns)


def cameras_frame(static: CameraColumns, result: Outcomes) -> pd.DataFrame:
    """The Cameras sheet: the inventory's columns around the outcome columns (``result``),
    as the end makes it, and as a run makes it ahead from the outcomes known so far."""
    columns: dict[str, object] = {
        "Status": result.status,
        "Batch": result.batch,
        "Batch ID": result.batch_id,
        "Task State": result.task_state,
        "Message": result.message,
        **static.trailing,
    }
    return pd.concat([static.original, pd.DataFrame(columns)], axis=1)


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
    return f"Column {column_letter(position)}"


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
                "Groups": batch.group_count,  # from the batch's columns: no entry is made
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
