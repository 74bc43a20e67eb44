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

import bisect
import hashlib
import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

import numpy as np
import pandas as pd

from loader.bulk import bulk
from loader.errors import ConfigError
from loader.model.cameras import Camera, Cameras, SettingsClass
from loader.model.limits import DEFAULT_MAX_PAYLOAD_BYTES
from loader.model.vias import MAX_GROUPS_PER_BATCH, MAX_SOURCES_PER_GROUP
from loader.planning.payload_text import Texts, batch_texts

HASH_CHARS: Final = 12
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
# Cameras whose batches' text is written in one go (one array of cells, at least a batch):
# a bound on the cells and ROI texts alive at once (a few MB), few enough Python steps.
_WINDOW_CAMERAS: Final = 2**14


@dataclass(frozen=True, slots=True, eq=False)
class GroupEntry:
    """One ``video_source_group`` element: a group id and up to 100 of its cameras, held
    as their indices into the planned cameras (``of``): no copy of the columns in plan
    order, no tuples; ``cameras`` gathers them when asked for."""

    group: str
    of: Cameras
    at: np.ndarray

    @property
    def cameras(self) -> Cameras:
        """This entry's cameras, in its order."""
        return self.of.take(self.at)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GroupEntry):
            return NotImplemented
        return self.group == other.group and self.cameras == other.cameras

    __hash__ = None  # type: ignore[assignment]  # equal by content, never hashed

    def body(self) -> dict[str, Any]:
        """The entry as JSON-ready data."""
        return {
            "video_source_group_id": self.group,
            "video_source_list": [_source(c) for c in self.cameras],
        }


@dataclass(frozen=True, eq=False)
class Batch:
    """One planned request: its name, settings class, entries and the exact bytes to POST.

    The entries are held as columns (a plan of 400,000 entries makes no object per entry
    before it sends): ``at``, the indices of the batch's cameras in ``of`` (the planned
    cameras), entry after entry; ``groups``, each entry's group; ``ends``, where each
    entry's cameras end in ``at``. ``entries`` makes the ``GroupEntry`` values when first
    asked for (a run asks while it waits on the network), then keeps them.
    """

    name: str
    settings_class: int
    payload: bytes
    of: Cameras = field(repr=False)
    at: np.ndarray = field(repr=False)
    groups: np.ndarray = field(repr=False)  # object: str, one an entry
    ends: np.ndarray = field(repr=False)

    @cached_property
    def entries(self) -> tuple[GroupEntry, ...]:
        """The entries, in the payload's order."""
        ends = self.ends.tolist()
        return tuple(
            GroupEntry(group, self.of, self.at[start:end])
            for group, start, end in zip(self.groups.tolist(), [0, *ends[:-1]], ends, strict=True)
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Batch):
            return NotImplemented
        return (self.name, self.settings_class, self.payload) == (
            other.name,
            other.settings_class,
            other.payload,
        ) and self.entries == other.entries

    __hash__ = None  # type: ignore[assignment]  # equal by content, never hashed

    @property
    def camera_count(self) -> int:
        """Cameras (tasks to create) in this batch."""
        return len(self.at)

    @property
    def entry_count(self) -> int:
        """Group entries in this batch."""
        return len(self.ends)

    @property
    def group_count(self) -> int:
        """Distinct groups in this batch (a group over 100 cameras has several entries)."""
        return len(set(self.groups.tolist()))

    @property
    def cameras(self) -> Cameras:
        """This batch's cameras, entry after entry."""
        return self.of.take(self.at)

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
        return sum(b.entry_count for b in self.batches)


