"""
Benchmark: the ledger kept in step with a large run, and written at its conclusion (not
part of the tests).

    uv run python bench/bench_ledger.py                          # 600,000 cameras, this code
    uv run python bench/bench_ledger.py --against /tmp/old --rounds 3

The run is made without the network: bench_overhead's inventory (groups of one and two
cameras, about 150 cameras a batch) is opened as ``bulkload run`` opens it, then every
batch is folded as sent and as accepted (as ``bench_results`` folds them), the ledger
following each event as the recorder has it do (awaited on one event loop, where it is a
coroutine: its write on a worker thread). Reported: the follower's ``after`` over all
events (the sum; the CPU time of the thread that awaits it, which is the event loop's
time held from the requests; the median event), then the conclusion
(``run.conclude.conclude``): the entries it built (``LedgerFollower.entries``), its
whole ledger part (entries, changes, comparison and write), and the whole step with the
results workbook.
``--unfollowed``: no write during the run (as when another process held the ledger): the
conclusion writes every entry, as a resumed run's may.

``--against DIR`` times a copy of ``loader`` in DIR as well (``git archive HEAD loader |
tar -x -C DIR``), each in its own process, the two interleaved round after round: the
same machine at the same moments. Figures are medians over the rounds.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

FIGURES = (
    "after_total",
    "after_cpu",
    "after_median_ms",
    "entries",
    "entries_cpu",
    "ledger_conclude",
    "ledger_conclude_cpu",
    "conclude",
    "open",
)


def measure(cameras: int, *, unfollowed: bool = False) -> dict[str, float]:
    """One process's figures (seconds, but the median event's in ms) on this ``loader``;
    ``unfollowed``: the ledger is held through the run, so the conclusion writes it all."""
    from bench_overhead import inventory  # the same sheet as the 600k whole-process bench

    from loader.bulk import frozen_heap
    from loader.run import conclude as ending
    from loader.run.open import open_run
    from loader.run.options import RunOptions
    from loader.state.events import BatchAccepted, BatchSending

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        sheet, mapping = inventory(folder, cameras)
        began = time.perf_counter()
        options = RunOptions.of(
            mapping=str(mapping),
            endpoint="http://127.0.0.1:9",
            project_id="p1",
            run_dir=folder / "runs",
            ledger=folder / "ledger.sqlite",
        )
        run = open_run(sheet, options, now=datetime(2026, 12, 6, tzinfo=UTC))
        opened = time.perf_counter() - began
        seconds: list[float] = []
        if unfollowed:  # as after a failed write, every event is left to the conclusion
            run.ledger.skipping = 10**9

        async def follow() -> float:
            """Every batch sent and accepted, the follower after each event; its CPU."""
            cpu = 0.0
            for number, batch in enumerate(run.plan.batches):
                count = batch.camera_count
                for event in (
                    BatchSending(batch=batch.name, attempt=1),
                    BatchAccepted(
                        batch=batch.name, batch_id=f"id-{number}", total=count, succeeded=count
                    ),
                ):
                    run.state.apply(event)
                    run.found.apply(event)
                    began, computing = time.perf_counter(), time.thread_time()
                    followed = run.ledger.after(event)
                    if inspect.iscoroutine(followed):  # the write on a worker thread
                        await followed
                    seconds.append(time.perf_counter() - began)
                    cpu += time.thread_time() - computing
            return cpu

        with frozen_heap():  # as the runner sends: no collection walks the inventory
            cpu = anyio.run(follow)
        parts = _timed_parts(ending)
        _counting_entries(parts)
        began = time.perf_counter()
        ending.conclude(run, run.changes_named(), [("Run", "bench")])
        concluded = time.perf_counter() - began
        run.ledger.close()
        run.journal.close()
    return {
        "after_total": sum(seconds),
        "after_cpu": cpu,
        "after_median_ms": statistics.median(seconds) * 1000,
        "entries": parts["entries"],
        "entries_cpu": parts["entries_cpu"],
        "ledger_conclude": parts["ledger"],
        "ledger_conclude_cpu": parts["ledger_cpu"],
        "conclude": concluded,
        "open": opened,
    }


def _timed_parts(ending: Any) -> dict[str, float]:
    """Wrap the conclusion's ledger parts so that their seconds are kept (filled in as the
    conclusion runs), each also as the CPU time of the thread that ran it: the entries it
    builds, and its whole ledger part (an older ``loader`` built every sent camera's
    entries in ``_ledger_entries``, then wrote their differences; this one builds those
    of the cameras it must look at, inside ``conclude``)."""
    from loader.state.follow import LedgerFollower

    parts = dict.fromkeys(["entries", "ledger", "entries_cpu", "ledger_cpu"], 0.0)

    def timing(owner: Any, name: str, part: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began, computing = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                parts[part] += time.perf_counter() - began
                parts[f"{part}_cpu"] += time.thread_time() - computing

        setattr(owner, name, timed)

    for name in ("_ledger_entries", "_change_entries"):  # the older code has the first
        if hasattr(ending, name):
            timing(ending, name, "ledger")
    timing(LedgerFollower, "conclude", "ledger")
    return parts


def _counting_entries(parts: dict[str, float]) -> None:
    """Time ``LedgerFollower.entries`` once the run is followed: the conclusion's."""
    from loader.state.follow import LedgerFollower

    original = LedgerFollower.entries

    def timed(*args: Any, **kwargs: Any) -> Any:
        began, computing = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            parts["entries"] += time.perf_counter() - began
            parts["entries_cpu"] += time.thread_time() - computing

    LedgerFollower.entries = timed  # type: ignore[method-assign]


def drive(cameras: int, rounds: int, against: Path | None, *, unfollowed: bool) -> None:
    """Each code in its own process, interleaved; a table of medians."""
    codes = {"this": None} if against is None else {"old": against, "this": None}
    found: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
    for _ in range(rounds):
        for name, root in codes.items():
            environment = dict(os.environ)
            if root is not None:  # ahead of the editable install on sys.path
                environment["PYTHONPATH"] = str(root)
            done = subprocess.run(
                [sys.executable, __file__, "--one", "--cameras", str(cameras)]
                + (["--unfollowed"] if unfollowed else []),
                check=True,
                capture_output=True,
                text=True,
                env=environment,
                cwd=Path(__file__).parent,
            )
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            print(name, {k: round(v, 3) for k, v in figures.items()}, flush=True)
            found[name].append(figures)
    print(f"\n{cameras:,} cameras, medians of {rounds} rounds (seconds; one event in ms)\n")
    print("| code | " + " | ".join(FIGURES) + " |")
    print("|---" * (len(FIGURES) + 1) + "|")
    for name, runs in found.items():
        medians = [statistics.median(r[f] for r in runs) for f in FIGURES]
        print(f"| {name} | " + " | ".join(f"{m:.3f}" for m in medians) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cameras", type=int, default=600_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, help="a folder holding an older loader/")
    parser.add_argument("--one", action="store_true", help="one measure, as JSON")
    parser.add_argument(
        "--unfollowed", action="store_true", help="no write during the run: the end writes all"
    )
    args = parser.parse_args()
    if args.one:
        import loader

        print(f"loader from {Path(loader.__file__).parent}", file=sys.stderr)
        print(json.dumps(measure(args.cameras, unfollowed=args.unfollowed)))
    else:
        drive(args.cameras, args.rounds, args.against, unfollowed=args.unfollowed)


if __name__ == "__main__":
    main()
