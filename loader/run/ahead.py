"""
The results workbook made while the run waits on the network, so that its end only adds
what the outcomes decide: the cells that no outcome changes (the Cameras sheet's
inventory columns), then the segments of the Cameras sheet whose rows' batches have all
settled (``settling``), rendered and deflated (``report.segments``). The end uses a
segment only where its final rows render the same. [no I/O: renders in memory]

The deflated segments stay in memory (about 52 MB for the Cameras sheet of 600,000
cameras, with the compared columns' values): a spool file would be read back whole at
the end anyway, and a run of that size holds more already.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import anyio
import anyio.to_thread
import numpy as np
import pandas as pd

from loader.run.settling import SegmentsDue, Settling, columns_of
from loader.state.outcomes import Outcomes

if TYPE_CHECKING:
    from loader.check.load import Loaded
    from loader.report.results import CameraColumns
    from loader.report.segments import Segment, SheetSegments
    from loader.report.workbook import Rendered
    from loader.run.run import Run

PREPARE_PAUSE = 0.002  # seconds between two steps of the rendering: requests go first
SEGMENT_POLL: Final = 0.5  # seconds between two looks for segments whose batches settled


@dataclass(frozen=True)
class PreparedResults:
    """What the results workbook holds that no outcome changes, made and rendered ahead,
    and the table sheets' segments made so far (filled in as batches settle)."""

    columns: CameraColumns
    rendered: Rendered
    segments: dict[str, SheetSegments]  # by sheet: the Cameras sheet's


class ResultsAhead:
    """Where a pass keeps the results made ahead (None until they are)."""

    def __init__(self) -> None:
        self.prepared: PreparedResults | None = None


async def prepare_results(loaded: Loaded, ahead: ResultsAhead) -> None:
    """Make the Cameras sheet's inventory columns and render their cells. A run awaits it
    while it waits on the network: the columns are made in one step, the cells rendered in
    steps of a few thousand (about a millisecond each, requests go between them), and it
    reads only the loaded inventory. The workbook's
    modules are imported here, when the first answer came (``runner``), not before the
    first request (xlsxwriter alone takes 0.03 s)."""
    from loader.report.results import camera_columns, cameras_frame
    from loader.report.segments import SEGMENT_ROWS, SheetSegments
    from loader.report.workbook import numeric_columns, render_ahead

    # One pandas step over every row, on the loop (0.4 s at 600,000 cameras: no request
    # goes meanwhile). A worker thread would take the second core while requests go; a
    # 600,000-camera run measured each way (92% of R both) did not tell them apart.
    columns = camera_columns(loaded)
    rows = len(loaded.checked.rows)
    # The columns' types from the first segment's rows, not a copy of the whole sheet: a
    # type the whole would have otherwise only leaves every segment to the end (reusable).
    head = min(rows, SEGMENT_ROWS)
    numeric = numeric_columns(cameras_frame(columns.rows(0, head), Outcomes.empty(head)))
    rendered: dict[str, dict[str, list[str]]] = {}
    for _ in render_ahead("Cameras", columns.named(), rendered):
        await anyio.sleep(PREPARE_PAUSE)
    ahead.prepared = PreparedResults(columns, rendered, {"Cameras": SheetSegments(rows, numeric)})


# Rows rendered in one step on the loop (a step renders each column's cells of these
# rows, then joins them): about 4,000 cells, a few milliseconds.
STEP_CELLS: Final = 4000
# Seconds between two steps of a segment's rendering: longer than the inventory's pause,
# the segments (30 + 20 at 600,000 cameras, 70 steps each) spread over the run.
SEGMENT_PAUSE: Final = 0.01


@dataclass(frozen=True)
class SegmentMaker:
    """The outcomes as the run settles, and the Cameras sheet's segments still to make."""

    settling: Settling
    cameras: SegmentsDue


async def make_segments(run: Run, prepared: PreparedResults) -> None:
    """Make each segment of the Cameras sheet once every batch of its rows has settled
    (and, for rows a change touches, every change), until the pass ends (cancelled).
    Rows are rendered on the loop in steps with pauses (requests go first), deflated on
    a worker thread (ISA-L lets go of the interpreter lock).

    The Groups sheet is not made ahead: a Groups row counts its group's cameras by
    status, so each making counts the whole table again (0.4 s at 600,000 cameras), on a
    worker thread holding the interpreter lock in pandas' long calls: the loop waited up
    to 0.15 s, a request left late, and the API's window saw a second's calls too close
    (7 to 13 429s in a 600,000-camera run, counting every 10 to 60 s). At the end it
    costs about 0.6 s at 600,000 cameras.
    """
    maker = await segment_maker(run, prepared)
    while True:
        await make_cameras(prepared, maker)
        await anyio.sleep(SEGMENT_POLL)


async def segment_maker(run: Run, prepared: PreparedResults) -> SegmentMaker:
    """The outcomes known now, and the Cameras sheet's segments with their rows' batches."""
    from loader.report.segments import SEGMENT_ROWS

    settling = Settling(run)
    rows = np.arange(prepared.segments["Cameras"].rows)
    cameras = SegmentsDue(run, rows, rows // SEGMENT_ROWS, prepared.segments["Cameras"].count())
    return SegmentMaker(settling, cameras)


async def make_cameras(prepared: PreparedResults, maker: SegmentMaker) -> None:
    """Each segment of the Cameras sheet due since the last look, made from the outcomes
    of its rows now."""
    from loader.report.results import cameras_frame
    from loader.report.segments import bounds

    segments = prepared.segments["Cameras"]
    due = maker.cameras
    for index in due.due():
        now = maker.settling.now(due.batches[index], changes=index in due.changed)
        start, stop = bounds(index, segments.rows)
        result = Outcomes(*(column[start:stop].copy() for column in columns_of(now)))
        rows = cameras_frame(prepared.columns.rows(start, stop), result)
        cells = prepared.rendered.get("Cameras", {})
        segments.made[index] = await _segment(segments, rows, start, cells)


async def _segment(
    segments: SheetSegments, rows: pd.DataFrame, start: int, cells: Mapping[str, list[str]]
) -> Segment:
    """``rows`` (the sheet's from position ``start``) rendered on the loop in steps, then
    deflated on a worker thread, with the values the end compares."""
    from loader.report.deflated import deflate_piece
    from loader.report.segments import Segment, rows_from

    step = max(1, STEP_CELLS // max(len(rows.columns), 1))
    texts = []
    for at in range(0, len(rows), step):  # rows_xml renders a chunk's columns at once
        for text in rows_from(rows.iloc[at : at + step], segments.numeric, start + at, cells):
            texts.append(text.encode("utf-8"))
        await anyio.sleep(SEGMENT_PAUSE)
    piece = await anyio.to_thread.run_sync(deflate_piece, texts)
    return Segment(piece, tuple(rows[name].to_numpy().copy() for name in segments.compared))
