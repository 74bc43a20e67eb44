"""
Transforms of ``transforms`` over a whole column at once, each exact: what it gives is
what the transform gives value by value. A million values through a transform cost a
million Python calls; these cost a few passes of C over the column, most of them over the
column joined into one text (``SEPARATOR`` apart), which is what lets C do the work.

``unchanged`` tells when a step would leave every value as it is (ids already in lower
case: no new strings, no table of distinct values to build); ``over_column`` gives a
step's results for the values C can do, and leaves the others to the step itself.
Pure; the values given are never empty (a transform skips an empty cell).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from operator import is_not, itemgetter, ne
from typing import Final

import numpy as np

from loader.check import transforms
from loader.check.transforms import Transform
from loader.model.vias import MAX_ROI_CHARS

SEPARATOR: Final = "\x00"  # joins a column into one text; a value holding it is never joined

# A case mapping is per character but for the final sigma, whose context stops at any
# character neither cased nor case-ignorable: SEPARATOR ends it as a value's end does.
_CASED: Final = (str.lower, str.upper)
_STRIPPED: Final = (str.strip, transforms.number_text)
_HEAD: Final = 64  # values a step is first tried on: a column it changes is known at once
_SLICE: Final = 65_536  # values joined at once


def joined(texts: Sequence[str]) -> str | None:
    """The texts as one, ``SEPARATOR`` apart; None when one holds it (no way back)."""
    text = SEPARATOR.join(texts)
    return text if text.count(SEPARATOR) == len(texts) - 1 else None


def unchanged(step: Transform, texts: np.ndarray) -> bool:
    """Whether ``step`` leaves each of ``texts`` as it is, known at C speed (False when
    it cannot be known so: the step is then taken as it is)."""
    if step not in _CASED and step not in _STRIPPED:
        return False
    head = texts[:_HEAD].tolist()
    if any(map(ne, map(step, head), head)):  # the usual answer for a column it changes
        return False
    values = texts.tolist()
    if step in _CASED:  # a slice at a time: a few MB of text at once, not the column's
        for start in range(0, len(values), _SLICE):
            text = joined(values[start : start + _SLICE])
            if text is None or step(text) != text:
                return False
        return True
    # both strip what ``str.isspace`` calls space, at either end
    return not any(map(str.isspace, map(itemgetter(0), values))) and not any(
        map(str.isspace, map(itemgetter(-1), values))
    )


def over_column(step: Transform, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``step``'s results for ``texts`` and which of them it gave (the others are left to
    the step, value by value); None when the step has no column form."""
    if step is transforms.roi:
        return plain_rois(texts)
    if isinstance(step, transforms.Lookup):
        return looked_up(step, texts)
    return None