def dumps(body: dict[str, Any]) -> bytes:
    """The wire form of a body (compact, UTF-8, key order as built)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def minimum_batches(cameras: Cameras) -> int:
    """The fewest batches the count rules allow for these (distinct) cameras."""
    if not len(cameras):
        return 0
    pairs, counts = np.unique(_pair_keys(cameras), return_counts=True)
    return _fewest(pairs // len(cameras), counts)


def planned_minimum(plan: Plan) -> int:
    """``minimum_batches`` of the cameras ``plan`` sends, counted from the batches' entry
    columns (an entry's cameras share a group and a settings class): a Python step per
    batch, none per entry or camera."""
    if not plan.batches:
        return 0
    classes, groups, counts = [], [], []
    for batch in plan.batches:
        starts = np.append(0, batch.ends[:-1])
        classes.append(batch.of.settings_class[batch.at[starts]])
        groups.append(batch.groups)
        counts.append(batch.ends - starts)
    codes, named = pd.factorize(np.concatenate(groups))
    pairs, at = np.unique(np.concatenate(classes) * len(named) + codes, return_inverse=True)
    cameras = np.zeros(len(pairs), dtype=np.int64)
    np.add.at(cameras, at, np.concatenate(counts))
    return _fewest(pairs // len(named), cameras)


def _fewest(classes: np.ndarray, counts: np.ndarray) -> int:
    """The fewest batches for these camera counts of one group each, by settings class."""
    used, at = np.unique(classes, return_inverse=True)
    entries = np.zeros(len(used), dtype=np.int64)
    np.add.at(entries, at, -(-counts // MAX_SOURCES_PER_GROUP))
    return int((-(-entries // MAX_GROUPS_PER_BATCH)).sum())


def _pair_keys(cameras: Cameras, groups: np.ndarray | None = None) -> np.ndarray:
    """A number per (settings class, group) pair: ``class * len(cameras) + group code``.

    ``groups``: codes of ``cameras.group`` below ``len(cameras)``, equal where the groups
    are (validation's, when it has them); else the column is factorized here.
    """
    if groups is None:
        groups = pd.factorize(cameras.group)[0]
    keys: np.ndarray = cameras.settings_class * len(cameras) + groups
    return keys


@bulk
def plan(
    cameras: Cameras,
    settings_classes: Sequence[SettingsClass],
    *,
    max_payload_bytes: int | None = None,
    canary: int | None = None,
    group_codes: np.ndarray | None = None,
) -> Plan:
    """Batches for ``cameras`` (distinct, as validation leaves them), in first-seen order.

    ``max_payload_bytes`` lowers the default cap; a higher value is held to the default.
    ``canary``: a first batch of the first that many cameras, then the rest as usual.
    ``group_codes``: ``pandas.factorize(cameras.group)[0]`` when known (validation's
    ``Checked.group_codes`` for its own cameras): the groups are not hashed again.
    """
    cap = min(max_payload_bytes or DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_PAYLOAD_BYTES)
    keys = _pair_keys(cameras, group_codes)  # once: the canary's rest is planned from them
    texts = Texts.of(cameras)  # ids checked for escapes once, not a batch at a time
    layout = _Layout.of(keys, len(cameras))
    batches: list[Batch] = []
    if canary and layout.classes:
        index, bounds = layout.classes[0]
        cut = bounds[0] + min(canary, bounds[-1] - bounds[0])
        chosen = np.append(bounds[bounds < cut], cut)  # its groups, the last one cut short
        batches += _class_batches(
            cameras, texts, layout.order, chosen, settings_classes[index], index, cap
        )[:1]
        rest = np.ones(len(cameras), dtype=bool)
        rest[batches[0].at] = False
        layout = _Layout.of(keys, len(cameras), np.flatnonzero(rest))
    first = batches[0].name if batches else ""
    for index, bounds in layout.classes:
        batches += _class_batches(
            cameras, texts, layout.order, bounds, settings_classes[index], index, cap
        )
    return Plan(batches, list(settings_classes), cap, canary=first)


@dataclass(frozen=True, slots=True)
class _Layout:
    """The planned cameras (or those ``among`` them) by settings class, then by group, both
    in first-seen order, the cameras of a group in input order: ``order``, their indices,
    class after class; per class, its index and where each of its groups starts in
    ``order`` (then where its last ends): a class is one slice of ``order``.

    Columns, not a loop: each (class, group) pair numbered in first-seen order (factorized
    in C), the pairs ranked class after class, the indices put in that order by one stable
    sort: a Python step per settings class, none per group or camera.
    """

    order: np.ndarray
    classes: list[tuple[int, np.ndarray]]

    @classmethod
    def of(cls, keys: np.ndarray, count: int, among: np.ndarray | None = None) -> _Layout:
        """The layout of the cameras with these ``_pair_keys`` (``count``: all cameras)."""
        keys = keys if among is None else keys[among]
        if not len(keys):
            return cls(np.empty(0, dtype=np.intp), [])
        keyed, pairs = pd.factorize(keys)
        ranked, used = pd.factorize(np.asarray(pairs) // count)  # each pair's class
        by_class = np.argsort(ranked, kind="stable")
        rank = np.empty(len(pairs), dtype=np.intp)
        rank[by_class] = np.arange(len(pairs))
        key = rank[keyed]
        # Stable either way; numpy radix-sorts 16-bit numbers (a seventh of the time).
        sort = np.argsort(key.astype(np.uint16) if len(pairs) <= 2**16 else key, kind="stable")
        order = sort if among is None else among[sort]
        bounds = np.zeros(len(pairs) + 1, dtype=np.intp)
        np.cumsum(np.bincount(keyed, minlength=len(pairs))[by_class], out=bounds[1:])
        cuts = np.append(0, np.cumsum(np.bincount(ranked))).tolist()
        classes = [
            (index, bounds[start : end + 1])
            for index, start, end in zip(used.tolist(), cuts[:-1], cuts[1:], strict=True)
        ]
        return cls(order, classes)


def _entry_bounds(bounds: np.ndarray) -> np.ndarray:
    """Where each entry starts (then where the last ends), given where each group does:
    a group cut into entries of at most 100 cameras."""
    sizes = np.diff(bounds)
    chunks = -(-sizes // MAX_SOURCES_PER_GROUP)
    if (chunks == 1).all():
        return bounds
    group = np.repeat(np.arange(len(sizes)), chunks)
    nth = np.arange(len(group)) - np.repeat(np.cumsum(chunks) - chunks, chunks)
    return np.append(bounds[:-1][group] + MAX_SOURCES_PER_GROUP * nth, bounds[-1])


def _class_batches(
    cameras: Cameras,
    texts: Texts,
    order: np.ndarray,
    bounds: np.ndarray,
    settings_class: SettingsClass,
    index: int,
    cap: int,
) -> list[Batch]:
    """One settings class (its groups: ``order`` between successive ``bounds``): the
    minimum count if every batch fits the cap, else first-fit.

    When every batch of the minimum count fits (size + 1 <= cap, first-fit's own bound),
    first-fit would make the very same batches: packing them is skipped, as it costs a
    serialisation per camera.
    """
    settings_body = settings_class.task_settings.model_dump(mode="json", exclude_none=True)
    packer = _Packer(cameras, texts, settings_body, name_prefix(settings_class.name_prefix), cap)
    fewest = _fewest_batches(index, packer, order, bounds)
    if all(len(b.payload) < cap for b in fewest):
        return fewest
    starts, ends = bounds[:-1].tolist(), bounds[1:].tolist()
    groups = {cameras.group[order[s]]: order[s:e] for s, e in zip(starts, ends, strict=True)}
    return _packed(index, groups, packer)


def _fewest_batches(
    index: int, packer: _Packer, order: np.ndarray, bounds: np.ndarray
) -> list[Batch]:
    """A class's entries 100 to a batch, the text of the batches of some thousand cameras
    written at a time (each encoded before the next are written)."""
    entries = _entry_bounds(bounds)
    groups = packer.cameras.group[order[entries[:-1]]]
    count, step = len(groups), MAX_GROUPS_PER_BATCH
    firsts = range(0, count, step)  # each batch's first entry; its cameras from low to high
    lows = entries[firsts].tolist()
    highs = entries[np.minimum(np.arange(step, count + step, step), count)].tolist()
    batches: list[Batch] = []
    while len(batches) < len(firsts):
        begin = len(batches)
        end = max(bisect.bisect_right(highs, lows[begin] + _WINDOW_CAMERAS, begin), begin + 1)
        cut = entries[firsts[begin] : min(firsts[end - 1] + step, count) + 1]
        named = groups[firsts[begin] : firsts[begin] + len(cut) - 1]
        at, ends = order[cut[0] : cut[-1]], cut[1:] - cut[0]
        for text in batch_texts(packer.texts, at, ends, named, packer.frame, step):
            first, low, high = firsts[len(batches)], lows[len(batches)], highs[len(batches)]
            own = entries[first + 1 : first + step + 1] - low
            batches.append(
                _named(index, packer, text, order[low:high], groups[first : first + step], own)
            )
    return batches


def _packed(index: int, groups: dict[str, np.ndarray], packer: _Packer) -> list[Batch]:
    """The batches one packer makes of a settings class's groups."""
    entries = [e for g, at in groups.items() for e in packer.entries(g, at)]
    return [_batch(index, packer, chosen) for chosen in packer.pack(entries)]


def name_prefix(prefix: str) -> str:
    """A prefix the name pattern accepts, short enough to leave room for the hash."""
    cleaned = _NAME_UNSAFE.sub("-", prefix).strip("-") or "bulkload"
    return cleaned[: 100 - HASH_CHARS - 1]


def _batch(settings_class: int, packer: _Packer, entries: list[GroupEntry]) -> Batch:
    """A batch of these entries (first-fit's)."""
    if any(e.of is not packer.cameras for e in entries):
        raise ValueError("a batch's entries index one set of planned cameras")
    at = np.concatenate([np.empty(0, dtype=np.intp), *(e.at for e in entries)])
    ends = np.cumsum([len(e.at) for e in entries], dtype=np.intp)
    groups = np.array([e.group for e in entries], dtype=object)
    text = _entries_text(packer.texts, at, ends, groups, packer.frame)
    return _named(settings_class, packer, text, at, groups, ends)


def _entries_text(
    texts: Texts, at: np.ndarray, ends: np.ndarray, groups: np.ndarray, frame: tuple[str, str]
) -> str:
    """Entries (their columns, as in ``Batch``) in one text between the frame's two."""
    if not len(ends):
        return "".join(frame)
    return batch_texts(texts, at, ends, groups, frame, len(ends))[0]


def _named(
    settings_class: int,
    packer: _Packer,
    text: str,
    at: np.ndarray,
    groups: np.ndarray,
    ends: np.ndarray,
) -> Batch:
    """A named batch: the name carries a hash of everything else in the body.

    ``text`` is the body but its opening brace (the class's frame around the entries),
    encoded once; the name is spliced in front (not a second encoding): the same bytes as
    ``dumps({"name": name, **settings_body, "batch_input": ...})``.
    """
    rest = text.encode()
    digest = hashlib.sha256(b"{")
    digest.update(rest)
    name = f"{packer.prefix}-{digest.hexdigest()[:HASH_CHARS]}"
    payload = b"".join((b'{"name":', json.dumps(name).encode(), b",", rest))
    return Batch(name, settings_class, payload, packer.cameras, at, groups, ends)


class _Packer:
    """A settings class's frame around its entries; for first-fit, it splits groups into
    entries and packs entries into batches under both caps."""

    def __init__(
        self,
        cameras: Cameras,
        texts: Texts,
        settings_body: dict[str, Any],
        prefix: str,
        cap: int,
    ) -> None:
        self.cameras, self.texts, self.cap = cameras, texts, cap
        self.prefix = prefix
        marker = f"<entries {uuid.uuid4().hex}>"
        head = dumps({**settings_body, "batch_input": {"video_source_group": marker}}).decode()
        before, after = head.split(json.dumps(marker), 1)
        self.frame = (before[1:] + "[", "]" + after)  # around the entries, but the "{"
        empty = {
            "name": f"{prefix}-{'0' * HASH_CHARS}",
            **settings_body,
            "batch_input": {"video_source_group": []},
        }
        self.base = len(dumps(empty))

    def entries(self, group: str, members: np.ndarray) -> Iterator[GroupEntry]:
        """A group's cameras (their indices) as entries of at most 100, each fitting the cap."""
        room = self.cap - self.base
        overhead = _size(GroupEntry(group, self.cameras, members[:0]))
        start, used = 0, overhead
        for at, camera in enumerate(self.cameras.take(members)):
            size = len(dumps(_source(camera))) + 1  # the comma before it, at most
            if overhead + size > room:
                raise ConfigError(
                    f"--max-payload-bytes {self.cap} is too small for camera row {camera.row}:"
                    f" a batch with it alone needs {self.base + overhead + size} bytes",
                    hint="raise --max-payload-bytes or shorten that row's ROI",
                )
            if at > start and (at - start == MAX_SOURCES_PER_GROUP or used + size > room):
                yield GroupEntry(group, self.cameras, members[start:at])
                start, used = at, overhead
            used += size
        if len(members) > start:
            yield GroupEntry(group, self.cameras, members[start:])

    def pack(self, entries: list[GroupEntry]) -> Iterator[list[GroupEntry]]:
        """Entries into batches, first-fit under the byte cap and 100 to a batch."""
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
