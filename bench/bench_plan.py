"""
Benchmark: `bulkload plan FILE --out DIR` on large inventories, beside the bare read of the
same file (not part of the tests).

    uv run python bench/bench_plan.py            # 200k-camera xlsx, 1M-camera CSV, 3 runs
    uv run python bench/bench_plan.py --xlsx 10000 200000 --csv 10000 1000000 \
        --engines calamine openpyxl --runs 5
    git worktree add /tmp/base24 928f666 && (cd /tmp/base24 && uv sync --locked)
    uv run python bench/bench_plan.py --sep ';' --before /tmp/base24   # before and after
    uv run python bench/bench_plan.py --stages   # one process: each stage's CPU and memory

``--before DIR``: a checkout of an earlier commit (with its own ``.venv``) planned the same
way, alternating with the other two, so that before, after and the floor share one run.
``--sep ';'``: the CSV with semicolons (as European exports write it), rewritten once from
the comma file. ``--stages``: where the time and memory go, in one process of this
checkout: each stage's CPU seconds and the process's resident and peak memory after it.

Inputs are generated once under bench/out/ (deterministic). Every figure is a whole
process, as a user runs it: `python -m loader plan FILE --out DIR` (read, map, check,
diff against an empty project, payload files and plan.json written, the terminal summary
rendered, the interpreter's exit). Beside it, in the same run and on the same file, the
baseline: a process that imports pandas and reads the file as `bulkload` reads it
(`read_csv` of text cells, or `read_excel` of every sheet with the same engine) and does
nothing else, the floor no planning goes under. Between the two, the stage floor: a
process that imports what `bulkload plan` imports, reads the file as its first stage does
(`read_workbook`, the collector paused) and ends as the plan ends (at once): what a plan
would cost if every stage after the read were free, so that the gap to the floor splits
into the reader's share and the rest's. The three alternate, run after run, so that all
see the same load on a shared machine; each row gives the medians of the runs, and the
figures as a ratio of the baseline's.

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
pd.read_csv(sys.argv[1], sep=sys.argv[2], header=None, dtype=str, keep_default_na=False,
            engine="c")
"""
BARE_EXCEL = """
import sys, pandas as pd
pd.read_excel(sys.argv[1], sheet_name=None, header=None, dtype=str, keep_default_na=False,
              engine=sys.argv[2])
"""
READ_ALONE = """
import os, sys
from pathlib import Path
import loader.cli, loader.commands.plan  # the modules `bulkload plan` imports
from loader.bulk import paused_gc
from loader.read.guard import Limits
from loader.read.sheets import read_workbook
with paused_gc():  # as ``load`` reads
    read_workbook(Path(sys.argv[1]), engine=sys.argv[2], limits=Limits(max_bytes=2**31))
os._exit(0)  # as a plan ends
"""


def make_xlsx(cameras: int) -> Path:
    """A default-layout workbook (Cameras + Groups) with ``cameras`` rows; cached."""
    path = OUT / f"rollout_{cameras}.xlsx"
    if path.exists():
        return path
    import openpyxl  # type: ignore[import-untyped]
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


def make_csv(cameras: int, sep: str = ",") -> Path:
    """A flat VMS-style CSV (mapping vms-flat) with ``cameras`` rows; cached."""
    if sep != ",":
        return _resplit(make_csv(cameras), sep)
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


def _resplit(source: Path, sep: str) -> Path:
    """The same CSV with another delimiter; cached."""
    path = source.with_name(f"{source.stem}_{'semicolon' if sep == ';' else 'tab'}.csv")
    if not path.exists():
        with (
            source.open(newline="", encoding="utf-8") as read,
            path.open("w", newline="", encoding="utf-8") as write,
        ):
            csv.writer(write, delimiter=sep).writerows(csv.reader(read))
    return path


@dataclass(frozen=True)
class Usage:
    """One process: wall seconds, CPU seconds (user + system), peak resident MB."""

    wall: float
    cpu: float
    peak_mb: float


ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_process(
    command: list[str], cwd: Path = ROOT, *, allowed: tuple[int, ...] = (0, 1)
) -> Usage:
    """Run ``command`` to its end (output discarded); its own rusage, not its siblings'.
    ``allowed``: the exit codes that still mean a full run (a plan exits 1 on rejected rows)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENVIRONMENT, cwd=cwd
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in allowed:
        raise SystemExit(f"{' '.join(command)} exited with {child.returncode}")
    return Usage(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def plan_command(path: Path, engine: str, out: Path, checkout: Path = ROOT) -> list[str]:
    """``bulkload plan FILE --out DIR`` as a user runs it (the input limit raised), with
    the code and environment of ``checkout``."""
    python = sys.executable if checkout == ROOT else str(checkout / ".venv" / "bin" / "python")
    return [
        python,
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
        with path.open(encoding="utf-8") as stream:
            header = stream.readline()
        sep = max(",;\t|", key=header.count)  # the generated files' own delimiter
        return [sys.executable, "-c", BARE_CSV, str(path), sep]
    return [sys.executable, "-c", BARE_EXCEL, str(path), engine]


def read_alone_command(path: Path, engine: str) -> list[str]:
    """The stage floor: ``bulkload plan``'s imports and read of the file, nothing after."""
    return [sys.executable, "-c", READ_ALONE, str(path), engine]


