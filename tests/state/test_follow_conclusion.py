"""The conclusion looks only at cameras the run's events have not recorded as it concludes,
and writes what a conclusion of every camera writes."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader.model.cameras import LedgerEntry
from loader.run.run import Run
from loader.state.events import (
    BatchAbsent,
    BatchAccepted,
    BatchGaveUp,
    BatchSending,
    Event,
    TasksObserved,
)
from loader.state.outcomes import Outcomes, outcomes
from tests.state.test_follow import _context

ENDPOINT, PROJECT = "http://127.0.0.1:9", "p1"


def _tasks(context: Run, batch: int, named: bool) -> TasksObserved:
    """The batch's tasks as a listing shows them: every other camera has one."""
    cameras = context.plan.batches[batch].cameras
    rows = [
        [source, f"t-{batch}-{at}", "RUNNING", *([f"task {at}"] if named else [])]
        for at, source in enumerate(cameras.video_source_id.tolist())
        if at % 2 == 0
    ]
    return TasksObserved(batch=context.plan.batches[batch].name, batch_id=f"b-{batch}", tasks=rows)


def _event(context: Run, batch: int, kind: str) -> Event:
    """One event of the ``batch``-th planned batch."""
    name, count = context.plan.batches[batch].name, context.plan.batches[batch].camera_count
    made: dict[str, Any] = {
        "sending": lambda: BatchSending(batch=name, attempt=1),
        "accepted": lambda: BatchAccepted(batch=name, batch_id=f"b-{batch}", total=count),
        "accepted, 2 failed": lambda: BatchAccepted(
            batch=name, batch_id=f"b-{batch}", total=count, failed=2, succeeded=count - 2
        ),
        "absent": lambda: BatchAbsent(batch=name, lookups=3),
        "gave up in doubt": lambda: BatchGaveUp(batch=name, reason="in doubt: stopped"),
        "gave up for good": lambda: BatchGaveUp(batch=name, reason="refused", final=True),
        "tasks": lambda: _tasks(context, batch, named=False),
        "named tasks": lambda: _tasks(context, batch, named=True),
    }
    return made[kind]()  # type: ignore[no-any-return]


KINDS = st.sampled_from(
    [
        "sending",
        "accepted",
        "accepted, 2 failed",
        "absent",
        "gave up in doubt",
        "gave up for good",
        "tasks",
        "named tasks",
    ]
)
# (batch, kind, the ledger held while it is followed: the follower skips it)
STEPS = st.lists(st.tuples(st.sampled_from([0, 1]), KINDS, st.booleans()), max_size=8)


def _happen(context: Run, event: Event, *, held: bool) -> None:
    """What the recorder does after journaling: fold, then follow (or skip, held)."""
    context.state.apply(event)
    if held:
        context.ledger.skipping = 1
    anyio.run(context.ledger.after, event)


def _written(context: Run, conclude: Any) -> tuple[list[Any], dict[Any, LedgerEntry]]:
    """What ``conclude`` writes, from the follower as it stands (then put back as it was)."""
    follower = context.ledger
    recorded, documented = dict(follower.recorded), set(follower.documented)
    calls: list[Any] = []
    follower.ledger.record = lambda *a, **k: calls.append((a, k)) or 0  # type: ignore[method-assign]
    conclude()
    after = dict(follower.recorded)
    follower.recorded, follower.documented = recorded, documented
    return calls, after


def _counting_entries(context: Run, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many cameras each later call of the follower's ``entries`` is given."""
    looked_at: list[int] = []
    entries = context.ledger.entries
    monkeypatch.setattr(
        context.ledger, "entries", lambda r, c: looked_at.append(len(c)) or entries(r, c)
    )
    return looked_at


def _edited(result: Outcomes, at: list[int]) -> Outcomes:
    """The outcome with some cameras' messages changed, as the end's overlay may."""
    for position in at:
        result.message[position] = "changed at the end"
    return result


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STEPS, st.lists(st.integers(0, 219), max_size=3))
def test_the_conclusion_writes_what_a_conclusion_of_every_camera_writes(
    steps: list[tuple[int, str, bool]], edited: list[int]
) -> None:
    """Any history of the two batches' events (some skipped by a held ledger), and an
    outcome the end changed for a few cameras: the same rows written, the same recorded."""
    with tempfile.TemporaryDirectory() as folder:
        context = _context(Path(folder), groups=110)
        for batch, kind, held in steps:
            _happen(context, _event(context, batch, kind), held=held)
        result = _edited(
            outcomes(context.loaded, context.plan, context.delta, context.state), edited
        )
        follower, sent = context.ledger, context.delta.send

        fast = _written(context, lambda: follower.conclude(result, sent))
        every = _written(
            context, lambda: follower.write_differences(follower.entries(result, sent), sent)
        )
        context.ledger.close()

    assert fast == every


def test_a_run_whose_batches_were_all_followed_concludes_without_a_look_at_a_camera(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both batches sent and accepted: no camera is looked at again, nothing is written."""
    context = _context(tmp_path, groups=110)
    for batch in (0, 1):
        for kind in ("sending", "accepted"):
            _happen(context, _event(context, batch, kind), held=False)
    looked_at = _counting_entries(context, monkeypatch)
    result = outcomes(context.loaded, context.plan, context.delta, context.state)

    calls, _ = _written(context, lambda: context.ledger.conclude(result, context.delta.send))
    context.ledger.close()

    assert (looked_at, calls) == ([0], [])


def test_a_batch_whose_tasks_were_named_later_is_looked_at_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task's name learned by another batch's listing (not this batch's event): its
    cameras are recorded anew, with the name."""
    context = _context(tmp_path, groups=110)
    for kind in ("sending", "accepted", "tasks"):
        _happen(context, _event(context, 0, kind), held=False)
    first = context.plan.batches[0]
    task = "t-0-0"
    context.state.task_names[task] = "named since"
    looked_at = _counting_entries(context, monkeypatch)
    result = outcomes(context.loaded, context.plan, context.delta, context.state)

    calls, recorded = _written(context, lambda: context.ledger.conclude(result, context.delta.send))
    context.ledger.close()

    named = [e for e in recorded.values() if e.task_id == task]
    assert looked_at == [first.camera_count + context.plan.batches[1].camera_count]
    assert [e.task_name for e in named] == ["named since"]
    assert len(calls) == 1
