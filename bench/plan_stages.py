"""
Where `bulkload plan`'s time and memory go, stage by stage, in one process (not part of
the tests; `bench_plan.py --stages` runs it on the bench's inputs).

    uv run python bench/plan_stages.py bench/out/vms_1000000.csv calamine

The stages are those of ``commands.plan.report_plan`` against an empty project, called
one by one with the collector paused as ``load`` and ``plan`` pause it: the read, the
mapping chosen, the camera and group sheets mapped (the grid then let go, as ``plan``
lets it go), the check, the plan (diff and batches), the payload files, the summary,
plan.json and the terminal's report (rendered at 80 columns, as on a terminal or into a
file). After each: its CPU seconds, of which
the cyclic collector's (a collection walks every object still young, whichever stage
allocates next: so it is shown apart), and the process's resident and peak memory. The
last line sums the stages: the process's CPU but for its exit (``bulkload plan`` ends at
once, without freeing its heap).
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from loader.bulk import paused_gc
from loader.check import load as loading
from loader.check.mapping import bundled
from loader.check.validate import check
from loader.commands.plan import plan_summary, show_plan_report, write_plan_json
from loader.read.guard import Limits
from loader.read.sheets import read_workbook
from loader.report import files
from loader.run.options import PlanChoices
from loader.run.plan import PlanReport, plan_sheet

_last = [0.0, 0.0]  # CPU and the collector's CPU at the last mark (from the process start)
_collecting = [0.0, 0.0]  # when the collection under way started; the collector's total


def collector(phase: str, info: dict[str, int]) -> None:
    """Count the CPU seconds of each collection (a ``gc.callbacks`` hook)."""
    if phase == "start":
        _collecting[0] = time.process_time()
    else:
        _collecting[1] += time.process_time() - _collecting[0]


def mark(stage: str) -> None:
    """One line: the stage's CPU seconds, of which the collector's, resident and peak
    memory now."""
    now, collected = time.process_time(), _collecting[1]
    with open("/proc/self/statm", encoding="ascii") as statm:
        resident = int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"| {stage} | {now - _last[0]:.2f} s | {collected - _last[1]:.2f} s |"
        f" {resident:,.0f} MB | {peak:,.0f} MB |"
    )
    _last[:] = [now, collected]


def main(path: Path, engine: str) -> None:
    """Each stage of a plan of ``path``, measured."""
    gc.callbacks.append(collector)
    print(
        "| stage | CPU | of which the collector | resident after | peak after |\n"
        "|---|---|---|---|---|"
    )
    mark("interpreter and imports")
    with paused_gc():
        book = read_workbook(path, engine=engine, limits=Limits(max_bytes=2**31))  # type: ignore[arg-type]
        mark("read (parse, trim)")
        mapping, chosen = loading.choose_mapping(book, bundled())
        # as ``plan`` loads: the grid let go once mapped (``book`` rebound, as ``load`` does)
        book, cameras, groups = loading._apply(book, mapping, None, keep_cells=False)
        mark("locate and map")
        checked = check(mapping, cameras, groups, on=datetime.now(UTC).date())
        mark("check")
    loaded = loading.Loaded(book, mapping, chosen, cameras, groups, checked)
    planned = plan_sheet(loaded, PlanChoices(), None)
    mark("plan (diff, batches)")
    with tempfile.TemporaryDirectory() as out:
        written = files.write_plan(Path(out), planned.plan)
        mark("payload files")
        report = PlanReport(planned, None, tuple(written))
        summary = plan_summary(report, creates=False, detailed=False)
        mark("summary")
        write_plan_json(Path(out), report, summary)
        mark("plan.json")
        with open(os.devnull, "w", encoding="utf-8") as screen:
            console = Console(file=screen, width=80, highlight=False)  # as ``terminal.err``
            show_plan_report(
                console,
                report,
                summary,
                out=Path(out),
                prune="",
                restart_failed=False,
                detailed=False,
            )
        mark("terminal (validation, batches, changes)")
    print(f"| all stages | {time.process_time():.2f} s | {_collecting[1]:.2f} s | | |")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "calamine")
