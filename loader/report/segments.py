"""
The Cameras sheet's body in fixed segments of rows, each rendered and deflated as a piece
of its own (``deflated``). A run makes a segment while it waits on the network, once the
outcomes of its rows are settled, and keeps the result columns it was rendered from; the
end reuses a segment only if those equal the final ones, row for row, and renders any
other anew: what a segment shows never rests on a guess of which outcomes are final.
[no I/O: renders and deflates in memory]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from loader.report.deflated import Piece
from loader.report.sheet_xml import rows_xml

# 30 segments at 600,000 cameras: a segment's rendering (about 20 MB of text) is a few
# dozen short steps, its deflated piece about 1.7 MB.
SEGMENT_ROWS: Final = 20_000
# The Cameras sheet's columns the outcomes decide (results.RESULT_COLUMNS but the source
# row, which is the inventory's).
OUTCOME_COLUMNS: Final = ("Status", "Batch", "Batch ID", "Task State", "Message")


@dataclass(frozen=True)
class Segment:
    """A segment's deflated rows, and the values of its sheet's ``compared`` columns it
    was rendered from."""

    piece: Piece
    values: tuple[np.ndarray, ...]  # by the sheet's compared columns, its rows in order


@dataclass
class SheetSegments:
    """The segments of a table sheet made ahead, by index, for a sheet of ``rows`` rows
    whose columns (in order) are written as numbers or text as ``numeric`` says, and whose
    ``compared`` columns are all the outcomes may change (the Cameras sheet's outcome
    columns; every column of the Groups sheet, its counts by status)."""

    rows: int
    numeric: dict[str, bool]
    compared: tuple[str, ...] = OUTCOME_COLUMNS
    made: dict[int, Segment] = field(default_factory=dict)

    def count(self) -> int:
        """How many segments the sheet's rows make."""
        return -(-self.rows // SEGMENT_ROWS)

    def reusable(self, frame: pd.DataFrame, numeric: Mapping[str, bool]) -> dict[int, Piece]:
        """The segments made ahead that ``frame`` (the final sheet) would render the same:
        same rows, columns and column types, and each compared column equal on the
        segment's rows (numbers compared as numbers)."""
        if self.rows != len(frame) or list(self.numeric.items()) != list(numeric.items()):
            return {}
        final = [frame[name].to_numpy() for name in self.compared]
        reused = {}
        for index, segment in sorted(self.made.items()):
            start, stop = bounds(index, self.rows)
            if all(
                np.array_equal(made, column[start:stop])
                for made, column in zip(segment.values, final, strict=True)
            ):
                reused[index] = segment.piece
        return reused


def bounds(index: int, rows: int) -> tuple[int, int]:
    """The first row and the row after the last of segment ``index`` (0-based, by frame
    position)."""
    start = index * SEGMENT_ROWS
    return start, min(start + SEGMENT_ROWS, rows)


def segment_rows(
    frame: pd.DataFrame,
    numeric: Mapping[str, bool],
    index: int,
    rendered: Mapping[str, list[str]] | None = None,
) -> Iterator[str]:
    """Segment ``index`` of ``frame``'s rows as ``rows_xml`` renders them in the whole
    sheet, with the cells ``rendered`` holds already (for the whole sheet)."""
    start, stop = bounds(index, len(frame))
    return rows_from(frame.iloc[start:stop], numeric, start, rendered)


def rows_from(
    rows: pd.DataFrame,
    numeric: Mapping[str, bool],
    start: int,
    rendered: Mapping[str, list[str]] | None = None,
) -> Iterator[str]:
    """``rows``, the sheet's rows from position ``start`` on, as ``rows_xml`` renders them
    in the whole sheet (the same Excel row numbers), with the cells ``rendered`` holds
    already (for the whole sheet)."""
    stop = start + len(rows)
    made = {name: cells[start:stop] for name, cells in (rendered or {}).items()}
    return rows_xml(rows, numeric, first_row=start + 2, rendered=made)
