"""The page in a real browser: headless Chromium (Debian's, through Playwright) drives
``bulkload serve`` on loopback against the simulator, as a rollout lead who lives in
Excel would: load -> land on the problems -> load the fixed version -> plan (in the
sheet's words) -> confirm what a replace deletes -> send -> Stop -> resume -> check the
tasks -> the failed cameras by Excel row.

Screenshots of every page go to the test's tmp dir; ``UPDATE_DOCS=1`` also writes the
README's screenshots to docs/ (Load, Check, Plan with a replace, Send while stopping,
Results with failed cameras).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
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
DOCS = ROOT / "docs"
# Two cameras of the legacy export whose tasks never start (Excel rows 7 and 48).
ROW_7 = "986e86cb-0ab8-4b67-a26b-7f62b1852f27"
ROW_48 = "a2f7647a-952e-4b8b-b56f-8bd11711eb57"
CALM = {"fault_sequence": [], "start_fail_percent": 0, "running_after": 0.4, "latency": 0.1}
RUN_ID = re.compile(r"\d{8}T\d{6}Z")
# Font families that draw Chinese (Debian's fonts-noto-cjk first; others a machine may have).
CJK_FAMILIES = ("Noto Sans CJK", "Noto Serif CJK", "WenQuanYi", "Source Han", "Droid Sans Fallback")
# Every value the live rate tile shows, kept by the page's window until it reloads.
RATES = """
document.addEventListener("DOMContentLoaded", () => {
  const tile = document.querySelector('#progress [data-field="rate"]');
  if (!tile) return;
  window.shownRates = [tile.textContent];
  new MutationObserver(() => window.shownRates.push(tile.textContent))
    .observe(tile, {childList: true, characterData: true, subtree: true});
});
"""
EVENT_NAMES = ("BatchSending", "BatchAccepted", "TasksObserved", "RunFinished", "RunStarted")


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
def sim_config(request: pytest.FixtureRequest) -> SimConfig:
    """The simulator's behaviour: injected faults, or (parametrized) what a test needs."""
    fields = getattr(request, "param", None) or {"fault_sequence": FAULTS, "latency": 0.3}
    return SimConfig(seed=5, **fields)


