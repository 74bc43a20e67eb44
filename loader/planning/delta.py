"""
The sheet as the desired state: the diff of its camera tasks against the ledger. Pure.

Per camera task (a camera in a group under one algorithm, ``LedgerKey``):

- no live task: **create** (or **replace**, when the same camera's task under another
  algorithm leaves the sheet: the new task is created, then the old one deleted);
- a task with the sheet's settings: **unchanged**; stopped by bulkload or in a failed
  state: **restart**;
- a task with other settings: **update** (UpdateTask, the whole configuration), or
  **replace** when an update cannot express it (another algorithm version);
- failed earlier with the same settings: kept as ``failed`` (created anew only with
  ``--retry-failed``); its batch's outcome still unknown: kept as ``unknown``.

A camera task the ledger keeps as it is (``Delta.kept``) is not the same thing as a batch a
failed canary holds back (``RunState.held``): the summaries' ``held_*`` counts keep their
names, as ``diff.json`` keeps its ``held`` key (older runs' files still read).

Managed tasks whose camera left the sheet are **removed** (stopped, or deleted with
``--prune=delete``): those under one of the sheet's batch name prefixes (whatever file
loaded them: weekly exports change names), or loaded by this very file.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import numpy as np
import pandas as pd

from loader.bulk import bulk
from loader.model.cameras import (
    Camera,
    Cameras,
    LedgerEntry,
    LedgerKey,
    LedgerState,
    SettingsClass,
)
from loader.model.changes import NO_POSITION, Change, FieldChange
from loader.model.vias import RESTARTABLE_TASK_STATES
from loader.planning.batches import HASH_CHARS, name_prefix
from loader.planning.documents import ClassDocuments, Document, differences, needs_replacing

# Task states the sheet's restart fixes (``--restart-failed``).
_LIVE: Final = frozenset({LedgerState.LOADED, LedgerState.STOPPED})


class Earlier(StrEnum):
    """Why a camera task is kept as the ledger has it (not sent, not changed) this time."""

    UNCHANGED = "unchanged"
    CHANGED = "changed"  # other settings, but its task is not known well enough to change
    FAILED = "failed"
    UNKNOWN = "unknown"  # its batch was created, its own fate not yet known


@dataclass(frozen=True, slots=True)
class TaskChange:
    """One change to a task that exists: what, to which task, and why."""

    change: Change
    key: LedgerKey
    entry: LedgerEntry  # the ledger's record of the task as it is
    position: int = NO_POSITION  # the camera's row; none for a removed camera
    fields: tuple[FieldChange, ...] = ()


class Marks:
    """The fingerprint of each camera task's settings by position, and the documents by
    fingerprint, made when first asked for.

    A plan against an empty ledger asks for none (every camera is a create); a diff asks
    for the cameras the ledger knows; a run records them all.
    """

    def __init__(
        self,
        cameras: Cameras | None = None,
        settings_classes: Sequence[SettingsClass] = (),
        *,
        fingerprints: dict[int, str] | None = None,
        documents: dict[str, Document] | None = None,
    ) -> None:
        self._cameras, self._settings = cameras, settings_classes
        self._classes: dict[int, ClassDocuments] = {}
        self._fingerprints = fingerprints
        self._documents = documents if documents is not None else {}
        self._made: dict[tuple[int, str | None], str] = {}  # most cameras share a class and ROI
        self._paired: tuple[np.ndarray, np.ndarray] | None = None  # ``_pairs``, once made
        self._sorter: np.ndarray | None = None  # the cameras by position (``at``)

    def of(self, camera: Camera) -> str:
        """One camera task's fingerprint (its document kept by it)."""
        shared = (camera.settings_class, camera.target_roi)
        mark = self._made.get(shared)
        if mark is None:
            settings = self._class(camera.settings_class)
            mark = self._made[shared] = settings.fingerprint(camera.target_roi)
            if mark not in self._documents:
                self._documents[mark] = settings.document(camera.target_roi)
        return mark

    def document(self, mark: str) -> Document:
        """The document of a fingerprint ``of`` gave."""
        return self._documents[mark]

    @property
    def fingerprints(self) -> dict[int, str]:
        """Every camera's fingerprint by position."""
        if self._fingerprints is None:
            self._fingerprints = self._every_fingerprint()
        return self._fingerprints

    def at(self, positions: np.ndarray) -> list[str]:
        """The fingerprints of the cameras at these positions, as ``fingerprints`` holds
        them, without making the dict of every camera's when it is not made yet: a run's
        first event asks for one batch's (600,000 cameras: 0.1 s on the event loop)."""
        cameras = self._cameras
        if not len(positions):
            return []
        if self._fingerprints is not None or cameras is None:
            return list(map(self.fingerprints.__getitem__, positions.tolist()))
        if self._sorter is None:
            self._sorter = np.argsort(cameras.position, kind="stable")
        found = self._sorter[
            np.minimum(
                np.searchsorted(cameras.position, positions, sorter=self._sorter), len(cameras) - 1
            )
        ]
        if (cameras.position[found] != positions).any():  # as the dict would: not a camera
            raise KeyError(int(positions[cameras.position[found] != positions][0]))
        pair, marks = self._pairs(cameras)
        chosen: list[str] = marks[pair[found]].tolist()
        return chosen

    def runs(self) -> tuple[list[str], list[list[int]]]:
        """``fingerprint_runs`` of every camera's fingerprint, as diff.json keeps them: from
        the (settings class, ROI) pairs' numbers when no dict of the fingerprints by
        position was made (a new run's start makes none)."""
        cameras = self._cameras
        if self._fingerprints is not None or cameras is None or not len(cameras):
            return fingerprint_runs(self.fingerprints)
        pair, marks = self._pairs(cameras)
        codes, distinct = pd.factorize(marks)
        return [str(m) for m in distinct], _runs(cameras.position, codes[pair])

    def _every_fingerprint(self) -> dict[int, str]:
        """Each camera's fingerprint by position, made once per (settings class, ROI) pair
        and spread to the cameras by their pair's number."""
        cameras = self._cameras
        if cameras is None or not len(cameras):
            return {}
        pair, marks = self._pairs(cameras)
        return dict(zip(cameras.position.tolist(), marks[pair].tolist(), strict=True))

    def _pairs(self, cameras: Cameras) -> tuple[np.ndarray, np.ndarray]:
        """Each camera's (settings class, ROI) pair, numbered in order of appearance (in C),
        and each pair's fingerprint by its number (made once)."""
        if self._paired is None:
            rois, distinct = pd.factorize(cameras.target_roi, use_na_sentinel=False)
            pair = pd.factorize(cameras.settings_class * len(distinct) + rois)[0]
            firsts = np.unique(pair, return_index=True)[1]  # by number: in order of appearance
            marks = np.array([self.of(cameras[int(at)]) for at in firsts], dtype=object)
            self._paired = (pair, marks)
        return self._paired

    @property
    def documents(self) -> dict[str, Document]:
        """Every camera's document by fingerprint."""
        if self._fingerprints is None and self._cameras is not None and len(self._cameras):
            self._pairs(self._cameras)  # making each pair's fingerprint keeps its document
        return self._documents

    def _class(self, index: int) -> ClassDocuments:
        found = self._classes.get(index)
        if found is None:
            found = self._classes[index] = ClassDocuments(self._settings[index].task_settings)
        return found


