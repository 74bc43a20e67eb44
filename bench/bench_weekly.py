"""
Benchmark: a weekly apply as whole ``bulkload`` processes (not part of the tests).

    uv run python bench/bench_weekly.py                   # 3 runs: seeds 1, 2, 3
    uv run python bench/bench_weekly.py --runs 1 --seed 7 --gaps 8

Week 1 loads a project of 1,183 cameras, one group each (12 batches), with default
options. Week 2's sheet is edited: 1,583 new cameras (16 create batches) plus 7 cameras
moved to another algorithm (a replace each: one more create batch, then the old task's
delete), 97 cameras given new hours (97 UpdateTask) and 59 rows removed (59 stops), and
``bulkload run SHEET --prune stop --yes`` applies it at the default ``--rate`` (10/s)
while the simulator injects faults on creates and on mutations: by default 2.5%
``5xx-before`` and 2.5% ``5xx-after`` (5% 500s, with and without the change made) and 3%
``commit-reset`` (the change made, its answer lost). An apply that exits 3 is resumed
(``bulkload resume RUN_DIR``) until it ends; the resumes count. The sheets have no Name
column, as the held-back weekly export has none: task ids are found by video source name
(ListVideoSources joined to ListTasks).

The simulator is served from this process on loopback (throttling at R requests/s, every
answer after the latency, tasks that all start), with its cyclic garbage collector off
(its collections would pause the server, a pause charged to bulkload). Its request log
gives the requests by kind; its task state the check that every camera ends right: one
live task per camera of the sheet with the sheet's algorithm, hours and ROI, no live task
for a removed camera. The run's ``log.jsonl`` gives where the time went: its longest
gaps between consecutive lines, with the lines around them.

The ideal is the requests a faultless apply needs (creates, changes, and finding the ids:
a ListVideoSources per 100 touched groups and 200 of their sources, a ListTasks per
touched batch and per batch creating a successor), plus those the drawn faults make
necessary (per create in doubt: a lookup if it was made, else every lookup of its window
and a resend; per change in doubt: a ShowTaskInfo, and a resend if it was not made), over
R; plus the lookup window of a create that proves absent (``--timeout`` 30 s plus 1 s per
1,000 cameras of the batch: ``send/engine.py`` ``lookup_schedule``), else the first
lookup's ``--settle`` (1 s) of one that is found. That ideal is serial, as if nothing went
out during the window; the overlapped floor lets the window run beside the other requests:
the larger of the requests over R and the window plus three answers (the unclear one, the
last lookup's, the resend's).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from loader.check import transforms
from loader.model.vias import MAX_GROUPS_PER_BATCH
from loader.run.options import DEFAULT_RATE, DEFAULT_SETTLE, DEFAULT_TIMEOUT
from loader.send.engine import lookup_schedule
from loader.sim import SimConfig, SimState, running_simulator

BULKLOAD = [sys.executable, "-m", "loader"]
# As bench_overhead.py: processes start from the bytecode cache, as a user's do; and no
# BULKLOAD_* setting of this shell reaches them (the target is the flags').
ENVIRONMENT = {
    **{
        k: v
        for k, v in os.environ.items()
        if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("BULKLOAD_")
    },
    "BULKLOAD_AUTH_TOKEN": "sim-token",
}
MAPPING = """
name = "weekly"
[cameras.columns]
video_source_id = { column = "Camera", required = true }
group = { column = "Group", required = true }
service_name = "Algorithm"
periods = "Hours"
target_roi = "ROI"
[task]
name_prefix = "weekly"
service_version = "3.0"
timezone = "+08:00"
days_of_week = "Mon-Fri"
event_center = true
"""
FAULTS = {"5xx-before": 0.025, "5xx-after": 0.025, "commit-reset": 0.03}
LIVE = frozenset({"PENDING", "STARTING", "RUNNING"})
BASE = "/v2/sim-project"
MAX_RESUMES = 5
WINDOW_PER_CAMERA = 0.001  # SubmitOptions.window_per_camera: 1 s per 1,000 cameras
Row = tuple[str, str, str, str, str]  # camera, group, algorithm, hours, roi


def _roi(n: int) -> str:
    """A polygon as a sheet writes it (x,y;x,y;...), different for most cameras."""
    return f"0,0;{n % 50 + 10},0;{n % 50 + 10},10;0,10"


def week_one(cameras: int) -> list[Row]:
    """``cameras`` cameras, one group each, one algorithm, office hours."""
    return [
        (f"cam-{n:05d}", f"grp-{n:05d}", "c-smoke", "08:00-18:00", _roi(n)) for n in range(cameras)
    ]


@dataclass
class Edit:
    """Week 2's sheet and what its plan must hold."""

    rows: list[Row]
    removed: set[tuple[str, str]]  # (group, camera)
    updated_cameras: set[str]
    replaced_cameras: set[str]
    new: int

    @property
    def updates(self) -> int:
        return len(self.updated_cameras)

    @property
    def replaces(self) -> int:
        return len(self.replaced_cameras)

    @property
    def touched_cameras(self) -> set[str]:
        """The cameras of week 1 whose task a change needs."""
        return self.updated_cameras | self.replaced_cameras | {c for _, c in self.removed}

    @property
    def touched_groups(self) -> set[str]:
        week1 = {c: g for c, g, *_ in self.rows} | {c: g for g, c in self.removed}
        return {week1[c] for c in self.touched_cameras}


