"""
A camera as the stages pass it on (the valid cameras as columns, one row a tuple made
when asked for), the settings class it belongs to, the statuses a camera row can end with,
and what the ledger remembers of a camera task. Pure.

``CameraStatus`` and ``STATUS_INFO`` are the one place that says what each status means
to a person, how it is coloured in the results workbook, and which exit code it implies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final, NamedTuple, overload

import numpy as np

if TYPE_CHECKING:
    from loader.model.vias import TaskSettings

MAX_CELL_CHARS: Final = 32_767  # Excel's own limit for a cell


class RowStatus(StrEnum):
    """What validation made of an input row."""

    VALID = "valid"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class CameraStatus(StrEnum):
    """How a camera row ends a run (the Status column of the results workbook)."""

    LOADED = "loaded"
    FAILED = "failed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    UNKNOWN = "unknown"
    HELD = "held"
    UPDATED = "updated"
    REPLACED = "replaced"
    RESTARTED = "restarted"
    STOPPED = "stopped"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """What a status means, its colour in the workbook, and the exit code it implies."""

    meaning: str
    colour: str
    exit_code: int


STATUS_INFO: Final[dict[CameraStatus, StatusInfo]] = {
    CameraStatus.LOADED: StatusInfo("its task was created", "#C6EFCE", 0),
    CameraStatus.FAILED: StatusInfo("the API reported that it failed", "#FFC7CE", 1),
    CameraStatus.REJECTED: StatusInfo("never sent: the row is invalid", "#F8CBAD", 1),
    CameraStatus.DUPLICATE: StatusInfo(
        "listed again; sent once, through its first row", "#FFEB9C", 0
    ),
    CameraStatus.UNCHANGED: StatusInfo(
        "loaded by an earlier run with the same settings", "#DDEBF7", 0
    ),
    CameraStatus.CHANGED: StatusInfo(
        "loaded earlier with other settings; its task is not known well enough to update",
        "#E4DFEC",
        0,
    ),
    CameraStatus.UNKNOWN: StatusInfo(
        "outcome not known yet: resume or reconcile settles it", "#D9D9D9", 3
    ),
    CameraStatus.HELD: StatusInfo("not sent: the canary batch failed", "#BFBFBF", 1),
    CameraStatus.UPDATED: StatusInfo(
        "its task was updated in place to the sheet's settings", "#A9D08E", 0
    ),
    CameraStatus.REPLACED: StatusInfo(
        "another algorithm or version: a new task was created, then the old one deleted",
        "#9BC2E6",
        0,
    ),
    CameraStatus.RESTARTED: StatusInfo(
        "its failed or stopped task was started again", "#E2EFDA", 0
    ),
    CameraStatus.STOPPED: StatusInfo(
        "its camera left the sheet: its task was stopped (--prune)", "#EDEDED", 0
    ),
    CameraStatus.DELETED: StatusInfo(
        "its camera left the sheet: its task was deleted (--prune=delete)", "#D0CECE", 0
    ),
}
STATUSES: Final = tuple(str(s) for s in CameraStatus)


def exit_code_of(statuses: dict[str, int]) -> int:
    """The exit code camera rows imply: the highest of their statuses' (3 over 1 over 0)."""
    return max(
        (
            STATUS_INFO[CameraStatus(s)].exit_code
            for s, n in statuses.items()
            if n and s in STATUSES
        ),
        default=0,
    )


class Camera(NamedTuple):
    """One valid camera row, ready for planning (``Cameras`` makes one when asked for)."""

    position: int  # index into Checked.rows (unique across sheets)
    row: int  # Excel row on its sheet, for messages
    group: str  # video_source_group_id
    video_source_id: str
    target_roi: str | None
    settings_class: int  # index into Checked.settings_classes


_CHUNK: Final = 65_536  # cameras made into tuples at a time while iterating


