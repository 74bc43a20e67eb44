"""
Checking mapped rows against the API's rules: cameras joined to their groups, every
setting resolved (cell, else group, else ``[task]``) and checked once per distinct
combination, camera fields checked column-wise, duplicates found. Pure, but for one read
of the clock: ``check`` is the entry point that takes the plan's date (today in UTC unless
given), which turns zone names into offsets; everything below it is passed that date.

Every input row ends with a status: ``valid`` (to be planned), ``rejected`` (an error
names why) or ``duplicate`` (the same camera, group and settings as an earlier row).
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from loader.check.codes import ColumnCodes
from loader.check.duplicates import SETTINGS_CLASS, mark_duplicates
from loader.check.ids import check_ids
from loader.check.inventory import ROW, SHEET, MappedSheet
from loader.check.mapping import (
    CAMERA_FIELDS,
    INTRINSIC,
    SETTINGS_FIELDS,
    Mapping,
    groups_by_name,
)
from loader.check.task_settings import Issue, SettingsError, build_settings
from loader.check.transforms import TransformError
from loader.errors import ConfigError
from loader.model.cameras import Cameras, RowStatus, SettingsClass
from loader.model.problems import Problem, Severity
from loader.model.secrets import SecretTable

if TYPE_CHECKING:
    from loader.model.registering import SheetRegistration

STATUS: Final = "_status"


@dataclass
class Checked:
    """An inventory after validation: valid cameras, settings classes, every problem."""

    file: str
    sheet: str
    mapping: str
    cameras: Cameras
    settings_classes: list[SettingsClass]
    rows: pd.DataFrame  # every camera data row: ROW, fields, STATUS, SETTINGS_CLASS
    problems: list[Problem] = field(default_factory=list)
    group_rows: int = 0
    # Cameras or groups known by name: what registration plans from (else None).
    registration: SheetRegistration | None = None
    secrets: SecretTable = field(default_factory=SecretTable)  # the references' values
    # The valid cameras' groups as codes (``pandas.factorize(cameras.group)[0]``), with
    # the very container they were counted on: a Checked whose cameras were replaced
    # (ids filled, none yet) has none (``group_codes``).
    coded_groups: tuple[Cameras, np.ndarray] | None = field(default=None, repr=False, compare=False)
    # The status counts of ``rows`` (the frame they were counted on, the counts): a
    # summary asks five times, and each comparison of a million strings costs 40 ms.
    _counted: tuple[pd.DataFrame, dict[str, int]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def group_codes(self) -> np.ndarray | None:
        """The cameras' group codes, known without hashing the groups again; None when
        ``cameras`` is not the container they were counted on."""
        if self.coded_groups is None or self.coded_groups[0] is not self.cameras:
            return None
        return self.coded_groups[1]

    def count(self, status: RowStatus) -> int:
        """How many camera rows ended with ``status``."""
        if self._counted is None or self._counted[0] is not self.rows:
            counts = self.rows[STATUS].value_counts()
            self._counted = (self.rows, {str(k): int(n) for k, n in counts.items()})
        return self._counted[1].get(str(status), 0)

    def excel_rows(self) -> ExcelRows:
        """The Excel row of each camera row, by position."""
        return ExcelRows(self.rows[ROW].to_numpy())


class ExcelRows(MappingABC[int, int]):
    """Excel rows by position, read from the rows' column: a dict of a million entries
    cost a tenth of a second and 140 MB for the few rows a diff names."""

    def __init__(self, rows: np.ndarray) -> None:
        self._rows = rows

    def __getitem__(self, position: int) -> int:
        if not 0 <= position < len(self._rows):
            raise KeyError(position)
        return int(self._rows[position])

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self._rows)))

    def __len__(self) -> int:
        return len(self._rows)


def check(
    mapping: Mapping,
    cameras: MappedSheet,
    groups: MappedSheet | None = None,
    *,
    on: date,
) -> Checked:
    """Validate mapped camera rows (joined to ``groups``) and resolve their settings.

    ``on``: the plan's date, which zone names take their offset on (``load`` reads the clock).
    """
    frame = cameras.frame.copy(deep=False)  # columns are added and replaced, never written in
    mapped = frozenset(frame.columns) | frozenset(groups.frame.columns if groups else ())
    for name in CAMERA_FIELDS:
        if name not in frame:  # plain objects, as every mapped column (not pandas' str)
            frame[name] = blank_texts(len(frame))
    bad = cameras.bad.copy()
    problems = [*cameras.problems, *(groups.problems if groups else [])]
    if groups is not None:
        problems += _join_groups(frame, bad, cameras, groups)
    given = _texts(frame, "group_id") != ""  # numpy's comparison: a third of pandas' time
    if given.any():  # else the group column is kept, and the codes of its buffer hold
        frame["group"] = frame["group_id"].where(given, frame["group"])
    defaults = default_texts(mapping)
    for name in SETTINGS_FIELDS:
        default = defaults.get(name, "")
        if default and name in frame.columns:  # a column of either sheet; the rest stay
            empty = _texts(frame, name) == ""  # [task] constants
            if empty.any():
                frame[name] = frame[name].mask(empty, default)
    named_groups = groups_by_name(mapped)
    problems += check_ids(frame, bad, cameras, _keys(mapping, named_groups))
    registers = mapping.by_name
    if registers:  # only a mapping that registers imports the registration rules and bodies
        from loader.check.sources import Rows, check_rows, gather

        rows = Rows(frame, cameras, mapped)
        problems += check_rows(rows, bad, mapping)
    settings, codes = _resolve_settings(
        frame, bad, mapping, defaults, (cameras, groups), problems, on=on
    )
    frame[SETTINGS_CLASS] = codes
    status = np.empty(len(frame), dtype=object)
    status[:] = RowStatus.VALID.value  # one string for every row (np.full makes a million)
    status[bad] = RowStatus.REJECTED.value
    registration = None
    if registers:
        registration, found, refused = gather(
            rows, np.flatnonzero(status == RowStatus.VALID.value), mapping, cameras.secrets
        )
        problems += found
        status[refused] = RowStatus.REJECTED.value
    problems += mark_duplicates(frame, status, cameras, _identity_columns(mapping, named_groups))
    frame[STATUS] = status
    positions = np.flatnonzero(status == RowStatus.VALID.value)
    valid = _cameras(frame, positions)
    problems = list({_identity(p): p for p in problems}.values())
    order = {
        t.sheet: n for n, t in enumerate([*cameras.tables, *(groups.tables if groups else [])])
    }
    problems.sort(key=lambda p: (order.get(p.sheet, 2), p.row or 0))
    return Checked(
        cameras.file,
        cameras.sheet,
        mapping.name,
        valid,
        settings,
        frame,
        problems,
        len(groups.frame) if groups else 0,
        registration,
        cameras.secrets,
        (valid, _group_codes(frame, positions, cameras.codes)),
    )


def _cameras(frame: pd.DataFrame, positions: np.ndarray) -> Cameras:
    """The valid rows' camera fields, a column at a time (no Python step per camera; the
    texts are the frame's own, not copies). An empty ROI is none. When every row is
    valid (the usual sheet), the columns are the frame's own arrays, not copies of them:
    4 arrays of a million, 32 MB a plan of the 1M-row CSV no longer holds twice."""
    roi = _texts(frame, "target_roi")[positions]
    roi[roi == ""] = None
    return Cameras(
        position=positions.astype(np.int64, copy=False),
        row=_rows_at(frame[ROW].to_numpy(dtype=np.int64), positions),
        group=_rows_at(_texts(frame, "group"), positions),
        video_source_id=_rows_at(_texts(frame, "video_source_id"), positions),
        target_roi=roi,
        settings_class=_rows_at(frame[SETTINGS_CLASS].to_numpy(dtype=np.int64), positions),
    )


def _rows_at(column: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``column[positions]`` of rows in ascending order: ``column`` itself when they are
    all of its rows (read-only: a column of the checked rows is never written in)."""
    return column if len(positions) == len(column) else column[positions]


