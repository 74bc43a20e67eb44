"""
``bulkload demo``: the bundled samples run end to end against the simulator started here
on loopback, with faults on a quarter of the creates; after each it counts the cameras
with two tasks (0: every batch was settled exactly once). The third inventory
(``stream_list.csv``: camera names and stream URLs, no ids) is registered first, each
camera and its group once, then loaded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Final

import typer

from loader.commands.terminal import err, guarded
from loader.report.console import show_run
from loader.report.progress import RunProgress
from loader.report.summaries import RunReport
from loader.run.options import RunOptions
from loader.run.runner import start_run
from loader.send.credentials import Credentials
from loader.sim import RunningSim, SimConfig, running_simulator

SAMPLES: Final = Path(__file__).resolve().parent.parent.parent / "sample_sheets"
DEMO_SAMPLES: Final = ("site_rollout.xlsx", "legacy_vms_export.xlsx")
REGISTERED_SAMPLE: Final = "stream_list.csv"  # names and stream URLs only


def run_demo(runs: Path) -> None:
    """Each sample sent to a simulator with faults, its run shown, the tasks counted."""
    config = SimConfig(
        rate=20,
        latency=0.02,
        faults={"5xx-after": 0.1, "reset-before": 0.1, "429": 0.05},
        seed=3,
    )
    with running_simulator(config) as sim:
        err().print(f"simulated VIAS on {sim.url} (rate 20/s, 25% of creates hit a fault)")
        for name in DEMO_SAMPLES:
            _run_sample(sim, name, runs)
        _run_sample(sim, REGISTERED_SAMPLE, runs)
        show_registered(sim)
    err().print(
        "\n[bold green]demo done[/]: each run directory above holds results.xlsx, journal.sqlite,"
        " log.jsonl, payloads/, diff.json (the plan against the ledger) and summary.json"
    )


def _run_sample(sim: RunningSim, name: str, runs: Path) -> RunReport:
    """One sample run against the simulator, shown, its tasks counted; exit 2 or 3 stops."""
    err().rule(f"[bold]{name}")
    with RunProgress(err()) as progress:
        report = guarded(partial(start_run, SAMPLES / name, _options(sim, name, runs), progress))
    show_run(err(), report)
    counts = sim.state.task_counts()
    err().print(
        f"simulator: {sum(counts.values())} tasks so far, cameras with two tasks: "
        f"{sum(1 for n in counts.values() if n > 1)}"
    )
    if report.exit_code not in (0, 1):
        raise typer.Exit(report.exit_code)
    return report


def _options(sim: RunningSim, name: str, runs: Path) -> RunOptions:
    """A run of ``name`` against the simulator, at 15 requests/s, in its own directory."""
    config = sim.config
    return RunOptions.of(
        endpoint=sim.url,
        project_id=config.project_id,
        rate=15,
        run_dir=runs / f"demo-{Path(name).stem}-{_stamp()}",
        credentials=Credentials(
            iam_url=sim.url,
            iam_user=config.iam_user,
            iam_password=config.iam_password,
            iam_domain=config.iam_domain,
        ),
    )


def show_registered(sim: RunningSim) -> None:
    """What the simulator holds as registered: each group with its members, by name (the
    server's count, so a duplicate would show)."""
    registry = sim.state.registry
    names = {source.id: source.name for source in registry.sources.values()}
    sources, groups = len(registry.sources), len(registry.groups)
    err().print(
        f"simulator: {sources} video source{'s' if sources != 1 else ''} and {groups}"
        f" group{'s' if groups != 1 else ''} registered"
    )
    for group in registry.groups.values():
        members = ", ".join(names.get(m, m) for m in group.members)
        err().print(f"  group {group.name}: {members}", highlight=False)


def _stamp() -> str:
    """A UTC time stamp for run directory names."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