def week_two(rows: list[Row], new: int, updates: int, replaces: int, removes: int) -> Edit:
    """Every 20th row removed (from the 8th), ``replaces`` cameras moved to c-fire (every
    100th from the 51st), ``updates`` given new hours (every 12th from the 2nd), ``new``
    cameras added, one group each."""
    gone = set(list(range(7, len(rows), 20))[:removes])
    moved = [n for n in range(50, len(rows), 100) if n not in gone][:replaces]
    timed = [n for n in range(1, len(rows), 12) if n not in gone and n not in moved][:updates]
    edited: list[Row] = []
    for n, (camera, group, algorithm, hours, roi) in enumerate(rows):
        if n in gone:
            continue
        if n in moved:
            algorithm = "c-fire"
        elif n in timed:
            hours = "09:00-17:00"
        edited.append((camera, group, algorithm, hours, roi))
    edited += [
        (f"new-{n:05d}", f"grp-new-{n:05d}", "c-smoke", "08:00-18:00", _roi(n)) for n in range(new)
    ]
    removed = {(rows[n][1], rows[n][0]) for n in gone}
    if len(moved) < replaces or len(timed) < updates or len(gone) < removes:
        raise SystemExit("week 1 is too small for these edits")
    return Edit(edited, removed, {rows[n][0] for n in timed}, {rows[n][0] for n in moved}, new)


def write(folder: Path, rows: list[Row], name: str) -> Path:
    """The sheet (CSV, no Name column) and its mapping beside it."""
    lines = ["Camera,Group,Algorithm,Hours,ROI"]
    lines += [f'{c},{g},{a},{h},"{r}"' for c, g, a, h, r in rows]
    (folder / "weekly.toml").write_text(MAPPING, encoding="utf-8")
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---- what the server saw -----------------------------------------------------------------


def kind_of(method: str, path: str) -> str:
    """The API call a request is, by method and path."""
    path = path.removeprefix(BASE)
    if path == "/batch-tasks":
        return "CreateBatchTask" if method == "POST" else "ListBatchTasks"
    if path == "/tasks":
        return "ListTasks"
    if path == "/source/sources":
        return "ListVideoSources"
    if path.startswith("/tasks/"):
        if path.endswith("/action/stop"):
            return "stop"
        if path.endswith("/action/start"):
            return "start"
        return {"GET": "ShowTaskInfo", "PUT": "UpdateTask", "DELETE": "DeleteTask"}.get(
            method, f"{method} task"
        )
    return f"{method} {path}"


def requests_by_kind(sim: SimState, since: int, until: int) -> tuple[Counter[str], int]:
    """Requests by kind between two points of the log (429s apart), and how many were
    throttled."""
    with sim.lock:
        chosen = list(sim.requests[since:until])
    kinds = Counter(kind_of(r.method, r.path) for r in chosen if r.status != 429)
    return kinds, sum(1 for r in chosen if r.status == 429)


