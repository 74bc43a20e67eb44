"""
Where `bulkload plan`'s time and memory go, stage by stage, in one process (not part of
the tests; `bench_plan.py --stages` runs it on the bench's inputs).

    uv run python bench/plan_stages.py bench/out/vms_1000000.csv calamine

The stages are those of ``commands.plan.report_plan`` against an empty project, called
one by one with the collector paused as ``load`` and ``plan`` pause it: the read, the
mapping chosen, the camera and group sheets mapped, the check, the plan (diff and
batches), the payload files, the summary and plan.json. After each: its CPU seconds, and
the process's resident and peak memory.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from loader.bulk import paused_gc
from loader.check import load as loading
from loader.check.mapping import bundled
from loader.commands.plan import plan_summary, write_plan_json
from loader.model.secrets import SecretTable
from loader.read.guard import Limits
from loader.read.sheets import read_workbook
from loader.report import files
from loader.run.options import PlanChoices
from loader.run.plan import PlanReport, plan_sheet

_last = [0.0]  # process_time counts from the start of the process


def mark(stage: str) -> None:
    """One line: the stage's CPU seconds, resident and peak memory now."""
    now = time.process_time()
    with open("/proc/self/statm", encoding="ascii") as statm:
        resident = int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {stage} | {now - _last[0]:.2f} s | {resident:,.0f} MB | {peak:,.0f} MB |")
    _last[0] = now


def main(path: Path, engine: str) -> None:
    """Each stage of a plan of ``path``, measured."""
    print("| stage | CPU | resident after | peak after |\n|---|---|---|---|")
    mark("interpreter and imports")
    with paused_gc():
        book = read_workbook(path, engine=engine, limits=Limits(max_bytes=2**31))  # type: ignore[arg-type]
        mark("read (parse, trim)")
        mapping, chosen = loading.choose_mapping(book, bundled())
        lookups = loading._lookups(book, mapping)
        secrets = SecretTable()
        cameras = loading._mapped(
            book, mapping, mapping.cameras, mapping.camera_key, lookups, secrets
        )
        groups = None
        if mapping.groups is not None:
            groups = loading._mapped(book, mapping, mapping.groups, "group", lookups, secrets)
        mark("locate and map")
        checked = loading.check(mapping, cameras, groups, on=datetime.now(UTC).date())
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


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "calamine")