@dataclass
class Delta:
    """The diff: cameras to create, changes to existing tasks, and the cameras kept."""

    send: Cameras  # created by batches (new cameras, and the new half of replaces)
    kept: dict[int, tuple[Earlier, LedgerEntry]] = field(default_factory=dict)  # by position
    marks: Marks = field(default_factory=Marks)  # the settings of every camera task
    earlier: Mapping[LedgerKey, LedgerEntry] = field(default_factory=dict)  # the ledger read
    updates: list[TaskChange] = field(default_factory=list)
    replaces: dict[int, TaskChange] = field(default_factory=dict)  # by the new camera's row
    restarts: list[TaskChange] = field(default_factory=list)
    removes: list[TaskChange] = field(default_factory=list)
    creates: int = 0  # cameras in ``send`` that are new (not replacing a task)

    @property
    def fingerprints(self) -> dict[int, str]:
        """Each camera's settings fingerprint by position, sent or not."""
        return self.marks.fingerprints

    def fingerprints_at(self, positions: np.ndarray) -> list[str]:
        """``fingerprints`` of the cameras at these positions (``Marks.at``)."""
        return self.marks.at(positions)

    @property
    def documents(self) -> dict[str, Document]:
        """The settings documents by fingerprint."""
        return self.marks.documents

    def counts(self) -> dict[str, int]:
        """How many camera tasks each kind of change touches."""
        kept = [earlier for earlier, _ in self.kept.values()]
        return {
            Change.CREATE: self.creates,
            Change.UPDATE: len(self.updates),
            Change.REPLACE: len(self.replaces),
            Change.UNCHANGED: kept.count(Earlier.UNCHANGED),
            Change.REMOVE: len(self.removes),
            Change.RESTART: len(self.restarts),
            "held_failed": kept.count(Earlier.FAILED),
            "held_unknown": kept.count(Earlier.UNKNOWN),
            "held_changed": kept.count(Earlier.CHANGED),
        }


