"""Trimming columns at C speed gives exactly what ``str.strip()`` cell by cell gives."""

from __future__ import annotations

import datetime
import math
import sys
from collections.abc import Callable

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from loader.read.sheets import _excel_text
from loader.read.trim import SEPARATOR, SPACES, cell_text, trimmed

# What a cell may hold: whitespace of every kind (the ASCII separators \x1c-\x1f that
# str.isspace counts too), the separator itself, letters and CJK, quotes, controls.
_CHARS = st.sampled_from(
    [*SPACES, SEPARATOR, "a", "Z", "0", "-", '"', "'", ";", "\x01", "\x7f", "é", "门", "\U0001f4f7"]
)
_TEXT = st.text(alphabet=_CHARS, max_size=6)
_OTHER = st.sampled_from([math.nan, None, pd.NA, 7, 1.5, 3.0, True, datetime.date(2026, 1, 2)])
_CELLS = st.one_of(_TEXT, _TEXT, _TEXT, _OTHER)


def _reference(cells: list[object], text: Callable[[object], str] = cell_text) -> list[str]:
    """The definition: each text cell stripped, anything else as ``text`` gives it."""
    return [c.strip() if isinstance(c, str) else text(c) for c in cells]


def test_spaces_are_what_strip_strips() -> None:
    """SPACES holds exactly the code points str.isspace holds, which are those str.strip
    strips; the separator is none of them."""
    every = [chr(c) for c in range(sys.maxunicode + 1)]

    spaces = {c for c in every if c.isspace()}
    stripped = {c for c in every if (c + "x" + c).strip() == "x"}

    assert set(SPACES) == spaces == stripped
    assert len(SPACES) == len(spaces)
    assert SEPARATOR not in spaces


@given(
    cells=st.lists(_CELLS, max_size=12),
    pad=st.sampled_from([0, 4090, 4096, 8200]),
    text=st.sampled_from([cell_text, _excel_text]),
)
def test_trimmed_equals_strip_of_each_cell(
    cells: list[object], pad: int, text: Callable[[object], str]
) -> None:
    """Any column (text, whitespace, the separator, NaN/None/NA, numbers; across chunks)
    comes back as the cell-by-cell definition gives it, in an object array; cells that
    are not text made text as the reader says (pandas' or a workbook's)."""
    column = ["x"] * pad + cells
    values = np.array(column, dtype=object)

    result = trimmed(values, text)

    assert result.dtype == object
    assert result.tolist() == _reference(column, text)
    assert all(type(c) is str for c in result.tolist())


@given(cells=st.lists(st.text(alphabet=_CHARS, max_size=6), max_size=30))
def test_a_column_with_nothing_to_trim_is_kept_as_it_is(cells: list[str]) -> None:
    """No cell to trim: the same array comes back (no copy), unless a cell holds the
    separator (a false alarm); a cell to trim: a copy, the input untouched."""
    values = np.array(cells, dtype=object)
    to_trim = _reference(cells) != cells

    result = trimmed(values)

    assert values.tolist() == cells
    if to_trim:
        assert result is not values
    elif not any(SEPARATOR in c for c in cells):
        assert result is values


def test_only_the_chunks_that_need_it_are_trimmed() -> None:
    """One padded cell in a long column: the column is copied once, the cell trimmed."""
    values = np.array([f"cam-{n}" for n in range(10_000)], dtype=object)
    values[5_000] = " cam-5000\u3000"

    result = trimmed(values)

    assert result is not values
    assert result[5_000] == "cam-5000"
    assert result[4_999] is values[4_999]
    assert values[5_000] == " cam-5000\u3000"


def test_a_separator_in_a_cell_is_a_false_alarm_only() -> None:
    """A cell holding the separator beside a space is trimmed as strip would."""
    values = np.array(["a\x00 b", " c\x00", "d"], dtype=object)

    assert trimmed(values).tolist() == ["a\x00 b", "c\x00", "d"]
