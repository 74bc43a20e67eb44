"""
Benchmark: read + map + validate + plan on large inventories (not part of the tests).

    uv run python bench/bench_plan.py            # 200k-camera xlsx, 1M-camera CSV
    uv run python bench/bench_plan.py --sizes 10000 200000 --engines calamine openpyxl

Inputs are generated once under bench/out/ (deterministic). Each measurement runs in a
fresh process so that its peak memory (ru_maxrss) is its own; wall time covers reading the
file through to the finished plan (payload bodies built), as `bulkload plan` does.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "sample_sheets"))


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


def measure(path: Path, engine: str) -> dict[str, float]:
    """In this process: load + plan ``path``; wall seconds and peak resident MB."""
    from loader.check.load import load
    from loader.planning.batches import plan
    from loader.read.guard import MB, Limits

    started = time.perf_counter()
    loaded = load(path, engine=engine, limits=Limits(max_bytes=1024 * MB))  # type: ignore[arg-type]
    checked = loaded.checked
    planned = plan(checked.cameras, checked.settings_classes)
    bodies = sum(len(b.content()) for b in planned.batches)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_mb),
        "rows": len(checked.rows),
        "valid": len(checked.cameras),
        "batches": len(planned.batches),
        "body_mb": round(bodies / 1e6, 1),
    }


def run_case(path: Path, engine: str) -> dict[str, float]:
    """``measure`` in a fresh interpreter."""
    output = subprocess.run(
        [sys.executable, __file__, "--measure", str(path), "--engine", engine],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output)  # type: ignore[no-any-return]


def main() -> None:
    """Generate inputs, measure each case, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--measure", type=Path)
    parser.add_argument("--engine", default="calamine")
    parser.add_argument("--xlsx", type=int, nargs="*", default=[200_000])
    parser.add_argument("--csv", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--engines", nargs="*", default=["calamine"])
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.engine)))
        return
    print(
        f"machine: {platform.machine()}, {platform.python_version()}, "
        f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores"
    )
    print("| input | engine | rows | batches | seconds | peak MB |")
    print("|---|---|---|---|---|---|")
    cases = [(make_xlsx(n), e) for n in args.xlsx for e in args.engines]
    cases += [(make_csv(n), "csv") for n in args.csv]
    for path, engine in cases:
        result = run_case(path, "calamine" if engine == "csv" else engine)
        print(
            f"| {path.name} | {engine} | {result['rows']:,} | {result['batches']:,} |"
            f" {result['seconds']} | {result['peak_mb']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
