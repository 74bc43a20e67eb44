"""A workbook's rows cut into columns in one array are the columns of a transpose."""

from __future__ import annotations

import datetime
from itertools import zip_longest

from hypothesis import given
from hypothesis import strategies as st

from loader.read.sheets import _columns

_CELL = st.one_of(
    st.text(max_size=3),
    st.floats(allow_nan=False),
    st.integers(),
    st.booleans(),
    st.none(),
    st.dates(),
    st.just(datetime.time(8, 30)),
)


@given(
    width=st.integers(0, 4),
    rows=st.lists(st.lists(_CELL, max_size=4), max_size=8),
    ragged=st.booleans(),
)
def test_columns_are_the_rows_transposed(
    width: int, rows: list[list[object]], ragged: bool
) -> None:
    """Rectangular or ragged (padded with ""), the columns hold the rows' cells in order."""
    rows = rows if ragged else [(r + [""] * width)[:width] for r in rows]

    columns = _columns(rows)

    expected = [list(c) for c in zip_longest(*rows, fillvalue="")]
    assert [c.tolist() for c in columns] == expected
    assert all(c.dtype == object and c.flags.c_contiguous for c in columns)
