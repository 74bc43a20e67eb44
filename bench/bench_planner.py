"""
Benchmark: ``planning.batches.plan`` alone, beside the planner it replaced (not part of
the tests).

    uv run python bench/bench_planner.py                 # 600,000 cameras, 3 runs
    uv run python bench/bench_planner.py --cameras 60000 --runs 5

The inventory is bench_overhead's (groups of one and two cameras in turn: 400,000 groups
for 600,000 cameras, 4,000 batches), loaded with ``loader.check.load.load`` and its
mapping as a run loads it, then planned with validation's group codes as a run plans it.
The two planners alternate in one process, run after run, with the collector paused as
``plan`` pauses it; the old one is ``tests/planning/reference_planner.py`` (the planner
before its settings classes were planned from columns, kept as the tests' reference).
Each row gives the median and the spread of the runs' wall seconds, and checks that both
planners made the same payloads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_overhead import inventory  # noqa: E402  # after the path is set

from loader.check.load import load  # noqa: E402
from loader.check.mapping import find_mapping  # noqa: E402
from loader.planning import batches  # noqa: E402
from tests.planning import reference_planner  # noqa: E402


def timed(planner: Callable[..., Any], checked: Any) -> tuple[float, list[bytes]]:
    """Seconds of one plan of the checked cameras, and its payloads."""
    began = time.perf_counter()
    made = planner(checked.cameras, checked.settings_classes, group_codes=checked.group_codes())
    return time.perf_counter() - began, [b.payload for b in made.batches]


def main() -> None:
    """Load once, then plan with each planner in turn."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=600_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sheet, mapping = inventory(Path(folder), arguments.cameras)
        checked = load(sheet, find_mapping(str(mapping))).checked
    planners = {"before (reference)": reference_planner.plan, "after": batches.plan}
    times: dict[str, list[float]] = {name: [] for name in planners}
    for _ in range(arguments.runs):
        made = []
        for name, planner in planners.items():
            took, payloads = timed(planner, checked)
            times[name].append(took)
            made.append(payloads)
        if made[0] != made[1]:
            raise SystemExit("the planners made different payloads")
    count = len(made[0])
    print(f"{len(checked.cameras):,} cameras, {count:,} batches, {arguments.runs} runs")
    print("| planner | median s | min | max |\n|---|---|---|---|")
    for name, seconds in times.items():
        median, low, high = statistics.median(seconds), min(seconds), max(seconds)
        print(f"| {name} | {median:.3f} | {low:.3f} | {high:.3f} |")


if __name__ == "__main__":
    main()
