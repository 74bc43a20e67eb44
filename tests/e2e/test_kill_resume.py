"""A `bulkload run` process killed with SIGKILL, then resumed: every camera exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from loader.sim import RunningSim, SimConfig, running_simulator
from tests.conftest import write_inventory


def bulkload(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "loader", *arguments]


def _env() -> dict[str, str]:
    return {**os.environ, "BULKLOAD_AUTH_TOKEN": "sim-token"}


def start(sheet: Path, sim: RunningSim, run_dir: Path) -> subprocess.Popen[bytes]:
    """`bulkload run` against the simulator, in its own process."""
    return subprocess.Popen(
        start_command(sheet, sim, run_dir),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_command(sheet: Path, sim: RunningSim, run_dir: Path) -> list[str]:
    """The `bulkload run` command line of ``start``."""
    return bulkload(
        "run",
        str(sheet),
        "-m",
        str(sheet.parent / "flat-test.toml"),
        "--endpoint",
        sim.url,
        "--project-id",
        sim.config.project_id,
        "--run-dir",
        str(run_dir),
        "--rate",
        "30",
        "--settle",
        "0.2",
        "--timeout",
        "5",
        "--json",
    )


def wait_for(
    condition: Callable[[], bool], process: subprocess.Popen[bytes], seconds: float = 60
) -> None:
    """Poll a condition on the simulator's state while the run process works."""
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the run ended (or stalled) first: {process.poll()}")
        time.sleep(0.005)


@pytest.mark.parametrize(
    ("point", "condition", "faults"),
    [
        pytest.param(
            "before-first-send", lambda sim: len(sim.state.requests) >= 1, [], id="at-first-request"
        ),
        pytest.param("mid-run", lambda sim: len(sim.state.batches) >= 7, [], id="mid-run"),
        pytest.param(
            "in-doubt",
            lambda sim: len(sim.state.batches) >= 3,
            ["none", "none", "slow"],
            id="commit-then-kill",
        ),
    ],
)
@pytest.mark.slow
def test_sigkill_then_resume_creates_every_camera_once(
    tmp_path: Path, point: str, condition: Callable[[RunningSim], bool], faults: list[str]
) -> None:
    """Kill -9 at a point, resume: exit 0, and the server holds each camera exactly once."""
    sheet = write_inventory(tmp_path, groups=2000, per_group=2)
    run_dir = tmp_path / "run"
    config = SimConfig(latency=0.05, fault_sequence=faults, slow_seconds=30)

    with running_simulator(config) as sim:
        process = start(sheet, sim, run_dir)
        wait_for(lambda: condition(sim), process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        resumed = subprocess.run(
            bulkload("resume", str(run_dir), "--json"), env=_env(), capture_output=True, timeout=120
        )
        counts = sim.state.task_counts()

    assert (process.returncode, resumed.returncode) == (-signal.SIGKILL, 0), (
        resumed.stderr.decode()[-2000:]
    )
    assert (sum(counts.values()), max(counts.values())) == (4000, 1)


@pytest.mark.slow
def test_resume_refuses_a_changed_input(tmp_path: Path) -> None:
    """The sheet changed after the run started: resume says so and exits 2."""
    sheet = write_inventory(tmp_path, groups=300, per_group=1)
    run_dir = tmp_path / "run"

    with running_simulator(SimConfig(latency=0.2)) as sim:
        process = start(sheet, sim, run_dir)
        wait_for(lambda: len(sim.state.requests) >= 1, process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        sheet.write_text(sheet.read_text() + "cam-new,grp-new,c-smoke\n")
        resumed = subprocess.run(
            bulkload("resume", str(run_dir)), env=_env(), capture_output=True, timeout=60
        )

    assert resumed.returncode == 2
    assert "changed since the run started" in resumed.stderr.decode()
    assert b"Traceback" not in resumed.stderr


@pytest.mark.slow
def test_ctrl_c_finishes_in_flight_exits_3_and_names_resume(tmp_path: Path) -> None:
    """SIGINT: no new batch starts, the run exits 3 and prints the resume command."""
    sheet = write_inventory(tmp_path, groups=3000, per_group=1)
    run_dir = tmp_path / "run"
    command = bulkload(
        "run",
        str(sheet),
        "-m",
        str(tmp_path / "flat-test.toml"),
        "--run-dir",
        str(run_dir),
        "--rate",
        "20",
        "--project-id",
        "sim-project",
        "--endpoint",
    )

    with running_simulator(SimConfig(latency=0.1)) as sim:
        process = subprocess.Popen(
            [*command, sim.url], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_for(lambda: len(sim.state.batches) >= 3, process)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        created = len(sim.state.batches)
        resumed = subprocess.run(
            bulkload("resume", str(run_dir)), env=_env(), capture_output=True, timeout=120
        )
        counts = sim.state.task_counts()

    text = " ".join(stderr.decode().split())
    assert (process.returncode, f"bulkload resume {run_dir}" in text, "Traceback" in text) == (
        3,
        True,
        False,
    )
    assert created < 30
    assert (resumed.returncode, sum(counts.values()), max(counts.values())) == (0, 3000, 1)


@pytest.mark.slow
def test_a_fresh_run_after_sigkill_then_resume_creates_no_camera_twice(tmp_path: Path) -> None:
    """Killed mid-run, the sheet run again instead of resumed, then the killed run resumed
    (as the fresh run's results advise), against an API that takes a batch name twice:

    - the ledger knew every batch the killed run had sent before it sent it, so the fresh
      run holds those cameras (in flight at the kill: unknown) and sends the others;
    - the resume settles its in-doubt batches and sends none of its unsent batches, whose
      cameras the fresh run has created meanwhile.
    """
    sheet = write_inventory(tmp_path, groups=2000, per_group=2)
    config = SimConfig(latency=0.05, unique_names=False)

    with running_simulator(config) as sim:
        process = start(sheet, sim, tmp_path / "killed")
        wait_for(lambda: len(sim.state.batches) >= 7, process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        created_before = sum(sim.state.task_counts().values())
        fresh = subprocess.run(
            start_command(sheet, sim, tmp_path / "fresh"), env=_env(), capture_output=True
        )
        after_fresh = sim.state.task_counts()
        resumed = subprocess.run(
            bulkload("resume", str(tmp_path / "killed"), "--json"),
            env=_env(),
            capture_output=True,
            timeout=120,
        )
        counts = sim.state.task_counts()

    statuses = json.loads(fresh.stdout)["statuses"]
    in_flight = statuses["unknown"]
    assert created_before >= 7 * 100
    assert fresh.returncode in (0, 3), fresh.stderr.decode()[-2000:]
    assert statuses["unchanged"] + in_flight >= created_before
    assert statuses["loaded"] + statuses["unchanged"] + in_flight == 4000
    assert max(after_fresh.values()) == 1
    assert 4000 - in_flight <= sum(after_fresh.values()) <= 4000
    assert resumed.returncode in (0, 1), resumed.stderr.decode()[-2000:]
    assert (sum(counts.values()), max(counts.values())) == (4000, 1)
