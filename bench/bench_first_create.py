"""
Benchmark: start -> first create of a 60,000-camera load, interleaved with an earlier
commit's, each run beside a bare pandas read of its own (not part of the tests).

    uv run python bench/bench_first_create.py --before /tmp/base --rounds 8
    uv run python bench/bench_first_create.py --before /tmp/base --rounds 8 --xlsx

``--before DIR``: a ``git worktree`` of an earlier commit with its own environment
(``uv sync --locked`` in it). The sheet and command are ``bench_overhead``'s, at
R = 1000/s so that a run ends soon after its start (only the start is timed). Round after
round the two codes run in alternating order, each after its own bare read, so a drift in
the machine's speed falls on both alike; printed are the medians of the first create and
of its ratio to the bare read beside it.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_overhead as overhead

from loader.sim import SimConfig, running_simulator

ROOT = Path(__file__).resolve().parent.parent


def first_create(checkout: Path, sheet: Path, mapping: Path, run_dir: Path) -> float:
    """Seconds from the start of a ``bulkload run`` of ``checkout`` to its first create."""
    config = SimConfig(rate=1000.0, latency=0.01)
    with running_simulator(config) as sim:
        command = [
            str(checkout / ".venv" / "bin" / "python"),
            *("-m", "loader", "run", str(sheet), "-m", str(mapping), "--json"),
            *("--endpoint", sim.url, "--project-id", config.project_id, "--rate", "1000"),
            *("--run-dir", str(run_dir), "--ledger", str(run_dir.with_suffix(".sqlite"))),
        ]
        environment = {**overhead.ENVIRONMENT, "BULKLOAD_AUTH_TOKEN": "sim-token"}
        began = time.monotonic()
        subprocess.run(command, cwd=checkout, env=environment, check=True, capture_output=True)
        return min(t for t, method, _, _ in sim.state.requests if method == "POST") - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="an earlier commit's worktree")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--cameras", type=int, default=60_000)
    parser.add_argument("--xlsx", action="store_true", help="the sheet as a legacy xlsx")
    args = parser.parse_args()
    gc.disable()  # the simulator's collections are not bulkload's (see bench_overhead)
    codes = {"before": args.before.resolve(), "after": ROOT}
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in codes}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        sheet, mapping = overhead.inventory(folder, args.cameras, xlsx=args.xlsx)
        for number in range(args.rounds):
            order = list(codes.items()) if number % 2 else list(codes.items())[::-1]
            for name, checkout in order:
                bare = overhead.time_bare_read(sheet)
                first = first_create(checkout, sheet, mapping, folder / f"{name}-{number}")
                found[name].append((first, bare))
    kind = "legacy xlsx" if args.xlsx else "CSV"
    print(
        f"| {args.cameras:,}-camera {kind} | first create | its ratio to the bare read"
        " | bare read |\n|---|---|---|---|"
    )
    for name, runs in found.items():
        print(
            f"| {name} | {statistics.median(f for f, _ in runs):.2f} s"
            f" | {statistics.median(f / b for f, b in runs):.2f}x"
            f" | {statistics.median(b for _, b in runs):.2f} s |"
        )
    print(f"(medians of {args.rounds} rounds, alternating; python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
