"""
Planning: valid cameras into as few batch payloads as the API's rules allow.

Rules: groups with different task settings never share a batch;
a group entry holds at most 100 cameras (a bigger group is split into several entries,
which may share a batch); a batch holds at most 100 entries; a byte cap bounds each body
(``DEFAULT_MAX_PAYLOAD_BYTES`` below the gateway's 12 MB, or a lower one given). When every
batch of the minimum count, ``sum over settings classes of ceil(entries / 100)``, fits the
cap, that is the plan; a settings class whose batches would not fit has its entries packed
first-fit in input order (minimal in practice, not guaranteed: bin packing). Names are
``<prefix>-<12 hex of the body's SHA-256>``: the same cameras and settings give the same
name in any run. A canary (``--canary N``) is the first N cameras in plan order, all of
the first settings class and at most one batch of them, planned first as a batch of its
own; the rest is planned as usual (the minimum count for them). Pure.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import itemgetter
from typing import Any, Final

import numpy as np
import pandas as pd

from loader.bulk import bulk
from loader.errors import ConfigError
from loader.model.cameras import Camera, SettingsClass
from loader.model.limits import DEFAULT_MAX_PAYLOAD_BYTES
from loader.model.vias import MAX_GROUPS_PER_BATCH, MAX_SOURCES_PER_GROUP

HASH_CHARS: Final = 12
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_CLASS_AND_GROUP: Final = itemgetter(
    Camera._fields.index("settings_class"), Camera._fields.index("group")
)
_SETTINGS_CLASS: Final = itemgetter(Camera._fields.index("settings_class"))
_GROUP: Final = itemgetter(Camera._fields.index("group"))
_VIDEO_SOURCE_ID: Final = itemgetter(Camera._fields.index("video_source_id"))
_TARGET_ROI: Final = itemgetter(Camera._fields.index("target_roi"))


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """One ``video_source_group`` element: a group id and up to 100 of its cameras."""

    group: str
    cameras: tuple[Camera, ...]

    def body(self) -> dict[str, Any]:
        """The entry as JSON-ready data."""
        return {
            "video_source_group_id": self.group,
            "video_source_list": [_source(c) for c in self.cameras],
        }


@dataclass(frozen=True)
class Batch:
    """One planned request: its name, settings class, entries and the exact bytes to POST."""

    name: str
    settings_class: int
    entries: tuple[GroupEntry, ...]
    payload: bytes

    @property
    def camera_count(self) -> int:
        """Cameras (tasks to create) in this batch."""
        return sum(len(e.cameras) for e in self.entries)

    def content(self) -> bytes:
        """The exact bytes to POST: compact UTF-8 JSON, ``name`` first."""
        return self.payload

    @property
    def body(self) -> dict[str, Any]:
        """The body as data."""
        result: dict[str, Any] = json.loads(self.payload)
        return result


@dataclass(frozen=True)
class Plan:
    """The batches for an inventory, in a deterministic order."""

    batches: list[Batch]
    settings_classes: list[SettingsClass]
    max_payload_bytes: int | None = None
    canary: str = ""  # the batch sent first and alone, its tasks checked before the rest

    @property
    def camera_count(self) -> int:
        """Cameras across all batches."""
        return sum(b.camera_count for b in self.batches)

    @property
    def entry_count(self) -> int:
        """Group entries across all batches."""
        return sum(len(b.entries) for b in self.batches)


def dumps(body: dict[str, Any]) -> bytes:
    """The wire form of a body (compact, UTF-8, key order as built)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def minimum_batches(cameras: Sequence[Camera]) -> int:
    """The fewest batches the count rules allow for these (distinct) cameras."""
    return _fewest(Counter(map(_CLASS_AND_GROUP, cameras)))  # counted in C


def planned_minimum(plan: Plan) -> int:
    """``minimum_batches`` of the cameras ``plan`` sends, counted an entry at a time (its
    cameras share a group and a settings class): not a Python step per camera."""
    per_group: Counter[tuple[int, str]] = Counter()
    for batch in plan.batches:
        for entry in batch.entries:
            if entry.cameras:
                per_group[_CLASS_AND_GROUP(entry.cameras[0])] += len(entry.cameras)
    return _fewest(per_group)


def _fewest(per_group: Counter[tuple[int, str]]) -> int:
    """The fewest batches for these camera counts by settings class and group."""
    entries: dict[int, int] = {}
    for (settings_class, _), count in per_group.items():
        entries[settings_class] = entries.get(settings_class, 0) + math.ceil(
            count / MAX_SOURCES_PER_GROUP
        )
    return sum(math.ceil(n / MAX_GROUPS_PER_BATCH) for n in entries.values())


