"""
Benchmark: `bulkload plan FILE --out DIR` on large inventories, beside the bare read of the
same file (not part of the tests).

    uv run python bench/bench_plan.py            # 200k-camera xlsx, 1M-camera CSV, 3 runs
    uv run python bench/bench_plan.py --xlsx 10000 200000 --csv 10000 1000000 \
        --engines calamine openpyxl --runs 5

Inputs are generated once under bench/out/ (deterministic). Every figure is a whole
process, as a user runs it: `python -m loader plan FILE --out DIR` (read, map, check,
diff against an empty project, payload files and plan.json written, the terminal summary
rendered, the interpreter's exit). Beside it, in the same run and on the same file, the
baseline: a process that imports pandas and reads the file as `bulkload` reads it
(`read_csv` of text cells, or `read_excel` of every sheet with the same engine) and does
nothing else, the floor no planning goes under. The two alternate, run after run, so that
both see the same load on a shared machine; each row gives the medians of the runs, and
the plan's figures as a ratio of the baseline's.

Wall time, CPU time (user + system) and peak resident memory come from the child's own
rusage (`os.wait4`); on a busy machine the CPU time is the steadier of the two times. The
children may write bytecode caches (as any install has them after its first run, even
where the shell sets PYTHONDONTWRITEBYTECODE), and a warm-up on a sample sheet writes them
before the first measured run: otherwise every process compiles some 600 modules again,
a second of CPU in both figures that no user pays twice.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "sample_sheets"))

BARE_CSV = """
import sys, pandas as pd
pd.read_csv(sys.argv[1], header=None, dtype=str, keep_default_na=False, engine="c")
"""
BARE_EXCEL = """
import sys, pandas as pd
pd.read_excel(sys.argv[1], sheet_name=None, header=None, dtype=str, keep_default_na=False,
              engine=sys.argv[2])
"""


def make_xlsx(cameras: int) -> Path:
    """A default-layout workbook (Cameras + Groups) with ``cameras`` rows; cached."""
    path = OUT / f"rollout_{cameras}.xlsx"
    if path.exists():
        return path
    import openpyxl
    from generate import rollout_frames  # type: ignore[import-not-found]

    camera_frame, group_frame = rollout_frames(cameras, max(cameras // 50, 1))
    book = openpyxl.Workbook(write_only=True)
    for title, frame in (("Cameras", camera_frame), ("Groups", group_frame)):
        sheet = book.create_sheet(title)
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            sheet.append(list(row))
    OUT.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def make_csv(cameras: int) -> Path:
    """A flat VMS-style CSV (mapping vms-flat) with ``cameras`` rows; cached."""
    path = OUT / f"vms_{cameras}.csv"
    if path.exists():
        return path
    from generate import rollout_frames

    camera_frame, group_frame = rollout_frames(cameras, max(cameras // 50, 1))
    analytics = {
        "c-smoke-and-fire-cloud": "Smoke/Fire",
        "c-intrusion-detection-cloud": "Intrusion",
        "c-helmet-detection-cloud": "Helmet",
    }
    groups = group_frame.set_index("Group ID")
    OUT.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            [
                "Device UUID",
                "Channel Group ID",
                "Camera Name",
                "Analytics",
                "Detect Days",
                "Detect Hours",
                "Zone Points",
            ]
        )
        for camera in camera_frame.itertuples(index=False):
            group = groups.loc[camera[2]]
            writer.writerow(
                [
                    camera[0].upper(),
                    camera[2],
                    camera[1],
                    analytics[group["Service"]],
                    group["Days"],
                    group["Hours"],
                    camera[3],
                ]
            )
    return path


@dataclass(frozen=True)
class Usage:
    """One process: wall seconds, CPU seconds (user + system), peak resident MB."""

    wall: float
    cpu: float
    peak_mb: float


ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_process(command: list[str]) -> Usage:
    """Run ``command`` to its end (output discarded); its own rusage, not its siblings'."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENVIRONMENT
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):  # 1: some rows rejected, still a full plan
        raise SystemExit(f"{' '.join(command)} exited with {child.returncode}")
    return Usage(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def plan_command(path: Path, engine: str, out: Path) -> list[str]:
    """``bulkload plan FILE --out DIR`` as a user runs it (the input limit raised)."""
    return [
        sys.executable,
        "-m",
        "loader",
        "plan",
        str(path),
        "--out",
        str(out),
        "--engine",
        engine,
        "--max-input-mb",
        "1024",
    ]


def baseline_command(path: Path, engine: str) -> list[str]:
    """The bare pandas read of the same file."""
    if path.suffix == ".csv":
        return [sys.executable, "-c", BARE_CSV, str(path)]
    return [sys.executable, "-c", BARE_EXCEL, str(path), engine]


def median(usages: list[Usage]) -> Usage:
    """The median of each figure over the runs."""
    return Usage(
        statistics.median(u.wall for u in usages),
        statistics.median(u.cpu for u in usages),
        statistics.median(u.peak_mb for u in usages),
    )


def run_case(path: Path, engine: str, runs: int) -> tuple[Usage, Usage, dict[str, int]]:
    """``runs`` alternating (baseline, plan) pairs; the medians and the plan's counts."""
    out = OUT / f"plan-{path.stem}-{engine}"
    plans, bases = [], []
    for _ in range(runs):
        bases.append(run_process(baseline_command(path, engine)))
        shutil.rmtree(out, ignore_errors=True)
        plans.append(run_process(plan_command(path, engine, out)))
    summary = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    counts = {
        "rows": summary["validation"]["rows"]["total"],
        "batches": summary["plan"]["batch_count"],
        "plan_json_mb": round((out / "plan.json").stat().st_size / 1e6, 1),
    }
    return median(plans), median(bases), counts


def main() -> None:
    """Generate inputs, measure each case, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--xlsx", type=int, nargs="*", default=[200_000])
    parser.add_argument("--csv", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--engines", nargs="*", default=["calamine"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, {cores} cores;"
        f" medians of {args.runs} runs; load average before: {os.getloadavg()[0]:.2f}"
    )
    print(
        "| input | engine | rows | batches | plan: wall, CPU, peak |"
        " bare read: wall, CPU, peak | plan / bare read: wall, CPU, peak | plan.json |"
    )
    print("|---|---|---|---|---|---|---|---|")
    cases = [(make_xlsx(n), e) for n in args.xlsx for e in args.engines]
    cases += [(make_csv(n), "calamine") for n in args.csv]
    warm_up = ROOT / "sample_sheets" / "site_rollout.xlsx"
    for path, engine in [(warm_up, "calamine"), (make_csv(1_000), "calamine")]:
        run_process(baseline_command(path, engine))
        run_process(plan_command(path, engine, OUT / "plan-warm-up"))
    for path, engine in cases:
        planned, bare, counts = run_case(path, engine, args.runs)
        shown = "C parser" if path.suffix == ".csv" else engine
        print(
            f"| {path.name} | {shown} | {counts['rows']:,} | {counts['batches']:,} |"
            f" {planned.wall:.1f} s, {planned.cpu:.1f} s, {planned.peak_mb:,.0f} MB |"
            f" {bare.wall:.1f} s, {bare.cpu:.1f} s, {bare.peak_mb:,.0f} MB |"
            f" {planned.wall / bare.wall:.2f}, {planned.cpu / bare.cpu:.2f},"
            f" {planned.peak_mb / bare.peak_mb:.2f} | {counts['plan_json_mb']} MB |",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
