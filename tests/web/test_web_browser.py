"""The page in a real browser: headless Chromium (Debian's, through Playwright) drives
``bulkload serve`` on loopback against the simulator with injected faults, as a person
would: load -> check -> plan -> send -> live progress -> results -> download.

Screenshots of every page go to the test's tmp dir; ``UPDATE_DOCS=1`` also writes
docs/check-page.png (the Check page of the legacy sample) for the README.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from loader.cli import app as cli_app
from loader.run.options import environment
from loader.sim import SimConfig, running_simulator
from loader.web.options import serve_options
from loader.web.server import serving
from tests.conftest import ROOT, SAMPLES

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
# Faults a run settles at once: created then 500 (found by the first lookup), throttled.
# (An answer lost before commit is looked up for --timeout, 30 s, before it is resent.)
FAULTS = ["5xx-after", "429", "none", "429"]
LEGACY = SAMPLES / "legacy_vms_export.xlsx"
ROLLOUT = SAMPLES / "site_rollout.xlsx"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (never a downloaded browser); skipped, saying
    why, where it is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - a dev dependency
        pytest.skip(f"playwright is not installed: {exc}")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_on(chromium: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``bulkload serve`` (options from the environment, as the CLI builds them) against a
    simulator with injected faults; a browser page at its URL."""
    config = SimConfig(fault_sequence=FAULTS, latency=0.3, seed=5)
    with running_simulator(config) as sim:
        monkeypatch.setenv("BULKLOAD_ENDPOINT", sim.url)
        monkeypatch.setenv("BULKLOAD_PROJECT_ID", config.project_id)
        monkeypatch.setenv("BULKLOAD_AUTH_TOKEN", "sim-token")
        options = serve_options(
            host="127.0.0.1",
            port=0,
            runs_dir=tmp_path / "runs",
            max_upload_mb=64,
            environment=environment(),
        )
        with serving(options) as url:
            context = chromium.new_context(
                base_url=url, viewport={"width": 1366, "height": 860}, accept_downloads=True
            )
            page = context.new_page()
            page.goto("/")
            page.sim = sim  # what the simulator holds, for the counts of tasks
            yield page
            context.close()


def shot(page: Any, folder: Path, name: str) -> Path:
    """A full-page screenshot kept as a test artifact."""
    path = folder / "screenshots" / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def load(page: Any, sheet: Path) -> None:
    """Choose a file on the Load page; wait for its page."""
    page.goto("/")
    page.set_input_files("#sheet-file", str(sheet))
    page.wait_for_url("**/sheets/*")


def watch(page: Any) -> dict[str, str]:
    """The live progress until the run's feed ended (before the page reloads), as shown."""
    page.wait_for_selector('#progress[data-live="ended"]', timeout=90_000)
    fields = ("state", "done", "batches", "sent", "accepted", "retried", "in_doubt", "rate")
    shown = {f: page.inner_text(f'#progress [data-field="{f}"]') for f in fields}
    page.wait_for_selector("#results", timeout=30_000)
    return shown


def statuses_shown(page: Any) -> dict[str, int]:
    """The Results table: status -> count, as the page shows them (zeros left out)."""
    cells = page.query_selector_all("#statuses td[data-status]")
    found = {c.get_attribute("data-status"): int(c.inner_text()) for c in cells}
    return {k: v for k, v in found.items() if v}


def workbook_statuses(path: Path) -> Counter[str]:
    """The Status column of a results workbook's Cameras sheet, counted."""
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book["Cameras"].iter_rows(values_only=True))
    column = rows[0].index("Status")
    return Counter(str(row[column]) for row in rows[1:])


def download_results(page: Any, folder: Path) -> Path:
    """Click results.xlsx on the Results page; the saved file."""
    with page.expect_download() as download:
        page.click('#results a:has-text("results.xlsx")')
    target = folder / "downloaded-results.xlsx"
    download.value.save_as(str(target))
    return target


def cli_statuses(sheet: Path, folder: Path) -> Counter[str]:
    """What ``bulkload run`` writes for the same sheet against the same faults.

    In a thread of its own: Playwright's sync API keeps an event loop in this one.
    """
    config = SimConfig(fault_sequence=FAULTS, latency=0.3, seed=5)
    run_dir = folder / "cli" / "run"
    outcome: list[Any] = []
    with running_simulator(config) as sim:
        env = {
            "BULKLOAD_ENDPOINT": sim.url,
            "BULKLOAD_PROJECT_ID": config.project_id,
            "BULKLOAD_AUTH_TOKEN": "sim-token",
        }
        args = ["run", str(sheet), "--run-dir", str(run_dir)]
        worker = threading.Thread(
            target=lambda: outcome.append(CliRunner().invoke(cli_app, args, env=env))
        )
        worker.start()
        worker.join(120)
    assert outcome[0].exit_code in (0, 1), outcome[0].stderr
    return workbook_statuses(run_dir / "results.xlsx")


