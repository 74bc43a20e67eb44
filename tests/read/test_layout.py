"""The table's rows found with whole-column steps are those the row-by-row rules find."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loader.read import layout
from loader.read.layout import (
    _blank_runs,
    _folding_to,
    _footer,
    _holding,
    _repeated_headers,
    locate,
)
from loader.read.names import header_key


@dataclass(frozen=True)
class Hints:
    """A mapping's table hints: a header row, comments, footer markers."""

    header: bool = True
    header_row: int | None = None
    comment_marker: str | None = "#"
    footer_markers: list[str] = field(default_factory=lambda: ["Total"])


_CELL = st.sampled_from(["", "", "", "cam-1", "x", "Total 3", "# note", "ID", "Name"])
_DATA_CELL = st.sampled_from(["", "", "", "cam-1", "x", "Total 3", "# note"])
_ROWS = st.integers(0, 6).flatmap(
    lambda width: st.lists(st.lists(_CELL, min_size=width, max_size=width), max_size=40)
)


def _grid(rows: list[list[str]]) -> pd.DataFrame:
    """Rows as a text grid, as read/sheets gives it."""
    width = len(rows[0]) if rows else 0
    columns = {n: np.array([r[n] for r in rows], dtype=object) for n in range(width)}
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)), dtype=object)


def _blank_runs_row_by_row(index: np.ndarray, keep: np.ndarray) -> list[tuple[int, int]]:
    """The definition: each run of blank rows before the last kept one, as Excel rows."""
    if not keep.any():
        return []
    runs, start = [], None
    for position in range(int(np.flatnonzero(keep)[-1]) + 1):
        if not keep[position] and start is None:
            start = position
        elif keep[position] and start is not None:
            runs.append((int(index[start]) + 1, int(index[position - 1]) + 1))
            start = None
    return runs


@given(rows=_ROWS)
def test_holding_is_any_cell_of_the_row_filled(rows: list[list[str]]) -> None:
    """A row holds text when any of its cells is not empty."""
    grid = _grid(rows)

    expected = [any(r) for r in rows]

    assert _holding(grid).tolist() == expected


@given(keep=st.lists(st.booleans(), max_size=60), offset=st.integers(0, 5))
def test_blank_runs_are_the_runs_row_by_row(keep: list[bool], offset: int) -> None:
    """One note per run of blank rows before the last row kept, naming its Excel rows."""
    index = np.arange(len(keep)) + offset
    kept = np.array(keep, dtype=bool)

    notes = _blank_runs(index, kept, "f.csv", "S")

    runs = _blank_runs_row_by_row(index, kept)
    assert [n.row for n in notes] == [first for first, _ in runs]
    assert [n.message for n in notes] == [
        f"row {a} is blank; skipped" if a == b else f"rows {a}-{b} are blank; skipped"
        for a, b in runs
    ]


def _footer_row_by_row(
    body: pd.DataFrame, keep: np.ndarray, markers: list[str], keys: set[int]
) -> list[bool]:
    """The definition: from the last kept row up, lone notes and marked rows, until a row
    with a key and more."""
    filled = [sum(1 for v in row if v != "") for row in body.itertuples(index=False)]
    footer = [False] * len(body)
    for position in np.flatnonzero(keep)[::-1]:
        cells = list(body.iloc[position])
        keyed = any(cells[k] for k in keys if k < len(cells))
        if keyed and filled[position] > 1:
            break
        first_text = next((v for v in cells if v), "").lower()
        if not (
            (filled[position] == 1 and not keyed)
            or any(first_text.startswith(m.lower()) for m in markers)
        ):
            break
        footer[position] = True
    return footer


@given(rows=st.lists(st.lists(_CELL, min_size=3, max_size=3), max_size=30), key=st.integers(0, 3))
def test_footers_are_those_found_row_by_row(rows: list[list[str]], key: int) -> None:
    """Footer rows are found from the cells of each trailing row as before."""
    body = _grid(rows)
    keep = _holding(body)

    footer = _footer(body, keep, ["Total"], {key})

    assert footer.tolist() == _footer_row_by_row(body, keep, ["Total"], {key})


