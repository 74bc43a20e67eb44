"""Whole runs on a fake clock: the simulator app in process (httpx.ASGITransport), no waiting."""

from __future__ import annotations

from pathlib import Path

import httpx

from loader.run.runner import Wiring, resume_run, start_run
from loader.sim import SimConfig
from loader.sim.app import create_app
from tests.conftest import FakeClock, write_inventory
from tests.test_run import expected_cameras, settings_for


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
