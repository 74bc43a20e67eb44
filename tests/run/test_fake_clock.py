"""Whole runs on a fake clock: the simulator app in process (httpx.ASGITransport), no waiting."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from loader.run.runner import Wiring, resume_run, start_run
from loader.sim import SimConfig, SimState
from loader.sim.app import create_app, new_state
from tests.conftest import FakeClock, write_inventory
from tests.run.test_run import expected_cameras, settings_for


def _wiring(config: SimConfig, clock: FakeClock) -> tuple[Wiring, object]:
    """A run's wiring to an in-process simulator, and the simulator's state."""
    app = create_app(config)
    return Wiring(clock=clock, transport=httpx.ASGITransport(app=app)), app.state.sim


def test_faults_settle_on_the_fake_clock_with_every_camera_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    """5xx after commit, 429 and 5xx before commit: looked up or resent, each camera once."""
    sheet = write_inventory(tmp_path, groups=250, per_group=2)
    config = SimConfig(fault_sequence=["5xx-after", "429", "5xx-before", "none", "none", "none"])
    wiring, sim = _wiring(config, clock)

    report = start_run(sheet, settings_for("http://sim.test", tmp_path), wiring=wiring)

    assert (sim.task_counts(), report.exit_code, report.counts["accepted"]) == (  # type: ignore[attr-defined]
        expected_cameras(250, 2),
        0,
        3,
    )
    assert report.retries == 3
    assert 0.3 in clock.sleeps  # the first lookup after the lost answer waited settle (0.3 s)


def test_resume_on_the_fake_clock_sends_only_what_is_left(tmp_path: Path, clock: FakeClock) -> None:
    """An outage stops the run (exit 3); resume on a fake clock finishes it, none twice."""
    sheet = write_inventory(tmp_path, groups=300, per_group=1)
    outage = SimConfig(fault_sequence=["none"] + ["5xx-before"] * 14)
    wiring, sim = _wiring(outage, clock)
    options = settings_for("http://sim.test", tmp_path, max_attempts=20)

    first = start_run(sheet, options, wiring=wiring)
    created_first = sum(sim.task_counts().values())  # type: ignore[attr-defined]
    second = resume_run(first.run_dir, options, wiring=wiring)

    assert (first.exit_code, created_first, second.exit_code) == (3, 100, 0)
    assert sim.task_counts() == expected_cameras(300, 1)  # type: ignore[attr-defined]


def _sim_wiring(config: SimConfig, clock: FakeClock) -> tuple[Wiring, SimState]:
    """An in-process simulator whose own clock (list lag, slow commits) is the fake one."""
    state = new_state(config)
    state.clock = clock.now
    app = create_app(config, state)
    return Wiring(clock=clock, transport=httpx.ASGITransport(app=app)), state


@pytest.mark.parametrize("commit_seconds", [1.0, 12.0, 29.9, 30.0], ids=lambda n: f"{n:g}s")
def test_slow_commit_up_to_the_read_timeout_is_never_sent_twice(
    tmp_path: Path, clock: FakeClock, commit_seconds: float
) -> None:
    """A batch answered 500 and listed only N s later (N up to --timeout) is found, not resent.

    The simulator would take a second batch of the same name (unique_names off): only the
    lookup window, which spans the read timeout, keeps it from being sent twice.
    """
    sheet = write_inventory(tmp_path, groups=100, per_group=1)
    config = SimConfig(
        fault_sequence=["slow-commit"], slow_commit_seconds=commit_seconds, unique_names=False
    )
    wiring, sim = _sim_wiring(config, clock)
    options = settings_for("http://sim.test", tmp_path, timeout=30.0, settle=0.3)

    report = start_run(sheet, options, wiring=wiring)

    posts = sum(1 for r in sim.requests if r.method == "POST")
    assert (sim.task_counts(), report.exit_code, posts) == (expected_cameras(100, 1), 0, 1)
    batch = next(iter(report.state.batches.values()))
    assert (batch.found_by_lookup, batch.gave_up) == (True, "")


def test_the_lookups_span_the_read_timeout_and_the_batch_size(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Never listed: absence is proven only by a lookup after timeout + 1 s per 1,000 cameras."""
    sheet = write_inventory(tmp_path, groups=100, per_group=20)  # 2,000 cameras, one batch
    config = SimConfig(fault_sequence=["slow-commit"], slow_commit_seconds=1e9, unique_names=False)
    wiring, sim = _sim_wiring(config, clock)
    options = settings_for("http://sim.test", tmp_path, timeout=30.0, settle=0.3, max_attempts=2)

    start_run(sheet, options, wiring=wiring)

    lookups = [r.at for r in sim.requests if r.method == "GET" and r.path.endswith("batch-tasks")]
    first_post = next(r.at for r in sim.requests if r.method == "POST")
    assert lookups[-1] - first_post >= 32.0  # 30 s read timeout + 2 s for 2,000 cameras


