"""
The planner as it was before it planned a settings class from columns (issue 24): kept
unchanged as the reference ``test_plan_reference`` compares ``loader.planning.batches``
with, byte for byte. Not used by the package.

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
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from loader.bulk import bulk
from loader.errors import ConfigError
from loader.model.cameras import Camera, Cameras, SettingsClass
from loader.model.limits import DEFAULT_MAX_PAYLOAD_BYTES
from loader.model.vias import MAX_GROUPS_PER_BATCH, MAX_SOURCES_PER_GROUP

HASH_CHARS: Final = 12
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
# What ``encode_basestring`` changes in a text (its own ESCAPE): text without any of these
# is its own JSON string body.
_ESCAPED: Final = re.compile(r'[\x00-\x1f"\\]')
_APART: Final = "\uffff"  # a noncharacter: JSON leaves it as it is


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
        return sum(len(e.at) for e in self.entries)

    @property
    def of(self) -> Cameras:
        """The planned cameras this batch's entries index (one settings class's packer
        made them all: they share it)."""
        return self.entries[0].of

    @property
    def at(self) -> np.ndarray:
        """The indices of this batch's cameras in ``of``, entry after entry: a column of
        them is ``of.<column>[at]`` (a gather of one column, not of all six)."""
        return np.concatenate([np.empty(0, dtype=np.intp), *(e.at for e in self.entries)])

    @property
    def cameras(self) -> Cameras:
        """This batch's cameras, entry after entry."""
        return self.of.take(self.at) if self.entries else Cameras.of(())

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