@pytest.fixture
def page_on(
    chromium: Any, sim_config: SimConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """``bulkload serve`` (options from the environment, as the CLI builds them) against a
    simulator; a browser page at its URL."""
    with running_simulator(sim_config) as sim:
        monkeypatch.setenv("BULKLOAD_ENDPOINT", sim.url)
        monkeypatch.setenv("BULKLOAD_PROJECT_ID", sim_config.project_id)
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
            context.add_init_script(RATES)
            page = context.new_page()
            page.goto("/")
            page.sim = sim  # what the simulator holds, for the counts of tasks
            yield page
            context.close()


def shot(page: Any, folder: Path, name: str, docs: str = "", *, full: bool = False) -> Path:
    """A full-page screenshot kept as a test artifact; with UPDATE_DOCS=1 and ``docs``,
    also docs/<docs>.png (the viewport, or the whole page with ``full``)."""
    path = folder / "screenshots" / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("UPDATE_DOCS") == "1":
        page.screenshot(path=str(DOCS / f"{docs}.png"), full_page=full)
    return path


def load(page: Any, sheet: Path) -> None:
    """Choose a file on the Load page; wait for the page it lands on."""
    page.goto("/")
    page.set_input_files("#sheet-file", str(sheet))
    page.wait_for_url("**/sheets/**")


def new_version(page: Any, sheet: Path) -> str:
    """Load a new version with the control every sheet page has; the page it lands on."""
    before = page.url
    page.set_input_files("#version-file", str(sheet))
    page.wait_for_url(lambda url: "/sheets/" in url and url.split("/")[4] != before.split("/")[4])
    return str(page.url)


def sheet_id(url: str) -> str:
    """The upload id in a sheet page's URL."""
    return url.split("/sheets/")[1].split("/")[0].split("?")[0]


def send(page: Any, **fields: str) -> None:
    """The Send page's form with some fields changed, sent."""
    page.click('a:has-text("4 Send")')
    for name, value in fields.items():
        page.fill(f'input[name="{name}"]', value)
    page.click("#send-button")
    page.wait_for_url("**/runs/*")


def watch(page: Any) -> dict[str, Any]:
    """The live progress until the run's feed ended (before the page reloads), as shown,
    and every value the rate tile showed meanwhile (``RATES``)."""
    page.wait_for_selector('#progress[data-live="ended"]', timeout=90_000)
    fields = ("headline", "done", "batches", "retried", "in_doubt", "rate")
    shown: dict[str, Any] = {f: page.inner_text(f'#progress [data-field="{f}"]') for f in fields}
    shown["rates"] = page.evaluate("window.shownRates || []")
    page.wait_for_selector("#results", timeout=30_000)
    return shown


def headline(page: Any) -> str:
    """Where the run stands, as the page says it."""
    return str(page.inner_text("#headline"))


def statuses_shown(page: Any) -> dict[str, int]:
    """The Results table: status -> count, as the page shows them (zeros left out)."""
    cells = page.query_selector_all("#statuses td[data-status]")
    found = {c.get_attribute("data-status"): int(c.inner_text().replace(",", "")) for c in cells}
    return {k: v for k, v in found.items() if v}


def main_text(page: Any) -> str:
    """What the page says outside its "technical" folds."""
    return str(
        page.evaluate(
            """() => {
              const main = document.querySelector("main").cloneNode(true);
              main.querySelectorAll("details.technical").forEach((d) => d.remove());
              return main.innerText;
            }"""
        )
    )


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


def edited(sheet: Path, folder: Path, cells: dict[str, Any]) -> Path:
    """A copy of ``sheet`` under the same name in ``folder``, with cells (``C128``) set:
    the same file, fixed or changed in Excel."""
    book = openpyxl.load_workbook(sheet)
    table = book.worksheets[0]
    for address, value in cells.items():
        table[address] = value
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / sheet.name
    book.save(target)
    return target


def fixed_legacy(folder: Path) -> Path:
    """The legacy export with its seven errors and its duplicate fixed."""
    return edited(
        LEGACY,
        folder,
        {
            "C128": "c0ffee00-0000-4000-8000-000000000128",
            "C129": "e3eff9c0-cf44-4d3f-89e7-d15f17362f25",
            "F129": "Mon-Fri",
            "G130": "08:00-18:00",
            "H131": None,
            "E132": "Helmet",
            "C133": "c0ffee00-0000-4000-8000-000000000133",
            "C134": "abcd-0001",
            "D135": "db5b5fab8f4d4e279da1494c73cf256d",
        },
    )


def platform_fonts(page: Any, selector: str) -> dict[str, int]:
    """The fonts Chromium drew an element's text with (family -> glyphs), from DevTools:
    a missing CJK font shows as glyphs of no CJK family (boxes)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return {f["familyName"]: int(f["glyphCount"]) for f in fonts}


def drawn_as_chinese(fonts: dict[str, int]) -> bool:
    """Whether some of the glyphs came from a font that has Chinese (not boxes)."""
    return any(n for family, n in fonts.items() if family.startswith(CJK_FAMILIES))


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


# --- 1. the upload lands on the problems --------------------------------------------------


def test_an_upload_lands_on_its_problems(page_on: Any, tmp_path: Path) -> None:
    """The legacy export (7 errors): the upload opens its Check page, errors first, the
    counts on top; rows 128 and 134 (a Device UUID missing, one with a space) are on the
    screen without a click or a scroll, each said with the sheet's column name."""
    page = page_on
    shot(page, tmp_path, "1-load")
    load(page, LEGACY)
    landed = page.url
    rows = page.locator("#problems tbody tr").evaluate_all(
        "rows => rows.slice(0, 8).map(r => r.dataset.row)"
    )
    on_screen = {
        row: page.locator(f'#problems tr[data-row="{row}"]').evaluate(
            "r => r.getBoundingClientRect().bottom <= window.innerHeight"
        )
        for row in ("128", "134")
    }
    counts_above = page.locator("#count-error").evaluate(
        "tile => tile.getBoundingClientRect().bottom"
        " < document.querySelector('#problems').getBoundingClientRect().top"
    )
    row_128 = page.locator('#problems tr[data-row="128"]').locator("td").all_inner_texts()
    shot(page, tmp_path, "2-check", "check-page")

    assert landed.endswith("/check"), landed
    assert rows == ["128", "129", "130", "131", "132", "134", "135", "133"]
    assert on_screen == {"128": True, "134": True}
    assert counts_above
    assert (page.inner_text("#count-error"), page.inner_text("#count-rejected")) == ("7", "7")
    assert row_128[2:6] == ["128", "Device UUID", "", "Device UUID is empty"]
    assert "video_source_id" not in main_text(page)


# --- 2. the fixed version loads from the sheet's pages ------------------------------------


def test_a_fixed_version_loads_from_the_sheet_page(page_on: Any, tmp_path: Path) -> None:
    """Fixed in Excel, the sheet loads again from its own page ("Load a new version"):
    a new upload, read with the same mapping, nothing rejected. "Loaded before" tells the
    two apart (counts, the newest version, local time), and the superseded one can be
    removed; one a run sent cannot."""
    page = page_on
    load(page, LEGACY)
    first = sheet_id(page.url)
    page.click('a:has-text("1 Load")')  # the sheet's own summary page
    on_summary = page.url
    landed = new_version(page, fixed_legacy(tmp_path / "fixed"))
    fixed = (page.inner_text("#count-rejected"), page.inner_text("#mapping"))
    page.goto("/")
    history = page.locator("#history tbody tr")
    lines = history.all_inner_texts()
    shot(page, tmp_path, "3-loaded-before", "load-page")
    page.locator(f'#history tr[data-upload="{first}"] button:has-text("remove")').click()
    page.wait_for_url("**/")
    after = page.locator("#history tbody tr").all_inner_texts()

    assert on_summary.endswith(f"/sheets/{first}")
    assert (sheet_id(landed) != first, landed.endswith("/check")) == (True, False)
    assert fixed == ("0", "vms-flat")
    assert len(lines) == 2
    assert "128 rows: 128 valid" in lines[0]
    assert "newest (version 2 of 2)" in lines[0]
    assert "7 rejected" in lines[1]
    assert "older (version 1 of 2)" in lines[1]
    assert "7 errors, 1 warning" in lines[1]
    assert not any(RUN_ID.search(line) or "UTC" in line or "+00:00" in line for line in lines)
    assert len(after) == 1
    assert "only version" in after[0]


# --- 3. failed starts are named by row after "check the tasks now" -------------------------


@pytest.mark.parametrize(
    "sim_config",
    [{**CALM, "running_after": 0.0, "always_fail_sources": frozenset({ROW_7, ROW_48})}],
    indirect=True,
    ids=["two-never-start"],
)
def test_failed_starts_appear_by_row_after_checking_the_tasks(page_on: Any, tmp_path: Path) -> None:
    """Two tasks never start (START_FAILED). The run says every camera loaded (the API
    said so when it created them); "Check the tasks now" asks it, with progress, and the
    Results then name both cameras by Excel row, with the reason in words and the
    request id; the list filters like the Check page, and the Plan lists them as failed
    earlier. Their Chinese names are drawn with a CJK font, not boxes."""
    page = page_on
    load(page, LEGACY)
    sheet = page.url.rsplit("/", 1)[0]
    send(page)
    watch(page)
    before = headline(page)
    no_list = page.locator("#cameras").count()
    page.click("#check-button")
    page.wait_for_selector("#progress[data-events]")
    checking = page.locator("#progress").get_attribute("data-state")
    page.wait_for_selector('#progress[data-live="ended"]', timeout=60_000)
    page.wait_for_selector("#cameras", timeout=30_000)
    after = headline(page)
    shot(page, tmp_path, "4-results-failed", "results-failed", full=True)
    cells = {
        row: page.locator(f'#cameras tr[data-row="{row}"] td').all_inner_texts()
        for row in ("7", "48")
    }
    fonts = platform_fonts(page, '#cameras tr[data-row="7"] td:nth-child(4) b')
    page.fill('#filters input[name="row"]', "40-50")
    page.click('#filters button:has-text("Filter")')
    filtered = page.locator("#cameras tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.row)"
    )
    page.goto(f"{sheet}/plan")
    held = page.locator('table.held[data-kind="failed"] tbody tr').evaluate_all(
        "rows => rows.map(r => r.dataset.row)"
    )

    assert before.startswith("done: 120 of 120 cameras loaded")
    assert no_list == 0
    assert checking == "checking"
    assert after.startswith("done: 118 of 120 cameras loaded, 2 failed")
    for row, name in (("7", "深圳-002"), ("48", "深圳-043")):
        status, where, number, camera, _, why, request_id = cells[row]
        assert (status, where, number) == ("failed", "Camera Export", row)
        assert camera.splitlines()[0] == name
        assert why == "its task failed to start (START_FAILED)"
        assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
    assert drawn_as_chinese(fonts), fonts
    assert filtered == ["48"]
    assert held == ["7", "48"]


# --- 4. a replace asks first, naming what it deletes ---------------------------------------


@pytest.mark.parametrize("sim_config", [CALM], indirect=True, ids=["calm"])
def test_a_replace_asks_first_and_names_its_cameras(page_on: Any, tmp_path: Path) -> None:
    """The legacy export loaded; a new version moves two cameras to another algorithm
    and draws a zone for a third. The Plan says it in the sheet's columns (Analytics:
    Intrusion -> Helmet, Zone Points: (none) -> 4 points); Send first lists the two old
    tasks that will be deleted (camera, group, algorithm, since when) and sends nothing;
    confirmed, it replaces exactly those."""
    page = page_on
    load(page, LEGACY)
    first = page.url.rsplit("/", 1)[0]
    send(page)
    watch(page)
    tasks_before = sum(page.sim.state.task_counts().values())
    page.goto(first)
    changed = edited(
        LEGACY,
        tmp_path / "v2",
        {"E7": "Helmet", "E48": "Intrusion", "H18": "10,10;200,10;200,200;10,200"},
    )
    new_version(page, changed)
    page.click('a:has-text("3 Plan")')
    plan_text = main_text(page)
    replaced = page.locator('table.changes[data-kind="replace"] tbody tr').all_inner_texts()
    updated = page.locator('table.changes[data-kind="update"] tbody tr').all_inner_texts()
    shot(page, tmp_path, "5-plan-replace", "plan-replace", full=True)
    page.click('a:has-text("4 Send")')
    shot(page, tmp_path, "5-send")
    page.click("#send-button")
    page.wait_for_selector("#going")
    question = page.inner_text("#confirm-question")
    going = page.locator("#going tbody tr").all_inner_texts()
    sent_meanwhile = sum(page.sim.state.task_counts().values())
    shot(page, tmp_path, "6-confirm")
    page.click("#confirm-button")
    page.wait_for_url("**/runs/*")
    watch(page)
    shown = statuses_shown(page)

    assert not re.search(r"config\.common|service_name|target_roi", plan_text)
    assert len(replaced) == 2
    assert "Analytics: Intrusion → Helmet" in replaced[0]
    assert "Analytics: Smoke/Fire → Intrusion" in replaced[1]
    assert len(updated) == 1
    assert "Zone Points: (none) → 4 points" in updated[0]
    assert question.startswith("This run would delete 2 tasks")
    assert len(going) == 2
    assert "深圳-002" in going[0]
    assert "73ab4876773447c187fde805ec99108d" in going[0]
    assert "c-intrusion-detection-cloud" in going[0]
    assert "深圳-043" in going[1]
    assert "c-smoke-and-fire-cloud" in going[1]
    assert all(re.search(r"\d{4}, \d\d:\d\d", line) for line in going)  # since when
    assert sent_meanwhile == tasks_before == 120
    assert (shown["replaced"], shown["updated"]) == (2, 1)
    assert sum(page.sim.state.task_counts().values()) == 120  # two new, two old deleted


# --- 5. Stop says "stopping" at once, then what is left ------------------------------------


def test_stop_reads_stopping_at_once_then_what_is_left(page_on: Any, tmp_path: Path) -> None:
    """site_rollout.xlsx one request at a time: Stop reads "stopping: N requests in
    flight" within a second; the stopped run says how many cameras loaded and how many
    were not sent (not "unknown"), and Resume sends them, none twice."""
    page = page_on
    load(page, ROLLOUT)
    send(page, concurrency="1", rate="0.4")
    page.wait_for_selector("#stop-button")
    page.wait_for_function(
        "() => Number(document.querySelector('[data-field=\"done\"]').textContent) >= 1",
        timeout=30_000,
    )
    page.click("#stop-button")
    page.wait_for_function(  # the bar: "stopping" within a second of the click
        "() => document.querySelector('#headline').innerText.startsWith('stopping')",
        timeout=1_000,
    )
    page.wait_for_load_state()
    stopping = headline(page)
    shot(page, tmp_path, "7-stopping", "send-stopping")
    page.wait_for_selector("#resume-button", timeout=60_000)
    stopped = headline(page)
    shown = statuses_shown(page)
    shot(page, tmp_path, "8-stopped")
    page.click("#list-not-sent")
    reasons = set(page.locator("#cameras tbody tr td:nth-child(6)").all_inner_texts())
    listed = page.inner_text(".pager")
    page.click("#resume-button")
    watch(page)
    resumed = headline(page)
    finished = statuses_shown(page)
    downloaded = workbook_statuses(download_results(page, tmp_path))
    page.click('a:has-text("5 Results")')
    history = page.inner_text("#runs")
    shot(page, tmp_path, "9-runs")

    assert re.fullmatch(
        r"stopping: (1 request in flight finishes|\d+ requests in flight finish) first,"
        r" nothing new is sent",
        stopping,
    ), stopping
    found = re.fullmatch(
        r"stopped by you: ([\d,]+) of 637 cameras loaded, ([\d,]+) not sent yet: Resume sends them",
        stopped,
    )
    assert found, stopped
    loaded, not_sent = (int(n.replace(",", "")) for n in found.groups())
    assert (loaded + not_sent, not_sent > 0) == (637, True)
    assert shown == {"loaded": loaded, "not sent": not_sent}
    assert reasons == {"not sent yet: Resume sends it"}
    assert f"of {not_sent:,} matching" in listed
    assert resumed.startswith("done: 637 of 637 cameras loaded")
    assert finished == dict(downloaded) == {"loaded": 637}
    assert Counter(page.sim.state.task_counts().values()) == {1: 637}  # none twice
    assert "done: 637 of 637 cameras loaded" in history


# --- 6. words and numbers -----------------------------------------------------------------


def test_the_pages_speak_words_and_true_numbers(page_on: Any, tmp_path: Path) -> None:
    """The legacy export through faults: the live rate never passes the limit; no exit
    status, event class name, run id or ledger path in the main text; technical files
    under their fold; no command line for an option the page cannot set; a favicon;
    the statuses the CLI's workbook has, shown and downloaded; Chinese drawn as text."""
    page = page_on
    load(page, LEGACY)
    check_text = main_text(page)
    chinese = platform_fonts(page, "#problems tr[data-row='129'] td:nth-child(7)")
    page.click('a:has-text("3 Plan")')
    plan_line = page.inner_text("#plan-line")
    plan_text = main_text(page)
    page.click('a:has-text("4 Send")')
    page.fill('input[name="rate"]', "1")
    page.click("#send-button")
    page.wait_for_url("**/runs/*")
    live = watch(page)
    rates = live["rates"]
    run_text = main_text(page)
    technical = page.locator("#technical").text_content()
    files = page.locator("#results ul.files").first.inner_text()
    expected = cli_statuses(LEGACY, tmp_path)
    downloaded = workbook_statuses(download_results(page, tmp_path))
    icon = page.request.get(page.get_attribute('link[rel="icon"]', "href"))
    legacy_icon = page.request.get("/favicon.ico")
    page.click('a:has-text("5 Results")')
    runs_text = main_text(page)

    measured = [float(r) for r in rates if r not in ("–", "")]
    assert measured, rates
    assert max(measured) <= 1.0, rates
    assert plan_line == "120 cameras go out in 3 batches (the fewest the API's limits allow)."
    for text in (check_text, plan_text, run_text, runs_text):
        assert not RUN_ID.search(text), text
        assert not any(name in text for name in EVENT_NAMES)
        assert "exit " not in text.lower()
        assert not re.search(r"ledger|sqlite", text, re.IGNORECASE)
        assert not re.search(r"--(prune|retry-failed|restart-failed|out|only)\b", text)
    assert "video_source_id" not in check_text
    assert re.findall(r"\S+\.(?:xlsx|json|jsonl)\b", files) == ["results.xlsx"]
    assert {"summary.json", "diff.json", "log.jsonl", "payloads/"} <= set(
        re.findall(r"summary\.json|diff\.json|log\.jsonl|payloads/", technical or "")
    )
    assert (live["done"], live["batches"], live["retried"], live["in_doubt"]) == (
        "3",
        "3",
        "2",
        "1",
    )
    assert live["headline"] == "finished (loading the results…)"
    assert dict(downloaded) == dict(expected) == {"loaded": 120, "rejected": 7, "duplicate": 1}
    assert (icon.status, icon.headers["content-type"], legacy_icon.status) == (
        200,
        "image/svg+xml",
        200,
    )
    assert drawn_as_chinese(chinese), chinese


def test_ci_installs_the_cjk_font_the_page_is_checked_with() -> None:
    """.ci/run installs Debian's fonts-noto-cjk with Chromium, and a machine that runs the
    browser tests has a font that draws Chinese: sheet names, group names and fixes are
    checked as text, not boxes."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    listed = shutil.which("fc-list")
    found = subprocess.run([listed, ":lang=zh", "family"], capture_output=True, text=True)
    families = found.stdout if listed else ""

    assert "fonts-noto-cjk" in script
    assert any(name in families for name in CJK_FAMILIES), "apt-get install fonts-noto-cjk"


# --- the rest ---------------------------------------------------------------------------


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
    missing = page.inner_text(".problem:not([hidden])")
    page.set_input_files("#beside-file", str(SAMPLES / "nvr_id_map.csv"))
    page.wait_for_selector("#mapping")
    shot(page, tmp_path, "9-nvr")

    assert two_sheets == ("legacy-two-sheet", "0")
    assert missing.startswith("nvr_id_map.csv does not exist or is not a file")
    assert (page.inner_text("#mapping"), page.inner_text("#count-valid")) == ("nvr-csv", "60")
