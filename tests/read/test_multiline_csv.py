"""CSV records whose quoted cells hold line breaks: every column and row is read."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader.read.sheets import read_workbook, sniff_delimiter

REPRO = 'Cam id,Place,C,"D\nE",F\ncam-0001,P,x,"y\nz",w\n'


def test_the_issue_repro_keeps_its_first_column(tmp_path: Path) -> None:
    """Excel's CSV of wrapped cells (a break in the header and a data cell) keeps column A."""
    path = tmp_path / "survey.csv"
    path.write_text(REPRO, encoding="utf-8")

    grid = read_workbook(path).sheets["survey"]

    assert grid.to_numpy().tolist() == [
        ["Cam id", "Place", "C", "D\nE", "F"],
        ["cam-0001", "P", "x", "y\nz", "w"],
    ]


def test_the_delimiter_is_sniffed_on_records_not_lines() -> None:
    """Semicolons win although each record's line breaks make its lines look unlike each other."""
    text = 'a;"b\nc, d";e\n1;"x\ny, z";3\n2;"p\nq, r";4\n'

    assert sniff_delimiter(text) == ";"


_CELL = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 -,;\n\"'é中")), min_size=0, max_size=8
).map(str.strip)


@st.composite
def _grids(draw: st.DrawFn) -> list[list[str]]:
    """A header and rows of one width, cells with breaks, quotes and commas anywhere."""
    width = draw(st.integers(min_value=2, max_value=6))
    header = [f"h{n}" + draw(st.sampled_from(["", "\nunit", " (x)"])) for n in range(width)]
    rows = draw(st.lists(st.lists(_CELL, min_size=width, max_size=width), min_size=1, max_size=8))
    first = [f"cam-{n:04d}" for n in range(len(rows))]
    return [header, *[[key, *row[1:]] for key, row in zip(first, rows, strict=True)]]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(grid=_grids())
def test_generated_csvs_read_back_cell_for_cell(tmp_path: Path, grid: list[list[str]]) -> None:
    """Any grid Python's csv writer quotes (line breaks anywhere) reads back whole."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(grid)
    path = tmp_path / "generated.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8"))

    read = read_workbook(path).sheets["generated"].to_numpy().tolist()

    assert read == [[cell.strip() for cell in row] for row in grid]
