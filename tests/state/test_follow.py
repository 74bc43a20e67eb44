"""The ledger follows the run: batch by batch as the journal learns, then only differences."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from loader.model.cameras import LedgerEntry, LedgerState
from loader.run.open import open_run
from loader.run.options import RunOptions
from loader.run.run import Run
from loader.state.events import BatchAbsent, BatchAccepted, BatchGaveUp, BatchSending, Event
from loader.state.follow import taken_since
from loader.state.ledger import Ledger
from loader.state.outcomes import outcomes
from tests.conftest import write_inventory

ENDPOINT, PROJECT = "http://127.0.0.1:9", "p1"


def _context(tmp_path: Path, groups: int = 150, **options: Any) -> Run:
    """A new run of ``groups`` groups of two cameras (two batches), not sent yet."""
    sheet = write_inventory(tmp_path, groups=groups, per_group=2)
    run_options = RunOptions.of(
        mapping=str(tmp_path / "flat-test.toml"),
        endpoint=ENDPOINT,
        project_id=PROJECT,
        run_dir=tmp_path / "run",
        ledger=tmp_path / "ledger.sqlite",
        **options,
    )
    return open_run(sheet, run_options, now=datetime(2026, 11, 30, tzinfo=UTC))


def _happen(context: Run, event: Event) -> None:
    """What the run's recorder does after journaling an event: fold, then follow."""
    context.state.apply(event)
    anyio.run(context.ledger.after, event)


def _rows(tmp_path: Path) -> dict[tuple[str, str, str], tuple[str, str, str, str]]:
    """The ledger as another process reads it: (state, run, batch, batch id) per task."""
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        found = ledger.entries(ENDPOINT, PROJECT)
    return {k: (e.state, e.run, e.batch, e.batch_id) for k, e in found.items()}


def _keys(context: Run, batch: int) -> set[tuple[str, str, str]]:
    return {
        (c.group, c.video_source_id, "c-smoke")
        for e in context.plan.batches[batch].entries
        for c in e.cameras
    }


def test_a_batch_is_unknown_before_it_is_sent_then_loaded_when_accepted(tmp_path: Path) -> None:
    """Another process sees the batch's 200 cameras as unknown from the moment the request
    may leave, and as loaded with the batch id once it is accepted; nothing of the other."""
    context = _context(tmp_path)
    first, run = context.plan.batches[0], context.started.run_id

    _happen(context, BatchSending(batch=first.name, attempt=1))
    sending = _rows(tmp_path)
    _happen(context, BatchAccepted(batch=first.name, batch_id="b-1", total=200, succeeded=200))
    accepted = _rows(tmp_path)
    context.ledger.close()

    assert (len(context.plan.batches), first.camera_count) == (2, 200)
    assert sending == dict.fromkeys(_keys(context, 0), (LedgerState.UNKNOWN, run, first.name, ""))
    assert accepted == dict.fromkeys(
        _keys(context, 0), (LedgerState.LOADED, run, first.name, "b-1")
    )


def test_a_batch_provably_never_created_is_taken_back(tmp_path: Path) -> None:
    """Looked up and absent: its cameras leave the ledger (a later run sends them anew)."""
    context = _context(tmp_path)
    second = context.plan.batches[1]

    _happen(context, BatchSending(batch=second.name, attempt=1))
    during = len(_rows(tmp_path))
    _happen(context, BatchAbsent(batch=second.name, lookups=3))
    after = _rows(tmp_path)
    context.ledger.close()

    assert (during, after) == (100, {})


def test_taking_back_restores_what_an_earlier_run_recorded(tmp_path: Path) -> None:
    """A failed camera sent again with --retry-failed, then provably not created: the
    earlier run's entry comes back as it was."""
    earlier = LedgerEntry(
        "grp-00000", "cam-00000-000", "c-smoke", "f0", LedgerState.FAILED, "run-0", "old", "", "x"
    )
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.record(ENDPOINT, PROJECT, [earlier])
    context = _context(tmp_path, groups=1, retry_failed=True)
    only = context.plan.batches[0]

    _happen(context, BatchSending(batch=only.name, attempt=1))
    during = _rows(tmp_path)[earlier.key]
    _happen(context, BatchAbsent(batch=only.name, lookups=3))
    after = _rows(tmp_path)
    context.ledger.close()

    assert during == (LedgerState.UNKNOWN, context.started.run_id, only.name, "")
    assert after == {earlier.key: (LedgerState.FAILED, "run-0", "old", "")}


