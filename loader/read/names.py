"""
How names typed by people are compared: headers, sheet names and enum words match
without regard to case, spaces or the punctuation around a header. Pure.
"""

from __future__ import annotations

from typing import Final

import numpy as np

_AROUND: Final = ":*#."  # the punctuation a header may carry around it


def loose_key(text: str) -> str:
    """Text compared without case or spaces, as people type headers and enum values."""
    return "".join(text.split()).casefold()


def header_key(text: str) -> str:
    """A header as compared: no case, no spaces, no punctuation around it."""
    return loose_key(text).strip(_AROUND)


# By code point: 1 for the characters ``str.split()`` splits on (the last is U+3000), 2
# for the punctuation around a header; code points above are looked up as U+3001 (0).
_KINDS: Final = np.array([int(chr(c).isspace()) for c in range(0x3002)], dtype=np.int8)
_KINDS[[ord(c) for c in _AROUND]] = 2
# What a text of ASCII alone may hold that is not counted as itself: its spaces (as
# ``str.split`` knows them: the six of C and the four separators, 0x1c to 0x1f) and the
# punctuation around a header.
_ASCII_UNCOUNTED: Final = "".join(chr(c) for c in range(128) if _KINDS[c])


def may_fold_to(texts: np.ndarray, key: str) -> np.ndarray:
    """Whether each of ``texts`` may be a header whose ``header_key`` is ``key``: never
    False for one that is, and False for most that are not, counted over the texts' code
    points in whole-array steps (no Python step per text).

    A text folds to ``key`` only if its characters other than spaces, ``n``, are enough
    (case folding turns a character into three at most: ``3n >= len(key)``) and not too
    many (folding never shortens, and what the strip removes is among its ``:*#.``, ``p``
    of them: ``n - p <= len(key)``). A text that is not a ``str`` may be anything.
    """
    listed, size = texts.tolist(), len(texts)
    try:
        joined = "".join(listed)
    except TypeError:
        return np.ones(size, dtype=bool)
    lengths = np.fromiter(map(len, listed), dtype=np.int64, count=size)
    if joined.isascii() and not any(c in joined for c in _ASCII_UNCOUNTED):
        # every character counts and none is stripped (ids, codes: most columns), told by
        # a few scans of the joined text: 40 ms for 600,000 ids, against 150 ms counted
        return (3 * lengths >= len(key)) & (lengths <= len(key))
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    kinds = _KINDS[np.minimum(points, len(_KINDS) - 1)]
    filled = lengths > 0
    starts = (np.cumsum(lengths) - lengths)[filled]  # reduceat sums from each to the next

    def counted(kind: int) -> np.ndarray:
        found = np.zeros(size, dtype=np.int64)
        if len(starts):
            found[filled] = np.add.reduceat(kinds == kind, starts, dtype=np.int64)
        return found

    chars = lengths - counted(1)
    fits: np.ndarray = (3 * chars >= len(key)) & (chars - counted(2) <= len(key))
    return fits