def camera_key(camera: Camera, settings_classes: Sequence[SettingsClass]) -> LedgerKey:
    """A camera task's identity: the camera in its group under one algorithm."""
    service = settings_classes[camera.settings_class].task_settings.service_name
    return (camera.group, camera.video_source_id, service)


def camera_keys(cameras: Cameras, settings_classes: Sequence[SettingsClass]) -> list[LedgerKey]:
    """``camera_key`` of each camera, from the columns (zipped in C, not a step a camera)."""
    services = np.array([s.task_settings.service_name for s in settings_classes], dtype=object)
    return list(
        zip(
            cameras.group.tolist(),
            cameras.video_source_id.tolist(),
            services[cameras.settings_class].tolist(),
            strict=True,
        )
    )


@bulk
def partition(
    cameras: Cameras,
    settings_classes: Sequence[SettingsClass],
    ledger: Mapping[LedgerKey, LedgerEntry],
    documents: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    retry_failed: bool = False,
    inventory: str = "",
    deleting: bool = False,
) -> Delta:
    """The diff of ``cameras`` (the sheet's valid rows) against the ``ledger``.

    ``documents`` are the recorded settings by fingerprint (to name changed fields);
    ``inventory`` is the input file's name (whose cameras that left it are removed);
    ``deleting`` (``--prune=delete``): tasks stopped earlier are removed too.
    """
    recorded = documents or {}
    marks = Marks(cameras, settings_classes)
    delta = Delta(send=cameras[:0], marks=marks, earlier=ledger)
    if not ledger:  # every camera task is new: nothing to compare, nothing per camera
        delta.send = _distinct(cameras, settings_classes)
        delta.creates = len(delta.send)
        return delta
    rows = list(cameras)
    # The index of each task's last camera, in the order of its first.
    wanted = dict(zip(camera_keys(cameras, settings_classes), range(len(rows)), strict=True))
    leaving_tasks = leaving(ledger, wanted, settings_classes, inventory)
    live: dict[tuple[str, str], list[LedgerKey]] = {}  # leaving live tasks by camera
    for key in sorted(k for k, e in leaving_tasks.items() if e.state == LedgerState.LOADED):
        live.setdefault((key[0], key[1]), []).append(key)
    send = [
        at
        for key, at in wanted.items()
        if _place(
            delta, rows[at], key, ledger.get(key), recorded, leaving_tasks, live, retry_failed
        )
    ]
    delta.send = cameras.take(np.array(send, dtype=np.intp))
    delta.removes = [
        TaskChange(Change.REMOVE, key, entry)
        for key, entry in sorted(leaving_tasks.items())
        if entry.state == LedgerState.LOADED or deleting
    ]
    return delta


def _distinct(cameras: Cameras, settings_classes: Sequence[SettingsClass]) -> Cameras:
    """One camera per camera task, in the order of each task's first row, its last row's
    camera (what the diff's ``wanted`` keeps: rows validation left valid can still share a
    task when two settings classes name one algorithm).

    Only when two settings classes share an algorithm can two cameras share a task; then
    the tasks are numbered from the columns (factorized in C), not a dict of a million keys.
    """
    services = [s.task_settings.service_name for s in settings_classes]
    if len(set(services)) == len(services) or not len(cameras):
        return cameras
    task = pd.factorize(np.array(services, dtype=object))[0][cameras.settings_class]
    for column in (cameras.group, cameras.video_source_id):
        codes, uniques = pd.factorize(column)
        task = pd.factorize(task * len(uniques) + codes)[0]
    tasks = int(task.max()) + 1
    if tasks == len(cameras):
        return cameras
    last = np.full(tasks, -1, dtype=np.intp)
    np.maximum.at(last, task, np.arange(len(cameras)))
    return cameras.take(last)


