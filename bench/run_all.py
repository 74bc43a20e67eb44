"""
Every benchmark, one command (not part of the tests):

    uv run python bench/run_all.py

Runs bench_plan.py (read + validate + plan at 10k / 200k / 1M cameras; xlsx with calamine
and openpyxl; CSV), bench_submit.py (throughput against the simulator at several rates and
latencies, beside a sequential loader) and bench_results.py (results.xlsx at 100k rows),
and writes their Markdown tables to bench/out/latest.md as well as to the screen.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = [
    [
        "bench_plan.py",
        "--xlsx",
        "10000",
        "200000",
        "--csv",
        "10000",
        "200000",
        "1000000",
        "--engines",
        "calamine",
        "openpyxl",
    ],
    ["bench_submit.py", "--rate", "10", "20", "50", "--latency", "0.05", "0.2", "--batches", "400"],
    ["bench_results.py", "--cameras", "10000"],
    ["bench_results.py", "--cameras", "100000"],
]


def main() -> None:
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    lines = [
        f"# bulkload benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}",
        "",
    ]
    for command in RUNS:
        lines.append(f"## {' '.join(command)}")
        print(lines[-1], flush=True)
        result = subprocess.run(
            [sys.executable, str(HERE / command[0]), *command[1:]],
            capture_output=True,
            text=True,
            check=True,
        )
        print(result.stdout, flush=True)
        lines += [result.stdout, ""]
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "latest.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
