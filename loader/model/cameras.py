"""
A camera as the stages pass it on, the settings class it belongs to, the statuses a camera
row can end with, and what the ledger remembers of a camera task. Pure.

``CameraStatus`` and ``STATUS_INFO`` are the one place that says what each status means
to a person, how it is coloured in the results workbook, and which exit code it implies.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final, NamedTuple

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
    """One valid camera row, ready for planning (a tuple: a million of them stay cheap)."""

    position: int  # index into Checked.rows (unique across sheets)
    row: int  # Excel row on its sheet, for messages
    group: str  # video_source_group_id
    video_source_id: str
    target_roi: str | None
    settings_class: int  # index into Checked.settings_classes


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
