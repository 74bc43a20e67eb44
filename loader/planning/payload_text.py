"""
A batch's group entries as the text ``json.dumps`` writes for them, from columns: the
planned cameras' ids and ROIs, which cameras each entry holds, and each entry's group.

Why columns: a plan of 600,000 cameras in groups of one and two has 400,000 entries; the
text of all of them is one object array of cells (the ids, the ROIs' texts, the groups and
the constant text between them, each put in place by a fancy index) and a join per batch:
the Python steps are per batch, none per entry or camera. Escaping is one call of the
encoder on joined texts, not one per text. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

import numpy as np

from loader.model.cameras import Cameras

# What ``encode_basestring`` changes in a text (its own ESCAPE): text without any of these
# is its own JSON string body.
_ESCAPED: Final = re.compile(r'[\x00-\x1f"\\]')
_APART: Final = "\uffff"  # a noncharacter: JSON leaves it as it is
# Ids told plain a slice at a time: 2 MB of text at once, not the whole column's (the
# 1M-row CSV's ids joined were 30 MB, a heap the process kept to its end).
_SLICE: Final = 65_536

quoted: Final[Callable[[str], str]] = json.encoder.encode_basestring


@dataclass(frozen=True, slots=True)
class Texts:
    """The planned cameras' id and ROI columns, and what writing them as JSON needs to
    know of them: whether any id needs escaping (one pass over the joined id column for
    the whole plan: usually none does, and a batch's ids go into its text as they are),
    and which cameras have a ROI ("" is none, as in a body's ``video_source_list``)."""

    ids: np.ndarray  # object: str
    plain_ids: bool  # no id needs escaping
    rois: np.ndarray  # object: str, or None for none
    has: np.ndarray  # bool: the camera has a ROI

    @classmethod
    def of(cls, cameras: Cameras) -> Texts:
        """The texts of ``cameras``' columns (the columns themselves: no copy)."""
        ids = cameras.video_source_id
        plain = all(_plain(ids[s : s + _SLICE].tolist()) for s in range(0, len(ids), _SLICE))
        return cls(ids, plain, cameras.target_roi, cameras.target_roi.astype(bool))


_HEAD: Final = '{"video_source_group_id":"'
_LIST: Final = '","video_source_list":[{"video_source_id":"'
_BETWEEN: Final = '"},{"video_source_id":"'
_CLOSE: Final = '"}]}'
_TAG: Final = '","target_roi":"'


def batch_texts(
    texts: Texts,
    at: np.ndarray,
    ends: np.ndarray,
    groups: np.ndarray,
    frame: tuple[str, str] = ("", ""),
    per_batch: int = 100,
) -> list[str]:
    """The text of each batch of ``per_batch`` entries: the entries' elements as ``dumps``
    writes them, comma-separated, between the frame's two texts.

    ``at``: the cameras' indices, entry after entry; ``ends``: where each entry's cameras
    end in ``at`` (none empty); ``groups``: each entry's group id. The cells: three an
    entry (its head, its group, the text up to its first id), two a camera (its id, and
    what follows it: its ROI, if any, then the text up to the next id, or the entry's
    close), the frame in the first and last cell of each batch.
    """
    count, before, after = len(ends), *frame
    if not count:
        return []
    starts = np.zeros(count, dtype=np.intp)
    starts[1:] = ends[:-1]
    heads = 3 * np.arange(count) + 2 * starts  # each entry's first cell
    total = 3 * count + 2 * len(at)
    cells = np.empty(total, dtype=object)
    cells[heads] = _HEAD
    cells[heads[::per_batch]] = before + _HEAD
    cells[heads + 1] = bodies(groups.tolist())
    cells[heads + 2] = _LIST
    ids = 3 * np.repeat(np.arange(1, count + 1), ends - starts) + 2 * np.arange(len(at))
    cells[ids] = texts.ids[at] if texts.plain_ids else bodies(texts.ids[at].tolist())
    cells[ids + 1] = _BETWEEN
    lasts = np.append(heads[1:], total) - 1  # each entry's last cell
    cells[lasts] = _CLOSE + ","
    cells[lasts[per_batch - 1 :: per_batch]] = _CLOSE + after
    cells[-1] = _CLOSE + after
    has = texts.has[at]
    if has.any():
        where = ids[has] + 1
        rois = np.array(bodies(texts.rois[at[has]].tolist()), dtype=object)
        cells[where] = _TAG + rois + cells[where]
    cuts = np.append(heads[::per_batch], total).tolist()
    return ["".join(cells[a:b].tolist()) for a, b in pairwise(cuts)]


def _plain(texts: list[str]) -> bool:
    """Whether JSON writes each of ``texts`` as it is between its quotes: the common case
    (printable, no quote or backslash) checked in C first, the regex of what
    ``encode_basestring`` changes only for the rest."""
    text = "".join(texts)
    if text.isprintable() and '"' not in text and "\\" not in text:
        return True
    return _ESCAPED.search(text) is None


def bodies(texts: list[str]) -> list[str]:
    """Each text as JSON writes it between its quotes, escaped in one call: joined by a
    character the encoder leaves alone, then split (one by one if a text holds it)."""
    joined = _APART.join(texts)
    if joined.count(_APART) != len(texts) - 1 or not texts:
        return [quoted(t)[1:-1] for t in texts]
    written = quoted(joined)
    if len(written) == len(joined) + 2:  # an escape only lengthens: none was needed
        return texts
    return written[1:-1].split(_APART)