@given(rows=st.lists(st.lists(_DATA_CELL, min_size=3, max_size=3), max_size=30))
def test_locate_keeps_the_rows_holding_text(rows: list[list[str]]) -> None:
    """Every body row with text is kept or reported; blank rows never reach the body."""
    grid = _grid([["ID", "Name", "Note"], *rows])

    table = locate(grid, Hints(), ["ID", "Name"], keys=["ID"], file="f.csv", sheet="S")

    reported = {p.row for p in table.skipped if p.code != "blank-rows"}
    for row in table.rows.tolist():
        assert any(grid.iloc[row - 1])
    for position, row in enumerate(rows, start=2):
        assert not any(row) or position in set(table.rows.tolist()) | reported


_HEADER_CELL = st.sampled_from(["", "cam-1", "x", "ID", " id ", "I D:", "Name", "NAME", "ſtraße"])


@given(
    rows=st.lists(st.lists(_HEADER_CELL, min_size=3, max_size=3), max_size=30),
    header=st.sampled_from([["id", "name", ""], ["id", "", ""], ["strasse", "id", "name"]]),
    copies=st.lists(st.booleans(), min_size=30, max_size=30),
)
def test_repeated_headers_are_those_found_row_by_row(
    rows: list[list[str]], header: list[str], copies: list[bool]
) -> None:
    """A row repeats the header when every named cell folds to its header's key: the
    rows found by folding only the objects that may fold (a cell of its own or one
    object shared by the rows of its value) are those folded one by one."""
    rows = [
        ["".join(list(c)) for c in row] if copy else row  # equal texts, new objects
        for row, copy in zip(rows, copies, strict=False)
    ]
    body = _grid(rows) if rows else pd.DataFrame({n: [] for n in range(3)}, dtype=object)
    keep = _holding(body)

    repeated = _repeated_headers(body, keep, header)

    named = [i for i, h in enumerate(header) if h]
    expected = [
        bool(keep[p]) and len(named) >= 2 and all(header_key(r[i]) == header[i] for i in named)
        for p, r in enumerate(rows)
    ]
    assert repeated.tolist() == expected


def test_repeated_headers_without_an_object_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should numpy lend no buffer of an object column, each cell is folded as its own
    object: the same rows are found."""
    body = _grid(
        [
            ["cam-1", "North"],
            ["ID", "Name"],
            ["cam-2", "North"],
            ["cam-3", "North"],
            [" id:", "NAME"],
            ["cam-4", "North"],
        ]
    )  # the second column repeats: it is folded by object

    monkeypatch.setattr(layout, "by_object", lambda _: None)  # as numpy refusing does
    repeated = _repeated_headers(body, _holding(body), ["id", "name"])

    assert repeated.tolist() == [False, True, False, False, True, False]


@given(
    cells=st.lists(_HEADER_CELL, max_size=40),
    copies=st.lists(st.booleans(), min_size=40, max_size=40),
    kept=st.lists(st.booleans(), min_size=40, max_size=40),
    key=st.sampled_from(["id", "name", "strasse"]),
)
def test_a_column_folds_alike_by_object_and_by_cell(
    cells: list[str], copies: list[bool], kept: list[bool], key: str
) -> None:
    """The cells found folding to a header's key, each object folded once or each cell,
    are those whose own text folds to it (kept rows only)."""
    values = np.empty(len(cells), dtype=object)
    values[:] = ["".join(list(c)) if copy else c for c, copy in zip(cells, copies, strict=False)]
    keep = np.array(kept[: len(cells)], dtype=bool)
    expected = [p for p, c in enumerate(cells) if keep[p] and header_key(c) == key]

    by_object = _folding_to(values, key, keep, by_objects=True)
    by_cell = _folding_to(values, key, keep, by_objects=False)

    assert (by_object.tolist(), by_cell.tolist()) == (expected, expected)
