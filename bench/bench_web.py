"""
Benchmark: the Check page of a sheet with 10,000 problems (not part of the tests).

    uv run python bench/bench_web.py                  # 10,000 problems, 40 loads per view
    uv run python bench/bench_web.py --problems 50000 --loads 20

A vms-flat CSV whose every row has a day of the week no one knows is uploaded to
``bulkload serve`` (uvicorn in a thread, on loopback); then the Check page is loaded over
HTTP with several views (the first page, sorted by value, filtered, the last page of 500)
and the server's time to the last byte is measured; with Chromium at /usr/bin/chromium,
also the browser's navigation to the load event. Target: under 300 ms per page load.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from loader.web.options import ServeOptions
from loader.web.server import serving

CHROMIUM = Path("/usr/bin/chromium")
VIEWS = {
    "first page (100 rows)": "",
    "sorted by value, descending": "?sort=value&order=desc",
    "errors whose text has 'day', page 40": "?severity=error&q=day&page=40",
    "last page of 500 rows": "?size=500&page=20",
}


def inventory(path: Path, problems: int) -> Path:
    """A CSV with ``problems`` rows, each rejected for its Detect Days."""
    lines = ["Device UUID,Channel Group ID,Analytics,Detect Days,Detect Hours"]
    lines += [
        f"cam-{n:06d},grp-{n // 50:05d},Helmet,Someday{n % 97},08:00-18:00" for n in range(problems)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def upload(client: httpx.Client, sheet: Path) -> str:
    """Upload as the page's script does; the sheet's URL."""
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)
    assert found is not None
    answer = client.post(
        "/upload",
        content=sheet.read_bytes(),
        headers={
            "x-file-name": sheet.name,
            "x-csrf-token": found.group(1),
            "origin": str(client.base_url).rstrip("/"),
        },
    )
    answer.raise_for_status()
    return str(answer.json()["location"])


def timed(client: httpx.Client, url: str, loads: int) -> list[float]:
    """Milliseconds to the last byte of each load (one warm-up first)."""
    client.get(url).raise_for_status()
    times = []
    for _ in range(loads):
        began = time.perf_counter()
        client.get(url).raise_for_status()
        times.append((time.perf_counter() - began) * 1000)
    return times


def browser(url: str, loads: int) -> list[float]:
    """Milliseconds from navigation start to the load event in headless Chromium."""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=args)
        page = chromium.new_page()
        page.goto(url)
        times = []
        for _ in range(loads):
            page.goto(url)
            times.append(
                page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            )
        chromium.close()
    return [float(t) for t in times]


def row(name: str, times: list[float]) -> str:
    """One table line: median, 95th percentile, worst."""
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"| {name} | {statistics.median(times):.1f} | {p95:.1f} | {ordered[-1]:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--problems", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        sheet = inventory(folder / "many-problems.csv", args.problems)
        options = ServeOptions(runs_dir=folder / "runs", max_upload_bytes=512 << 20)
        with serving(options) as url, httpx.Client(base_url=url, timeout=60) as client:
            began = time.perf_counter()
            location = upload(client, sheet)
            loading = time.perf_counter() - began
            check = f"{location}/check"
            count = re.search(r'id="count-error">([\d,]+)<', client.get(check).text)
            print(
                f"{args.problems:,} rows uploaded and checked in {loading:.2f} s;"
                f" errors shown: {count.group(1) if count else '?'}"
            )
            print("\n| Check page view (server, to the last byte) | median ms | p95 ms | max ms |")
            print("|---|---|---|---|")
            for name, query in VIEWS.items():
                print(row(name, timed(client, check + query, args.loads)), flush=True)
            if CHROMIUM.exists():
                print(
                    "\n| Check page in headless Chromium (to the load event) | median ms |"
                    " p95 ms | max ms |"
                )
                print("|---|---|---|---|")
                for name, query in list(VIEWS.items())[:2]:
                    print(row(name, browser(url.rstrip("/") + check + query, args.loads // 2)))


if __name__ == "__main__":
    main()
