"""
The ids a camera row gives, checked as VIAS documents them: present, clean, of the form
``^[a-z0-9-_]{4,36}$`` for a source id and of its characters for a group id. A row whose id
the API would refuse is rejected here, in the sheet's words, rather than sent. Pure; the
ids of the documented form are told in C for the whole column, and only the others are
searched, once per distinct id when they repeat (groups).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import numpy as np
import pandas as pd

from loader.check.codes import ColumnCodes
from loader.check.column_steps import looks_distinct
from loader.check.inventory import MappedSheet
from loader.model.problems import Problem, Severity
from loader.model.vias import VIDEO_SOURCE_ID_PATTERN

_BAD_ID = re.compile(r"[\s\x00-\x1f\x7f]")
_GOOD_ID = re.compile(VIDEO_SOURCE_ID_PATTERN)
_USUAL_ID = re.compile(VIDEO_SOURCE_ID_PATTERN.removeprefix("^").removesuffix("$"))  # whole
_ID_CHARACTERS = re.compile(r"[a-z0-9_-]*")
# The documented form is one character class and a length range: a column is checked by
# its lengths (counted in C) and one search of its joined text for any other character.
_FORM = re.fullmatch(r"\^(\[[^\]]+\])\{(\d+),(\d+)\}\$", VIDEO_SOURCE_ID_PATTERN)
assert _FORM is not None, "the id pattern is no longer a class and a length range"
# The ASCII characters of the class, as bytes (an id holding any other is told one by one).
_FORM_BYTES = bytes(b for b in range(128) if re.fullmatch(_FORM[1], chr(b)))
_SEPARATOR: Final = "\x00"  # not of the class: joins a column into one text
_SHORTEST, _LONGEST = int(_FORM[2]), int(_FORM[3])


def check_ids(
    frame: pd.DataFrame, bad: np.ndarray, cameras: MappedSheet, keys: tuple[str, ...]
) -> list[Problem]:
    """Group and source ids present, clean and of the documented form (a row whose id the
    API would refuse is rejected here, in the sheet's words, rather than sent). A name to
    be found is checked with registration's rules (``check.sources``)."""
    problems: list[Problem] = []
    for name in keys:
        values = frame[name] if name in frame else pd.Series("", index=frame.index)
        texts = values.to_numpy(dtype=object)
        spaced, odd, outside = _known_id_checks(texts, cameras.codes)
        column = cameras.columns.get(name, name)
        empty = (texts == "") & ~bad  # numpy's comparison: 15 ms a million, pandas' 54
        findings = [
            (empty, Severity.ERROR, f"missing-{name}", f"{name} is empty", f"fill in {column}"),
            (
                spaced,
                Severity.ERROR,
                f"bad-{name}",
                f"{name} holds spaces or control characters",
                "remove the spaces inside the id",
            ),
            *_pattern_findings(name, column, odd, outside),
        ]
        for mask, severity, code, message, fix in findings:
            hit = mask & ~bad
            if not hit.any():
                continue
            shown = values if code != f"missing-{name}" else None
            problems += _row_problems(
                frame, hit, cameras, severity, code, message, fix, column, shown
            )
            if severity == Severity.ERROR:
                bad |= hit
    return problems


_ID_RULE: Final = "4 to 36 of a-z, 0-9, - and _"


def _pattern_findings(
    name: str, column: str, odd: np.ndarray, outside: np.ndarray
) -> list[tuple[np.ndarray, Severity, str, str, str]]:
    """What breaking the documented id form means for a field, as (rows, severity, code,
    message, fix). VIAS documents source ids (CreateVideoGroup) and the ids in every
    source and group path as ``^[a-z0-9-_]{4,36}$``: a source id outside it is refused,
    and so is a group id with other characters (``nw/ne``, ``부산``). A group id's length
    is left alone: CreateBatchTask documents ``video_source_group_id`` as any string."""
    fix = (
        f"write the id VIAS shows in its console in {column}; if only the case differs,"
        ' add transforms = ["lower"]'
    )
    if name == "video_source_id":
        message = f"{column} is not a VIAS video source id ({_ID_RULE})"
        return [(odd, Severity.ERROR, f"bad-{name}", message, fix)]
    message = f"{column} is not a VIAS group id (only a-z, 0-9, - and _)"
    return [(outside, Severity.ERROR, f"bad-{name}", message, fix)]


def _row_problems(
    frame: pd.DataFrame,
    mask: np.ndarray,
    sheet: MappedSheet,
    severity: Severity,
    code: str,
    message: str,
    fix: str,
    column: str,
    values: pd.Series | None = None,
) -> list[Problem]:
    """The same problem on every row under ``mask``."""
    positions = np.flatnonzero(mask)
    texts: Iterable[str] = values.to_numpy()[mask] if values is not None else [""] * len(positions)
    return [
        Problem.at(
            sheet.place_at(int(p)), severity, code, message, fix=fix, column=column, value=str(v)
        )
        for p, v in zip(positions, texts, strict=True)
    ]


def _known_id_checks(
    values: np.ndarray, codes: ColumnCodes
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_id_checks`` of a column, made on its distinct values when its codes are known
    (a column of groups: a few thousand ids told, not a million)."""
    known = codes.known(values)
    if known is None:
        return _id_checks(values)
    spaced, odd, outside = _id_checks(known.distinct)
    return spaced[known.codes], odd[known.codes], outside[known.codes]


def _id_checks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which ids hold spaces or control characters, which are not of the documented form,
    and which hold characters outside it: an id of the documented form has none of these,
    and the column's ids are told so in C; only the others are searched, once per
    distinct id when they repeat (groups)."""
    spaced = np.zeros(len(values), dtype=bool)
    odd = np.zeros(len(values), dtype=bool)
    outside = np.zeros(len(values), dtype=bool)
    others = np.flatnonzero(~_usual(values.tolist()))
    if not len(others):
        return spaced, odd, outside
    unusual = values[others]
    if looks_distinct(unusual):
        spaced[others], odd[others], outside[others] = _searched(unusual)
    else:
        codes, distinct = pd.factorize(unusual)  # text, never NA
        spaced[others], odd[others], outside[others] = (m[codes] for m in _searched(distinct))
    return spaced, odd, outside


def _searched(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_id_checks`` for each value, one at a time."""
    texts = values.tolist()
    spaced = np.array([_BAD_ID.search(v) is not None for v in texts], dtype=bool)
    odd = np.array([v != "" and _GOOD_ID.search(v) is None for v in texts], dtype=bool)
    outside = np.array([_ID_CHARACTERS.fullmatch(v) is None for v in texts], dtype=bool)
    return spaced, odd, outside


def _usual(values: list[str]) -> np.ndarray:
    """Which values are of the documented form, told in C: by their lengths, and the
    column joined into one text whose characters of the form are deleted (as UTF-8, any
    other character leaves a byte): a value of the form leaves nothing between its
    separators. A column holding the separator is told value by value."""
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    sized = (lengths >= _SHORTEST) & (lengths <= _LONGEST)
    joined = _SEPARATOR.join(values)
    if joined.count(_SEPARATOR) != len(values) - 1:
        return np.fromiter(map(bool, map(_USUAL_ID.fullmatch, values)), bool, len(values))
    left = joined.encode("utf-8", "surrogatepass").translate(None, _FORM_BYTES)
    if len(left) == len(values) - 1:  # the separators alone: every value of the form's characters
        return sized
    pieces = left.split(_SEPARATOR.encode())
    sized &= np.fromiter(map(b"".__eq__, pieces), dtype=bool, count=len(values))
    return sized