def blank_texts(rows: int) -> np.ndarray:
    """A column of empty text, one string shared by every row."""
    column = np.empty(rows, dtype=object)
    column[:] = ""
    return column


def _join_groups(
    frame: pd.DataFrame, bad: np.ndarray, cameras: MappedSheet, groups: MappedSheet
) -> list[Problem]:
    """Fill the cameras' empty group fields from their group's row; unknown groups rejected."""
    problems: list[Problem] = []
    gframe = groups.frame
    gbad = groups.bad.copy()
    empty_key = (gframe["group"] == "") & ~gbad
    gbad |= empty_key.to_numpy()
    problems += [
        Problem.at(
            groups.place_at(int(p)),
            Severity.ERROR,
            "missing-group",
            "the group id is empty",
            fix="fill in the group id",
            column=groups.columns.get("group", "group"),
        )
        for p in np.flatnonzero(empty_key.to_numpy())
    ]
    repeated = gframe["group"].duplicated(keep="first").to_numpy() & ~gbad
    group_of = _texts(gframe, "group")
    first_at = {g: int(p) for p, g in reversed(list(enumerate(group_of)))}
    problems += [
        Problem.at(
            groups.place_at(int(p)),
            Severity.ERROR,
            "duplicate-group",
            f"group {group_of[p]!r} is listed again;"
            f" first at {groups.where(first_at[group_of[p]])}",
            fix="keep one row per group",
            column=groups.columns["group"],
            value=str(group_of[p]),
        )
        for p in np.flatnonzero(repeated)
    ]
    usable = gframe[~gbad & ~repeated].set_index("group")
    broken = {str(group_of[p]): int(p) for p in np.flatnonzero(gbad) if group_of[p]}
    at = usable.index.get_indexer(frame["group"])  # each camera's group row, looked up once
    for name in usable.columns:
        if name in (ROW, SHEET):  # a camera's own place (its sheet is never empty)
            continue
        column = usable[name].to_numpy(dtype=object)
        values = np.where(at >= 0, column[at], "") if len(column) else np.full(len(at), "")
        joined = pd.Series(values, index=frame.index, dtype=object)
        frame[name] = frame[name].where(frame[name] != "", joined) if name in frame else joined
    group_sheet = groups.sheet
    camera_group = _texts(frame, "group")
    known = [str(g) for g in usable.index[:5000]]
    unknown = (at < 0) & (camera_group != "")
    for position in np.flatnonzero(unknown & ~bad):
        group = str(camera_group[position])
        bad[position] = True
        if group in broken:
            message = f"group {group!r} has errors at {groups.where(broken[group])}"
            fix = "fix the group's row"
        else:
            close = [g for g in known if g.casefold() == group.casefold()]
            message = f"group {group!r} is not on sheet {group_sheet!r}"
            fix = f"did you mean {close[0]!r}?" if close else f"add the group to {group_sheet!r}"
        problems.append(
            Problem.at(
                cameras.place_at(int(position)),
                Severity.ERROR,
                "unknown-group",
                message,
                fix=fix,
                column=cameras.columns.get("group", "group"),
                value=group,
            )
        )
    return problems