class Cameras(Sequence[Camera]):
    """The valid cameras as columns, all of one length: a million cameras are six arrays
    (the texts shared with the checked rows), not a million tuples (0.5 s and 170 MB).

    Planning and the hot consumers read the columns; ``cameras[i]`` and iteration make a
    ``Camera`` on demand for the few that want rows. ``take`` and slices give cameras of
    these columns (a slice shares them).
    """

    __slots__ = ("group", "position", "row", "settings_class", "target_roi", "video_source_id")

    def __init__(
        self,
        *,
        position: np.ndarray,
        row: np.ndarray,
        group: np.ndarray,
        video_source_id: np.ndarray,
        target_roi: np.ndarray,
        settings_class: np.ndarray,
    ) -> None:
        self.position = position  # int64: index into Checked.rows
        self.row = row  # int64: Excel row on its sheet
        self.group = group  # object: str
        self.video_source_id = video_source_id  # object: str
        self.target_roi = target_roi  # object: str, or None for none
        self.settings_class = settings_class  # int64: index into Checked.settings_classes
        if len({len(c) for c in self._columns()}) > 1:
            raise ValueError("the columns of Cameras differ in length")

    @classmethod
    def of(cls, cameras: Iterable[Camera]) -> Cameras:
        """Cameras from rows (tests, and the few callers that build them one at a time)."""
        rows = list(cameras)

        def column(at: int, dtype: type) -> np.ndarray:
            values: np.ndarray = np.empty(len(rows), dtype=dtype)
            values[:] = [c[at] for c in rows]
            return values

        return cls(
            position=column(0, np.int64),
            row=column(1, np.int64),
            group=column(2, object),
            video_source_id=column(3, object),
            target_roi=column(4, object),
            settings_class=column(5, np.int64),
        )

    def _columns(self) -> tuple[np.ndarray, ...]:
        """The columns in ``Camera``'s field order."""
        return (
            self.position,
            self.row,
            self.group,
            self.video_source_id,
            self.target_roi,
            self.settings_class,
        )

    def take(self, indices: np.ndarray | slice) -> Cameras:
        """The cameras at ``indices`` (an array of indices or a mask: copies; a slice:
        views of these columns)."""
        taken = object.__new__(Cameras)  # the columns' lengths agree: no check to make
        taken.position = self.position[indices]
        taken.row = self.row[indices]
        taken.group = self.group[indices]
        taken.video_source_id = self.video_source_id[indices]
        taken.target_roi = self.target_roi[indices]
        taken.settings_class = self.settings_class[indices]
        return taken

    def at_positions(self, positions: np.ndarray) -> Cameras:
        """The cameras of these row positions, in their order (each must be one of these)."""
        order = np.argsort(self.position, kind="stable")  # ascending already: one pass
        slots = np.searchsorted(self.position, positions, sorter=order)
        indices = order[np.minimum(slots, len(self) - 1)] if len(self) else slots
        if len(positions) and (not len(self) or (self.position[indices] != positions).any()):
            unknown = set(positions.tolist()) - set(self.position.tolist())
            raise KeyError(min(unknown))
        return self.take(indices)

    def __len__(self) -> int:
        return len(self.position)

    @overload
    def __getitem__(self, index: int) -> Camera: ...

    @overload
    def __getitem__(self, index: slice) -> Cameras: ...

    def __getitem__(self, index: int | slice) -> Camera | Cameras:
        if isinstance(index, slice):
            return self.take(index)
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return Camera(
            int(self.position[index]),
            int(self.row[index]),
            self.group[index],
            self.video_source_id[index],
            self.target_roi[index],
            int(self.settings_class[index]),
        )

    def __iter__(self) -> Iterator[Camera]:
        """The cameras as tuples, made a chunk at a time in C (``_make`` over the columns)."""
        for start in range(0, len(self), _CHUNK):
            columns = [c[start : start + _CHUNK].tolist() for c in self._columns()]
            yield from map(Camera._make, zip(*columns, strict=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cameras):
            return NotImplemented
        return len(self) == len(other) and all(
            np.array_equal(mine, theirs)
            for mine, theirs in zip(self._columns(), other._columns(), strict=True)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable arrays: equal, never hashed

    def __repr__(self) -> str:
        return f"Cameras({list(self)!r})"


@dataclass(frozen=True)
class SettingsClass:
    """One distinct combination of task settings; groups share batches only within one."""

    task_settings: TaskSettings
    name_prefix: str


class LedgerState(StrEnum):
    """What the ledger says of a camera task."""

    LOADED = "loaded"  # its task exists (``task_state`` says how it is doing)
    FAILED = "failed"  # the API reported that its creation failed
    UNKNOWN = "unknown"  # its batch was created, or may have been; its own fate not known
    STOPPED = "stopped"  # its camera left the sheet; bulkload stopped its task (--prune)
    DELETED = "deleted"  # its task was deleted (by --prune=delete, a replace, or outside)


LedgerKey = tuple[str, str, str]  # (group_id, video_source_id, service_name): one camera task


class LedgerEntry(NamedTuple):
    """What an earlier run did with one camera task (a tuple: the ledger moves them by the
    ten thousand, and a frozen dataclass costs a microsecond a field to build)."""

    group_id: str
    video_source_id: str
    service_name: str
    fingerprint: str
    state: str  # a LedgerState
    run: str
    batch: str = ""
    batch_id: str = ""
    message: str = ""
    at: str = ""
    inventory: str = ""  # the input file's name: "not in sheet" compares like with like
    task_id: str = ""  # the task the batch created for it, once known
    task_name: str = ""  # UpdateTask needs it (a task keeps its name)
    task_state: str = ""  # the task's state as last read (RUNNING, STOPPED, START_FAILED...)

    @property
    def key(self) -> LedgerKey:
        return (self.group_id, self.video_source_id, self.service_name)
