"""
The results workbook made while the run waits on the network, so that its end only adds
what the outcomes decide: the cells that no outcome changes (the Cameras sheet's
inventory columns) and the groups' codes, then the segments of the Cameras and Groups
sheets whose rows' batches have all settled (``settling``), rendered and deflated
(``report.segments``). The end uses a segment only where its final rows render the same.
[no I/O: renders in memory]

Every step runs in a gap of the pacer's turns (``RateLimiter.gap``): rendered on the
event loop at any moment, some 2,000 steps each delayed the call whose turn fell in it,
and the API's one-second rule carried each delay to the calls after it (a 600,000-camera
run sent 2 to 3 s slower: what the end saved).

The deflated segments stay in memory (about 52 MB for the Cameras sheet of 600,000
cameras, 17 MB for its Groups sheet, with the compared columns' values): a spool file
would be read back whole at the end anyway, and a run of that size holds more already.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeVar

import anyio
import numpy as np
import pandas as pd

from loader.run.prepared import PreparedResults, ResultsAhead
from loader.run.settling import SegmentsDue, Settling, batches_of
from loader.state.outcomes import Outcomes

if TYPE_CHECKING:
    from loader.check.load import Loaded
    from loader.report.segments import Segment, SheetSegments
    from loader.run.run import Run

SEGMENT_POLL: Final = 0.5  # seconds between two looks for segments whose batches settled
# The longest a step of the work ahead holds the event loop (the first of a column's
# cells, listing its values, at 600,000 cameras): each step waits for a gap in the
# pacer's turns at least this long, so that no call's turn falls within it.
STEP_SECONDS: Final = 0.03
# Seconds a step waits for such a gap at most: at a rate whose calls come closer than a
# step, or while the run waits on answers rather than on turns, the work ahead goes on a
# step at a time, each delaying a call by a step at most.
GAP_PATIENCE: Final = 2.0

Quiet = Callable[[], Awaitable[None]]  # waits for a moment when a step delays no call
Made = TypeVar("Made")


async def in_gaps(steps: Generator[None, None, Made], quiet: Quiet) -> Made:
    """Run ``steps`` to their end, each at a quiet moment; what they made."""
    while True:
        await quiet()
        try:
            next(steps)
        except StopIteration as done:
            value: Made = done.value
            return value


async def prepare_results(loaded: Loaded, ahead: ResultsAhead, quiet: Quiet) -> None:
    """Make the Cameras sheet's inventory columns and render their cells. A run awaits it
    while it waits on the network: each step (a few thousand cells, a few milliseconds)
    at a ``quiet`` moment, between the pacer's turns, and it reads only the loaded
    inventory. The workbook's modules are imported here, when the first answer came
    (``runner``), not before the first request (xlsxwriter alone takes 0.03 s)."""
    from loader.report.groups import group_codes_in_steps
    from loader.report.results import camera_columns_in_steps, cameras_frame
    from loader.report.segments import SEGMENT_ROWS, SheetSegments
    from loader.report.workbook import numeric_columns, render_ahead

    # In steps between the calls: in one step, 0.2 to 0.4 s at 600,000 cameras with no
    # request going; on a worker thread, pandas' long calls hold the interpreter lock.
    columns = await in_gaps(camera_columns_in_steps(loaded), quiet)
    rows = len(loaded.checked.rows)
    # The columns' types from the first segment's rows, not a copy of the whole sheet: a
    # type the whole would have otherwise only leaves every segment to the end (reusable).
    head = min(rows, SEGMENT_ROWS)
    numeric = numeric_columns(cameras_frame(columns.rows(0, head), Outcomes.empty(head)))
    rendered: dict[str, dict[str, list[str]]] = {}
    await in_gaps(render_ahead("Cameras", columns.named(), rendered), quiet)
    # The load's own factorization of the groups, sorted, with their first names.
    codes = await in_gaps(group_codes_in_steps(loaded), quiet)
    segments = {"Cameras": SheetSegments(rows, numeric)}
    ahead.prepared = PreparedResults(columns, rendered, codes, segments)


# Cells rendered in one step on the loop, counted over the columns not rendered ahead
# (the Cameras sheet's five outcome columns, every column of the Groups sheet): some
# 2 ms. Counted over every column (4,000 a step), a Cameras step rendered some 300 rows'
# outcome columns (1,500 cells), and a Groups step would have rendered 4,000 cells.
STEP_CELLS: Final = 1600


@dataclass(frozen=True)
class GroupsLayout:
    """The Groups sheet as it will be once every camera row has a status (its counts
    nought), the code of the group each of its rows counts, and by segment the camera
    rows its groups count."""

    table: pd.DataFrame
    shown: np.ndarray
    cameras: list[np.ndarray]


@dataclass(frozen=True)
class SegmentMaker:
    """The outcomes as the run settles, and the segments of each sheet still to make."""

    settling: Settling
    cameras: SegmentsDue
    groups: SegmentsDue
    layout: GroupsLayout


async def make_segments(run: Run, prepared: PreparedResults, quiet: Quiet) -> None:
    """Make each segment of the Cameras and Groups sheets once every batch of its rows
    has settled (and, for rows a change touches, every change), until the pass ends
    (cancelled). Rows are rendered and deflated on the loop in steps at ``quiet`` moments
    (between the pacer's turns).

    A Groups row counts its group's cameras by status: its segment is due once every
    batch of those cameras has settled, and counts them alone (``segment_counts``). The
    whole table counted anew for each making (0.4 s at 600,000 cameras, on a worker
    thread holding the interpreter lock in pandas' long calls) held the loop up to
    0.15 s: a request left late, and the API's window saw a second's calls too close (7
    to 13 429s in a 600,000-camera run).
    """
    maker = await segment_maker(run, prepared, quiet)
    while True:
        await make_cameras(prepared, maker, quiet)
        await make_groups(prepared, maker, quiet)
        await anyio.sleep(SEGMENT_POLL)


async def segment_maker(run: Run, prepared: PreparedResults, quiet: Quiet) -> SegmentMaker:
    """The outcomes known now, and each sheet's segments with their rows' batches, each
    made at a ``quiet`` moment (some 50 ms each at 600,000 cameras)."""
    from loader.report.groups import groups_layout, segment_pairs
    from loader.report.segments import SEGMENT_ROWS, SheetSegments
    from loader.report.workbook import numeric_columns

    await quiet()
    settling = Settling(run)
    await quiet()
    rows = np.arange(prepared.segments["Cameras"].rows)
    batch_of = batches_of(run)
    await quiet()
    count = prepared.segments["Cameras"].count()
    cameras = SegmentsDue(run, rows, rows // SEGMENT_ROWS, count, batch_of)
    await quiet()
    table, shown = groups_layout(run.loaded, prepared.codes)
    await quiet()
    sheet = SheetSegments(len(table), numeric_columns(table), tuple(map(str, table.columns)))
    await quiet()
    counted, segment = segment_pairs(prepared.codes, shown, SEGMENT_ROWS)
    await quiet()
    groups = SegmentsDue(run, counted, segment, sheet.count(), batch_of)
    await quiet()
    order = np.argsort(segment, kind="stable")
    ends = np.searchsorted(segment[order], np.arange(sheet.count()), side="right")
    by_segment = np.split(counted[order], ends[:-1])
    prepared.segments["Groups"] = sheet
    return SegmentMaker(settling, cameras, groups, GroupsLayout(table, shown, by_segment))


async def make_cameras(prepared: PreparedResults, maker: SegmentMaker, quiet: Quiet) -> None:
    """Each segment of the Cameras sheet due since the last look, made from the outcomes
    of its rows now."""
    from loader.report.results import cameras_frame
    from loader.report.segments import bounds

    segments = prepared.segments["Cameras"]
    due = maker.cameras
    for index in due.due():
        await quiet()
        now = maker.settling.now(due.batches[index], changes=index in due.changed)
        start, stop = bounds(index, segments.rows)
        result = Outcomes(*(column[start:stop].copy() for column in now.columns()))
        rows = cameras_frame(prepared.columns.rows(start, stop), result)
        cells = prepared.rendered.get("Cameras", {})
        segments.made[index] = await _segment(segments, rows, start, cells, quiet)


async def make_groups(prepared: PreparedResults, maker: SegmentMaker, quiet: Quiet) -> None:
    """Each segment of the Groups sheet due since the last look: its rows as the layout
    has them, their counts from the statuses of their groups' camera rows now."""
    from loader.report.groups import NUMBER_COLUMNS
    from loader.report.segments import bounds

    segments = prepared.segments["Groups"]
    due, layout = maker.groups, maker.layout
    for index in due.due():
        await quiet()
        now = maker.settling.now(due.batches[index], changes=index in due.changed)
        await quiet()  # the outcomes of some 150 batches, then the counts: two steps
        start, stop = bounds(index, segments.rows)
        cameras = layout.cameras[index]
        shown = layout.shown[start:stop]
        counts = prepared.codes.segment_counts(cameras, now.status[cameras], shown)
        rows = layout.table.iloc[start:stop].assign(
            **dict(zip(NUMBER_COLUMNS, counts, strict=True))
        )
        segments.made[index] = await _segment(segments, rows, start, {}, quiet)


async def _segment(
    segments: SheetSegments,
    rows: pd.DataFrame,
    start: int,
    cells: Mapping[str, list[str]],
    quiet: Quiet,
) -> Segment:
    """``rows`` (the sheet's from position ``start``) rendered and deflated on the loop in
    steps, each at a ``quiet`` moment (no thread of its own takes a core from the
    network's work), with the values the end compares."""
    from loader.report.deflated import PieceMaker
    from loader.report.segments import Segment, rows_from

    step = max(1, STEP_CELLS // max(len(rows.columns) - len(cells), 1))
    piece = PieceMaker()
    for at in range(0, len(rows), step):  # rows_xml renders a chunk's columns at once
        await quiet()
        for text in rows_from(rows.iloc[at : at + step], segments.numeric, start + at, cells):
            piece.add(text.encode("utf-8"))
    await quiet()
    compared = tuple(rows[name].to_numpy().copy() for name in segments.compared)
    return Segment(piece.piece(), compared)
