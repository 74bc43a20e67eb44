"""
Benchmark: submission throughput against the simulator on loopback (not part of the tests).

    uv run python bench/bench_submit.py                       # R=20/s, 200 ms, 400 payloads
    uv run python bench/bench_submit.py --rate 50 --latency 0.05 --batches 400
    uv run python bench/bench_submit.py --latency 0.05 --no-baseline \
        --fault 5xx-before=0.1 --fault reset-before=0.05 --fault commit-reset=0.05

The simulator throttles at R requests/s (APIG.0308 above it) and answers every call after
the given latency. bulkload runs with --rate R; the baseline is a sequential loader that
POSTs the same payload files one at a time, each after the previous answer. Both are
checked at the server: every camera exactly once.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import httpx

from loader.check.load import load
from loader.planning.batches import plan
from loader.run.options import RunOptions
from loader.run.runner import start_run
from loader.send.credentials import Credentials
from loader.sim import SimConfig, running_simulator

MAPPING = """
name = "bench"
[cameras.columns]
video_source_id = { column = "Camera", required = true }
group = { column = "Group", required = true }
[task]
service_name = "c-smoke-and-fire-cloud"
service_version = "3.0"
event_center = true
"""


def inventory(folder: Path, batches: int) -> tuple[Path, Path]:
    """A CSV of ``batches`` x 100 one-camera groups (one payload per 100 groups)."""
    sheet = folder / "bench.csv"
    rows = [f"cam-{n:07d},grp-{n:07d}" for n in range(batches * 100)]
    sheet.write_text("Camera,Group\n" + "\n".join(rows) + "\n", encoding="utf-8")
    mapping = folder / "bench.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return sheet, mapping


def run_bulkload(
    sheet: Path,
    mapping: Path,
    rate: float,
    latency: float,
    folder: Path,
    faults: dict[str, float] | None = None,
) -> dict[str, float]:
    """bulkload against a fresh simulator throttling at ``rate`` (with ``faults``)."""
    config = SimConfig(rate=rate, latency=latency, faults=dict(faults or {}), seed=4)
    with running_simulator(config) as sim:
        settings = RunOptions.of(
            mapping=str(mapping),
            endpoint=sim.url,
            project_id=sim.config.project_id,
            run_dir=folder / f"run-{rate}-{latency}",
            rate=rate,
            concurrency=16,
            credentials=Credentials(token="sim-token"),
        )
        report = start_run(sheet, settings)
        counts = sim.state.task_counts()
        refused = sum(1 for *_, status in sim.state.requests if status == 429)
    if report.exit_code != 0 or max(counts.values()) != 1:
        raise SystemExit("bulkload lost or doubled cameras")
    return {
        "seconds": report.seconds,
        "per_second": report.counts["accepted"] / report.seconds,
        "refused": refused,
    }


def run_sequential(sheet: Path, mapping: Path, rate: float, latency: float) -> dict[str, float]:
    """The baseline: each payload POSTed after the previous answer, nothing in parallel."""
    loaded = load(sheet, str(mapping))
    bodies = [
        b.content() for b in plan(loaded.checked.cameras, loaded.checked.settings_classes).batches
    ]
    with running_simulator(SimConfig(rate=rate, latency=latency)) as sim:
        url = f"{sim.url}/v2/{sim.config.project_id}/batch-tasks"
        headers = {"X-Auth-Token": "sim-token", "Content-Type": "application/json"}
        started = time.monotonic()
        with httpx.Client(timeout=30) as client:
            for body in bodies:
                while client.post(url, content=body, headers=headers).status_code == 429:
                    time.sleep(0.5)
        seconds = time.monotonic() - started
        if sum(sim.state.task_counts().values()) != len(bodies) * 100:
            raise SystemExit("the sequential loader lost cameras")
    return {"seconds": seconds, "per_second": len(bodies) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, nargs="*", default=[20.0])
    parser.add_argument("--latency", type=float, nargs="*", default=[0.2])
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--fault", action="append", default=[], help="KIND=P for the simulator")
    args = parser.parse_args()
    machine = f"{platform.machine()}, Python {platform.python_version()}"
    print(f"machine: {machine}; {args.batches} payloads")
    print(
        "| rate R | latency | bulkload s | bulkload /s | % of R | 429s"
        " | sequential s | sequential /s | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        sheet, mapping = inventory(folder, args.batches)
        for rate in args.rate:
            for latency in args.latency:
                faults = {k: float(v) for k, _, v in (f.partition("=") for f in args.fault)}
                ours = run_bulkload(sheet, mapping, rate, latency, folder, faults)
                share = 100 * ours["per_second"] / rate
                line = (
                    f"| {rate:g} | {latency * 1000:.0f} ms | {ours['seconds']:.1f}"
                    f" | {ours['per_second']:.2f} | {share:.0f}% | {ours['refused']:.0f} |"
                )
                if args.no_baseline:
                    print(line + " | | |", flush=True)
                    continue
                base = run_sequential(sheet, mapping, rate, latency)
                print(
                    f"{line} {base['seconds']:.1f} | {base['per_second']:.2f} |"
                    f" {ours['per_second'] / base['per_second']:.1f}x |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
