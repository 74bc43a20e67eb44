"""
Benchmark: start-up and overhead of whole ``bulkload`` processes (not part of the tests).

    uv run python bench/bench_overhead.py                 # --help x10, a 60,000-camera run
    uv run python bench/bench_overhead.py --cameras 60000 --rate 20 --latency 0.2

``--help`` is timed as a process, start to exit. The run is a ``bulkload run`` process
against the simulator served from this process on loopback (throttling at R requests/s,
every answer after the latency); the server logs each request's arrival on the system-wide
monotonic clock, which both processes share. Reported: process start -> first request,
the sending span, last answer (last arrival + latency) -> process exit, and the whole
process's share of the server's rate: the creates it needed (one per batch) over what
the server could have answered while the process lived, R x (exit - start); and the same
for every request the run made (with ``--task-ids``, the lists that record task ids).
Beside each run, in the same run, the floor of its start: a process that imports pandas
and reads the same sheet as bulkload reads it (``read_csv`` of text cells), start to
exit; the first request should leave within 1.5x of it. And the part of it no sheet
changes: a process that imports pandas, one that imports the libraries a run must use
(``LIBRARIES``: the floor of that part), and one that imports what ``bulkload run``
imports before its first request (``--help-runs`` rounds of the three, medians of wall
and CPU time; CPU time is steadier on a shared machine). "The libraries' part" is the
ratio start -> first / bare read would be if bulkload imported the libraries and
nothing of its own. "The floor's share" is the share a run could reach at best: the bare
read, then every create one paced interval (1.02 / R: the margin kept for the network's
jitter) after the last, and nothing after the last answer.
Every camera is checked at the server: exactly once.

The simulator runs in this process with Python's cyclic garbage collector off: its own
collections (tens of thousands of task objects) stalled the server for up to half a
second, a pause of the benchmark's server charged to bulkload (and met by 429s).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_submit import MAPPING  # the same one-algorithm layout as the throughput bench

from loader.send.pacing import PACING_MARGIN
from loader.sim import SimConfig, running_simulator

BULKLOAD = [sys.executable, "-m", "loader"]
# Python caches compiled modules beside them unless PYTHONDONTWRITEBYTECODE is set (as it
# is on some build machines): the processes timed here start as a user's would, from a
# cache that a first, untimed --help fills.
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_help(times: int) -> list[float]:
    """Seconds of ``bulkload --help`` as a whole process, ``times`` times."""
    subprocess.run([*BULKLOAD, "--help"], check=True, capture_output=True, env=ENVIRONMENT)
    seconds = []
    for _ in range(times):
        began = time.monotonic()
        subprocess.run([*BULKLOAD, "--help"], check=True, capture_output=True, env=ENVIRONMENT)
        seconds.append(time.monotonic() - began)
    return seconds


# What a run imports before its first request (``cli.run``'s own imports, then the run's).
RUN_IMPORTS = """
import loader.cli
loader.cli.import_structlog_without_rich()
from loader.commands.prune import confirm_prune
from loader.run.runner import start_run
"""


# The libraries a run must use (the sheet, HTTP, concurrency, logs, the ledger, the models,
# the command line): what any tool doing bulkload's work would import, its start's floor.
# Imported as a run imports them: httpx without its own command line (rich, click,
# pygments) and structlog without rich, neither of which a run uses (``loader.cli``); and
# what they load on first use before any first request: httpcore, h11 and anyio's asyncio
# backend when a client opens, pydantic's model machinery when a first model is made.
LIBRARIES = """
import sys
sys.modules["httpx._main"] = sys.modules["rich"] = None
import pandas, httpx, anyio, structlog, sqlite3, pydantic, typer
import httpcore, h11, anyio._backends._asyncio
class Model(pydantic.BaseModel):
    x: int
"""
LIBRARIES_SHOWN = (
    "pandas, httpx (without its command line), anyio, structlog (without rich), sqlite3,"
    " pydantic, typer; httpcore, h11 and anyio's asyncio backend; a first pydantic model"
)
IMPORTS = {"pandas": "import pandas", "libraries": LIBRARIES, "run path": RUN_IMPORTS}


def time_imports(times: int) -> dict[str, tuple[float, float]]:
    """Median seconds (wall, CPU) of a process that imports pandas, of one that imports
    the libraries, and of one that imports the run path: interleaved, one of each a round,
    so a colleague's load on the machine falls on all three alike."""
    for code in IMPORTS.values():
        subprocess.run([sys.executable, "-c", code], check=True, env=ENVIRONMENT)
    walls: dict[str, list[float]] = {name: [] for name in IMPORTS}
    cpus: dict[str, list[float]] = {name: [] for name in IMPORTS}
    for _ in range(times):
        for name, code in IMPORTS.items():
            used = resource.getrusage(resource.RUSAGE_CHILDREN)
            began = time.monotonic()
            subprocess.run([sys.executable, "-c", code], check=True, env=ENVIRONMENT)
            walls[name].append(time.monotonic() - began)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[name].append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
    return {
        name: (statistics.median(walls[name]), statistics.median(cpus[name])) for name in IMPORTS
    }


