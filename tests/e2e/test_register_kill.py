"""A `bulkload run` of a sheet of names killed with SIGKILL while it registers, then
resumed: no source or group twice at the simulator, and every camera's task once."""

from __future__ import annotations

import csv
import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from loader.sim import RunningSim, SimConfig, running_simulator
from tests.e2e.test_kill_resume import _env, bulkload, wait_for

GROUPS, PER_GROUP = 10, 20


def write_names(folder: Path) -> Path:
    """A CSV of camera names, stream addresses and sites (the bundled streams mapping)."""
    sheet = folder / "names.csv"
    with sheet.open("w", newline="", encoding="utf-8") as stream:
        rows = csv.writer(stream)
        rows.writerow(["Camera", "Stream URL", "Group"])
        for g in range(GROUPS):
            for n in range(PER_GROUP):
                rows.writerow([f"Cam {g:02d}-{n:02d}", f"rtsp://10.1.{g}.{n}/main", f"Site{g:02d}"])
    return sheet


def start(sheet: Path, sim: RunningSim, run_dir: Path) -> subprocess.Popen[bytes]:
    """`bulkload run` against the simulator, in its own process."""
    command = bulkload(
        "run",
        str(sheet),
        "--endpoint",
        sim.url,
        "--project-id",
        sim.config.project_id,
        "--ledger",
        str(sheet.parent / "ledger.sqlite"),
        "--run-dir",
        str(run_dir),
        "--rate",
        "40",
        "--settle",
        "0.2",
        "--timeout",
        "5",
        "--json",
    )
    return subprocess.Popen(
        command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def held(sim: RunningSim) -> tuple[Counter[str], Counter[str]]:
    """How many sources and groups the simulator holds per name."""
    registry = sim.state.registry
    sources = Counter(s.name for s in registry.sources.values())
    return sources, Counter(g.name for g in registry.groups.values())


@pytest.mark.parametrize(
    ("condition", "faults"),
    [
        pytest.param(lambda sim: len(sim.state.registry.groups) >= 3, [], id="among-groups"),
        pytest.param(lambda sim: len(sim.state.registry.sources) >= 60, [], id="among-sources"),
        pytest.param(
            lambda sim: len(sim.state.registry.sources) >= 12,
            ["none"] * 14 + ["slow"],
            id="source-in-doubt",
        ),
    ],
)
@pytest.mark.slow
def test_sigkill_while_registering_then_resume_registers_each_once(
    tmp_path: Path, condition: Callable[[RunningSim], bool], faults: list[str]
) -> None:
    """Kill -9 while registering, resume: exit 0, each source and group once, each task once."""
    sheet = write_names(tmp_path)
    run_dir = tmp_path / "run"
    config = SimConfig(
        latency=0.02,
        registered_only=True,
        registration_fault_sequence=faults,
        slow_seconds=30,
    )

    with running_simulator(config) as sim:
        process = start(sheet, sim, run_dir)
        wait_for(lambda: condition(sim), process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        resumed = subprocess.run(
            bulkload("resume", str(run_dir), "--json"), env=_env(), capture_output=True, timeout=120
        )
        sources, groups = held(sim)
        tasks = sim.state.task_counts()

    assert (process.returncode, resumed.returncode) == (-signal.SIGKILL, 0), (
        resumed.stderr.decode()[-2000:]
    )
    assert (len(sources), max(sources.values()), len(groups), max(groups.values())) == (
        GROUPS * PER_GROUP,
        1,
        GROUPS,
        1,
    )
    assert (sum(tasks.values()), max(tasks.values())) == (GROUPS * PER_GROUP, 1)
