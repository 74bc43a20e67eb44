"""
``bulkload demo``: the bundled samples run end to end against the simulator started here
on loopback, with faults on a quarter of the creates; it ends by counting the cameras
with two tasks (0: every batch was settled exactly once).
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
from loader.run.options import RunOptions
from loader.run.runner import start_run
from loader.send.credentials import Credentials
from loader.sim import SimConfig, running_simulator

SAMPLES: Final = Path(__file__).resolve().parent.parent.parent / "sample_sheets"
DEMO_SAMPLES: Final = ("site_rollout.xlsx", "legacy_vms_export.xlsx")


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
            err().rule(f"[bold]{name}")
            options = RunOptions.of(
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
            with RunProgress(err()) as progress:
                report = guarded(partial(start_run, SAMPLES / name, options, progress))
            show_run(err(), report)
            counts = sim.state.task_counts()
            err().print(
                f"simulator: {sum(counts.values())} tasks so far, cameras with two tasks: "
                f"{sum(1 for n in counts.values() if n > 1)}"
            )
            if report.exit_code not in (0, 1):
                raise typer.Exit(report.exit_code)
    err().print(
        "\n[bold green]demo done[/]: each run directory above holds results.xlsx, journal.sqlite,"
        " log.jsonl, payloads/, diff.json (the plan against the ledger) and summary.json"
    )


def _stamp() -> str:
    """A UTC time stamp for run directory names."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
