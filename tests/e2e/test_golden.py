"""What bulkload prints and writes on the bundled samples, byte for byte, against files kept
in ``tests/data/golden``: a change that moves code must leave every one of them as it was.

A deliberate change of an output rewrites them: ``BULKLOAD_GOLDEN=write uv run pytest
tests/e2e/test_golden.py``, then read the diff of ``tests/data/golden`` before committing it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from typer.testing import CliRunner

from loader import cli
from loader.commands import terminal
from loader.report.summaries import format_run
from loader.run.options import RunOptions
from loader.run.runner import Wiring, start_run
from loader.send.credentials import Credentials
from loader.sim import SimConfig
from loader.sim.app import create_app as create_sim
from loader.web.app import create_app
from loader.web.options import ServeOptions
from tests.conftest import SAMPLES, FakeClock

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
WRITE = os.environ.get("BULKLOAD_GOLDEN") == "write"
ORIGIN = "http://127.0.0.1:8770"
SHEETS = [
    "site_rollout.xlsx",
    "legacy_vms_export.xlsx",
    "legacy_two_sheet.xlsx",
    "nvr_export.csv",
]
WALL = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# What differs between two runs of the same thing: where the test's files are, and the
# tokens and ids a page or a simulator draws at random.
VOLATILE = [
    (re.compile(r'name="csrf-token" content="[^"]+"'), 'name="csrf-token" content="CSRF"'),
    (re.compile(r'name="csrf" value="[^"]+"'), 'name="csrf" value="CSRF"'),
    (re.compile(r"/sheets/[0-9a-f]{8,}"), "/sheets/UPLOAD"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UUID"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "HEX32"),
    (re.compile(r"Input SHA-256\t[0-9a-f]{64}"), "Input SHA-256\tSHA"),  # openpyxl stamps a save
    # A fake clock's time still depends on how the tasks interleave.
    # The ledger stamps its entries with the wall clock, not the run's.
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"), "TIME"),
    (re.compile(r"Duration of this pass\t[0-9.]+ s"), "Duration of this pass\tS"),
]
REPO = str(Path(__file__).resolve().parents[2])


def agree(name: str, text: str, tmp_path: Path | None = None) -> None:
    """``text`` equals the golden file ``name`` (tmp paths and random ids made neutral)."""
    if tmp_path is not None:
        text = text.replace(str(tmp_path), "TMP")
    text = text.replace(REPO, "REPO")
    for pattern, neutral in VOLATILE:
        text = pattern.sub(neutral, text)
    path = GOLDEN / name
    if WRITE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden {name}: write it with BULKLOAD_GOLDEN=write"

    assert text == path.read_text(encoding="utf-8")


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """The CLI at 80 columns from a fresh console, in a folder of its own."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("BULKLOAD_"):
            monkeypatch.delenv(name)
    terminal.err.cache_clear()
    yield lambda *args: CliRunner().invoke(cli.app, [str(a) for a in args])
    terminal.err.cache_clear()


@pytest.mark.parametrize("sheet", SHEETS)
def test_validate_prints_what_it_printed(invoke: Any, sheet: str, tmp_path: Path) -> None:
    """validate, as text and as --json, and its exit code."""
    text = invoke("validate", SAMPLES / sheet)
    as_json = invoke("validate", SAMPLES / sheet, "--json")

    agree(f"validate/{sheet}.txt", f"exit {text.exit_code}\n{text.stderr}", tmp_path)
    agree(f"validate/{sheet}.json", f"exit {as_json.exit_code}\n{as_json.stdout}", tmp_path)


@pytest.mark.parametrize("sheet", SHEETS)
def test_plan_prints_and_writes_what_it_did(invoke: Any, sheet: str, tmp_path: Path) -> None:
    """plan, as text and as --json, and every file of --out."""
    text = invoke("plan", SAMPLES / sheet)
    as_json = invoke("plan", SAMPLES / sheet, "--json", "--out", tmp_path / "out")

    agree(f"plan/{sheet}.txt", f"exit {text.exit_code}\n{text.stderr}", tmp_path)
    agree(f"plan/{sheet}.json", f"exit {as_json.exit_code}\n{as_json.stdout}", tmp_path)
    written = sorted((tmp_path / "out").rglob("*.json"))
    listing = "".join(f"== {p.relative_to(tmp_path)}\n{p.read_text()}\n" for p in written)
    agree(f"plan/{sheet}.out.txt", listing, tmp_path)


def _options(folder: Path, run_dir: str, **overrides: Any) -> RunOptions:
    values: dict[str, Any] = {
        "endpoint": "http://sim.test",
        "project_id": "sim-project",
        "run_dir": folder / run_dir,
        "ledger": folder / "ledger.sqlite",
        "credentials": Credentials(token="sim-token"),
        "rate": 50.0,
        "timeout": 1.0,
        "settle": 0.3,
        **overrides,
    }
    return RunOptions.of(**values)