def default_texts(mapping: Mapping) -> dict[str, str]:
    """``[task]`` in cell form, through the same parsers as cells; bad defaults stop the run."""
    texts = mapping.task.as_text()
    for name, parse in INTRINSIC.items():
        if name in texts:
            try:
                texts[name] = parse(texts[name])
            except TransformError as exc:
                raise ConfigError(
                    f"mapping {mapping.name!r}: [task] {name} = {texts[name]!r}: {exc}",
                    hint=exc.fix,
                ) from exc
    return texts


def _keys(mapping: Mapping, named_groups: bool) -> tuple[str, ...]:
    """The id fields a row must hold: those not to be found by name."""
    keys = () if named_groups else ("group",)
    return (*keys, "video_source_id") if mapping.camera_key == "video_source_id" else keys


def _identity_columns(mapping: Mapping, named_groups: bool) -> tuple[str, str]:
    """The columns that say which camera and group a row is: ids, or names to find."""
    group = "group_name" if named_groups else "group"
    return (group, mapping.camera_key)


def _resolve_settings(
    frame: pd.DataFrame,
    bad: np.ndarray,
    mapping: Mapping,
    defaults: dict[str, str],
    sheets: tuple[MappedSheet, MappedSheet | None],
    problems: list[Problem],
    *,
    on: date,
) -> tuple[list[SettingsClass], np.ndarray]:
    """One SettingsClass per distinct valid combination; each row's index (-1 if none)."""
    codes = np.full(len(frame), -1, dtype=np.int64)
    live = np.flatnonzero(~bad)
    if not len(live):
        return [], codes
    varying = [f for f in SETTINGS_FIELDS if f in frame.columns]
    keys = _combination_keys(frame, varying, live, sheets[0].codes)
    firsts = np.unique(keys, return_index=True)[1]
    column_backed = mapping.fields_from_columns()
    classes: list[SettingsClass] = []
    class_of = np.full(len(firsts), -1, dtype=np.int64)
    found: dict[int, tuple[list[Issue], Severity, dict[str, str]]] = {}
    columns = {f: _texts(frame, f) for f in varying}
    for key in np.argsort(firsts):  # in order of first appearance
        texts = defaults | {f: str(values[live[firsts[key]]]) for f, values in columns.items()}
        try:
            settings, warnings = build_settings(texts, mapping.task.webhook_headers, on=on)
        except SettingsError as exc:
            _raise_if_mapping_wide(exc, column_backed, mapping)
            found[int(key)] = (exc.issues, Severity.ERROR, texts)
            continue
        if warnings:
            found[int(key)] = (warnings, Severity.WARNING, texts)
        class_of[key] = len(classes)
        prefix = texts.get("name_prefix") or mapping.task.name_prefix
        classes.append(SettingsClass(settings, prefix))
    warned: list[tuple[list[Issue], np.ndarray, dict[str, str]]] = []
    for key, rows in _rows_of(keys, live, list(found)).items():
        issues, severity, texts = found[key]
        if severity == Severity.ERROR:
            bad[rows] = True
            problems += _settings_problems(issues, severity, rows, texts, *sheets)
        else:
            warned.append((issues, rows, texts))
    problems += _warnings_once(warned, *sheets)
    codes[live] = class_of[keys]
    return classes, codes