def test_wrong_project_fails_every_camera_with_the_reason(tmp_path: Path, clock: FakeClock) -> None:
    """400 VIAS.00010002 (no such project): one create, every camera failed, not unknown."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)  # 3 batches
    wiring, sim = _sim_wiring(SimConfig(), clock)
    options = settings_for("http://sim.test", tmp_path, project_id="no-such-project", concurrency=1)

    report = start_run(sheet, options, wiring=wiring)

    posts = [r for r in sim.requests if r.method == "POST"]
    assert (
        report.exit_code,
        len(posts),
        report.statuses["failed"],
        report.statuses["unknown"],
    ) == (
        1,
        1,
        250,
        0,
    )
    assert report.stop_reason.startswith(
        "the API refused the run: 400 VIAS.00010002 The object does not exist."
    )
    assert f"(request id {posts[0].request_id})" in report.stop_reason
    assert "--project-id / BULKLOAD_PROJECT_ID" in report.stop_reason
    messages = {b.gave_up or b.message for b in report.state.batches.values()}
    assert len(messages) == 2  # the refused batch's answer, and "not sent: <the reason>"


def test_resume_plans_with_its_runs_date_across_a_clock_change(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A run planned when Berlin kept the other offset than today's is resumed with its own
    date: the same bodies and batch names, not a refusal (or a silent change of hours)."""
    sheet = write_inventory(tmp_path, groups=3, per_group=1)
    mapping = tmp_path / "flat-test.toml"
    schedule = 'timezone = "Europe/Berlin"\ndays_of_week = "Mon-Fri"\nperiods = "08:00-18:00"\n'
    mapping.write_text(mapping.read_text() + schedule, encoding="utf-8")
    berlin = ZoneInfo("Europe/Berlin")
    summer_now = datetime.now(berlin).dst() != timedelta(0)
    then = datetime(2026, 1 if summer_now else 7, 15, 9, tzinfo=UTC)  # the other offset
    expected = "+01:00" if summer_now else "+02:00"
    wiring, _ = _wiring(SimConfig(), clock)
    options = settings_for("http://sim.test", tmp_path)

    first = start_run(sheet, options, wiring=replace(wiring, wall=lambda: then))
    body = json.loads(next((tmp_path / "run" / "payloads").glob("*.json")).read_bytes())
    second = resume_run(first.run_dir, options, wiring=wiring)

    assert (body["schedule"]["timezone"], first.exit_code, second.exit_code) == (expected, 0, 0)


def test_a_batch_out_of_attempts_is_sent_again_by_resume(tmp_path: Path, clock: FakeClock) -> None:
    """Each pass has --max-attempts of its own: a resume sends a batch a pass gave up."""
    sheet = write_inventory(tmp_path, groups=50, per_group=1)  # one batch
    wiring, sim = _sim_wiring(SimConfig(fault_sequence=["5xx-before", "5xx-before"]), clock)
    options = settings_for("http://sim.test", tmp_path, max_attempts=2)

    first = start_run(sheet, options, wiring=wiring)
    second = resume_run(first.run_dir, options, wiring=wiring)

    posts = sum(1 for r in sim.requests if r.method == "POST")
    assert (first.exit_code, second.exit_code, posts) == (3, 0, 3)
    assert sim.task_counts() == expected_cameras(50, 1)