@bulk
def plan(
    cameras: Sequence[Camera],
    settings_classes: Sequence[SettingsClass],
    *,
    max_payload_bytes: int | None = None,
    canary: int | None = None,
) -> Plan:
    """Batches for ``cameras`` (distinct, as validation leaves them), in first-seen order.

    ``max_payload_bytes`` lowers the default cap; a higher value is held to the default.
    ``canary``: a first batch of the first that many cameras, then the rest as usual.
    """
    cap = min(max_payload_bytes or DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_PAYLOAD_BYTES)
    classes = _classes(cameras)
    batches: list[Batch] = []
    if canary and classes:
        batches.append(_canary_batch(classes, settings_classes, canary, cap))
        taken = {c.position for e in batches[0].entries for c in e.cameras}
        classes = _classes([c for c in cameras if c.position not in taken])
    first = batches[0].name if batches else ""
    for index, groups in classes.items():
        batches += _class_batches(index, groups, settings_classes[index], cap)
    return Plan(batches, list(settings_classes), cap, canary=first)


def _canary_batch(
    classes: dict[int, dict[str, list[Camera]]],
    settings_classes: Sequence[SettingsClass],
    size: int,
    cap: int,
) -> Batch:
    """The first ``size`` cameras in plan order, all of the first settings class.

    A batch has one settings class; the first batch of these cameras' own plan keeps the
    count and byte rules (a canary larger than a batch is just the first batch).
    """
    index, groups = next(iter(classes.items()))
    chosen: dict[str, list[Camera]] = {}
    left = size
    for group, members in groups.items():
        if left <= 0:
            break
        chosen[group] = members[:left]
        left -= len(chosen[group])
    return _class_batches(index, chosen, settings_classes[index], cap)[0]


def _class_batches(
    index: int, groups: dict[str, list[Camera]], settings_class: SettingsClass, cap: int
) -> list[Batch]:
    """One settings class: the minimum count if every batch fits the cap, else first-fit.

    When every batch of the minimum count fits (size + 1 <= cap, first-fit's own bound),
    first-fit would make the very same batches: packing them is skipped, as it costs a
    serialisation per camera.
    """
    settings_body = settings_class.task_settings.model_dump(mode="json", exclude_none=True)
    prefix = name_prefix(settings_class.name_prefix)
    fewest = _packed(index, groups, _Packer(settings_body, prefix, None))
    if all(len(b.payload) < cap for b in fewest):
        return fewest
    return _packed(index, groups, _Packer(settings_body, prefix, cap))


def _packed(index: int, groups: dict[str, list[Camera]], packer: _Packer) -> list[Batch]:
    """The batches one packer makes of a settings class's groups."""
    entries = [e for g, cams in groups.items() for e in packer.entries(g, cams)]
    return [
        _batch(index, packer.prefix, packer.settings_body, chosen)
        for chosen in packer.pack(entries)
    ]


def _classes(cameras: Sequence[Camera]) -> dict[int, dict[str, list[Camera]]]:
    """Cameras by settings class, then by group, both in first-seen order.

    Columns, not a loop: each (class, group) pair numbered in first-seen order (factorized
    in C), the cameras put in that order by one stable sort and cut where the number
    changes, so that a million cameras cost a few thousand Python steps, one per group.
    """
    if not cameras:
        return {}
    keyed = pd.factorize(
        np.fromiter(map(_SETTINGS_CLASS, cameras), dtype=np.int64, count=len(cameras))
        * len(cameras)
        + pd.factorize(np.fromiter(map(_GROUP, cameras), dtype=object, count=len(cameras)))[0]
    )[0]
    order = np.argsort(keyed, kind="stable")
    ordered = np.fromiter(cameras, dtype=object, count=len(cameras))[order]
    cuts = np.flatnonzero(np.diff(keyed[order])) + 1
    classes: dict[int, dict[str, list[Camera]]] = {}
    for members in np.split(ordered, cuts):
        first: Camera = members[0]
        classes.setdefault(first.settings_class, {})[first.group] = members.tolist()
    return classes


def name_prefix(prefix: str) -> str:
    """A prefix the name pattern accepts, short enough to leave room for the hash."""
    cleaned = _NAME_UNSAFE.sub("-", prefix).strip("-") or "bulkload"
    return cleaned[: 100 - HASH_CHARS - 1]