def wrong_cameras(sim: SimState, edit: Edit) -> list[str]:
    """Every camera that does not end as the sheet says (empty: all right)."""
    report: dict[str, Any] = sim.camera_report()
    by_camera = {(c["group_id"], c["video_source_id"]): c for c in report["cameras"]}
    settings = report["settings"]
    wrong = []
    for camera, group, algorithm, hours, roi in edit.rows:
        held = by_camera.get((group, camera))
        if held is None:
            wrong.append(f"{camera}: no task")
            continue
        live = [s for s in held["states"] if s in LIVE]
        if (len(live), held["tasks"]) != (1, 1):
            wrong.append(f"{camera}: {held['tasks']} tasks, states {held['states']}")
            continue
        chosen = settings[held["settings"][0]]
        begin, end = hours.split("-")
        periods = [{"begin_at": f"{begin}:00", "end_at": f"{end}:00"}]
        if (
            chosen["service_name"] != algorithm
            or chosen.get("target_roi") != transforms.roi(roi)
            or chosen["schedule"]["periods"][0] != periods
        ):
            wrong.append(f"{camera}: settings {chosen}")
    for group, camera in sorted(edit.removed):
        held = by_camera.get((group, camera), {"states": []})
        if any(s in LIVE for s in held["states"]):
            wrong.append(f"{camera} (removed): states {held['states']}")
    if report["duplicated_cameras"]:
        wrong.append(f"{report['duplicated_cameras']} cameras with two tasks or more")
    return wrong


# ---- what the run's log and payloads say -------------------------------------------------


def log_lines(run_dir: Path) -> list[dict[str, Any]]:
    """The run's log lines, each with its time as epoch seconds (``at``)."""
    lines = []
    for text in (run_dir / "log.jsonl").read_text(encoding="utf-8").splitlines():
        line = json.loads(text)
        line["at"] = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()
        line["event"] = str(line.get("event", "")).removeprefix("bulkload.")
        lines.append(line)
    return lines


def describe(line: dict[str, Any]) -> str:
    """A log line in a few words: its event and what it is about."""
    about = [
        f"{key}={line[key]}"
        for key in ("batch", "change", "attempt", "lookup", "lookups", "batches", "groups")
        if line.get(key) not in (None, "", [], 0)
    ]
    if line["event"] == "tasks_found":
        about.append(f"tasks={line.get('tasks')}")
    text = " ".join([line["event"], *about])
    return text if len(text) <= 96 else text[:93] + "..."


def longest_gaps(lines: list[dict[str, Any]], count: int) -> list[tuple[float, str, str]]:
    """The ``count`` longest gaps between consecutive lines: (seconds, before, after)."""
    gaps = [
        (after["at"] - before["at"], describe(before), describe(after))
        for before, after in itertools.pairwise(lines)
    ]
    return sorted(gaps, reverse=True)[:count]