def looked_up(step: transforms.Lookup, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Lookup`` of every value its table holds, read by ``map`` of the table's ``get``
    (no Python frame per value); a value not in it is left to the step, which refuses it."""
    results = np.empty(len(texts), dtype=object)
    results[:] = list(map(step.table.get, texts.tolist()))
    found = np.fromiter(map(is_not, results, repeat(None)), dtype=bool, count=len(texts))
    return results, found


def plain_rois(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``transforms.roi`` of every value written as plain points (``x,y;x,y;...``, its
    JSON no longer than the API takes); other values are left to ``roi`` itself.

    The JSON of plain points is the text bracketed, ``;`` as ``],[``: the whole column is
    bracketed and replaced in one text, and a shape's kind told by the lengths (each
    ``;`` grows by two): two points are a line, more a polygon.
    """
    results = np.empty(len(texts), dtype=object)
    text = joined(texts.tolist())
    if text is None:
        return results, np.zeros(len(texts), dtype=bool)
    plain = _plain(text, len(texts))
    points = texts[plain].tolist()
    if not points:
        return results, plain
    polygons = _bracketed(points, "polygons")
    grown = _lengths(polygons) - _lengths(points) - len(_opening("polygons") + transforms.CLOSING)
    lines = grown == 2  # one ";": two points
    if lines.any():
        polygons[lines] = _bracketed(np.array(points, dtype=object)[lines].tolist(), "lines")
    fits = _lengths(polygons) <= MAX_ROI_CHARS
    plain[plain] = fits
    results[plain] = polygons[fits]
    return results, plain


# Plain points as tokens: a digit 1-9 as d, 0 as z, a "," ";" or the separator (a
# number's end) as s, anything else as "?" (a value holding it is never plain: ``roi``
# takes it). Then the points' punctuation alone, apart by the separator (as e).
_TOKENS: Final = bytes(
    ord("d")
    if chr(b) in "123456789"
    else ord("z")
    if b == ord("0")
    else ord("s")
    if chr(b) in ",;" + SEPARATOR
    else ord("?")
    for b in range(256)
)
_PUNCTUATION: Final = bytes(
    b if chr(b) in ",;" else ord("e") if chr(b) == SEPARATOR else ord("?") for b in range(256)
)
_DIGITS: Final = b"0123456789"
# What plain points never hold: an empty number, a zero in front of a number, another
# character; in their punctuation, two "," or two ";" in a row (a point is "x,y", points
# apart by ";"), a value not starting and ending with a point, or of one point or none.
_NEVER_IN_TOKENS: Final = (b"ss", b"szd", b"szz", b"?")
_NEVER_IN_PUNCTUATION: Final = (b",,", b";;", b"e;", b";e", b"e,e", b"ee")


def _plain(text: str, count: int) -> np.ndarray:
    """Which of the ``count`` values joined in ``text`` fullmatch ``PLAIN_POINTS`` and
    are ASCII (a value with other digits is left to ``roi``), told in C: the column at
    once when every value is plain points (a few searches of its tokens), else value by
    value."""
    framed = (SEPARATOR + text + SEPARATOR).encode("utf-8", "surrogatepass")
    tokens = framed.translate(_TOKENS)
    punctuation = framed.translate(_PUNCTUATION, _DIGITS)
    if not _holds(tokens, _NEVER_IN_TOKENS) and not _holds(punctuation, _NEVER_IN_PUNCTUATION):
        return np.ones(count, dtype=bool)
    texts = text.split(SEPARATOR)
    match = transforms.PLAIN_POINTS.fullmatch
    plain = np.fromiter(map(bool, map(match, texts)), dtype=bool, count=count)
    plain &= np.fromiter(map(str.isascii, texts), dtype=bool, count=count)
    return plain


def _holds(text: bytes, patterns: tuple[bytes, ...]) -> bool:
    """Whether any of ``patterns`` occurs in ``text``, told by comparing the text with
    each of their bytes at each offset (passes of C over the bytes, a few ms a pattern:
    ``in`` stops at every place a pattern's first byte is, which in tokens of four kinds
    is every other byte; the 1M-row CSV's ROIs: 67 -> 25 ms)."""
    if any(pattern in text for pattern in patterns if len(pattern) == 1):  # memchr
        return True
    longer = [pattern for pattern in patterns if len(pattern) > 1]
    bytes_ = np.frombuffer(text, dtype=np.uint8)
    same = {byte: bytes_ == byte for byte in set(b"".join(longer))}
    for pattern in longer:
        found = np.ones(max(len(bytes_) - len(pattern) + 1, 0), dtype=bool)
        for offset, byte in enumerate(pattern):
            found &= same[byte][offset : offset + len(found)]
        if found.any():
            return True
    return False


def _opening(kind: str) -> str:
    """What the JSON of plain points of ``kind`` starts with."""
    return transforms.OPENING.format(kind=kind)


def _bracketed(points: list[str], kind: str) -> np.ndarray:
    """The JSON of each plain-points text as ``kind``, made in one text."""
    between = transforms.CLOSING + SEPARATOR + _opening(kind)
    text = _opening(kind) + between.join(points).replace(";", "],[") + transforms.CLOSING
    results = np.empty(len(points), dtype=object)
    results[:] = text.split(SEPARATOR)
    return results


def _lengths(texts: Sequence[str] | np.ndarray) -> np.ndarray:
    """The length of each text, counted in C."""
    return np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