def _batch(
    settings_class: int, prefix: str, settings_body: dict[str, Any], entries: list[GroupEntry]
) -> Batch:
    """A named batch: the name carries a hash of everything else in the body."""
    unnamed = _body_bytes(settings_body, entries)
    name = f"{prefix}-{hashlib.sha256(unnamed).hexdigest()[:HASH_CHARS]}"
    # Splice the name in front rather than encode the body twice: the same bytes as
    # dumps({"name": name, **content}).
    payload = b'{"name":' + json.dumps(name).encode() + b"," + unnamed[1:]
    return Batch(name, settings_class, tuple(entries), payload)


def _body_bytes(settings_body: dict[str, Any], entries: list[GroupEntry]) -> bytes:
    """``dumps`` of the body without its name, the entries written as text directly: the
    same bytes (the C encoder's own string escaping), without a dict per camera."""
    marker = f"<entries {uuid.uuid4().hex}>"
    head = dumps({**settings_body, "batch_input": {"video_source_group": marker}})
    before, after = head.split(json.dumps(marker).encode(), 1)
    text = ",".join(_entry_text(e) for e in entries)
    return b"%b[%b]%b" % (before, text.encode(), after)


def _entry_text(entry: GroupEntry) -> str:
    """One entry as ``dumps(entry.body())`` writes it: the ids escaped and joined in C,
    a Python step only for a camera with an ROI."""
    cameras = entry.cameras
    quoted = list(map(_quoted, map(_VIDEO_SOURCE_ID, cameras)))
    rois = list(map(_TARGET_ROI, cameras))
    for at in compress(range(len(rois)), rois):
        quoted[at] += ',"target_roi":' + _quoted(rois[at])
    sources = '{"video_source_id":' + '},{"video_source_id":'.join(quoted) + "}" if quoted else ""
    return f'{{"video_source_group_id":{_quoted(entry.group)},"video_source_list":[{sources}]}}'


_quoted: Final[Callable[[str], str]] = json.encoder.encode_basestring


class _Packer:
    """Splits groups into entries and packs entries into batches under both caps."""

    def __init__(self, settings_body: dict[str, Any], prefix: str, cap: int | None) -> None:
        self.cap = cap
        self.settings_body, self.prefix = settings_body, prefix
        empty = {
            "name": f"{prefix}-{'0' * HASH_CHARS}",
            **settings_body,
            "batch_input": {"video_source_group": []},
        }
        self.base = len(dumps(empty))

    def entries(self, group: str, cameras: list[Camera]) -> Iterator[GroupEntry]:
        """A group's cameras as entries of at most 100 (and, with a cap, of fitting size)."""
        if self.cap is None:
            for start in range(0, len(cameras), MAX_SOURCES_PER_GROUP):
                yield GroupEntry(group, tuple(cameras[start : start + MAX_SOURCES_PER_GROUP]))
            return
        room = self.cap - self.base
        overhead = _size(GroupEntry(group, ()))
        chunk: list[Camera] = []
        used = overhead
        for camera in cameras:
            size = len(dumps(_source(camera))) + 1  # the comma before it, at most
            if overhead + size > room:
                raise ConfigError(
                    f"--max-payload-bytes {self.cap} is too small for camera row {camera.row}:"
                    f" a batch with it alone needs {self.base + overhead + size} bytes",
                    hint="raise --max-payload-bytes or shorten that row's ROI",
                )
            if chunk and (len(chunk) == MAX_SOURCES_PER_GROUP or used + size > room):
                yield GroupEntry(group, tuple(chunk))
                chunk, used = [], overhead
            chunk.append(camera)
            used += size
        if chunk:
            yield GroupEntry(group, tuple(chunk))

    def pack(self, entries: list[GroupEntry]) -> Iterator[list[GroupEntry]]:
        """Entries into batches: 100 at a time, or first-fit under the byte cap."""
        if self.cap is None:
            for start in range(0, len(entries), MAX_GROUPS_PER_BATCH):
                yield entries[start : start + MAX_GROUPS_PER_BATCH]
            return
        bins: list[tuple[list[GroupEntry], int]] = []
        for entry in entries:
            size = _size(entry) + 1  # the comma between entries
            for number, (members, used) in enumerate(bins):
                if len(members) < MAX_GROUPS_PER_BATCH and used + size <= self.cap:
                    members.append(entry)
                    bins[number] = (members, used + size)
                    break
            else:
                bins.append(([entry], self.base + size))
        for members, _ in bins:
            yield members


def _size(entry: GroupEntry) -> int:
    """Bytes of an entry in the wire form."""
    return len(dumps(entry.body()))


def _source(camera: Camera) -> dict[str, str]:
    """One ``video_source_list`` element."""
    if camera.target_roi:
        return {"video_source_id": camera.video_source_id, "target_roi": camera.target_roi}
    return {"video_source_id": camera.video_source_id}