BARE_CSV = """
import sys, pandas as pd
pd.read_csv(sys.argv[1], header=None, dtype=str, keep_default_na=False, engine="c")
"""
# As bench_plan reads a workbook: pandas with calamine, every sheet, text cells.
BARE_EXCEL = """
import sys, pandas as pd
pd.read_excel(sys.argv[1], sheet_name=None, header=None, dtype=str, keep_default_na=False,
              engine="calamine")
"""


def time_bare_read(sheet: Path) -> float:
    """Seconds of a process that imports pandas and reads ``sheet``: the start's floor."""
    bare = BARE_EXCEL if sheet.suffix == ".xlsx" else BARE_CSV
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", bare, str(sheet)], check=True, env=ENVIRONMENT)
    return time.monotonic() - began


def inventory(folder: Path, cameras: int, *, xlsx: bool = False) -> tuple[Path, Path]:
    """Groups of one and two cameras in turn: 1.5 cameras a group, 150 a payload. ``xlsx``:
    the same rows as a workbook under a legacy export's title and blank row (the issue's
    60,000-camera legacy xlsx), else a CSV."""
    rows, group, made = [], 0, 0
    while made < cameras:
        for _ in range(min(1 + group % 2, cameras - made)):
            rows.append((f"cam-{made:07d}", f"grp-{group:06d}"))
            made += 1
        group += 1
    mapping = folder / "bench.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    if not xlsx:
        sheet = folder / "bench.csv"
        lines = ["Camera,Group", *(f"{camera},{group}" for camera, group in rows)]
        sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return sheet, mapping
    import xlsxwriter

    sheet = folder / "bench.xlsx"
    book = xlsxwriter.Workbook(str(sheet), {"constant_memory": True})
    cameras_sheet = book.add_worksheet("Cameras")
    cameras_sheet.write_row(0, 0, ["Camera inventory export (legacy VMS)"])
    cameras_sheet.write_row(2, 0, ["Camera", "Group"])
    for number, row in enumerate(rows, start=3):
        cameras_sheet.write_row(number, 0, row)
    book.close()
    return sheet, mapping