def _wiring() -> Wiring:
    """An in-process simulator whose tasks stay PENDING (states move on real time, and a
    golden file must not depend on how fast the machine is), on a fake clock."""
    config = SimConfig(seed=7, starting_after=1e6, running_after=2e6)
    sim = httpx.ASGITransport(app=create_sim(config))
    return Wiring(clock=FakeClock(), transport=sim, wall=lambda: WALL)


def _workbook(path: Path) -> str:
    """Every cell of every sheet of a results workbook, as text."""
    book = openpyxl.load_workbook(path, read_only=True)
    lines = []
    for sheet in book.worksheets:
        lines.append(f"== {sheet.title}")
        lines += ["\t".join("" if v is None else str(v) for v in row) for row in sheet.values]
    book.close()
    return "\n".join(lines) + "\n"


def _edited_rollout(tmp_path: Path) -> Path:
    """The rollout sheet a week later: a camera gone, one new, one rezoned, two groups changed."""
    book = openpyxl.load_workbook(SAMPLES / "site_rollout.xlsx")
    cameras = book["Cameras"]
    cameras.delete_rows(3)
    last = cameras.max_row
    cameras.append([cameras.cell(last, c).value for c in range(1, cameras.max_column + 1)])
    cameras.cell(last + 1, 1).value = "f0f0f0f0-new-camera-0001"
    cameras.cell(5, 4).value = "10,10;500,10;500,400;10,400"  # a new zone: updated in place
    groups = book["Groups"]
    groups.cell(2, 6).value = "Mon-Fri"  # Days: the group's tasks are updated in place
    groups.cell(3, 5).value = "9.9"  # Version: UpdateTask cannot carry it, so replaced
    path = tmp_path / "site_rollout_week2.xlsx"
    book.save(path)
    return path


def test_a_run_then_a_weekly_plan_give_what_they_gave(invoke: Any, tmp_path: Path) -> None:
    """A run's summary and results workbook, then the next week's plan against its ledger."""
    wiring = _wiring()
    report = start_run(SAMPLES / "site_rollout.xlsx", _options(tmp_path, "week1"), wiring=wiring)
    summary = format_run(report)
    summary.pop("seconds", None)

    agree("sync/week1.summary.json", json.dumps(summary, indent=2, sort_keys=True), tmp_path)
    agree("sync/week1.results.txt", _workbook(report.results), tmp_path)

    week2 = _edited_rollout(tmp_path)
    target = ["--endpoint", "http://sim.test", "--project-id", "sim-project"]
    ledger = ["--ledger", tmp_path / "ledger.sqlite"]
    text = invoke("plan", week2, *target, *ledger)
    as_json = invoke("plan", week2, *target, *ledger, "--json", "--prune", "stop")

    agree("sync/week2.plan.txt", f"exit {text.exit_code}\n{text.stderr}", tmp_path)
    agree("sync/week2.plan.json", f"exit {as_json.exit_code}\n{as_json.stdout}", tmp_path)


@pytest.mark.anyio
@pytest.mark.parametrize("sheet", ["site_rollout.xlsx", "legacy_vms_export.xlsx"])
async def test_the_page_shows_what_it_showed(sheet: str, tmp_path: Path) -> None:
    """The page's sheet, Check, Plan and Send pages for an uploaded sample."""
    options = ServeOptions(runs_dir=tmp_path / "runs")
    transport = httpx.ASGITransport(app=create_app(options, None))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        home = (await client.get("/")).text
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', home)
        assert csrf is not None
        headers = {"x-file-name": sheet, "x-csrf-token": csrf.group(1), "origin": ORIGIN}
        answer = await client.post(
            "/upload", content=(SAMPLES / sheet).read_bytes(), headers=headers
        )
        location = answer.json()["location"]
        for page in ["", "/check", "/plan", "/send"]:
            shown = await client.get(f"{location}{page}")
            name = page.strip("/") or "sheet"

            agree(f"page/{sheet}.{name}.html", f"{shown.status_code}\n{shown.text}", tmp_path)


def test_the_weekly_apply_ends_as_it_ended(tmp_path: Path) -> None:
    """Week 2 applied with --prune: its summary and results workbook (updates, replaces,
    a stop), and a third plan that finds nothing left to do."""
    wiring = _wiring()
    start_run(SAMPLES / "site_rollout.xlsx", _options(tmp_path, "week1"), wiring=wiring)
    week2 = _edited_rollout(tmp_path)
    report = start_run(week2, _options(tmp_path, "week2", prune="stop"), wiring=wiring)
    summary = format_run(report)
    summary.pop("seconds", None)

    agree("sync/week2.summary.json", json.dumps(summary, indent=2, sort_keys=True), tmp_path)
    agree("sync/week2.results.txt", _workbook(report.results), tmp_path)
