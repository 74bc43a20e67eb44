"""
Which segments of a results sheet have the outcomes of all their rows settled, as the
run's batches settle: a run makes such a segment while it waits on the network
(``ahead``). A segment is due once every batch of the camera rows it shows has settled
(accepted or refused: nothing more is sent), and, where a change touches one of those
rows, once every change has settled. Due is only a good moment: the end uses a segment
only where its final rows render the same. [no I/O]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from loader.state.outcomes import Outcomes, outcome_of_batch, overlay, unsent_outcomes

if TYPE_CHECKING:
    from loader.planning.batches import Batch
    from loader.run.run import Run


class Settling:
    """The outcome of each camera row as the run knows it now: the rows no batch sends
    as the end computes them (``unsent_outcomes``), then each batch's from the run's
    state when a segment of its rows is made (``outcome_of_batch``, as the ledger follows
    a batch): a segment shows only rows of batches it names, so no other batch's outcome
    is computed (4,000 batches at 600,000 cameras: 0.6 s on the loop)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.result = unsent_outcomes(run.loaded, run.changes_named())

    def now(self, batches: list[Batch], *, changes: bool) -> Outcomes:
        """The outcomes, ``batches``' as they stand now (settled: never held), with the
        changes' statuses over a copy if ``changes``; the caller copies what it keeps."""
        state = self.run.state
        for batch in batches:
            outcome_of_batch(self.result, batch, state, held=False)
        if not changes:
            return self.result
        result = Outcomes(*(np.copy(column) for column in self.result.columns()))
        overlay(result.status, result.message, result.task_state, self.run.changes_named(), state)
        return result


def batches_of(run: Run) -> np.ndarray:
    """Each camera row's batch in the run's plan, by number (-1: a row no batch sends)."""
    batch_of = np.full(len(run.loaded.checked.rows), -1, dtype=np.int64)
    for number, batch in enumerate(run.plan.batches):
        batch_of[batch.of.position[batch.at]] = number
    return batch_of


class SegmentsDue:
    """The segments of one sheet not made yet, each with the batches of the camera rows
    it shows, from pairs of (camera row, segment): a row of the Cameras sheet shows its
    own camera, a row of the Groups sheet its group's (``batch_of``: each camera row's
    batch, -1 for none)."""

    def __init__(
        self, run: Run, rows: np.ndarray, segments: np.ndarray, count: int, batch_of: np.ndarray
    ) -> None:
        self.run = run
        plan = run.plan.batches
        batch = batch_of[rows]
        sent = batch >= 0
        # which (segment, batch) pairs occur, marked in a table of them: no sort of the
        # 600,000 pairs (40 ms in one step on the loop)
        pairs = np.zeros((count, len(plan)), dtype=bool)
        pairs[segments[sent], batch[sent]] = True
        self.batches: list[list[Batch]] = [
            [plan[int(number)] for number in np.flatnonzero(marked)] for marked in pairs
        ]
        delta = run.delta
        changed = [c.position for c in (*delta.updates, *delta.restarts)] + list(delta.replaces)
        touched = np.isin(rows, np.asarray(changed, dtype=np.int64))
        self.changed = {int(segment) for segment in np.unique(segments[touched])}
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