def planned(run_dir: Path) -> dict[str, set[str]]:
    """Each batch a run planned (its payload file) -> the video source ids it creates."""
    batches = {}
    for path in sorted((run_dir / "payloads").glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        groups = body["batch_input"]["video_source_group"]
        batches[body["name"]] = {
            s["video_source_id"] for g in groups for s in g["video_source_list"]
        }
    return batches


@dataclass
class Doubts:
    """What the drawn faults made of the apply, from its log (resumes included)."""

    creates_found: set[str] = field(default_factory=set)  # in doubt, then found by a lookup
    creates_absent: set[str] = field(default_factory=set)  # proven absent, sent again
    window: float = 0.0  # the longest lookup window a create proved absent over
    window_spent: float = 0.0  # and the time it took, from its unclear answer to "absent"
    absent_lookups: int = 0  # the lookups those windows take (lookup_schedule)
    changes_checked: int = 0  # in doubt, then read (ShowTaskInfo)
    changes_resent: int = 0  # read, not made: sent again


def doubts(lines: list[dict[str, Any]], batches: dict[str, set[str]]) -> Doubts:
    """Creates and changes in doubt, and how each was settled."""
    found = Doubts()
    unclear: dict[str, float] = {}  # batch -> when its first unclear answer came
    checked: set[str] = set()
    delays = (DEFAULT_SETTLE, 2 * DEFAULT_SETTLE, 4 * DEFAULT_SETTLE)  # runner._submit_options
    for line in lines:
        event = line["event"]
        if event == "batch_ambiguous":
            unclear.setdefault(line["batch"], line["at"])
        elif event == "batch_absent":
            found.creates_absent.add(line["batch"])
            window = max(
                sum(delays),
                DEFAULT_TIMEOUT + len(batches.get(line["batch"], ())) * WINDOW_PER_CAMERA,
            )
            found.window = max(found.window, window)
            found.window_spent = max(found.window_spent, line["at"] - unclear[line["batch"]])
            found.absent_lookups += len(lookup_schedule(delays, window))
        elif event == "batch_accepted" and line.get("found_by_lookup"):
            found.creates_found.add(line["batch"])
        elif event == "change_ambiguous":
            checked.add(line["change"])
            found.changes_checked += 1
        elif event == "change_sending" and line.get("change") in checked:
            found.changes_resent += 1
    found.creates_found -= found.creates_absent
    return found


def ideal(
    week1: dict[str, set[str]],
    week2: dict[str, set[str]],
    edit: Edit,
    fates: Doubts,
    rate: float,
    latency: float,
) -> dict[str, float]:
    """The requests the apply needs, and its ideal: them over R, plus the one wait."""
    touched = edit.touched_cameras
    groups = len(edit.touched_groups)
    successors = [b for b, sources in week2.items() if sources & edit.replaced_cameras]
    floor = {
        "creates": len(week2),
        "changes": edit.updates + edit.replaces + len(edit.removed),
        # 100 groups a query, 200 sources a page (one camera a group here)
        "ListVideoSources": math.ceil(groups / 100) * math.ceil(min(groups, 100) / 200),
        "ListTasks": sum(1 for sources in week1.values() if sources & touched) + len(successors),
    }
    faults = (
        fates.absent_lookups
        + len(fates.creates_absent)  # resent once proven absent
        + len(fates.creates_found)  # one lookup finds it
        + fates.changes_checked
        + fates.changes_resent
    )
    wait = fates.window if fates.creates_absent else DEFAULT_SETTLE if fates.creates_found else 0
    needed = sum(floor.values()) + faults
    # Overlapped: the wait runs beside the other requests; a create proven absent still
    # needs its unclear answer, its last lookup's and its resend's (three latencies).
    chain = wait + 3 * latency if fates.creates_absent else 0.0
    return {**floor, "floor": sum(floor.values()), "faults": faults, "needed": needed,
            "wait": wait, "ideal": needed / rate + wait,
            "overlapped": max(needed / rate, chain)}  # fmt: skip


# ---- one weekly cycle ----------------------------------------------------------------------


@dataclass
class Pass:
    """One process: its command, exit code, times, and where in the server's log it was."""

    command: str
    code: int
    wall: float  # epoch seconds at its start (the log's clock)
    began: float  # monotonic, the server's clock
    ended: float
    first: int = 0  # the server's request log from here
    last: int = 0  # to here

    @property
    def seconds(self) -> float:
        return self.ended - self.began


def bulkload(*arguments: str) -> tuple[Pass, str]:
    """One process, and its stdout."""
    wall, began = time.time(), time.monotonic()
    done = subprocess.run(
        [*BULKLOAD, *arguments], capture_output=True, text=True, env=ENVIRONMENT, check=False
    )
    if done.returncode not in (0, 3):
        raise SystemExit(f"bulkload {arguments[0]} exited {done.returncode}: {done.stderr[-3000:]}")
    return Pass(arguments[0], done.returncode, wall, began, time.monotonic()), done.stdout


def cycle(folder: Path, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """Week 1 loaded clean, week 2 applied under faults (and resumed); its figures."""
    rows = week_one(args.cameras)
    edit = week_two(rows, args.new, args.updates, args.replaces, args.removes)
    week1_batches = math.ceil(len(rows) / MAX_GROUPS_PER_BATCH)
    config = SimConfig(
        rate=args.rate,
        latency=args.latency,
        seed=seed,
        fault_sequence=["none"] * week1_batches,  # week 1 is loaded without faults
        faults=dict(args.faults),
        mutation_faults=dict(args.faults),
        start_fail_percent=0,
    )
    with running_simulator(config) as sim:
        target = (
            *("--endpoint", sim.url, "--project-id", config.project_id),
            *("--ledger", str(folder / "ledger.sqlite"), "-m", str(folder / "weekly.toml")),
        )
        load, _ = bulkload(
            "run", str(write(folder, rows, "site-week-1.csv")), *target,
            *("--run-dir", str(folder / "week-1"), "--json"),
        )  # fmt: skip
        if load.code != 0 or len(sim.state.requests) != week1_batches:
            raise SystemExit(f"week 1 did not load cleanly (exit {load.code})")
        run_dir = folder / "week-2"
        rate = ("--rate", f"{args.rate:g}") if args.rate != DEFAULT_RATE else ()
        passes: list[Pass] = []
        command = [
            "run", str(write(folder, edit.rows, "site-week-2.csv")), *target,
            *("--run-dir", str(run_dir), *rate, "--prune", "stop", "--yes", "--json"),
        ]  # fmt: skip
        while not passes or (passes[-1].code == 3 and len(passes) <= MAX_RESUMES):
            first = len(sim.state.requests)
            done, _ = bulkload(*command)
            done.first, done.last = first, len(sim.state.requests)
            passes.append(done)
            command = ["resume", str(run_dir), "--json"]
        wrong = wrong_cameras(sim.state, edit)
        kinds, throttled = requests_by_kind(sim.state, passes[0].first, passes[-1].last)
        first_request = sim.state.requests[passes[0].first].at
    lines = log_lines(run_dir)
    week1, week2 = planned(folder / "week-1"), planned(run_dir)
    fates = doubts(lines, week2)
    diff = json.loads((run_dir / "diff.json").read_text(encoding="utf-8"))
    apply_lines = [line for line in lines if line["at"] <= passes[0].wall + passes[0].seconds]

    def since_start(event: str) -> float:
        times = [line["at"] for line in apply_lines if line["event"] == event]
        return max(times) - passes[0].wall if times else 0.0

    return {
        "seed": seed,
        "week1": load.seconds,
        "plan": {
            "create batches": len(week2),
            "new cameras": diff["creates"],
            "updates": len(diff["updates"]),
            "replaces": len(diff["replaces"]),
            "removes": len(diff["removes"]),
        },
        "passes": passes,
        "total": sum(p.seconds for p in passes),
        "exit": passes[-1].code,
        "kinds": kinds,
        "throttled": throttled,
        "wrong": wrong,
        "fates": fates,
        "ideal": ideal(week1, week2, edit, fates, args.rate, args.latency),
        "gaps": longest_gaps(lines, args.gaps),
        "timeline": {
            "first request": first_request - passes[0].began,
            "first log line": apply_lines[0]["at"] - passes[0].wall,
            "last create accepted": since_start("batch_accepted"),
            "last change done": since_start("change_done"),
            "last log line": apply_lines[-1]["at"] - passes[0].wall,
            "exit": passes[0].seconds,
        },
    }


# ---- the report ------------------------------------------------------------------------------


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Markdown tables: the plan, each run, the median and range; faults; log gaps."""
    plan = results[0]["plan"]
    print(
        f"\nweek 1: {args.cameras:,} cameras, one group each; week 2's plan:"
        f" {plan['create batches']} create batches ({plan['new cameras']:,} new cameras and"
        f" {plan['replaces']} replacements), {plan['updates']} updates, {plan['replaces']}"
        f" replaces, {plan['removes']} removals (--prune stop)."
        f" R = {args.rate:g}/s, {args.latency * 1000:.0f} ms an answer; faults on creates and"
        f" mutations: {', '.join(f'{k} {v:.1%}' for k, v in args.faults.items())}."
    )
    print(
        "\n| run (seed) | apply | resumes | whole | requests | creates | ListTasks"
        " | ShowTaskInfo | ListVideoSources | UpdateTask / stop / DeleteTask"
        " | lookups (ListBatchTasks) | 429 | needed | ideal | whole / ideal | overlapped floor"
        " | whole / floor | every camera right |"
    )
    print("|" + "---|" * 18)
    for number, r in enumerate(results, 1):
        k, ideal = r["kinds"], r["ideal"]
        apply, *resumed = r["passes"]
        resumes = [f"{p.seconds:.1f} s (exit {p.code})" for p in resumed]
        right = "yes" if not r["wrong"] else f"NO: {len(r['wrong'])} wrong"
        print(
            f"| {number} ({r['seed']}) | {apply.seconds:.1f} s (exit {apply.code})"
            f" | {', '.join(resumes) or 'none'} | **{r['total']:.1f} s** | {sum(k.values())}"
            f" | {k['CreateBatchTask']} | {k['ListTasks']} | {k['ShowTaskInfo']}"
            f" | {k['ListVideoSources']}"
            f" | {k['UpdateTask']} / {k['stop']} / {k['DeleteTask']} | {k['ListBatchTasks']}"
            f" | {r['throttled']} | {ideal['needed']} | {ideal['ideal']:.1f} s"
            f" | {r['total'] / ideal['ideal']:.2f} | {ideal['overlapped']:.1f} s"
            f" | {r['total'] / ideal['overlapped']:.2f}"
            f" | {right} |"
        )
    wholes = [r["total"] for r in results]
    ratios = [r["total"] / r["ideal"]["ideal"] for r in results]
    print(
        f"\nwhole apply (resumes included): median {statistics.median(wholes):.1f} s"
        f" ({min(wholes):.1f} to {max(wholes):.1f} s); whole / ideal: median"
        f" {statistics.median(ratios):.2f} ({min(ratios):.2f} to {max(ratios):.2f});"
        f" week 1's load: {statistics.median(r['week1'] for r in results):.1f} s (median)"
    )
    print(
        "\n| run | creates in doubt: found / absent (window; spent) | changes in doubt"
        " (checked; sent again) | needed: floor + faults | first request | last create"
        " accepted | last change done | last log line | exit |\n|" + "---|" * 9
    )
    for number, r in enumerate(results, 1):
        f, i, t = r["fates"], r["ideal"], r["timeline"]
        window = f"; {f.window:.1f} s; {f.window_spent:.1f} s" if f.creates_absent else ""
        print(
            f"| {number} | {len(f.creates_found)} / {len(f.creates_absent)}{window}"
            f" | {f.changes_checked}; {f.changes_resent} | {i['floor']} + {i['faults']}"
            f" | {t['first request']:.1f} s | {t['last create accepted']:.1f} s"
            f" | {t['last change done']:.1f} s | {t['last log line']:.1f} s | {t['exit']:.1f} s |"
        )
    i = results[0]["ideal"]
    print(
        f"\nfloor of a faultless apply: {i['creates']} creates + {i['changes']} changes +"
        f" {i['ListVideoSources']} ListVideoSources + {i['ListTasks']} ListTasks"
        f" = {i['floor']} requests ({i['floor'] / args.rate:.1f} s at R)"
    )
    for number, r in enumerate(results, 1):
        print(f"\nrun {number}: the longest gaps in log.jsonl (all passes)\n")
        print("| gap | line before | line after |\n|---|---|---|")
        for gap, before, after in r["gaps"]:
            print(f"| {gap:.1f} s | {before} | {after} |")
        for line in r["wrong"][:20]:
            print(f"wrong: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1, help="the first run's fault seed")
    parser.add_argument("--cameras", type=int, default=1_183, help="week 1's cameras")
    parser.add_argument("--new", type=int, default=1_583, help="week 2's new cameras")
    parser.add_argument("--updates", type=int, default=97)
    parser.add_argument("--replaces", type=int, default=7)
    parser.add_argument("--removes", type=int, default=59)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--gaps", type=int, default=5, help="longest log gaps shown per run")
    parser.add_argument("--keep", type=Path, help="keep the sheets and run directories here")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help="KIND=P on creates and mutations alike (replaces the default mix)",
    )
    args = parser.parse_args()
    chosen = [f.partition("=") for f in args.fault]
    args.faults = {k: float(v) for k, _, v in chosen} if chosen else dict(FAULTS)
    cores = os.cpu_count()
    print(f"machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}")
    gc.disable()  # the simulator's collections are not bulkload's time (see above)
    results = []
    for number in range(args.runs):
        with tempfile.TemporaryDirectory() as temporary:
            folder = Path(temporary)
            if args.keep:
                folder = args.keep / f"run-{number + 1}"
                folder.mkdir(parents=True)
            results.append(cycle(folder, args, args.seed + number))
        print(f"run {number + 1}: {results[-1]['total']:.1f} s", file=sys.stderr, flush=True)
    report(results, args)
    if any(r["wrong"] for r in results):
        raise SystemExit("some cameras did not end as the sheet says")


if __name__ == "__main__":
    main()
