"""
Duplicate rows: later rows with the same settings class, group and camera as an earlier
valid row are sent once, through the first, and warned about. A repeated row repeats its
id, so only the rows of a repeated id are compared; the group column's codes come from
the load's ``ColumnCodes`` (hashed once per load), and the ids are told apart by their
Python hashes first, then exactly. Pure.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from loader.check.codes import ColumnCodes
from loader.check.inventory import MappedSheet
from loader.model.cameras import RowStatus
from loader.model.problems import Problem, Severity

SETTINGS_CLASS: Final = "_settings_class"  # the checked rows' settings class column


def mark_duplicates(
    frame: pd.DataFrame,
    status: np.ndarray,
    cameras: MappedSheet,
    identity: tuple[str, str] = ("group", "video_source_id"),
) -> list[Problem]:
    """Later rows with the same settings, group and source: sent once, through the first.
    ``identity``: the group and camera columns (ids, or names for cameras found by name).
    A repeated row repeats its id: only the rows of a repeated id are compared, by their
    settings class, their group's code (its column hashed once per load) and their id."""
    group, camera = identity
    valid = np.flatnonzero(status == RowStatus.VALID.value)
    names = frame[camera].to_numpy(dtype=object)
    valid = valid[_repeated_texts(names, valid, cameras.codes)]
    if not len(valid):
        return []
    settings = frame[SETTINGS_CLASS].to_numpy()[valid]
    groups = cameras.codes.of(frame[group].to_numpy(dtype=object)).codes[valid]
    triple = _paired(_paired(settings, groups), pd.factorize(names[valid])[0])
    repeated = _repeated(triple)
    if not repeated.any():
        return []
    column = cameras.columns.get(camera, camera)
    first_at: dict[int, int] = {}
    problems = []
    for position, key in zip(valid[repeated].tolist(), triple[repeated].tolist(), strict=True):
        first = first_at.setdefault(key, position)
        if first == position:
            continue
        status[position] = RowStatus.DUPLICATE.value
        problems.append(
            Problem.at(
                cameras.place_at(int(position)),
                Severity.WARNING,
                "duplicate",
                f"the same camera in the same group as {cameras.where(first)};"
                " sent once, through that row",
                fix="delete the repeated row",
                column=column,
                value=str(names[position]),
            )
        )
    return problems


def _repeated_texts(column: np.ndarray, rows: np.ndarray, codes: ColumnCodes) -> np.ndarray:
    """Which of ``rows`` hold a text that another of them holds: from the column's codes
    when known, else from the texts' hashes (a column of ids is hashed for this alone,
    and Python's hash of a string is computed once and kept in it); a repeated hash
    without a repeated text (a collision) is told apart when the rows are compared."""
    known = codes.known(column)
    if known is not None:
        return _repeated(known.codes[rows])
    texts = column[rows].tolist()
    hashes = np.fromiter(map(hash, texts), dtype=np.int64, count=len(texts))
    return _repeated_integers(hashes)


def _repeated_integers(values: np.ndarray) -> np.ndarray:
    """Which of ``values`` occur more than once, found in a sort of them (a million
    hashes: 8 ms, where numbering them to count the numbers took 34)."""
    ordered = np.sort(values)
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(twice):
        return np.zeros(len(values), dtype=bool)
    repeated: np.ndarray = np.isin(values, twice)
    return repeated


def _repeated(codes: np.ndarray) -> np.ndarray:
    """Which of ``codes`` (0..n-1) occur more than once."""
    repeated: np.ndarray = np.bincount(codes)[codes] > 1
    return repeated


def _paired(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """A code per distinct pair of two columns of codes (``second`` 0..n-1, ``first``
    integers from -1 up: a settings class, or a code), in order of first appearance."""
    span = int(second.max()) + 1 if len(second) else 1
    keys: np.ndarray = pd.factorize((first.astype(np.int64) + 1) * span + second)[0]
    return keys
