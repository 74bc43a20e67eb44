"""``run --canary N``: one batch first and alone, the rest only once its tasks run.

Whole runs on a fake clock against the simulator app in process (httpx.ASGITransport); the
simulator's task states move on the same fake clock, so no test sleeps.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import openpyxl
from rich.console import Console

from loader.check.load import load
from loader.model.cameras import Cameras
from loader.planning.batches import minimum_batches, plan
from loader.report.console import show_run
from loader.report.progress import RunProgress
from loader.run.options import RunOptions
from loader.run.runner import Wiring, resume_run, start_run
from loader.sim import SimConfig, SimState
from loader.sim.app import create_app, new_state
from loader.state.events import (
    BatchAccepted,
    BatchPlanned,
    BatchSending,
    CanaryFailed,
    CanaryPassed,
    CanaryWaiting,
    Event,
    RunStarted,
)
from loader.state.journal import Journal
from loader.state.runstate import RunState
from tests.conftest import FakeClock, write_inventory
from tests.run.test_run import expected_cameras, settings_for

URL = "http://sim.test"


def _config(**changes: Any) -> SimConfig:
    """The simulator's config: tasks run at once and none fails to start, unless changed."""
    runs_at_once = {"starting_after": 0.0, "running_after": 0.0, "start_fail_percent": 0}
    return SimConfig(**{**runs_at_once, **changes})


def _wiring(clock: FakeClock, config: SimConfig) -> tuple[Wiring, SimState]:
    """An in-process simulator whose task states move on the fake clock of the run."""
    state = new_state(config)
    state.clock = clock.now
    app = create_app(config, state)
    return Wiring(clock=clock, transport=httpx.ASGITransport(app=app)), state


def _options(folder: Path, **overrides: object) -> RunOptions:
    """The test run's options with a canary of 40 cameras (resume passes none of these)."""
    return settings_for(URL, folder, **{"canary": 40, "canary_wait": 30.0, **overrides})


def _posts(sim: SimState) -> list[str]:
    """Request ids of the creates the simulator received, in order."""
    return [r.request_id for r in sim.requests if r.method == "POST"]


def _journal(run_dir: Path) -> list[Event]:
    """Every event the run's journal holds, in order."""
    journal = Journal(run_dir / "journal.sqlite")
    try:
        return list(journal.events())
    finally:
        journal.close()


def _rows(run_dir: Path, status: str) -> list[dict[str, str]]:
    """The rows of the results workbook's Cameras sheet that have this status."""
    book = openpyxl.load_workbook(run_dir / "results.xlsx", read_only=True)
    try:
        rows = book["Cameras"].iter_rows(values_only=True)
        header = [str(h) for h in next(rows)]
        found = [dict(zip(header, (str(v or "") for v in row), strict=True)) for row in rows]
    finally:
        book.close()
    return [row for row in found if row["Status"] == status]


