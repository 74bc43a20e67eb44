"""The journal stores events durably and in order; the fold rebuilds every batch's state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from loader.state.events import (
    KINDS,
    BatchAbsent,
    BatchAccepted,
    BatchAmbiguous,
    BatchGaveUp,
    BatchPlanned,
    BatchRejected,
    BatchRetrying,
    BatchSending,
    Event,
    RunFinished,
    RunStarted,
)
from loader.state.journal import Journal, read_events, read_results
from loader.state.outcomes import CameraResult
from loader.state.runstate import BatchStatus, replay


def test_events_round_trip_in_order(tmp_path: Path) -> None:
    """What goes in comes back equal, in append order, across a reopen."""
    events = [
        RunStarted(input_file="x.xlsx", batches=2, options={"rate": 5.0}),
        BatchPlanned(batch="a", file="0001-a.json", cameras=3),
        BatchSending(batch="a", attempt=1),
        BatchAccepted(batch="a", batch_id="id-a", total=3, succeeded=3, error_list=["e1"]),
        RunFinished(exit_code=0, counts={"accepted": 1}),
    ]
    journal = Journal(tmp_path / "j.sqlite")
    journal.append_many(events[:2])
    for event in events[2:]:
        journal.append(event)
    journal.close()

    assert list(Journal(tmp_path / "j.sqlite").events()) == events


def test_journal_is_wal_with_full_sync(tmp_path: Path) -> None:
    """The file is a real SQLite database in WAL mode; each connection syncs fully."""
    journal = Journal(tmp_path / "j.sqlite")
    journal.append(RunStarted())

    mode = sqlite3.connect(tmp_path / "j.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = journal._db.execute("PRAGMA synchronous").fetchone()[0]
    assert (mode, synchronous) == ("wal", 2)


def test_scrubber_runs_before_storing(tmp_path: Path) -> None:
    """Secret text never reaches the file."""
    journal = Journal(tmp_path / "j.sqlite", scrub=lambda text: text.replace("s3cret", "***"))
    journal.append(BatchRejected(batch="a", message="token s3cret refused"))

    raw = (tmp_path / "j.sqlite").read_bytes() + (tmp_path / "j.sqlite-wal").read_bytes()
    assert (b"s3cret" in raw, next(journal.events()).message) == (False, "token *** refused")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("events", "status"),
    [
        pytest.param([BatchPlanned(batch="a")], BatchStatus.PENDING, id="planned"),
        pytest.param(
            [BatchSending(batch="a", attempt=1)], BatchStatus.IN_DOUBT, id="sent-no-answer"
        ),
        pytest.param(
            [BatchSending(batch="a", attempt=1), BatchRetrying(batch="a")],
            BatchStatus.PENDING,
            id="throttled",
        ),
        pytest.param(
            [BatchSending(batch="a", attempt=1), BatchAmbiguous(batch="a")],
            BatchStatus.IN_DOUBT,
            id="ambiguous",
        ),
        pytest.param(
            [BatchSending(batch="a", attempt=1), BatchAmbiguous(batch="a"), BatchAbsent(batch="a")],
            BatchStatus.PENDING,
            id="absent",
        ),
        pytest.param(
            [BatchSending(batch="a", attempt=1), BatchAmbiguous(batch="a"), BatchGaveUp(batch="a")],
            BatchStatus.IN_DOUBT,
            id="gave-up-in-doubt",
        ),
        pytest.param(
            [BatchSending(batch="a", attempt=1), BatchAccepted(batch="a", batch_id="x")],
            BatchStatus.ACCEPTED,
            id="accepted",
        ),
        pytest.param(
            [BatchSending(batch="a", attempt=1), BatchRejected(batch="a", status=400)],
            BatchStatus.REJECTED,
            id="rejected",
        ),
        pytest.param(
            [BatchAccepted(batch="a", batch_id="x"), BatchSending(batch="a", attempt=2)],
            BatchStatus.ACCEPTED,
            id="settled-stays",
        ),
    ],
)
def test_fold_status(events: list[object], status: BatchStatus) -> None:
    """Whether a batch must be sent, looked up, or is settled, from its events alone."""
    state = replay([RunStarted(), *events])  # type: ignore[list-item]

    assert state.batches["a"].status == status


@pytest.mark.parametrize("kind", sorted(KINDS), ids=str)
def test_every_event_type_round_trips(tmp_path: Path, kind: str) -> None:
    """Each event type is registered and comes back from the journal equal."""
    event = KINDS[kind](batch="b" if kind.startswith(("Batch", "Tasks")) else "")
    journal = Journal(tmp_path / "j.sqlite")
    journal.append(event)

    assert list(journal.events()) == [event]


def test_all_event_types_are_registered() -> None:
    """The registry holds every subclass the module defines."""
    import loader.state.events as module

    defined = {
        v.kind
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, Event) and v is not Event
    }
    assert set(KINDS) == defined


def test_the_page_reads_the_events_after_a_place_from_a_second_connection(tmp_path: Path) -> None:
    """read_events: the events after ``after`` with their place, while the run holds the
    journal open; nothing before the file exists."""
    path = tmp_path / "j.sqlite"
    before = read_events(path)
    journal = Journal(path)
    journal.append_many([RunStarted(batches=1), BatchPlanned(batch="a", cameras=3)])
    journal.append(BatchSending(batch="a", attempt=1))

    found = read_events(path, after=1)
    journal.close()

    assert before == []
    assert [(r.seq, r.event) for r in found] == [
        (2, BatchPlanned(batch="a", cameras=3)),
        (3, BatchSending(batch="a", attempt=1)),
    ]


def test_a_conclusion_keeps_the_cameras_needing_attention_in_place_of_the_last(
    tmp_path: Path,
) -> None:
    """keep_results replaces what an earlier conclusion kept, scrubs the messages; a journal
    whose run never kept any reads as None, not as a run with nothing to look at."""
    path = tmp_path / "j.sqlite"
    journal = Journal(path, scrub=lambda text: text.replace("s3cret", "***"))
    journal.append(RunStarted(batches=1))
    never = read_results(path)
    failed = CameraResult("failed", "b1", "START_FAILED", "key s3cret", "Cams", 7, "c7", "", "g")
    unknown = CameraResult("unknown", "b2", "", "not settled", "Cams", 9, "c9", "Nine", "g")
    journal.keep_results([failed, unknown])
    journal.keep_results([failed])
    journal.close()

    assert never is None
    assert read_results(path) == [
        CameraResult("failed", "b1", "START_FAILED", "key ***", "Cams", 7, "c7", "", "g")
    ]
