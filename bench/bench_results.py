"""
Benchmark: building and writing results.xlsx for a large run (not part of the tests).

    uv run python bench/bench_results.py                          # 100,000 cameras
    uv run python bench/bench_results.py --cameras 600000 --shape pairs --ahead
    uv run python bench/bench_results.py --runs 3 --before /tmp/base   # before and after

The run is made without the network: a CSV inventory is loaded and planned, every batch
is folded as accepted, then the results are projected and written; the time covers
projection (``build``) and writing (``write_results``), as at the end of a run, in wall
and CPU seconds (both threads of the writing: more CPU than wall means they overlapped).

``--shape forties``: 40 cameras a group (the first benchmark's). ``--shape pairs``: groups
of one and two cameras in turn (1.5 a group, as ``bench_overhead.py``'s load), so the
Groups sheet has as many rows as the Cameras sheet nearly. ``--ahead``: the Cameras
sheet's inventory columns are rendered before the clock starts, as a run renders them
while it sends (``render_ahead``): what is left is what the end of a run does.
``--segments`` (with ``--ahead``): the Cameras and Groups sheets' segments are made before
the clock starts too, as a run makes them while its batches settle (``run.ahead``); with
``--before``, the earlier code is measured with ``--ahead`` alone (today's end).

Each measurement is a process of its own (``--once``). ``--before DIR``: a copy of an
earlier commit's ``loader`` package (``git archive COMMIT loader | tar -x -C DIR``),
measured the same way with this environment, alternating with the current code, so
before and after share one run; the medians of ``--runs`` are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MAPPING = """
name = "bench"
[cameras.columns]
video_source_id = { column = "Camera", required = true }
group = { column = "Group", required = true }
camera_name = "Name"
target_roi = "ROI"
[task]
service_name = "c-smoke-and-fire-cloud"
service_version = "3.0"
event_center = true
"""
FIGURES = ("build", "write", "total", "write cpu", "total cpu", "file", "peak")


def inventory(folder: Path, cameras: int, shape: str) -> Path:
    """The bench's CSV inventory and its mapping in ``folder``; the sheet's path."""

    def per_group(n: int) -> int:
        """The group of camera ``n``: forty a group, else groups of one and two in turn."""
        return n // 40 if shape == "forties" else (n // 3) * 2 + n % 3 // 2

    rows = [
        f'cam-{n:07d},grp-{per_group(n):06d},Camera {n},"{n % 500},{n % 300};600,40;300,500"'
        for n in range(cameras)
    ]
    sheet = folder / "cameras.csv"
    sheet.write_text("Camera,Group,Name,ROI\n" + "\n".join(rows) + "\n", encoding="utf-8")
    (folder / "bench.toml").write_text(MAPPING, encoding="utf-8")
    return sheet


def measure(sheet: Path, *, ahead: bool, segments: bool = False) -> dict[str, float]:
    """One end of a run over ``sheet``, in this process: seconds, file MB, peak MB."""
    import gc

    from loader.check.load import load
    from loader.planning.batches import plan
    from loader.planning.delta import partition
    from loader.report.results import build, camera_columns
    from loader.report.workbook import render_ahead, write_results
    from loader.state.events import BatchAccepted, BatchPlanned, Event, RunStarted
    from loader.state.outcomes import outcomes
    from loader.state.runstate import replay

    loaded = load(sheet, str(sheet.parent / "bench.toml"))
    delta = partition(loaded.checked.cameras, loaded.checked.settings_classes, {})
    planned = plan(delta.send, loaded.checked.settings_classes)
    events: list[Event] = [RunStarted()]
    for number, batch in enumerate(planned.batches):
        count = batch.camera_count
        events.append(BatchPlanned(batch=batch.name, cameras=count))
        events.append(
            BatchAccepted(batch=batch.name, batch_id=f"id-{number}", total=count, succeeded=count)
        )
    state = replay(events)
    static, rendered = None, None
    if ahead:
        made: dict[str, dict[str, list[str]]] = {}
        static = camera_columns(loaded)
        for _ in render_ahead("Cameras", static.named(), made):
            pass
        rendered = made
    result = outcomes(loaded, planned, delta, state)
    pieces = (
        segments_of(static, rendered, result, loaded) if segments and static and rendered else None
    )
    gc.collect()
    target = sheet.parent / f"results-{os.getpid()}.xlsx"
    started, cpu_started = time.perf_counter(), time.process_time()
    results = build(loaded, planned, state, result, [("Run", "bench")], static=static)
    built, cpu_built = time.perf_counter(), time.process_time()
    write_results(target, results, rendered, *([pieces] if pieces else []))
    written, cpu_written = time.perf_counter(), time.process_time()
    size = target.stat().st_size
    target.unlink()
    return {
        "build": built - started,
        "write": written - built,
        "total": written - started,
        "write cpu": cpu_written - cpu_built,
        "total cpu": cpu_written - cpu_started,
        "file": size / 1e6,
        "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def segments_of(static: Any, rendered: Any, result: Any, loaded: Any) -> Any:
    """Every segment of the Cameras and Groups sheets made as a run makes them once their
    batches settled: rendered from the outcomes, deflated (``run.ahead``)."""
    from loader.report.groups import groups_table
    from loader.report.results import cameras_frame
    from loader.report.segments import OUTCOME_COLUMNS, SheetSegments
    from loader.report.workbook import numeric_columns

    cameras, groups = cameras_frame(static, result), groups_table(loaded, result)
    made = {
        "Cameras": SheetSegments(len(cameras), numeric_columns(cameras), OUTCOME_COLUMNS),
        "Groups": SheetSegments(len(groups), numeric_columns(groups), tuple(groups.columns)),
    }
    _make_every_segment(made["Cameras"], cameras, rendered["Cameras"])
    _make_every_segment(made["Groups"], groups, {})
    return made


def _make_every_segment(made: Any, frame: Any, cells: Any) -> None:
    """Each segment of ``frame`` rendered and deflated into ``made``."""
    from loader.report.deflated import deflate_piece
    from loader.report.segments import Segment, bounds, rows_from

    for index in range(made.count()):
        start, stop = bounds(index, made.rows)
        rows = frame.iloc[start:stop]
        texts = [text.encode() for text in rows_from(rows, made.numeric, start, cells)]
        values = tuple(rows[name].to_numpy().copy() for name in made.compared)
        made.made[index] = Segment(deflate_piece(texts), values)


def run_once(
    sheet: Path, *, ahead: bool, code: Path | None, segments: bool = False
) -> dict[str, float]:
    """``measure`` in a fresh process, with ``loader`` from ``code`` if given."""
    environment = dict(os.environ)
    if code is not None:
        environment["PYTHONPATH"] = str(code)
    flags = [*(["--ahead"] if ahead else []), *(["--segments"] if segments else [])]
    command = [sys.executable, __file__, "--once", str(sheet), *flags]
    answer = subprocess.run(command, check=True, capture_output=True, text=True, env=environment)
    figures: dict[str, float] = json.loads(answer.stdout.strip().splitlines()[-1])
    return figures


def row(label: str, cameras: int, runs: list[dict[str, float]]) -> str:
    """A table row of the medians of ``runs``."""
    middle = {name: statistics.median(run[name] for run in runs) for name in FIGURES}
    spread = ", ".join(f"{run['total']:.2f}" for run in runs)
    return (
        f"| {label} | {cameras:,} | {middle['build']:.2f} s | {middle['write']:.2f} s"
        f" | {middle['total']:.2f} s ({spread})"
        f" | {middle['write cpu']:.2f} s, {middle['total cpu']:.2f} s | {middle['file']:.1f} MB"
        f" | {middle['peak']:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cameras", type=int, default=100_000)
    parser.add_argument("--shape", choices=("forties", "pairs"), default="forties")
    parser.add_argument("--ahead", action="store_true", help="inventory columns rendered ahead")
    parser.add_argument(
        "--segments", action="store_true", help="the Cameras and Groups sheets' segments made ahead"
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--before", type=Path, help="a copy of an earlier commit's loader/")
    parser.add_argument("--once", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once is not None:
        print(json.dumps(measure(args.once, ahead=args.ahead, segments=args.segments)))
        return
    with tempfile.TemporaryDirectory() as temporary:
        sheet = inventory(Path(temporary), args.cameras, args.shape)
        after: list[dict[str, float]] = []
        before: list[dict[str, float]] = []
        for _ in range(args.runs):
            if args.before is not None:
                before.append(run_once(sheet, ahead=args.ahead, code=args.before))
            after.append(run_once(sheet, ahead=args.ahead, code=None, segments=args.segments))
    print(
        f"{args.shape}, {'ahead' if args.ahead else 'at the end'}"
        f"{', segments ahead (after)' if args.segments else ''}, medians of {args.runs};"
        f" load average {os.getloadavg()[0]:.2f}"
    )
    print(
        "| code | cameras | build | write | total (each run) | CPU: write, total | file | peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    if before:
        print(row("before", args.cameras, before))
    print(row("after", args.cameras, after))


if __name__ == "__main__":
    main()
