"""
Benchmark: what a lost answer costs in lookups, against the simulator on loopback (not
part of the tests). Issue 24's fault mix by default:

    uv run python bench/bench_lookups.py                      # 149 payloads, R=10/s
    uv run python bench/bench_lookups.py --batches 400 --rate 20 --seed 7

Each run is a whole ``start_run`` in this process against a fresh simulator throttling at
R requests/s with 10% 5xx before commit, 5% commit-then-reset, 5% reset before commit on
creates. Counted at the server (every request as the gateway saw it): creates (POST
batch-tasks) and lookups (GET batch-tasks, every page), and every camera exactly once
(0 duplicates, 0 lost). Beside them, from the run's journal:

- batch reads: the reads the batches in doubt made on their own schedules, each one a
  lookup by name before lookups were shared (what the same run would have asked alone);
- the floor: the most reads any one batch needed. Every read of that batch is a request,
  so no sharing can do with fewer; a listing of one page answers all the others at once;
- the time's floor: the creates at R, or the lookup windows of the batch whose answer was
  lost most often in a row (each must pass before it is sent again), whichever is longer:
  any loader keeping the rule takes both; the windows set the run's length under this mix.

The script reads only the server and the journal, so the same file measures an older
checkout too: ``PYTHONPATH=/tmp/before uv run python bench/bench_lookups.py``.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from collections import Counter
from pathlib import Path

from bench_submit import inventory  # the throughput bench's one-camera groups

import loader
from loader.run.options import RunOptions
from loader.run.runner import start_run
from loader.send.credentials import Credentials
from loader.sim import SimConfig, running_simulator
from loader.state.events import BatchAmbiguous, BatchLookedUp
from loader.state.journal import read_events

MIX = {"5xx-before": 0.10, "commit-reset": 0.05, "reset-before": 0.05}


def measure(folder: Path, batches: int, rate: float, latency: float, seed: int) -> dict[str, float]:
    """One run under the fault mix: requests counted at the server, reads from the journal."""
    sheet, mapping = inventory(folder, batches)
    config = SimConfig(rate=rate, latency=latency, faults=dict(MIX), seed=seed)
    run_dir = folder / "run"
    with running_simulator(config) as sim:
        settings = RunOptions.of(
            mapping=str(mapping),
            endpoint=sim.url,
            project_id=sim.config.project_id,
            run_dir=run_dir,
            rate=rate,
            concurrency=16,
            credentials=Credentials(token="sim-token"),
        )
        report = start_run(sheet, settings)
        counts = sim.state.task_counts()
        calls = Counter(
            method for _, method, path, status in sim.state.requests if path.endswith("batch-tasks")
        )
    events = [r.event for r in read_events(next(run_dir.rglob("journal.sqlite")))]
    reads = Counter(e.batch for e in events if isinstance(e, BatchLookedUp))
    lost = Counter(e.batch for e in events if isinstance(e, BatchAmbiguous))
    window = settings.pacing.timeout + 100 * 0.001  # lookup window of a 100-camera batch
    return {
        "exit": report.exit_code,
        "seconds": report.seconds,
        "creates": calls["POST"],
        "lookups": calls["GET"],
        "batch_reads": sum(reads.values()),
        "floor": max(reads.values(), default=0),
        "doubted": len(reads),
        "chain": max(lost.values(), default=0),
        "time_floor": max(calls["POST"] / rate, max(lost.values(), default=0) * window),
        "duplicates": sum(1 for n in counts.values() if n > 1),
        "lost": batches * 100 - len(counts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=149)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--seed", type=int, nargs="*", default=[4])
    args = parser.parse_args()
    print(
        f"{platform.machine()}, Python {platform.python_version()}; loader from"
        f" {Path(loader.__file__).parent}; {args.batches} payloads at R = {args.rate:g}/s,"
        f" {args.latency * 1000:.0f} ms; faults {MIX}"
    )
    print(
        "| seed | s | s floor (windows in a row) | creates | lookups | lookups/create"
        " | batch reads (alone) | floor | floor/create | batches in doubt | duplicates | lost"
        " | exit |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for seed in args.seed:
        with tempfile.TemporaryDirectory() as temporary:
            m = measure(Path(temporary), args.batches, args.rate, args.latency, seed)
        creates = max(m["creates"], 1)
        print(
            f"| {seed} | {m['seconds']:.1f} | {m['time_floor']:.1f} ({m['chain']:.0f})"
            f" | {m['creates']:.0f} | {m['lookups']:.0f}"
            f" | {m['lookups'] / creates:.2f} | {m['batch_reads']:.0f} | {m['floor']:.0f}"
            f" | {m['floor'] / creates:.2f} | {m['doubted']:.0f} | {m['duplicates']:.0f}"
            f" | {m['lost']:.0f} | {m['exit']:.0f} |",
            flush=True,
        )
        if m["duplicates"] or m["lost"] or m["exit"]:
            raise SystemExit("cameras doubled or lost, or the run did not finish")


if __name__ == "__main__":
    main()