def minimum_batches(cameras: Cameras) -> int:
    """The fewest batches the count rules allow for these (distinct) cameras."""
    if not len(cameras):
        return 0
    pairs, counts = np.unique(_pair_keys(cameras), return_counts=True)
    return _fewest(pairs // len(cameras), counts)


def planned_minimum(plan: Plan) -> int:
    """``minimum_batches`` of the cameras ``plan`` sends, counted an entry at a time (its
    cameras share a group and a settings class): not a Python step per camera."""
    per_group: Counter[tuple[int, str]] = Counter()
    for batch in plan.batches:
        for entry in batch.entries:
            if len(entry.at):
                per_group[int(entry.of.settings_class[entry.at[0]]), entry.group] += len(entry.at)
    classes = np.fromiter((c for c, _ in per_group), dtype=np.int64, count=len(per_group))
    return _fewest(classes, np.fromiter(per_group.values(), np.int64, count=len(per_group)))


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
    texts = _Texts.of(cameras)  # ids checked for escapes once, not a batch at a time
    classes = _classes(cameras, keys)
    batches: list[Batch] = []
    if canary and classes:
        batches.append(_canary_batch(cameras, texts, classes, settings_classes, canary, cap))
        rest = np.ones(len(cameras), dtype=bool)
        rest[np.concatenate([e.at for e in batches[0].entries])] = False
        classes = _classes(cameras, keys, np.flatnonzero(rest))
    first = batches[0].name if batches else ""
    for index, groups in classes.items():
        batches += _class_batches(cameras, texts, index, groups, settings_classes[index], cap)
    return Plan(batches, list(settings_classes), cap, canary=first)


def _canary_batch(
    cameras: Cameras,
    texts: _Texts,
    classes: dict[int, dict[str, np.ndarray]],
    settings_classes: Sequence[SettingsClass],
    size: int,
    cap: int,
) -> Batch:
    """The first ``size`` cameras in plan order, all of the first settings class.

    A batch has one settings class; the first batch of these cameras' own plan keeps the
    count and byte rules (a canary larger than a batch is just the first batch).
    """
    index, groups = next(iter(classes.items()))
    chosen: dict[str, np.ndarray] = {}
    left = size
    for group, members in groups.items():
        if left <= 0:
            break
        chosen[group] = members[:left]
        left -= len(chosen[group])
    return _class_batches(cameras, texts, index, chosen, settings_classes[index], cap)[0]


def _class_batches(
    cameras: Cameras,
    texts: _Texts,
    index: int,
    groups: dict[str, np.ndarray],
    settings_class: SettingsClass,
    cap: int,
) -> list[Batch]:
    """One settings class: the minimum count if every batch fits the cap, else first-fit.

    When every batch of the minimum count fits (size + 1 <= cap, first-fit's own bound),
    first-fit would make the very same batches: packing them is skipped, as it costs a
    serialisation per camera.
    """
    settings_body = settings_class.task_settings.model_dump(mode="json", exclude_none=True)
    prefix = name_prefix(settings_class.name_prefix)
    fewest = _packed(index, groups, _Packer(cameras, texts, settings_body, prefix, None))
    if all(len(b.payload) < cap for b in fewest):
        return fewest
    return _packed(index, groups, _Packer(cameras, texts, settings_body, prefix, cap))


def _packed(index: int, groups: dict[str, np.ndarray], packer: _Packer) -> list[Batch]:
    """The batches one packer makes of a settings class's groups."""
    entries = [e for g, at in groups.items() for e in packer.entries(g, at)]
    return [_batch(index, packer, chosen) for chosen in packer.pack(entries)]


def _classes(
    cameras: Cameras, keys: np.ndarray, among: np.ndarray | None = None
) -> dict[int, dict[str, np.ndarray]]:
    """The indices of ``cameras`` (of those ``among``, if given) by settings class, then by
    group, both in first-seen order (``keys``: their ``_pair_keys``).

    Columns, not a loop: each (class, group) pair numbered in first-seen order (factorized
    in C), the indices put in that order by one stable sort and cut where the number
    changes, each group a slice of the sorted indices: a million cameras cost a few
    thousand Python steps, one per group, and one array of indices.
    """
    keys = keys if among is None else keys[among]
    if not len(keys):
        return {}
    keyed, pairs = pd.factorize(keys)
    # Stable either way; numpy radix-sorts 16-bit numbers (a seventh of the time).
    sort = np.argsort(keyed.astype(np.uint16) if len(pairs) <= 2**16 else keyed, kind="stable")
    order = sort if among is None else among[sort]
    starts = np.flatnonzero(np.diff(keyed[sort], prepend=-1)).tolist()
    classes: dict[int, dict[str, np.ndarray]] = {}
    for start, end in zip(starts, [*starts[1:], len(order)], strict=True):
        first = order[start]
        group = cameras.group[first]
        classes.setdefault(int(cameras.settings_class[first]), {})[group] = order[start:end]
    return classes


def name_prefix(prefix: str) -> str:
    """A prefix the name pattern accepts, short enough to leave room for the hash."""
    cleaned = _NAME_UNSAFE.sub("-", prefix).strip("-") or "bulkload"
    return cleaned[: 100 - HASH_CHARS - 1]


def _batch(settings_class: int, packer: _Packer, entries: list[GroupEntry]) -> Batch:
    """A named batch: the name carries a hash of everything else in the body.

    The body but its opening brace is one join of the class's frame around the entries'
    text, encoded once; the name is spliced in front (not a second encoding): the same
    bytes as ``dumps({"name": name, **settings_body, "batch_input": ...})``.
    """
    if any(e.of is not packer.cameras for e in entries):
        raise ValueError("a batch's entries index one set of planned cameras")
    rest = _entries_text(packer.texts, entries, *packer.frame).encode()
    digest = hashlib.sha256(b"{")
    digest.update(rest)
    name = f"{packer.prefix}-{digest.hexdigest()[:HASH_CHARS]}"
    payload = b"".join((b'{"name":', json.dumps(name).encode(), b",", rest))
    return Batch(name, settings_class, tuple(entries), payload)


@dataclass(frozen=True, slots=True)
class _Texts:
    """The planned cameras' id and ROI columns, and what writing them as JSON needs to
    know of them: whether any id needs escaping (one pass over the joined id column for
    the whole plan: usually none does, and a batch's ids go into its text as they are),
    and which cameras have a ROI ("" is none, as in ``_source``)."""

    ids: np.ndarray  # object: str
    plain_ids: bool  # no id needs escaping
    rois: np.ndarray  # object: str, or None for none
    has: np.ndarray  # bool: the camera has a ROI

    @classmethod
    def of(cls, cameras: Cameras) -> _Texts:
        """The texts of ``cameras``' columns (the columns themselves: no copy)."""
        ids = cameras.video_source_id
        return cls(ids, _plain(ids.tolist()), cameras.target_roi, cameras.target_roi.astype(bool))


_OPEN: Final = '{"video_source_id":"'
_BETWEEN: Final = '"},{"video_source_id":"'
_TAG: Final = '","target_roi":"'
_BETWEENS: Final = np.array([_BETWEEN], dtype=object)


def _entries_text(
    texts: _Texts, entries: list[GroupEntry], before: str = "", after: str = ""
) -> str:
    """A batch's entries (none empty, as the packers make them) as ``dumps`` writes the
    elements of their list, between ``before`` and ``after``, in one join of two cells a
    camera: its id, and what follows it (its ROI, if any, and the text up to the next
    camera's id, or the end of its entry and the start of the next).

    The cells are an object array (references to shared or gathered texts, no copies):
    the ids gathered into every other cell by one fancy index, the ROIs' texts into theirs
    by another; a Python step per entry (where its text ends and the next starts), none
    per camera.
    """
    if not entries:
        return before + after
    at = np.concatenate([e.at for e in entries])
    cells = np.repeat(_BETWEENS, 2 * len(at) + 2)  # the text between, ids put in below
    cells[1:-1:2] = texts.ids[at] if texts.plain_ids else _bodies(texts.ids[at].tolist())
    has = texts.has[at]
    if has.any():
        cells[2 + 2 * np.flatnonzero(has)] = _tails(texts.rois[at[has]].tolist())
    heads = [
        f'{{"video_source_group_id":{_quoted(e.group)},"video_source_list":[{_OPEN}'
        for e in entries
    ]
    ends = 2 * np.cumsum([len(e.at) for e in entries])  # each entry's last "what follows"
    for end, close in zip(ends.tolist(), ['"}]},' + h for h in heads[1:]] + ['"}]}'], strict=True):
        cells[end] = cells[end][: -len(_BETWEEN)] + close
    cells[0], cells[-1] = before + heads[0], after
    return "".join(cells.tolist())


def _tails(rois: list[str]) -> list[str]:
    """What follows the id of each camera with these ROIs: the ROI's key, the ROI as JSON
    writes it, the text up to the next camera's id; escaped in one call (joined by a
    character the encoder leaves alone, then split: one by one if a ROI holds it)."""
    joined = _APART.join(rois)
    if joined.count(_APART) != len(rois) - 1:
        return [_TAG + _quoted(roi)[1:-1] + _BETWEEN for roi in rois]
    body = _quoted(joined)[1:-1].replace(_APART, _BETWEEN + _APART + _TAG)
    return (_TAG + body + _BETWEEN).split(_APART)


def _plain(texts: list[str]) -> bool:
    """Whether JSON writes each of ``texts`` as it is between its quotes: the common case
    (printable, no quote or backslash) checked in C first, the regex of what
    ``encode_basestring`` changes only for the rest."""
    text = "".join(texts)
    if text.isprintable() and '"' not in text and "\\" not in text:
        return True
    return _ESCAPED.search(text) is None


def _bodies(texts: list[str]) -> list[str]:
    """Each text as JSON writes it between its quotes, escaped in one call: joined by a
    character the encoder leaves alone, then split (one by one if a text holds it)."""
    joined = _APART.join(texts)
    if joined.count(_APART) != len(texts) - 1 or not texts:
        return [_quoted(t)[1:-1] for t in texts]
    quoted = _quoted(joined)
    if len(quoted) == len(joined) + 2:  # an escape only lengthens: none was needed
        return texts
    return quoted[1:-1].split(_APART)


_quoted: Final[Callable[[str], str]] = json.encoder.encode_basestring


class _Packer:
    """Splits groups into entries and packs entries into batches under both caps."""

    def __init__(
        self,
        cameras: Cameras,
        texts: _Texts,
        settings_body: dict[str, Any],
        prefix: str,
        cap: int | None,
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
        """A group's cameras (their indices) as entries of at most 100 (and, with a cap, of
        fitting size)."""
        if self.cap is None:
            for start in range(0, len(members), MAX_SOURCES_PER_GROUP):
                chunk = members[start : start + MAX_SOURCES_PER_GROUP]
                yield GroupEntry(group, self.cameras, chunk)
            return
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