def test_legacy_sheet_load_check_send_results(page_on: Any, tmp_path: Path) -> None:
    """The legacy export: its problems by Excel row, filtered; the valid rows sent through
    faults; progress to the end; the statuses the CLI's workbook has, shown and downloaded."""
    page = page_on
    shot(page, tmp_path, "1-load")
    load(page, LEGACY)
    assert page.inner_text("#mapping") == "vms-flat"
    shot(page, tmp_path, "2-sheet")

    page.click('a:has-text("2 Check")')
    counts = {
        k: page.inner_text(f"#count-{k}")
        for k in ("total", "valid", "rejected", "duplicate", "error")
    }
    funday = page.locator('#problems tr[data-row="129"]')
    assert counts == {
        "total": "128",
        "valid": "120",
        "rejected": "7",
        "duplicate": "1",
        "error": "7",
    }
    assert funday.locator("td").all_inner_texts() == [
        "error",
        "Camera Export",
        "129",
        "Detect Days",
        "Funday",
        "'Funday' is not a day of the week",
        "write days as Mon-Fri, Mon,Wed,Fri, 1-5, 周一至周五, weekdays, weekends or daily",
    ]
    check = shot(page, tmp_path, "3-check")
    if os.environ.get("UPDATE_DOCS") == "1":
        page.screenshot(path=str(ROOT / "docs" / "check-page.png"))
    page.fill('input[name="row"]', "129-131")
    page.click('button:has-text("Filter")')
    rows = page.locator("#problems tbody tr").evaluate_all("rows => rows.map(r => r.dataset.row)")
    assert rows == ["129", "130", "131"]
    page.select_option('select[name="severity"]', "warning")  # submits on change
    page.wait_for_url("**severity=warning**")
    assert page.locator("#problems tbody tr").count() == 0  # row 133 is outside 129-131

    page.click('a:has-text("3 Plan")')
    assert page.inner_text("#plan-line").startswith("3 batches (minimum 3) for 120 cameras")
    shot(page, tmp_path, "4-plan")

    page.click('a:has-text("4 Send")')
    page.click("#send-button")
    live = watch(page)
    shot(page, tmp_path, "5-results")
    expected = cli_statuses(LEGACY, tmp_path)
    downloaded = workbook_statuses(download_results(page, tmp_path))

    assert (live["state"], live["done"], live["batches"], live["accepted"]) == (
        "finished (loading the results…)",
        "3",
        "3",
        "3",
    )
    assert (live["retried"], live["in_doubt"]) == ("2", "1")  # two 429s, one lost answer
    assert (
        statuses_shown(page)
        == dict(downloaded)
        == dict(expected)
        == {
            "loaded": 120,
            "rejected": 7,
            "duplicate": 1,
        }
    )
    assert page.inner_text("#exit-code") == "1"
    assert check.stat().st_size > 10_000


def test_rollout_sheet_stop_then_resume(page_on: Any, tmp_path: Path) -> None:
    """site_rollout.xlsx one request at a time: Stop acts as Ctrl-C (exit 3, Resume shown);
    Resume finishes it; every camera loaded, none twice."""
    page = page_on
    load(page, ROLLOUT)
    page.click('a:has-text("2 Check")')
    assert (page.inner_text("#count-total"), page.inner_text("#count-error")) == ("637", "0")
    page.click('a:has-text("4 Send")')
    page.fill('input[name="concurrency"]', "1")
    page.click("#send-button")
    page.wait_for_selector("#stop-button")
    shot(page, tmp_path, "6-running")
    page.click("#stop-button")
    page.wait_for_selector("#resume-button", timeout=60_000)
    stopped = page.inner_text("#exit-code")
    shot(page, tmp_path, "7-stopped")

    page.click("#resume-button")
    resumed = watch(page)
    shot(page, tmp_path, "8-resumed")
    shown = statuses_shown(page)
    finished = page.inner_text("#exit-code")
    downloaded = workbook_statuses(download_results(page, tmp_path))
    page.click('a:has-text("5 Results")')
    history = page.inner_text("#runs")

    assert (stopped, finished) == ("3", "0")
    assert (resumed["state"], resumed["done"], resumed["batches"]) == (
        "finished (loading the results…)",
        "3",
        "3",
    )
    assert shown == dict(downloaded) == {"loaded": 637}
    assert Counter(page.sim.state.task_counts().values()) == {1: 637}  # none twice
    assert "exit 0: every row loaded" in history


def test_a_second_browser_without_the_token_gets_nothing(
    chromium: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With BULKLOAD_UI_TOKEN, the printed URL opens the page (the token leaves the address
    bar for a cookie); another browser with the bare address gets 401 and nothing else."""
    monkeypatch.setenv("BULKLOAD_UI_TOKEN", "ui-token-0123456789abcdef")
    options = serve_options(
        host="127.0.0.1", port=0, runs_dir=tmp_path, max_upload_mb=1, environment=environment()
    )
    with serving(options) as url:
        owner = chromium.new_context()
        page = owner.new_page()
        page.goto(url)
        owner_sees = (page.url, page.inner_text("h1"))
        stranger = chromium.new_context()
        answer = stranger.new_page().goto(url.split("?")[0] + "runs")
        stranger_sees = (answer.status, answer.text())
        owner.close()
        stranger.close()

    assert owner_sees == (url.split("?")[0], "Load a camera inventory")
    assert stranger_sees == (401, "unauthorized")


def test_every_bundled_sample_loads_through_the_page(page_on: Any, tmp_path: Path) -> None:
    """The two-sheet legacy layout and the NVR CSV (whose id map is added beside it on the
    sheet's page) load with their mappings and no rejected row."""
    page = page_on
    load(page, SAMPLES / "legacy_two_sheet.xlsx")
    two_sheets = (page.inner_text("#mapping"), page.inner_text("#count-rejected"))
    load(page, SAMPLES / "nvr_export.csv")
    missing = page.inner_text(".problem")
    page.set_input_files("#beside-file", str(SAMPLES / "nvr_id_map.csv"))
    page.wait_for_selector("#mapping")
    shot(page, tmp_path, "9-nvr")

    assert two_sheets == ("legacy-two-sheet", "0")
    assert missing.startswith("nvr_id_map.csv does not exist or is not a file")
    assert (page.inner_text("#mapping"), page.inner_text("#count-valid")) == ("nvr-csv", "60")