def time_run(
    folder: Path,
    cameras: int,
    rate: float,
    latency: float,
    *,
    task_ids: bool | None = None,
    xlsx: bool = False,
) -> dict[str, float]:
    """One ``bulkload run`` process against the simulator; the figures of its timeline.

    ``task_ids`` None runs as a user does (a load records no task id: a later change
    finds the ids it needs); True adds ``--task-ids`` (every batch's tasks listed at the
    end: ``learning`` is that part, from the last create's answer to the last list's).
    """
    sheet, mapping = inventory(folder, cameras, xlsx=xlsx)
    bare = time_bare_read(sheet)
    config = SimConfig(rate=rate, latency=latency)
    with running_simulator(config) as sim:
        command = [
            *BULKLOAD,
            *("run", str(sheet), "-m", str(mapping), "--json"),
            *("--endpoint", sim.url, "--project-id", config.project_id),
            *("--rate", f"{rate:g}", "--concurrency", "16", "--run-dir", str(folder / "run")),
            *([] if task_ids is None else ["--task-ids" if task_ids else "--no-task-ids"]),
        ]
        environment = {**ENVIRONMENT, "BULKLOAD_AUTH_TOKEN": "sim-token"}
        began = time.monotonic()
        subprocess.run(command, check=True, capture_output=True, env=environment)
        ended = time.monotonic()
        creates = [t for t, method, _, status in sim.state.requests if method == "POST"]
        admitted = [
            t for t, method, _, status in sim.state.requests if method == "POST" and not status
        ]
        lists = [t for t, method, path, _ in sim.state.requests if path.endswith("/tasks")]
        everything = [t for t, _, _, status in sim.state.requests if not status]
        counts = sim.state.task_counts()
    if sum(counts.values()) != cameras or max(counts.values()) != 1:
        raise SystemExit("bulkload lost or doubled cameras")
    first, last = min(creates), max(creates) + latency
    learned = max([last, *(t + latency for t in lists)])
    return {
        "batches": len(creates),
        "bare_read": bare,
        "to_first": first - began,
        "sending": last - first,
        "learning": learned - last,
        "lists": len(lists),
        "after_last": ended - learned,
        "total": ended - began,
        "share": len(admitted) / (ended - began) / rate,
        "share_all": len(everything) / (ended - began) / rate,
        "throttled": len(creates) - len(admitted),
        "ideal": len(admitted) / rate,
        # The share a run could reach at best: the bare read, then every create paced with
        # the margin no run may drop (one interval of 1.02 / R each) and the last answered.
        "floor_share": len(admitted)
        / rate
        / (bare + (len(admitted) - 1) * PACING_MARGIN / rate + latency),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cameras", type=int, default=60_000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--help-runs", type=int, default=10)
    parser.add_argument(
        "--task-ids",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run with --task-ids or --no-task-ids (default: neither, as a user runs it)",
    )
    parser.add_argument("--runs", type=int, default=1, help="runs of the load (medians shown)")
    parser.add_argument("--xlsx", action="store_true", help="the sheet as a legacy xlsx, not CSV")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    helps = time_help(args.help_runs)
    print("| `bulkload --help` | median | max |\n|---|---|---|")
    print(f"| {len(helps)} runs | {statistics.median(helps):.2f} s | {max(helps):.2f} s |")
    imports = time_imports(args.help_runs)
    (pandas_only, pandas_cpu), (floor, floor_cpu), (run_path, run_cpu) = imports.values()
    print(
        "| imports (process) | `import pandas` | the libraries | bulkload's before its first"
        " request | bulkload's own |\n|---|---|---|---|---|"
        f"\n| {args.help_runs} runs, median | {pandas_only:.2f} s | {floor:.2f} s"
        f" ({floor / pandas_only:.2f}x) | {run_path:.2f} s ({run_path / pandas_only:.2f}x)"
        f" | {run_path - floor:+.2f} s |"
        f"\n| CPU time, median | {pandas_cpu:.2f} s | {floor_cpu:.2f} s"
        f" ({floor_cpu / pandas_cpu:.2f}x) | {run_cpu:.2f} s ({run_cpu / pandas_cpu:.2f}x)"
        f" | {run_cpu - floor_cpu:+.2f} s |"
    )
    print(f"(the libraries: {LIBRARIES_SHOWN})")
    gc.disable()  # the simulator's collections are not bulkload's overhead (see above)
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as temporary:
            runs.append(
                time_run(
                    Path(temporary),
                    args.cameras,
                    args.rate,
                    args.latency,
                    task_ids=args.task_ids,
                    xlsx=args.xlsx,
                )
            )
    run = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    shares = sorted(r["share"] for r in runs)
    print(
        "| cameras | create requests (429) | start -> first request | sending (ideal)"
        " | bare pandas read | start -> first / bare read | the libraries' part"
        " | task ids learned (ListTasks) | last answer -> exit"
        " | whole process | creates' share of R | all requests' share | the floor's share |"
        "\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    print(
        f"| {args.cameras:,} | {run['batches']:.0f} ({run['throttled']:.0f})"
        f" | {run['to_first']:.2f} s"
        f" | {run['sending']:.1f} s ({run['ideal']:.1f} s)"
        f" | {run['bare_read']:.2f} s | {run['to_first'] / run['bare_read']:.2f}x"
        f" | {(run['bare_read'] + floor - pandas_only) / run['bare_read']:.2f}x"
        f" | {run['learning']:.1f} s ({run['lists']:.0f})"
        f" | {run['after_last']:.2f} s"
        f" | {run['total']:.1f} s | {run['share']:.0%} | {run['share_all']:.0%}"
        f" | {run['floor_share']:.1%} |"
    )
    sheet = "a legacy xlsx read by calamine" if args.xlsx else "a CSV"
    print(f"(R = {args.rate:g}/s, {args.latency * 1000:.0f} ms an answer; the sheet: {sheet})")
    if len(runs) > 1:
        low, high = shares[0], shares[-1]
        print(f"medians of {len(runs)} runs; creates' share of R from {low:.0%} to {high:.0%}")


if __name__ == "__main__":
    main()