def median(usages: list[Usage]) -> Usage:
    """The median of each figure over the runs."""
    return Usage(
        statistics.median(u.wall for u in usages),
        statistics.median(u.cpu for u in usages),
        statistics.median(u.peak_mb for u in usages),
    )


@dataclass(frozen=True)
class Case:
    """One input's medians: the bare read, the plan's own read alone (the stage floor),
    this checkout's plan, the earlier one's."""

    bare: Usage
    read_alone: Usage
    plan: Usage
    before: Usage | None
    counts: dict[str, int]


def run_case(path: Path, engine: str, runs: int, before: Path | None) -> Case:
    """``runs`` alternating (baseline, read alone, plan[, plan before]); the medians and
    the counts."""
    out = OUT / f"plan-{path.stem}-{engine}"
    plans: list[Usage] = []
    bases: list[Usage] = []
    reads: list[Usage] = []
    befores: list[Usage] = []
    for _ in range(runs):
        bases.append(run_process(baseline_command(path, engine), allowed=(0,)))
        reads.append(run_process(read_alone_command(path, engine), allowed=(0,)))
        if before is not None:
            shutil.rmtree(out, ignore_errors=True)
            befores.append(run_process(plan_command(path, engine, out, before), cwd=before))
        shutil.rmtree(out, ignore_errors=True)
        plans.append(run_process(plan_command(path, engine, out)))
    summary = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    counts = {
        "rows": summary["validation"]["rows"]["total"],
        "batches": summary["plan"]["batch_count"],
    }
    return Case(
        median(bases), median(reads), median(plans), median(befores) if befores else None, counts
    )


def row(label: str, usage: Usage, bare: Usage) -> str:
    """One table row: a figure beside the floor, and the ratios."""
    return (
        f"| {label} | {usage.wall:.1f} s, {usage.cpu:.1f} s, {usage.peak_mb:,.0f} MB |"
        f" {bare.wall:.1f} s, {bare.cpu:.1f} s, {bare.peak_mb:,.0f} MB |"
        f" {usage.wall / bare.wall:.2f}, {usage.cpu / bare.cpu:.2f},"
        f" {usage.peak_mb / bare.peak_mb:.2f} |"
    )


def main() -> None:
    """Generate inputs, measure each case, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--xlsx", type=int, nargs="*", default=[200_000])
    parser.add_argument("--csv", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--sep", choices=[",", ";", "\t"], default=",")
    parser.add_argument("--engines", nargs="*", default=["calamine"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", type=Path, help="a checkout of an earlier commit")
    parser.add_argument("--stages", action="store_true", help="one process, stage by stage")
    args = parser.parse_args()
    cases = [(make_xlsx(n), e) for n in args.xlsx for e in args.engines]
    cases += [(make_csv(n, args.sep), "calamine") for n in args.csv]
    if args.stages:
        for path, engine in cases:
            print(f"{path.name} ({engine}), stage by stage:", flush=True)
            subprocess.run(
                [sys.executable, str(ROOT / "bench" / "plan_stages.py"), str(path), engine],
                check=True,
                env=ENVIRONMENT,
            )
        return
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, {cores} cores;"
        f" medians of {args.runs} runs; load average before: {os.getloadavg()[0]:.2f}"
    )
    print(
        "| input: what | wall, CPU, peak | bare read (the floor): wall, CPU, peak |"
        " / floor: wall, CPU, peak |"
    )
    print("|---|---|---|---|")
    warm_up = ROOT / "sample_sheets" / "site_rollout.xlsx"
    for path, engine in [(warm_up, "calamine"), (make_csv(1_000), "calamine")]:
        run_process(baseline_command(path, engine), allowed=(0,))
        run_process(plan_command(path, engine, OUT / "plan-warm-up"))
        if args.before is not None:
            run_process(plan_command(path, engine, OUT / "plan-warm-up", args.before), args.before)
    for path, engine in cases:
        case = run_case(path, engine, args.runs, args.before)
        shown = "C parser" if path.suffix == ".csv" else engine
        name = (
            f"{path.name} ({shown}, {case.counts['rows']:,} rows, {case.counts['batches']} batches)"
        )
        print(row(f"{name}: its read alone (the stage floor)", case.read_alone, case.bare))
        if case.before is not None:
            print(row(f"{name}: plan before", case.before, case.bare), flush=True)
        print(row(f"{name}: plan", case.plan, case.bare), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
