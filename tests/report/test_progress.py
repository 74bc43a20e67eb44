"""The progress bars count each batch once, however many events settle it."""

from __future__ import annotations

from rich.console import Console

from loader.report.progress import RunProgress
from loader.state.events import (
    BatchAccepted,
    BatchAmbiguous,
    BatchLookedUp,
    BatchPlanned,
    BatchRejected,
    BatchSending,
    ChangeDone,
    ChangeSending,
    Event,
    RunStarted,
)
from loader.state.runstate import RunState


def _bars(events: list[Event]) -> tuple[tuple[float, float | None], tuple[float, float | None]]:
    """(completed, total) of the batches and cameras bars after ``events``."""
    state = RunState()
    progress = RunProgress(Console(file=open("/dev/null", "w")), enabled=False)  # noqa: SIM115
    for event in events:
        state.apply(event)
        progress(event, state)
    tasks = {t.id: t for t in progress.progress.tasks}
    batches, cameras = tasks[progress.batches], tasks[progress.cameras]
    progress.progress.console.file.close()
    return (batches.completed, batches.total), (cameras.completed, cameras.total)


def test_a_batch_found_by_lookup_and_then_counted_advances_the_bars_once() -> None:
    """Found by name (accepted), then counted by ListBatchTasks (accepted again): one batch."""
    plan: list[Event] = [
        BatchPlanned(batch="b1", cameras=40),
        BatchPlanned(batch="b2", cameras=40),
        BatchPlanned(batch="b3", cameras=40),
    ]
    started = RunStarted(batches=3, cameras=120)
    sends: list[Event] = [
        BatchSending(batch="b1", attempt=1),
        BatchAccepted(batch="b1", batch_id="i1", total=40, succeeded=40),
        BatchSending(batch="b2", attempt=1),
        BatchAmbiguous(batch="b2", attempt=1, reason="500", status=500),
        BatchLookedUp(batch="b2", found_id="i2", lookup=1),
        BatchAccepted(batch="b2", batch_id="i2", found_by_lookup=True),
        BatchSending(batch="b3", attempt=1),
        BatchRejected(batch="b3", status=400, code="VIAS.0001", message="bad"),
        BatchAccepted(batch="b2", batch_id="i2", total=40, succeeded=40, found_by_lookup=True),
    ]

    assert _bars([*plan, started, *sends]) == ((3, 3), (80, 120))


def _notes(events: list[Event]) -> tuple[str, float, bool]:
    """The batches line's note, the changes line's count and whether it shows."""
    state = RunState()
    progress = RunProgress(Console(file=open("/dev/null", "w")), enabled=False)  # noqa: SIM115
    for event in events:
        state.apply(event)
        progress(event, state)
    tasks = {t.id: t for t in progress.progress.tasks}
    changes = tasks[progress.changes]
    progress.progress.console.file.close()
    return tasks[progress.batches].fields["note"], changes.completed, changes.visible


def test_a_lost_answer_shows_what_is_looked_up_and_until_when() -> None:
    """A batch in doubt and not found yet: the note names the lookups and their end; once
    found, the note says nothing of them."""
    began = [
        BatchPlanned(batch="b1", cameras=40),
        RunStarted(batches=1, cameras=40),
        BatchSending(batch="b1", attempt=1),
        BatchAmbiguous(batch="b1", attempt=1, reason="500", status=500),
        BatchLookedUp(batch="b1", lookup=1, window_left=29.0),
    ]
    found = [BatchLookedUp(batch="b1", found_id="i1", lookup=2), BatchAccepted(batch="b1")]

    waiting, _, _ = _notes(began)
    settled, _, _ = _notes([*began, *found])

    assert "in doubt 1  looking up 1 batch by name until " in waiting
    assert "looking up" not in settled


def test_changes_have_a_line_of_their_own_and_count_as_sends() -> None:
    """Changes sent and settled (each once, however many events) show on a changes line."""
    events: list[Event] = [
        RunStarted(batches=0, cameras=0),
        ChangeSending(change="update:t1", attempt=1),
        ChangeDone(change="update:t1"),
        ChangeSending(change="stop:t2", attempt=1),
        ChangeDone(change="stop:t2", checked=True),
        ChangeDone(change="stop:t2", checked=True),
    ]

    note, completed, visible = _notes(events)

    assert (completed, visible) == (2, True)
    assert not note.startswith("0.0 sends/s")