def test_a_passing_canary_goes_first_then_the_rest_each_camera_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    """40 cameras alone, their tasks running, then the other 210 in the minimum 3 batches."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    wiring, sim = _wiring(clock, _config())

    report = start_run(sheet, _options(tmp_path), wiring=wiring)

    events = _journal(report.run_dir)
    canary = next(e.batch for e in events if isinstance(e, BatchPlanned) and e.canary)
    sends = [e.batch for e in events if isinstance(e, BatchSending)]
    passed = next(n for n, e in enumerate(events) if isinstance(e, CanaryPassed))
    first_other = next(
        n for n, e in enumerate(events) if isinstance(e, BatchSending) and e.batch != canary
    )
    body = json.loads(next((report.run_dir / "payloads").glob("0001-*.json")).read_bytes())
    sources = [
        s["video_source_id"]
        for g in body["batch_input"]["video_source_group"]
        for s in g["video_source_list"]
    ]
    assert (sim.task_counts(), report.exit_code, len(_posts(sim))) == (
        expected_cameras(250, 1),
        0,
        4,
    )
    created_first = next(iter(sim.batches.values())).name  # the simulator's own order
    assert (sends[0], created_first, passed < first_other) == (canary, canary, True)
    assert body["name"] == canary
    assert sources == [f"cam-{g:05d}-000" for g in range(40)]
    assert (report.statuses["loaded"], report.statuses["held"], report.stop_reason) == (250, 0, "")


def test_the_canary_waits_on_the_runs_clock_until_its_tasks_run(
    tmp_path: Path, clock: FakeClock
) -> None:
    """PENDING, then STARTING, then RUNNING: looked at every 5 s, passed, the rest sent."""
    sheet = write_inventory(tmp_path, groups=150, per_group=1)
    wiring, sim = _wiring(clock, _config(starting_after=3.0, running_after=8.0))

    report = start_run(sheet, _options(tmp_path), wiring=wiring)

    waiting = [e for e in _journal(report.run_dir) if isinstance(e, CanaryWaiting)]
    task_lists = [r for r in sim.requests if r.method == "GET" and r.path.endswith("/tasks")]
    assert (report.exit_code, sim.task_counts(), len(_posts(sim))) == (
        0,
        expected_cameras(150, 1),
        3,
    )
    assert (len(waiting), waiting[0].cameras, waiting[0].wait) == (1, 40, 30.0)
    # three looks at the canary's tasks; no batch is listed for its ids (a change finds them)
    assert (clock.sleeps.count(5.0), len(task_lists)) == (2, 3)


def test_a_refused_canary_holds_the_rest_with_the_reason_and_request_id(
    tmp_path: Path, clock: FakeClock
) -> None:
    """400 to the canary: exit 1, one create and no more, the rest held with why and what next."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    wiring, sim = _wiring(clock, _config(refuse_services=frozenset({"c-smoke"})))

    report = start_run(sheet, _options(tmp_path), wiring=wiring)

    posts = _posts(sim)
    held = _rows(report.run_dir, "held")
    assert (report.exit_code, len(posts), sum(sim.task_counts().values())) == (1, 1, 0)
    assert (report.statuses["failed"], report.statuses["held"], report.statuses["unknown"]) == (
        40,
        210,
        0,
    )
    assert report.stop_reason.startswith(
        "canary failed: the API refused the batch: 400 VIAS.00010001"
    )
    assert f"(request id {posts[0]})" in report.stop_reason
    assert (report.counts["held"], report.counts["unsettled"]) == (3, 0)
    assert {row["Message"] for row in held} == {
        f"not sent: the canary failed: {report.stop_reason.removeprefix('canary failed: ')};"
        " fix that, then run the sheet again (--retry-failed resends the canary's cameras)"
    }


def test_cameras_failing_inside_the_canarys_200_fail_it(tmp_path: Path, clock: FakeClock) -> None:
    """One unknown camera in the canary (named in error_list): failed canary, nothing else sent."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    wiring, sim = _wiring(clock, _config(unknown_sources=frozenset({"cam-00003-000"})))

    report = start_run(sheet, _options(tmp_path), wiring=wiring)

    posts = _posts(sim)
    assert (report.exit_code, len(posts), report.statuses["held"]) == (1, 1, 210)
    assert report.stop_reason == (
        "canary failed: 1 of 40 cameras failed inside the API's 200: video source"
        f" cam-00003-000 does not exist (VIAS.00010002) (request id {posts[0]})"
    )
    verdict = report.state.verdict
    assert isinstance(verdict, CanaryFailed)
    assert (verdict.final, verdict.request_id) == (True, posts[0])


def test_tasks_failing_to_start_fail_the_canary_and_name_each_camera(
    tmp_path: Path, clock: FakeClock
) -> None:
    """START_FAILED: exit 1 with the list's request id; each canary camera failed by its task."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    wiring, sim = _wiring(clock, _config(start_fail_percent=100))

    report = start_run(sheet, _options(tmp_path), wiring=wiring)

    lists = [r.request_id for r in sim.requests if r.method == "GET" and "batch-tasks" in r.path]
    canary = _rows(report.run_dir, "failed")
    assert (report.exit_code, len(_posts(sim)), report.statuses["held"]) == (1, 1, 210)
    assert report.stop_reason == (
        f"canary failed: 40 of 40 tasks failed to start (START_FAILED 40) (request id {lists[0]})"
    )
    assert (len(canary), {row["Task State"] for row in canary}) == (40, {"START_FAILED"})
    assert all(re.fullmatch(r"task \w+ is START_FAILED", row["Message"]) for row in canary)
    held = {row["Message"].rpartition("; ")[2] for row in _rows(report.run_dir, "held")}
    assert held == {"bulkload resume checks the canary's tasks again and sends this once all run"}


