"""
Trimming a column of cells as ``str.strip()`` trims each, at C speed where nothing is to
trim (almost every column of an export): the cells are joined, a few thousand at a time,
with a separator that is not whitespace, and the joined text is searched for whitespace
beside a separator or at either end, which is where a cell that needs trimming shows.
A separator inside a cell can only add a false alarm (a chunk trimmed that needed none),
never hide a cell. Only a chunk that shows one is trimmed cell by cell; a column with
nothing to trim is kept as the same array, with no copy.

The search is one ``in`` (memchr) per whitespace character, and beside a separator only
for one the text holds; ASCII text (known without a scan) for the ten ASCII ones alone.
A regular expression for the same was fifteen times slower than stripping every cell:
it tries a match at every separator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

import numpy as np
import pandas as pd

SEPARATOR: Final = "\x00"
# Every character ``str.isspace`` holds true, which is what ``str.strip()`` strips
# (tests/read/test_trim.py checks it over every code point).
SPACES: Final = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_EDGES: Final = tuple(SPACES)
_ASCII_PAIRS: Final = tuple((s, SEPARATOR + s, s + SEPARATOR) for s in SPACES if s.isascii())
_PAIRS: Final = tuple((s, SEPARATOR + s, s + SEPARATOR) for s in SPACES)
# Chunks this size joined stay in the processor's cache: measured fastest (4k to 64k).
_CHUNK: Final = 4096


def cell_text(value: object) -> str:
    """A cell that pandas did not read as text: empty for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def trimmed(values: np.ndarray, text: Callable[[object], str] = cell_text) -> np.ndarray:
    """One column's cells (an object array) as trimmed text: ``values`` itself when every
    cell is text and none needs trimming, else a copy with only the chunks of cells that
    need it trimmed; ``text`` gives the trimmed text of a cell that is not text.

    Plain objects rather than pandas' string dtype: every later stage reads the cells one
    by one or compares whole columns, which numpy does on object arrays without pandas'
    per-call checks.
    """
    column: np.ndarray | None = None
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK].tolist()
        try:
            if not _untrimmed(SEPARATOR.join(chunk)):
                continue
            cells = [cell.strip() for cell in chunk]
        except TypeError:  # a workbook's numbers and dates; its empty cells may be NaN
            cells = [v.strip() if type(v) is str else text(v) for v in chunk]
        if column is None:
            column = values.copy()
        column[start : start + len(chunk)] = cells
    return values if column is None else column


def _untrimmed(joined: str) -> bool:
    """Whether any cell of ``joined`` starts or ends with whitespace (or may: a false alarm
    where a cell holds the separator). A character absent from the text costs one scan;
    only one present is looked for beside a separator."""
    if joined.startswith(_EDGES) or joined.endswith(_EDGES):
        return True
    pairs = _ASCII_PAIRS if joined.isascii() else _PAIRS
    return any(s in joined and (before in joined or after in joined) for s, before, after in pairs)