def _place(
    delta: Delta,
    camera: Camera,
    key: LedgerKey,
    entry: LedgerEntry | None,
    recorded: Mapping[str, Mapping[str, Any]],
    leaving: dict[LedgerKey, LedgerEntry],
    live: dict[tuple[str, str], list[LedgerKey]],
    retry_failed: bool,
) -> bool:
    """Put one wanted camera task in its place in the diff; True: a batch creates it.

    A new camera task replaces the same camera's live task under another algorithm that
    leaves the sheet, if any (``live``: those tasks by camera, in key order; each is
    replaced once).
    """
    if entry is None or entry.state == LedgerState.DELETED:
        replaced = live.get((key[0], key[1]))
        old_key = replaced.pop(0) if replaced else None
        if old_key is None:
            delta.creates += 1
        else:
            gone = leaving.pop(old_key)
            new = delta.marks.document(delta.marks.of(camera))
            fields = tuple(differences(recorded.get(gone.fingerprint), new))
            delta.replaces[camera.position] = TaskChange(
                Change.REPLACE, old_key, gone, camera.position, fields
            )
        return True
    at, mark = camera.position, delta.marks.of(camera)
    new = delta.marks.document(mark)
    same = entry.fingerprint == mark
    if entry.state == LedgerState.FAILED:
        if same and not retry_failed:
            delta.kept[at] = (Earlier.FAILED, entry)
            return False
        delta.creates += 1
        return True
    if entry.state == LedgerState.UNKNOWN:
        delta.kept[at] = (Earlier.UNKNOWN if same else Earlier.CHANGED, entry)
        return False
    if not (entry.task_id or entry.batch_id):  # no way to find its task: nothing to change
        delta.kept[at] = (Earlier.UNCHANGED if same else Earlier.CHANGED, entry)
        return False
    old = recorded.get(entry.fingerprint)
    fields = tuple(differences(old, new)) if not same else ()
    if not same and not fields:  # the same settings, as the API reports them (no version)
        same = True
    if not same:
        if old is not None and needs_replacing(old, new):
            delta.replaces[at] = TaskChange(Change.REPLACE, key, entry, at, fields)
            return True
        delta.updates.append(TaskChange(Change.UPDATE, key, entry, at, fields))
    elif entry.state != LedgerState.STOPPED and entry.task_state not in RESTARTABLE_TASK_STATES:
        delta.kept[at] = (Earlier.UNCHANGED, entry)
    if entry.state == LedgerState.STOPPED or entry.task_state in RESTARTABLE_TASK_STATES:
        delta.restarts.append(TaskChange(Change.RESTART, key, entry, at))
    return False


def leaving(
    ledger: Mapping[LedgerKey, LedgerEntry],
    wanted: Container[LedgerKey],
    settings_classes: Sequence[SettingsClass],
    inventory: str,
    *,
    live_only: bool = True,
) -> dict[LedgerKey, LedgerEntry]:
    """Managed tasks of this sheet whose camera task the sheet no longer has: live ones
    (``live_only``: what --prune scopes), or all of them (what a run's results list).

    A task is this sheet's when its batch's name carries one of the sheet's prefixes (the
    mapping's ``name_prefix``: what a weekly export keeps when its file name changes), or
    when this very file loaded it. Sites that share a project keep apart with a prefix each.
    """
    prefixes = {name_prefix(s.name_prefix) for s in settings_classes}
    return {
        key: entry
        for key, entry in ledger.items()
        if key not in wanted
        and (entry.state in _LIVE or not live_only)
        and (
            batch_prefix(entry.batch) in prefixes
            or bool(inventory and entry.inventory == inventory)
        )
    }


# A batch name bulkload made (``batches`` makes them), whole: the one rule, which
# ``learned.managed_prefix`` (``bulkload refresh``) shares.
_BATCH_NAME: Final = re.compile(rf"(?P<prefix>.+)-[0-9a-f]{{{HASH_CHARS}}}")


def batch_prefix(name: str) -> str:
    """The prefix of a batch name bulkload made (``<prefix>-<hash>``), else ""."""
    found = _BATCH_NAME.fullmatch(name)
    return found["prefix"] if found else ""


def to_data(delta: Delta) -> dict[str, Any]:
    """The diff as JSON-ready data (kept in the run directory: a resume applies it as is).

    The positions sent and every camera's fingerprint are kept as runs of consecutive
    positions (``position_runs``, ``fingerprint_runs``): a sheet's cameras come in order
    and share a few fingerprints, so 600,000 cameras are a few runs, not 20 MB of
    ``"position": "fingerprint"`` pairs written and synced before the first create.
    """

    def change(c: TaskChange) -> list[Any]:
        return [
            c.change,
            list(c.key),
            list(c.entry),
            c.position,
            [[f.field, f.old, f.new] for f in c.fields],
        ]

    marks, runs = delta.marks.runs()
    return {
        "send_runs": position_runs(delta.send.position),
        "creates": delta.creates,
        "held": [[at, earlier, list(entry)] for at, (earlier, entry) in delta.kept.items()],
        "fingerprint_marks": marks,
        "fingerprint_runs": runs,
        "documents": delta.documents,
        "updates": [change(c) for c in delta.updates],
        "replaces": [change(c) for c in delta.replaces.values()],
        "restarts": [change(c) for c in delta.restarts],
        "removes": [change(c) for c in delta.removes],
    }