def test_a_canary_not_running_within_the_wait_fails_and_resume_sends_the_rest_once_it_runs(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Still STARTING after --canary-wait: failed (exit 1). Later its tasks run: resume checks
    them first, then sends the rest, every camera once."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    wiring, sim = _wiring(clock, _config(running_after=100.0))

    first = start_run(sheet, _options(tmp_path, canary_wait=12.0), wiring=wiring)
    created_first = sum(sim.task_counts().values())
    clock.time += 100.0  # the tasks start meanwhile
    second = resume_run(first.run_dir, settings_for(URL, tmp_path), wiring=wiring)

    assert (first.exit_code, created_first, first.statuses["held"]) == (1, 40, 210)
    assert first.stop_reason.startswith(
        "canary failed: not every task was RUNNING within 12 s (STARTING 40) (request id "
    )
    assert (second.exit_code, sim.task_counts(), len(_posts(sim))) == (
        0,
        expected_cameras(250, 1),
        4,
    )
    assert isinstance(second.state.verdict, CanaryPassed)


def test_resume_after_a_failed_canary_sends_nothing_while_its_tasks_still_fail(
    tmp_path: Path, clock: FakeClock
) -> None:
    """START_FAILED stays so: resume looks again, fails the canary again, creates nothing."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    wiring, sim = _wiring(clock, _config(start_fail_percent=100))

    first = start_run(sheet, _options(tmp_path), wiring=wiring)
    second = resume_run(first.run_dir, settings_for(URL, tmp_path), wiring=wiring)

    verdicts = [e for e in _journal(first.run_dir) if isinstance(e, CanaryFailed)]
    assert (first.exit_code, second.exit_code, len(_posts(sim))) == (1, 1, 1)
    assert (len(verdicts), second.statuses["held"], second.statuses["unknown"]) == (2, 210, 0)


def test_resume_after_a_refused_canary_sends_nothing(tmp_path: Path, clock: FakeClock) -> None:
    """A refusal is final: resume records the same verdict and sends nothing."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    wiring, sim = _wiring(clock, _config(refuse_services=frozenset({"c-smoke"})))

    first = start_run(sheet, _options(tmp_path), wiring=wiring)
    second = resume_run(first.run_dir, settings_for(URL, tmp_path), wiring=wiring)

    assert (second.exit_code, len(_posts(sim)), second.stop_reason) == (
        1,
        1,
        first.stop_reason,
    )


def test_a_run_without_canary_sends_what_a_failed_canary_held(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Sending the rest anyway is asked for by a new run: the held cameras go, once each; the
    canary's failed cameras stay failed (ledger) unless --retry-failed."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    wiring, sim = _wiring(clock, _config(start_fail_percent=100))

    start_run(sheet, _options(tmp_path), wiring=wiring)
    again = start_run(sheet, settings_for(URL, tmp_path, run_dir=tmp_path / "run2"), wiring=wiring)

    assert (sim.task_counts(), len(_posts(sim))) == (expected_cameras(250, 1), 4)
    assert (again.statuses["loaded"], again.statuses["failed"], again.statuses["held"]) == (
        210,
        40,
        0,
    )


def test_resume_after_a_passing_canary_sends_only_what_is_left(
    tmp_path: Path, clock: FakeClock
) -> None:
    """An outage after the canary passed (exit 3): resume sends the rest, the canary is not
    judged again, and every camera has one task."""
    sheet = write_inventory(tmp_path, groups=300, per_group=1)
    outage = ["none", "none"] + ["5xx-before"] * 14
    wiring, sim = _wiring(clock, _config(fault_sequence=outage))

    first = start_run(sheet, _options(tmp_path, max_attempts=20), wiring=wiring)
    created_first = sum(sim.task_counts().values())
    second = resume_run(first.run_dir, settings_for(URL, tmp_path), wiring=wiring)

    events = _journal(first.run_dir)
    resumed_at = max(n for n, e in enumerate(events) if isinstance(e, RunStarted))
    assert (first.exit_code, created_first, second.exit_code) == (3, 140, 0)
    assert sim.task_counts() == expected_cameras(300, 1)
    assert [e for e in events[resumed_at:] if isinstance(e, CanaryWaiting | CanaryPassed)] == []


def test_a_canary_without_a_verdict_stops_the_run_and_resume_judges_it_first(
    tmp_path: Path, clock: FakeClock
) -> None:
    """An outage while the canary is sent: no verdict, the rest unsent, exit 3 (not held).
    Resume sends the canary, judges it, then the rest: every camera once."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    wiring, sim = _wiring(clock, _config(fault_sequence=["5xx-before"] * 14))

    first = start_run(sheet, _options(tmp_path, max_attempts=20), wiring=wiring)
    created_first = sum(sim.task_counts().values())
    second = resume_run(first.run_dir, settings_for(URL, tmp_path), wiring=wiring)

    assert (first.exit_code, created_first, first.state.verdict) == (3, 0, None)
    assert (first.statuses["unknown"], first.statuses["held"], first.counts["unsettled"]) == (
        250,
        0,
        4,
    )
    assert first.stop_reason == "the API failed 12 requests in a row (outage)"
    assert (second.exit_code, sim.task_counts(), len(_posts(sim))) == (
        0,
        expected_cameras(250, 1),
        18,
    )
    assert isinstance(second.state.verdict, CanaryPassed)


def test_a_canary_left_in_doubt_holds_nothing_and_resume_finds_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Created but unanswered, and every lookup failing: the rest waits (exit 3, unknown).
    Resume finds the canary by name, judges it, sends the rest: each camera once."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    config = _config(fault_sequence=["5xx-after"], list_failures=1.0)
    wiring, state = _wiring(clock, config)

    first = start_run(sheet, _options(tmp_path), wiring=wiring)
    config.list_failures = 0.0
    second = resume_run(first.run_dir, settings_for(URL, tmp_path), wiring=wiring)

    assert (first.exit_code, first.statuses["unknown"], first.statuses["held"]) == (3, 250, 0)
    assert first.stop_reason.startswith("the rest waits for the canary: in doubt: lookups failed")
    assert (second.exit_code, state.task_counts(), len(_posts(state))) == (
        0,
        expected_cameras(250, 1),
        4,
    )


def test_the_plan_with_a_canary_is_deterministic_and_minimal_for_the_rest(
    tmp_path: Path,
) -> None:
    """Same input and N: same names. The canary is the first N cameras; the rest the minimum."""
    sheet = write_inventory(tmp_path, groups=120, per_group=3)
    checked = load(sheet, str(tmp_path / "flat-test.toml")).checked

    once = plan(checked.cameras, checked.settings_classes, canary=50)
    twice = plan(checked.cameras, checked.settings_classes, canary=50)

    canary, rest = once.batches[0], once.batches[1:]
    chosen = [c for e in canary.entries for c in e.cameras]
    others = [c for b in rest for e in b.entries for c in e.cameras]
    assert [b.name for b in once.batches] == [b.name for b in twice.batches]
    assert (once.canary, canary.camera_count, chosen) == (
        canary.name,
        50,
        list(checked.cameras[:50]),
    )
    assert (len(rest), minimum_batches(Cameras.of(others)), len(others)) == (2, 2, 310)


def test_a_canary_larger_than_a_batch_is_the_first_batch(tmp_path: Path) -> None:
    """N over 100 groups: the canary is the plan's usual first batch, the names unchanged."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    checked = load(sheet, str(tmp_path / "flat-test.toml")).checked

    usual = plan(checked.cameras, checked.settings_classes)
    large = plan(checked.cameras, checked.settings_classes, canary=5000)

    assert ([b.name for b in large.batches], large.canary) == (
        [b.name for b in usual.batches],
        usual.batches[0].name,
    )


def test_the_canary_takes_cameras_of_the_first_settings_class_only(tmp_path: Path) -> None:
    """A batch has one settings class: with 30 cameras in the first, a canary of 50 has 30."""
    sheet = write_inventory(tmp_path, groups=90, per_group=1)
    lines = sheet.read_text().splitlines()
    lines[31:] = [line.replace("c-smoke", "c-fire") for line in lines[31:]]
    sheet.write_text("\n".join(lines) + "\n")
    checked = load(sheet, str(tmp_path / "flat-test.toml")).checked

    planned = plan(checked.cameras, checked.settings_classes, canary=50)

    classes = Counter(b.settings_class for b in planned.batches)
    assert (planned.batches[0].camera_count, planned.batches[0].settings_class) == (30, 0)
    assert (len(planned.batches), classes) == (2, Counter({0: 1, 1: 1}))


def test_canary_and_its_wait_are_journaled_options() -> None:
    """A resume takes --canary and --canary-wait back from the journal, never from its flags."""
    journaled = RunOptions(canary=40, canary_wait=45.0).journaled()

    resumed = RunOptions().resumed_from(journaled, endpoint=URL, project_id="p")

    assert (journaled["canary"], resumed.canary, resumed.canary_wait) == (40, 40, 45.0)


def test_the_progress_bars_show_the_canary_phase() -> None:
    """Its line: cameras first, then waiting for tasks, then the verdict with its reason."""
    state = RunState()
    progress = RunProgress(Console(file=io.StringIO()), enabled=False)
    notes = []
    events: list[Event] = [
        BatchPlanned(batch="c1", cameras=40, canary=True),
        BatchPlanned(batch="b2", cameras=100),
        RunStarted(batches=2, cameras=140),
        BatchSending(batch="c1", attempt=1),
        BatchAccepted(batch="c1", batch_id="i1", total=40, succeeded=40),
        CanaryWaiting(batch="c1", cameras=40, wait=120.0),
        CanaryFailed(batch="c1", reason="3 of 40 tasks failed to start (request id r-1)"),
    ]
    for event in events:
        state.apply(event)
        progress(event, state)
        notes.append(progress.progress.tasks[progress.canary].fields["note"])

    assert notes[2:] == [
        "40 cameras go first; the rest waits for their tasks",
        "40 cameras go first; the rest waits for their tasks",
        "40 cameras go first; the rest waits for their tasks",
        "40 cameras, waiting for tasks to run (<= 120 s)",
        "canary failed: 3 of 40 tasks failed to start (request id r-1)",
    ]
    assert [b.name for b in state.held()] == ["b2"]


def test_the_console_summary_says_the_canary_failed_and_what_sends_the_rest(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The reason with its request id, what was held, resume, and how to send it anyway."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    wiring, _ = _wiring(clock, _config(start_fail_percent=100))
    report = start_run(sheet, _options(tmp_path), wiring=wiring)
    shown = io.StringIO()

    show_run(Console(file=shown, width=200), report)

    text = shown.getvalue()
    assert f"{report.stop_reason}\n" in text
    assert "not sent (held): 210 cameras in 3 batches" in text
    assert f"bulkload resume {report.run_dir} (it checks them first)" in text
    assert (
        f"to send the rest anyway: bulkload run {sheet.resolve()} (same options, no --canary)"
        in text
    )
    assert "stopped:" not in text
