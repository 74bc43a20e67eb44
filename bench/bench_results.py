"""
Benchmark: building and writing results.xlsx for a large run (not part of the tests).

    uv run python bench/bench_results.py              # 100,000 cameras

The run is made without the network: a 100,000-camera CSV is loaded and planned, every
batch is folded as accepted, then the results are projected and written; the time
covers projection and writing, as at the end of a run.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import openpyxl

from loader.check.load import load
from loader.planning.batches import plan
from loader.planning.delta import partition
from loader.report.results import build
from loader.report.workbook import write_results
from loader.state.events import BatchAccepted, BatchPlanned, Event, RunStarted
from loader.state.outcomes import outcomes
from loader.state.runstate import replay

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cameras", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        sheet = folder / "cameras.csv"
        rows = [
            f'cam-{n:07d},grp-{n // 40:05d},Camera {n},"{n % 500},{n % 300};600,40;300,500"'
            for n in range(args.cameras)
        ]
        sheet.write_text("Camera,Group,Name,ROI\n" + "\n".join(rows) + "\n")
        (folder / "bench.toml").write_text(MAPPING)
        loaded = load(sheet, str(folder / "bench.toml"))
        delta = partition(loaded.checked.cameras, loaded.checked.settings_classes, {})
        planned = plan(delta.send, loaded.checked.settings_classes)
        events: list[Event] = [RunStarted()]
        for number, batch in enumerate(planned.batches):
            count = batch.camera_count
            events.append(BatchPlanned(batch=batch.name, cameras=count))
            events.append(
                BatchAccepted(
                    batch=batch.name, batch_id=f"id-{number}", total=count, succeeded=count
                )
            )
        state = replay(events)
        started = time.perf_counter()
        results = build(
            loaded, planned, state, outcomes(loaded, planned, delta, state), [("Run", "bench")]
        )
        built = time.perf_counter()
        write_results(folder / "results.xlsx", results)
        written = time.perf_counter()
        size = (folder / "results.xlsx").stat().st_size
        book = openpyxl.load_workbook(folder / "results.xlsx", read_only=True)
        count = book["Cameras"].max_row - 1
        book.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| cameras | build | write | total | file | peak MB |\n|---|---|---|---|---|---|")
    print(
        f"| {count:,} | {built - started:.1f} s | {written - built:.1f} s"
        f" | {written - started:.1f} s | {size / 1e6:.1f} MB | {peak:.0f} |"
    )


if __name__ == "__main__":
    main()