def _rows_of(keys: np.ndarray, live: np.ndarray, wanted: list[int]) -> dict[int, np.ndarray]:
    """The rows of each wanted combination, in one sort (a class per camera is common)."""
    if not wanted:
        return {}
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.searchsorted(ordered, wanted, side="left")
    ends = np.searchsorted(ordered, wanted, side="right")
    return {
        key: live[order[start:end]] for key, start, end in zip(wanted, starts, ends, strict=True)
    }


def _combination_keys(
    frame: pd.DataFrame, fields: list[str], rows: np.ndarray, codes: ColumnCodes
) -> np.ndarray:
    """A small integer per distinct combination of ``fields`` over ``rows`` (0..n-1, in
    order of first appearance), from each column's codes (hashed once per load): the
    columns' codes are combined into one number per row, and those numbers factorized."""
    keys = np.zeros(len(rows), dtype=np.int64)
    if not fields:
        return keys
    span = 1  # keys are below it
    for name in fields:
        column = codes.of(_texts(frame, name))
        count = max(len(column.distinct), 1)
        if span > _SPAN // count:  # the next step would overflow: number the keys anew
            keys, distinct = pd.factorize(keys)
            span = max(len(distinct), 1)
        keys = keys * count + column.codes[rows]
        span *= count
    numbered: np.ndarray = pd.factorize(keys)[0]
    return numbered


_SPAN: Final = 2**62  # combined codes stay below it (int64)


def _raise_if_mapping_wide(exc: SettingsError, column_backed: set[str], mapping: Mapping) -> None:
    """A setting no column can change is wrong for every row: a mapping error, not a row's."""
    for issue in exc.issues:
        if not set(issue.fields) & column_backed:
            raise ConfigError(
                f"mapping {mapping.name!r}: {issue.message}",
                hint=issue.fix
                or f"set it in [task] of {mapping.source or mapping.name} or map a column to it",
            ) from exc


