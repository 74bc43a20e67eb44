"""
The results workbook made while the run waits on the network, so that its end only adds
what the outcomes decide: the cells that no outcome changes (the Cameras sheet's
inventory columns), then the Cameras sheet's segments of rows whose batches have all
settled, rendered and deflated (``report.segments``). The end uses a segment only where
its final rows render the same. [no I/O: renders in memory]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import anyio
import anyio.to_thread
import numpy as np

if TYPE_CHECKING:
    from loader.check.load import Loaded
    from loader.planning.batches import Batch
    from loader.report.results import CameraColumns
    from loader.report.segments import SheetSegments
    from loader.report.workbook import Rendered
    from loader.run.run import Run
    from loader.state.outcomes import Outcomes

PREPARE_PAUSE = 0.002  # seconds between two steps of the rendering: requests go first
SEGMENT_POLL: Final = 0.5  # seconds between two looks for segments whose batches settled


@dataclass(frozen=True)
class PreparedResults:
    """What the results workbook holds that no outcome changes, made and rendered ahead,
    and the Cameras sheet's segments made so far (filled in as batches settle)."""

    columns: CameraColumns
    rendered: Rendered
    segments: SheetSegments


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
    from loader.state.outcomes import Outcomes

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
    ahead.prepared = PreparedResults(columns, rendered, SheetSegments(rows, numeric))


async def make_segments(run: Run, prepared: PreparedResults) -> None:
    """Make each segment of the Cameras sheet once every batch of its rows has settled
    (and, for rows a change touches, every change), until the pass ends (cancelled). A
    segment's rows are rendered on the loop in steps with pauses (requests go first),
    deflated on a worker thread (ISA-L lets go of the interpreter lock)."""
    due = SegmentsDue(run, prepared.segments.count())
    while True:
        await make_due(run, prepared, due)
        await anyio.sleep(SEGMENT_POLL)


async def make_due(run: Run, prepared: PreparedResults, due: SegmentsDue) -> None:
    """Each segment whose rows' outcomes have settled since the last look, made."""
    for index in due.due():
        await _make_segment(run, prepared, due, index)


async def _make_segment(
    run: Run, prepared: PreparedResults, segments: SegmentsDue, index: int
) -> None:
    """Segment ``index`` rendered from the outcomes known now, deflated, kept."""
    from loader.report.deflated import deflate_piece
    from loader.report.results import cameras_frame
    from loader.report.segments import Segment, bounds, rows_from

    start, stop = bounds(index, prepared.segments.rows)
    result = segments.outcomes_of(index)
    rows = cameras_frame(prepared.columns.rows(start, stop), result)
    cells = prepared.rendered.get("Cameras", {})
    texts = []
    for text in rows_from(rows, prepared.segments.numeric, start, cells):
        texts.append(text.encode("utf-8"))
        await anyio.sleep(PREPARE_PAUSE)
    piece = await anyio.to_thread.run_sync(deflate_piece, texts)
    made = (result.status, result.batch, result.batch_id, result.task_state, result.message)
    prepared.segments.made[index] = Segment(piece, made)


class SegmentsDue:
    """Which segments of the Cameras sheet have their rows' outcomes settled, and those
    outcomes: computed once as the end computes them (``outcomes``), then each batch's
    again from the run's state when a segment of its rows is made (``outcome_of_batch``,
    as the ledger follows a batch)."""

    def __init__(self, run: Run, count: int) -> None:
        from loader.report.segments import SEGMENT_ROWS
        from loader.state.outcomes import outcomes

        self.run = run
        self.result = outcomes(run.loaded, run.plan, run.changes_named(), run.state)
        self.batches: list[list[Batch]] = [[] for _ in range(count)]
        for batch in run.plan.batches:
            for index in np.unique(batch.of.position[batch.at] // SEGMENT_ROWS).tolist():
                self.batches[index].append(batch)
        delta = run.delta
        changed = [c.position for c in (*delta.updates, *delta.restarts)] + list(delta.replaces)
        self.changed = set((np.asarray(changed, dtype=np.int64) // SEGMENT_ROWS).tolist())
        self.pending = list(range(count))

    def due(self) -> list[int]:
        """The segments not made yet whose rows' batches (and changes) have all settled."""
        state = self.run.state
        changes_settled = not state.changes_unsettled()
        due = [
            index
            for index in self.pending
            if (changes_settled or index not in self.changed)
            and all(
                (found := state.batches.get(batch.name)) is not None and found.settled
                for batch in self.batches[index]
            )
        ]
        self.pending = [index for index in self.pending if index not in due]
        return due

    def outcomes_of(self, index: int) -> Outcomes:
        """Segment ``index``'s outcomes as its batches (and changes) stand now, copied."""
        from loader.report.segments import bounds
        from loader.state.outcomes import Outcomes, outcome_of_batch, overlay

        state = self.run.state
        for batch in self.batches[index]:
            outcome_of_batch(self.result, batch, state, held=False)  # settled: never held
        result = self.result
        if index in self.changed:  # the changes' statuses over a copy, as the end's
            result = Outcomes(*(np.copy(column) for column in _columns(result)))
            overlay(
                result.status, result.message, result.task_state, self.run.changes_named(), state
            )
        start, stop = bounds(index, len(result.status))
        return Outcomes(*(column[start:stop].copy() for column in _columns(result)))


def _columns(result: Outcomes) -> tuple[np.ndarray, ...]:
    """An outcome's columns, in the Cameras sheet's order."""
    return (result.status, result.batch, result.batch_id, result.task_state, result.message)