def test_the_conclusion_writes_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both batches followed to accepted: concluding writes nothing more for them."""
    context = _context(tmp_path)
    for number, batch in enumerate(context.plan.batches):
        _happen(context, BatchSending(batch=batch.name, attempt=1))
        count = batch.camera_count
        _happen(context, BatchAccepted(batch=batch.name, batch_id=f"b-{number}", total=count))
    written: list[int] = []
    record = context.ledger.ledger.record
    monkeypatch.setattr(
        context.ledger.ledger,
        "record",
        lambda *a, **k: written.append(len(a[2])) or record(*a, **k),
    )
    result = outcomes(context.loaded, context.plan, context.delta, context.state)
    entries = context.ledger.entries(result, context.delta.send)
    context.ledger.conclude(result, context.delta.send)
    context.ledger.close()

    assert (len(entries), written) == (300, [])
    assert {s for s, *_ in _rows(tmp_path).values()} == {LedgerState.LOADED}


def test_a_batch_given_up_unsent_leaves_no_trace(tmp_path: Path) -> None:
    """Never sent (the API refused the run, or another run took its cameras): nothing is
    recorded, so a later run sends its cameras."""
    context = _context(tmp_path)
    first = context.plan.batches[0]

    _happen(context, BatchGaveUp(batch=first.name, reason="not sent", final=True))
    rows = _rows(tmp_path)
    context.ledger.close()

    assert rows == {}


def test_unsent_batches_whose_cameras_another_run_recorded_since_are_named(
    tmp_path: Path,
) -> None:
    """Only the batch holding a camera another run has recorded live since; a sent batch
    is settled by its own lookups, not named."""
    context = _context(tmp_path)
    first, second = context.plan.batches
    camera = second.entries[0].cameras[0]
    key = (camera.group, camera.video_source_id, "c-smoke")
    entry = LedgerEntry(*key, "f", LedgerState.LOADED, "run-9", "other-batch", "b-9")
    earlier = dict(context.delta.earlier)
    earlier[key] = entry
    delta = replace(context.delta, earlier=earlier)
    context.state.apply(BatchSending(batch=first.name, attempt=1))
    context.ledger.close()

    taken = taken_since(context.plan, context.state, delta)

    assert taken == {
        second.name: "not sent: run run-9 has since recorded 1 of its cameras (sending it"
        " would give them a second task); run the sheet again: it sends the others"
    }


def test_a_held_ledger_does_not_hold_the_run_and_the_conclusion_catches_up(
    tmp_path: Path,
) -> None:
    """Another process holds the ledger while a batch is sent and accepted: the run goes on
    (one short wait, then none for a hundred events), and the conclusion records it all."""
    context = _context(tmp_path)
    first = context.plan.batches[0]
    holder = sqlite3.connect(tmp_path / "ledger.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")

    with capture_logs() as logged:
        _happen(context, BatchSending(batch=first.name, attempt=1))
        skipping = context.ledger.skipping
        accepted = BatchAccepted(batch=first.name, batch_id="b-1", total=200, succeeded=200)
        _happen(context, accepted)
    holder.close()
    during = _rows(tmp_path)
    result = outcomes(context.loaded, context.plan, context.delta, context.state)
    context.ledger.conclude(result, context.delta.send)
    after = _rows(tmp_path)
    context.ledger.close()

    run = context.started.run_id
    assert (skipping, context.ledger.skipping, during) == (100, 99, {})
    assert [(e["event"], e["batch"]) for e in logged] == [
        ("bulkload.ledger_write_failed", first.name)
    ]
    assert after == dict.fromkeys(_keys(context, 0), (LedgerState.LOADED, run, first.name, "b-1"))