def from_data(
    data: Mapping[str, Any],
    cameras: Cameras,
    ledger: Mapping[LedgerKey, LedgerEntry],
) -> Delta:
    """A diff back from ``to_data``; ``cameras`` are the sheet's (its rows are unchanged)."""

    def change(item: list[Any]) -> TaskChange:
        kind, key, entry, at, fields = item
        return TaskChange(
            Change(kind),
            (key[0], key[1], key[2]),
            LedgerEntry(*entry),
            at,
            tuple(FieldChange(*f) for f in fields),
        )

    replaces = [change(item) for item in data["replaces"]]
    if "fingerprint_runs" in data:
        fingerprints = from_fingerprint_runs(data["fingerprint_marks"], data["fingerprint_runs"])
        send = from_position_runs(data["send_runs"])
    else:  # a run directory written before the runs (0.x): one pair a camera
        fingerprints = {int(at): mark for at, mark in data["fingerprints"].items()}
        send = np.array(data["send"], dtype=np.int64)
    marks = Marks(fingerprints=fingerprints, documents=dict(data["documents"]))
    return Delta(
        send=cameras.at_positions(send),
        kept={at: (Earlier(e), LedgerEntry(*entry)) for at, e, entry in data["held"]},
        marks=marks,
        earlier=ledger,
        updates=[change(item) for item in data["updates"]],
        replaces={c.position: c for c in replaces},
        restarts=[change(item) for item in data["restarts"]],
        removes=[change(item) for item in data["removes"]],
        creates=int(data["creates"]),
    )


def position_runs(positions: np.ndarray) -> list[list[int]]:
    """Ascending-by-one stretches of ``positions`` as ``[first, count]`` pairs, in order."""
    values = np.asarray(positions, dtype=np.int64)
    return _runs(values) if len(values) else []


def from_position_runs(runs: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """The positions ``position_runs`` made its pairs of, in their order."""
    if not len(runs):
        return np.empty(0, dtype=np.int64)
    pairs = np.asarray(runs, dtype=np.int64).reshape(-1, 2)
    firsts, counts = pairs[:, 0], pairs[:, 1]
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    positions: np.ndarray = np.repeat(firsts, counts) + offsets
    return positions


def fingerprint_runs(fingerprints: Mapping[int, str]) -> tuple[list[str], list[list[int]]]:
    """The fingerprints by position as their distinct marks (in first-seen order) and
    ``[first position, count, mark index]`` runs of consecutive positions sharing one."""
    if not fingerprints:
        return [], []
    positions = np.fromiter(fingerprints.keys(), dtype=np.int64, count=len(fingerprints))
    codes, marks = pd.factorize(np.array(list(fingerprints.values()), dtype=object))
    return [str(m) for m in marks], _runs(positions, codes)


def _runs(positions: np.ndarray, codes: np.ndarray | None = None) -> list[list[int]]:
    """``[first position, count]`` for each stretch of consecutive positions (not empty),
    or with ``codes``, ``[first position, count, code]`` for each that shares a code."""
    breaks = np.diff(positions, prepend=positions[0] - 2) != 1
    if codes is not None:
        breaks |= np.diff(codes, prepend=codes[0] - 1) != 0
    starts = np.flatnonzero(breaks)
    counts = np.diff(np.append(starts, len(positions)))
    columns = [positions[starts], counts, *([] if codes is None else [codes[starts]])]
    return np.column_stack(columns).tolist()  # type: ignore[no-any-return]


def from_fingerprint_runs(marks: Sequence[str], runs: Sequence[Sequence[int]]) -> dict[int, str]:
    """The fingerprints by position that ``fingerprint_runs`` made its runs of."""
    if not runs:
        return {}
    triples = np.asarray(runs, dtype=np.int64).reshape(-1, 3)
    positions = from_position_runs(triples[:, :2])
    chosen = np.array(list(marks), dtype=object)[np.repeat(triples[:, 2], triples[:, 1])]
    return dict(zip(positions.tolist(), chosen.tolist(), strict=True))
