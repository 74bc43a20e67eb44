"""
Each column of a load hashed once. Mapping, validation and the search for duplicates
each want a column's values as codes (a small integer per distinct value, numbered in
order of first appearance, as ``pandas.factorize`` gives them); the same column flows
unchanged from the read through the mapping into the checked rows, so its codes are kept
by the buffer of values they were made of and shared: a million strings hashed once,
not once per stage that groups by them (a tenth of a second each).

Pure, but for the table it keeps: a column must not be written in once its codes are
known (the stages replace columns, never write in them). The codes are held in the
smallest integer type that numbers the distinct values (a column of a few days takes a
megabyte, not eight).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loader.read.distinct import factorized

_Buffer = tuple[int, int, int]  # where a column's values start, how many, their stride


@dataclass(frozen=True, slots=True)
class Factorized:
    """A column as codes: ``distinct[codes]`` is the column."""

    codes: np.ndarray  # integers, the smallest type that holds len(distinct)
    distinct: np.ndarray  # object: each distinct value, in order of first appearance


class ColumnCodes:
    """The factorizations of a load's columns, by the buffer of values each was made of
    (a column read again as ``to_numpy`` is a new array over the same buffer). Each
    entry holds its column, so a buffer known here is never freed and reused."""

    def __init__(self) -> None:
        self._known: dict[_Buffer, tuple[np.ndarray, Factorized]] = {}
        self._longest: dict[_Buffer, tuple[np.ndarray, int]] = {}
        self._as_read: set[_Buffer] = set()  # hashed by ``of``: its objects may be many

    def of(self, values: np.ndarray) -> Factorized:
        """``values`` factorized (text, never NA): hashed here only the first time."""
        known = self._known.get(_buffer(values))
        if known is not None:
            return known[1]
        codes, distinct = factorized(values)  # pandas' factorization, by object first
        self._as_read.add(_buffer(values))
        return self._remember(values, Factorized(narrowed(codes, len(distinct)), distinct))

    def known(self, values: np.ndarray) -> Factorized | None:
        """The factorization of ``values`` if it has been made (None: not hashed yet)."""
        known = self._known.get(_buffer(values))
        return None if known is None else known[1]

    def mapped(self, source: Factorized, images: np.ndarray) -> np.ndarray:
        """``images[source.codes]``, the column each of whose values becomes its image,
        with its factorization known from the images alone (a few distinct values
        hashed, not the column): a code's first row is the first of its image's."""
        values: np.ndarray = images[source.codes]
        codes, distinct = pd.factorize(images)
        self._remember(values, Factorized(narrowed(codes[source.codes], len(distinct)), distinct))
        return values

    def longest(self, values: np.ndarray) -> int:
        """The length of the longest of ``values`` (texts), counted once per column: from
        its distinct values when they are known."""
        known = self.known(values)
        if known is not None:
            return max(map(len, known.distinct.tolist()), default=0)
        key = _buffer(values)
        if key not in self._longest:
            self._longest[key] = (values, max(map(len, values.tolist()), default=0))
        return self._longest[key][1]

    def intern(self, frame: pd.DataFrame) -> None:
        """Each of ``frame``'s columns hashed as read, replaced by its distinct values'
        own objects (``distinct[codes]``, the same texts, known by the same codes): the
        reader's copies of a repeated value are freed with its grid. The C parser shares
        a value only over a stretch of the file: the 1M-row CSV's 20,000 groups were
        477,807 strings, 37 MB that a plan no longer holds."""
        for name in frame.columns:
            values = frame[name].to_numpy()
            key = _buffer(values)
            if key not in self._as_read or key not in self._known:
                continue  # not hashed, or made of its distinct values (``mapped``)
            known = self._known[key][1]
            interned = known.distinct[known.codes]
            frame[name] = pd.Series(interned, index=frame.index, dtype=object, copy=False)
            self._remember(frame[name].to_numpy(), known)

    def retain(self, frame: pd.DataFrame) -> None:
        """Forget every column but ``frame``'s: the read grid's own columns (an id before
        its case changed, a row's copy of a repeated value) are let go with the grid."""
        kept = {_buffer(frame[name].to_numpy()) for name in frame.columns}
        self._known = {k: v for k, v in self._known.items() if k in kept}
        self._longest = {k: v for k, v in self._longest.items() if k in kept}
        self._as_read &= kept

    def _remember(self, values: np.ndarray, factorized: Factorized) -> Factorized:
        self._known[_buffer(values)] = (values, factorized)
        return factorized


def narrowed(codes: np.ndarray, count: int) -> np.ndarray:
    """``codes`` (0..count-1, or -1) in the smallest signed integer type that holds them."""
    narrow: np.ndarray = codes.astype(np.min_scalar_type(-max(count, 1)), copy=False)
    return narrow


def _buffer(values: np.ndarray) -> _Buffer:
    """What tells a column's values apart from any other column alive."""
    return (values.__array_interface__["data"][0], len(values), values.strides[0])