def _settings_problems(
    issues: list[Issue],
    severity: Severity,
    rows: np.ndarray,
    texts: dict[str, str],
    cameras: MappedSheet,
    groups: MappedSheet | None,
) -> list[Problem]:
    """A problem per row and issue, on the column the setting came from, with its value."""
    problems = []
    for issue in issues:
        column = next((cameras.columns[f] for f in issue.fields if cameras.columns.get(f)), "")
        if not column and groups is not None:
            column = next((groups.columns[f] for f in issue.fields if groups.columns.get(f)), "")
        value = next((texts[f] for f in issue.fields if texts.get(f)), "")
        code = issue.code or ("bad-settings" if severity == Severity.ERROR else "settings")
        fix = issue.fix or "correct the value in the sheet or mapping"
        problems += [
            Problem.at(
                cameras.place_at(int(position)),
                severity,
                code,
                issue.message,
                fix=fix,
                column=column or ",".join(issue.fields),
                value=value,
            )
            for position in rows
        ]
    return problems


def _warnings_once(
    warned: list[tuple[list[Issue], np.ndarray, dict[str, str]]],
    cameras: MappedSheet,
    groups: MappedSheet | None,
) -> list[Problem]:
    """One warning per distinct finding and value (a zone's daylight saving, say), on its
    first row, naming how many rows it concerns and where the value came from: the same
    zone on a million rows is one thing to read, not a million."""
    merged: dict[tuple[str, str, str], tuple[Issue, str, list[np.ndarray]]] = {}
    for issues, rows, texts in warned:
        for issue in issues:
            value = next((texts[f] for f in issue.fields if texts.get(f)), "")
            entry = merged.setdefault((issue.code, issue.message, value), (issue, value, []))
            entry[2].append(rows)
    problems = []
    for issue, value, parts in merged.values():
        rows = np.sort(np.concatenate(parts))
        first = int(rows[0])
        column, origin = _origin(issue.fields, first, cameras, groups)
        count = f"; {len(rows)} rows have it" if len(rows) > 1 else ""
        problems.append(
            Problem.at(
                cameras.place_at(first),
                Severity.WARNING,
                issue.code or "settings",
                f"{issue.message} (from {origin}{count})",
                fix=issue.fix or "correct the value in the sheet or mapping",
                column=column,
                value=value,
            )
        )
    return problems


def _origin(
    fields: tuple[str, ...], position: int, cameras: MappedSheet, groups: MappedSheet | None
) -> tuple[str, str]:
    """The column a setting's value came from on a camera row, and where that is in words:
    the camera's own cell, else its group's column, else ``[task]``."""
    for field_name in fields:
        header = cameras.columns.get(field_name)
        if header and field_name in cameras.frame and cameras.frame[field_name].iat[position]:
            return header, f"column {header!r} of sheet {cameras.place_at(position).sheet!r}"
    for field_name in fields:
        header = groups.columns.get(field_name) if groups is not None else None
        if header and groups is not None:
            return header, f"column {header!r} of sheet {groups.sheet!r}"
    return ",".join(fields), f"[task] {', '.join(fields)}"


def _group_codes(frame: pd.DataFrame, positions: np.ndarray, codes: ColumnCodes) -> np.ndarray:
    """The valid cameras' groups as ``pandas.factorize`` numbers them over the cameras,
    from the group column's codes: the same when every row is valid, else those codes
    of the valid rows numbered anew (integers hashed, not the groups)."""
    column = codes.of(_texts(frame, "group")).codes
    if len(positions) == len(frame):
        return column.astype(np.int64)
    numbered: np.ndarray = pd.factorize(column[positions])[0]
    return numbered


def _texts(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A text column as an object array, for positional access."""
    return frame[name].to_numpy(dtype=object)


def _identity(problem: Problem) -> tuple[str, str, int | None, str, str]:
    """What makes two problems the same finding (one column may feed two fields)."""
    return (problem.sheet, str(problem.severity), problem.row, problem.column, problem.message)
