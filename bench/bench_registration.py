"""
Benchmark: the cost of registering a sheet known by name (issue 23, point 10), not part
of the tests.

    uv run python bench/bench_registration.py                 # 2,000 cameras, 40 groups
    uv run python bench/bench_registration.py --cameras 2000 --groups 40 --rate 50

A sheet of camera names, stream URLs and group names (the bundled ``streams`` mapping),
none of them in the project, goes through one ``bulkload run`` process against the
simulator served from this process on loopback (throttling at R requests/s, every answer
after the latency). The server counts the requests by kind: video sources created, groups
created, groups updated (UpdateVideoGroup), batches created, lookups (the listings of
sources and groups, and any lookup by name) and the rest (the token, task lists). Beside
them the ideal: one request per source, group and batch, one listing page each of
sources and groups, and lookups only for lost answers (none here: no fault). Then the
whole process's time beside the ideal time at R (those requests / R), and their ratio,
the share of R the process kept (target >= 0.85). At the server, every camera registered
and loaded exactly once, every group created once.

Registration is a run's ``register`` step; a build without it is told so and nothing is
timed (its run would only fail every batch).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from loader.sim import SimConfig, running_simulator
from loader.sim.state import SimState

BULKLOAD = [sys.executable, "-m", "loader"]
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def inventory(folder: Path, cameras: int, groups: int) -> Path:
    """Names, stream URLs and group names: ``cameras`` spread evenly over ``groups``."""
    rows = [
        f"Cam {n:05d},rtsp://127.0.0.1:8554/cam-{n:05d},Site{n % groups:03d}"
        for n in range(cameras)
    ]
    sheet = folder / "names.csv"
    sheet.write_text("Camera,Stream URL,Group\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return sheet


def kind(method: str, path: str) -> str:
    """What a request was, by the simulator's routes."""
    tail = path.split("/v2/", 1)[-1].split("/", 1)[-1]  # after /v2/{project_id}/
    if method == "POST" and tail == "source":
        return "sources"
    if method == "POST" and tail == "video-group":
        return "groups"
    if method == "PUT" and tail.startswith("video-group/"):
        return "joins"
    if method == "POST" and tail == "batch-tasks":
        return "batches"
    if method == "GET" and tail.startswith(("source/sources", "video-group")):
        return "lookups"
    return "other"


def counted(state: SimState) -> tuple[Counter[str], Counter[str]]:
    """Requests the server admitted, and those it throttled, by kind."""
    admitted: Counter[str] = Counter()
    throttled: Counter[str] = Counter()
    for _, method, path, status in state.requests:
        (throttled if status else admitted)[kind(method, path)] += 1
    return admitted, throttled


def time_run(
    folder: Path, cameras: int, groups: int, rate: float, latency: float
) -> dict[str, Any]:
    """One ``bulkload run`` process registering and loading the sheet; what it cost."""
    sheet = inventory(folder, cameras, groups)
    config = SimConfig(rate=rate, latency=latency, registered_only=True)
    with running_simulator(config) as sim:
        command = [
            *BULKLOAD,
            *("run", str(sheet), "-m", "streams", "--json"),
            *("--endpoint", sim.url, "--project-id", config.project_id),
            *("--rate", f"{rate:g}", "--concurrency", "16", "--run-dir", str(folder / "run")),
        ]
        environment = {**ENVIRONMENT, "BULKLOAD_AUTH_TOKEN": "sim-token"}
        began = time.monotonic()
        done = subprocess.run(command, capture_output=True, env=environment, text=True)
        seconds = time.monotonic() - began
        admitted, throttled = counted(sim.state)
        registry = sim.state.registry
        names = Counter(s.name for s in registry.sources.values())
        tasks = sim.state.task_counts()
    if done.returncode != 0:
        raise SystemExit(f"bulkload run exited {done.returncode}:\n{done.stderr[-2000:]}")
    if len(names) != cameras or max(names.values()) != 1 or len(registry.groups) != groups:
        raise SystemExit("bulkload lost or doubled a video source or group")
    if sum(tasks.values()) != cameras or max(tasks.values()) != 1:
        raise SystemExit("bulkload lost or doubled a camera's task")
    summary = json.loads(done.stdout)
    return {
        "admitted": admitted,
        "throttled": throttled,
        "batches": summary["counts"]["batches"],
        "seconds": seconds,
    }


def ideal(cameras: int, groups: int, batches: int) -> Counter[str]:
    """One request per source, group and batch; a listing of each; no lookup (no fault)."""
    return Counter(
        sources=cameras,
        groups=groups,
        joins=0,  # every camera joins its group in its own create
        batches=batches,
        lookups=2,  # an empty project: one listing page of sources, one of groups
    )


def report(run: dict[str, Any], cameras: int, groups: int, rate: float, latency: float) -> None:
    """The requests by kind beside the ideal, then the time beside the ideal time at R."""
    best = ideal(cameras, groups, run["batches"])
    admitted, throttled = run["admitted"], run["throttled"]
    print("| requests | made | throttled (429) | ideal |\n|---|---|---|---|")
    for key in ("sources", "groups", "joins", "batches", "lookups", "other"):
        print(f"| {key} | {admitted[key]:,} | {throttled[key]:,} | {best.get(key, '-')} |")
    needed = sum(best.values())
    ideal_seconds = needed / rate
    share = ideal_seconds / run["seconds"]
    print(
        f"\nwhole process {run['seconds']:.1f} s; ideal at R = {rate:g}/s: {needed:,} requests"
        f" in {ideal_seconds:.1f} s; share of R {share:.0%} (target >= 85%)"
    )
    print(f"({cameras:,} cameras in {groups} new groups, {latency * 1000:.0f} ms an answer)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cameras", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=40)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    gc.disable()  # the simulator's collections are not bulkload's cost (see bench_overhead)
    with tempfile.TemporaryDirectory() as temporary:
        run = time_run(Path(temporary), args.cameras, args.groups, args.rate, args.latency)
    report(run, args.cameras, args.groups, args.rate, args.latency)


if __name__ == "__main__":
    main()
