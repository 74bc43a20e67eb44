"""The fault matrix: each cell a whole run against the simulator with one kind of trouble,
counted at the server: every valid camera exactly once (0 duplicates, 0 lost) and the
documented exit code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from loader.run.runner import resume_run, start_run
from loader.send.credentials import Credentials
from loader.sim import SimConfig, running_simulator
from loader.state.runstate import BatchStatus
from tests.conftest import write_inventory
from tests.e2e.test_kill_resume import wait_for
from tests.run.test_run import IAM, expected_cameras, settings_for

GROUPS, PER_GROUP = 900, 2  # 9 batches of 100 groups

CELLS = [
    pytest.param(
        {"faults": {"429": 0.3}, "retry_after": "seconds", "retry_after_seconds": 0.2},
        {},
        0,
        id="429-retry-after-seconds",
    ),
    pytest.param(
        {"faults": {"429": 0.3}, "retry_after": "date", "retry_after_seconds": 1},
        {},
        0,
        id="429-retry-after-date",
    ),
    pytest.param(
        {"faults": {"429": 0.3}, "retry_after": None}, {}, 0, id="429-without-retry-after"
    ),
    pytest.param({"faults": {"5xx-before": 0.3}}, {}, 0, id="5xx-before-commit"),
    pytest.param({"faults": {"5xx-after": 0.3}}, {}, 0, id="5xx-after-commit"),
    pytest.param({"faults": {"reset-before": 0.3}}, {}, 0, id="reset-before-commit"),
    pytest.param({"faults": {"commit-reset": 0.3}}, {}, 0, id="commit-then-reset"),
    pytest.param(
        {"faults": {"slow": 0.3}, "slow_seconds": 2.5},
        {"timeout": 1.0},
        0,
        id="slow-past-read-timeout",
    ),
    pytest.param(
        {"faults": {"commit-reset": 0.3}, "list_lag": 0.5},
        {"settle": 0.2},
        0,
        id="list-lag-on-lookup",
    ),
    pytest.param({"token_uses": 4}, {"credentials": "iam"}, 0, id="401-mid-run-renewed"),
]


def run_cell(
    tmp_path: Path, config: dict[str, Any], overrides: dict[str, Any]
) -> tuple[int, Counter[tuple[str, str]], Any]:
    sheet = write_inventory(tmp_path, groups=GROUPS, per_group=PER_GROUP)
    with running_simulator(SimConfig(seed=5, iam_password=IAM["iam_password"], **config)) as sim:
        if overrides.get("credentials") == "iam":
            overrides = {**overrides, "credentials": Credentials(iam_url=sim.url, **IAM)}
        report = start_run(sheet, settings_for(sim.url, tmp_path, **overrides))
        return report.exit_code, sim.state.task_counts(), report


@pytest.mark.slow
@pytest.mark.parametrize(("config", "overrides", "code"), CELLS)
def test_fault_cell(
    tmp_path: Path, config: dict[str, Any], overrides: dict[str, Any], code: int
) -> None:
    """One kind of trouble on ~30% of creates: nothing lost, nothing twice, the exit code."""
    exit_code, counts, report = run_cell(tmp_path, config, overrides)

    assert (exit_code, counts) == (code, expected_cameras(GROUPS, PER_GROUP))
    assert report.statuses["loaded"] == GROUPS * PER_GROUP


@pytest.mark.slow
def test_400_is_not_retried_and_its_rows_are_reported(tmp_path: Path) -> None:
    """A batch the API refuses (400) is sent once; its cameras are failed; the rest land once."""
    sheet = write_inventory(tmp_path, groups=300, per_group=2)
    sheet.write_text(
        sheet.read_text() + "".join(f"cam-x-{n},grp-x,c-unsubscribed\n" for n in range(5))
    )

    with running_simulator(SimConfig(refuse_services=frozenset({"c-unsubscribed"}))) as sim:
        report = start_run(sheet, settings_for(sim.url, tmp_path))
        posts = sum(1 for _, method, _, _ in sim.state.requests if method == "POST")
        counts = sim.state.task_counts()

    refused = [b for b in report.state.batches.values() if b.status == BatchStatus.REJECTED]
    assert (report.exit_code, posts, len(refused), report.statuses["failed"]) == (1, 4, 1, 5)
    assert counts == expected_cameras(300, 2)
    assert "VIAS.00010001" in refused[0].message


@pytest.mark.slow
def test_full_outage_ends_bounded_then_resume_finishes(tmp_path: Path) -> None:
    """Every create fails: the run stops itself (exit 3), every batch reported; resume lands all once."""
    sheet = write_inventory(tmp_path, groups=GROUPS, per_group=PER_GROUP)
    config = SimConfig(faults={"5xx-before": 1.0})

    with running_simulator(config) as sim:
        down = start_run(sheet, settings_for(sim.url, tmp_path, settle=0.05))
        requests_during_outage = len(sim.state.requests)
        config.faults.clear()
        up = resume_run(tmp_path / "run", settings_for(sim.url, tmp_path))
        counts = sim.state.task_counts()

    unsettled = [b for b in down.state.batches.values() if not b.settled]
    assert (down.exit_code, len(unsettled), all(b.gave_up for b in unsettled)) == (3, 9, True)
    assert "outage" in down.stop_reason
    assert requests_during_outage < 100
    assert (up.exit_code, counts) == (0, expected_cameras(GROUPS, PER_GROUP))


@pytest.mark.slow
def test_sigkill_during_reconciliation_then_reconcile_again(tmp_path: Path) -> None:
    """Reconcile killed mid-way is simply run again: results complete, nothing created."""
    sheet = write_inventory(tmp_path, groups=40, per_group=3)
    env = {**os.environ, "BULKLOAD_AUTH_TOKEN": "sim-token"}
    config = SimConfig(start_fail_percent=0, starting_after=0.0, running_after=0.0)

    with running_simulator(config) as sim:
        start_run(sheet, settings_for(sim.url, tmp_path, rate=1000.0))
        config.latency = 0.05
        command = [sys.executable, "-m", "loader", "reconcile", str(tmp_path / "run")]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        # its first list (the sources' names, then the tasks): killed while it reads
        before = len(sim.state.requests)
        wait_for(lambda: len(sim.state.requests) > before, process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        config.latency = 0.0
        again = subprocess.run(command, env=env, capture_output=True, timeout=120)
        counts = sim.state.task_counts()

    assert (process.returncode, again.returncode) == (-signal.SIGKILL, 0), again.stderr.decode()[
        -1500:
    ]
    assert counts == expected_cameras(40, 3)
