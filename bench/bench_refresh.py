"""
Benchmark: ``bulkload refresh`` from an empty ledger against the simulator on loopback
(not part of the tests).

    uv run python bench/bench_refresh.py                  # 20,000 cameras: about 17 minutes
    uv run python bench/bench_refresh.py --cameras 500    # a quick check
    uv run python bench/bench_refresh.py --rate 50 --latency 0.05 --concurrency 16

The project is built in the simulator's state (100 cameras a group, 100 groups a batch,
as the API allows); the simulator throttles at R requests/s (APIG.0308 above it) and
answers every call after the given latency. A refresh from an empty ledger costs one
ShowTaskInfo per task, so its floor is its request count / R: the ideal printed beside.
Checked in the ledger: one entry per camera, each with its task id.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import tempfile
from pathlib import Path
from typing import Any

from loader.model.vias import MAX_GROUPS_PER_BATCH, MAX_SOURCES_PER_GROUP
from loader.run.options import RunOptions
from loader.run.refresh import refresh_ledger
from loader.send.credentials import Credentials
from loader.sim import SimConfig, SimState, running_simulator
from loader.state.ledger import Ledger


def build_project(state: SimState, cameras: int) -> int:
    """``cameras`` cameras in groups of 100, batches of 100 groups; returns the batch count."""
    groups = [
        [f"cam-{n:07d}" for n in range(start, min(start + MAX_SOURCES_PER_GROUP, cameras))]
        for start in range(0, cameras, MAX_SOURCES_PER_GROUP)
    ]
    batches = 0
    for first in range(0, len(groups), MAX_GROUPS_PER_BATCH):
        chosen = groups[first : first + MAX_GROUPS_PER_BATCH]
        body = _body(batches, first, chosen)
        state.note_seen(body)  # ListVideoGroups lists the groups a create named
        state.create(body)
        batches += 1
    return batches


def _body(number: int, first: int, groups: list[list[str]]) -> dict[str, Any]:
    """One batch body as bulkload names them: bulkload-<12 hex>."""
    entries = [
        {
            "video_source_group_id": f"grp-{first + n:05d}",
            "video_source_list": [{"video_source_id": camera} for camera in cameras],
        }
        for n, cameras in enumerate(groups)
    ]
    digest = hashlib.sha256(str(number).encode()).hexdigest()[:12]
    return {
        "name": f"bulkload-{digest}",
        "service_name": "c-smoke-and-fire-cloud",
        "service_version": "3.0",
        "output": {"event_center": True},
        "batch_input": {"video_source_group": entries},
    }


def run(cameras: int, rate: float, latency: float, concurrency: int) -> dict[str, float]:
    """One refresh from an empty ledger; its figures."""
    config = SimConfig(rate=rate, latency=latency)
    with tempfile.TemporaryDirectory() as temporary, running_simulator(config) as sim:
        batches = build_project(sim.state, cameras)
        ledger = Path(temporary) / "ledger.sqlite"
        options = RunOptions.of(
            endpoint=sim.url,
            project_id=sim.config.project_id,
            ledger=ledger,
            rate=rate,
            concurrency=concurrency,
            credentials=Credentials(token="sim-token"),
        )
        report = refresh_ledger(options)
        throttled = sum(1 for r in sim.state.requests if r.status == 429)
        with Ledger(ledger) as opened:
            entries = opened.entries(sim.url, sim.config.project_id)
    tasks = {e.task_id for e in entries.values() if e.task_id}
    if report.exit_code != 0 or len(entries) != cameras or len(tasks) != cameras:
        raise SystemExit(f"the refresh did not learn every camera: {report.summary()}")
    result = report.result
    return {
        "batches": batches,
        "seconds": result.seconds,
        "requests": result.requests,
        "ideal": result.requests / rate,
        "throttled": throttled,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cameras", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    machine = f"{platform.machine()}, Python {platform.python_version()}"
    print(f"machine: {machine}; {args.cameras} cameras, empty ledger")
    print(
        "| rate R | latency | batches | requests | refresh s | ideal s (requests / R)"
        " | % of ideal | 429s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    figures = run(args.cameras, args.rate, args.latency, args.concurrency)
    share = 100 * figures["ideal"] / figures["seconds"]
    print(
        f"| {args.rate:g} | {args.latency * 1000:.0f} ms | {figures['batches']:.0f}"
        f" | {figures['requests']:.0f} | {figures['seconds']:.1f} | {figures['ideal']:.1f}"
        f" | {share:.0f}% | {figures['throttled']:.0f} |",
        flush=True,
    )


if __name__ == "__main__":
    main()
