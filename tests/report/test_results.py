"""results.xlsx read back with openpyxl; the ledger across runs; reconciliation with the API."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from loader.report import results as results_module
from loader.report.workbook import neutralise
from loader.run.runner import reconcile_run, resume_run, start_run
from loader.sim import SimConfig, running_simulator
from loader.state.events import (
    BatchAccepted,
    BatchAmbiguous,
    BatchPlanned,
    BatchSending,
    Event,
    RunStarted,
)
from loader.state.runstate import replay
from tests.conftest import TWO_SHEET_MAPPING, write_inventory
from tests.run.test_run import settings_for

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx", "\nx"]


def statuses(path: Path) -> Counter[str]:
    """Status column counts of a results workbook's Cameras sheet."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = book["Cameras"].iter_rows(values_only=True)
        header = list(next(rows))
        at = header.index("Status")
        return Counter(str(row[at]) for row in rows)
    finally:
        book.close()


def add_rows(sheet: Path, lines: list[str]) -> None:
    sheet.write_text(sheet.read_text() + "\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_results_count_each_status_and_rows_match_input(tmp_path: Path) -> None:
    """loaded, failed (unknown at the API), rejected and duplicate, one row per data row."""
    sheet = write_inventory(tmp_path, groups=20, per_group=5)
    add_rows(
        sheet, ["cam-00001-001,grp-00001,c-smoke", ",grp-00002,c-smoke", "bad id,grp-00003,c-smoke"]
    )
    config = SimConfig(
        unknown_sources=frozenset({"cam-00004-000", "cam-00009-003", "cam-00019-004"})
    )

    with running_simulator(config) as sim:
        report = start_run(sheet, settings_for(sim.url, tmp_path))

    counts = statuses(tmp_path / "run" / "results.xlsx")
    assert counts == Counter({"loaded": 97, "failed": 3, "rejected": 2, "duplicate": 1})
    assert (report.exit_code, sum(counts.values())) == (1, 103)


@pytest.mark.slow
def test_workbook_sheets_header_and_filter(tmp_path: Path) -> None:
    """Every sheet is there; tables have a frozen header and an autofilter; Summary has a chart."""
    sheet = write_inventory(tmp_path, groups=3, per_group=2)

    with running_simulator() as sim:
        start_run(sheet, settings_for(sim.url, tmp_path))

    book = openpyxl.load_workbook(tmp_path / "run" / "results.xlsx")
    tables = ["Cameras", "Groups", "Batches", "Problems", "Not in sheet", "Changes"]
    assert book.sheetnames == ["Summary", *tables]
    assert [(book[n].freeze_panes, book[n].auto_filter.ref is not None) for n in tables] == [
        ("A2", True)
    ] * 6
    assert len(book["Summary"]._charts) == 1
    header = [c.value for c in book["Cameras"][1]]
    assert header[:9] == [
        "Camera",
        "Group",
        "Algorithm",
        "Status",
        "Batch",
        "Batch ID",
        "Task State",
        "Message",
        "Source Row",
    ]


@pytest.mark.slow
def test_hostile_text_is_never_a_formula(tmp_path: Path) -> None:
    """Cell text starting with = + - @ tab CR LF is stored as inert text, in every sheet."""
    sheet = tmp_path / "hostile.csv"
    with sheet.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["Camera", "Group", "Algorithm", "Note"])
        writer.writerows(
            [f"cam-{n:04d}", "grp-1", "c-smoke", text + "tail"] for n, text in enumerate(HOSTILE)
        )
        writer.writerow(["=1+2", "grp-1", "c-smoke", "x"])
        writer.writerow(["cam-9999", "=cmd|' /C calc'!A0", "c-smoke", "y"])
    write_inventory(tmp_path, 1, 1, name="unused.csv")

    with running_simulator() as sim:
        start_run(sheet, settings_for(sim.url, tmp_path))

    book = openpyxl.load_workbook(tmp_path / "run" / "results.xlsx")
    formulas = [
        (s.title, c.coordinate)
        for s in book.worksheets
        for row in s.iter_rows()
        for c in row
        if c.data_type == "f"
    ]
    texts = [
        c.value
        for row in book["Cameras"].iter_rows(min_row=2)
        for c in row
        if isinstance(c.value, str)
    ]
    assert formulas == []
    assert all(not t.startswith(("=", "+", "-", "@", "\t", "\r", "\n")) for t in texts)
    assert "'=1+2" in texts


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=A1", "'=A1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("\nx", "'\nx"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(text: str, safe: str) -> None:
    """OWASP: a leading quote makes a would-be formula plain text."""
    assert neutralise(text) == safe


@pytest.mark.slow
def test_second_run_with_the_same_ledger_sends_nothing(tmp_path: Path) -> None:
    """Weekly re-run, same sheet: zero requests; every camera unchanged; exit 0."""
    sheet = write_inventory(tmp_path, groups=30, per_group=4)

    with running_simulator() as sim:
        start_run(sheet, settings_for(sim.url, tmp_path))
        before = len(sim.state.requests)
        again = start_run(sheet, settings_for(sim.url, tmp_path, run_dir=tmp_path / "week2"))
        after = len(sim.state.requests)

    assert (after - before, again.exit_code, again.statuses["unchanged"]) == (0, 0, 120)
    assert statuses(tmp_path / "week2" / "results.xlsx") == Counter({"unchanged": 120})


@pytest.mark.slow
def test_rerun_sends_additions_and_replaces_a_new_version(tmp_path: Path) -> None:
    """Added cameras go out; a new algorithm version replaces each task (an update cannot
    change it); --force sends nothing more: one task per camera at the end."""
    sheet = write_inventory(tmp_path, groups=10, per_group=2)

    with running_simulator() as sim:
        start_run(sheet, settings_for(sim.url, tmp_path))
        text = sheet.read_text().replace(
            "cam-00003-000,grp-00003,c-smoke", "cam-00003-000,grp-00003,c-smoke-v2"
        )
        sheet.write_text(text.replace("c-smoke-v2", "c-smoke") + "cam-new-1,grp-00001,c-smoke\n")
        (tmp_path / "flat-test.toml").write_text((tmp_path / "flat-test.toml").read_text())
        second = start_run(sheet, settings_for(sim.url, tmp_path, run_dir=tmp_path / "second"))
        mapping = (
            (tmp_path / "flat-test.toml")
            .read_text()
            .replace('service_version = "3.0"', 'service_version = "3.1"')
        )
        (tmp_path / "flat-test.toml").write_text(mapping)
        third = start_run(sheet, settings_for(sim.url, tmp_path, run_dir=tmp_path / "third"))
        forced = start_run(sheet, settings_for(sim.url, tmp_path, run_dir=tmp_path / "forced"))
        counts = sim.state.task_counts()

    assert (second.statuses["loaded"], second.statuses["unchanged"]) == (1, 20)
    assert (third.statuses["replaced"], third.statuses["loaded"], third.exit_code) == (21, 0, 0)
    assert (forced.statuses["unchanged"], forced.statuses["loaded"]) == (21, 0)
    assert (len(counts), max(counts.values())) == (21, 1)


@pytest.mark.slow
def test_cameras_gone_from_the_sheet_are_listed(tmp_path: Path) -> None:
    """Ledger cameras of this inventory missing from the new sheet: the Not in sheet sheet."""
    sheet = write_inventory(tmp_path, groups=5, per_group=2)

    with running_simulator() as sim:
        start_run(sheet, settings_for(sim.url, tmp_path))
        sheet.write_text(
            "\n".join(line for line in sheet.read_text().splitlines() if "cam-00002" not in line)
            + "\n"
        )
        start_run(sheet, settings_for(sim.url, tmp_path, run_dir=tmp_path / "second"))

    gone = openpyxl.load_workbook(tmp_path / "second" / "results.xlsx")["Not in sheet"]
    assert sorted(r[1] for r in gone.iter_rows(min_row=2, values_only=True)) == [
        "cam-00002-000",
        "cam-00002-001",
    ]


@pytest.mark.slow
def test_reconcile_pages_tasks_and_marks_start_failures(tmp_path: Path) -> None:
    """ListTasks over 1,200 tasks of one batch (two pages), matched by name; START_FAILED -> failed."""
    sheet = tmp_path / "big.csv"
    lines = ["Camera,Group,Algorithm,Name"] + [
        f"cam-{g:02d}-{n:03d},grp-{g:02d},c-smoke,Cam {g}-{n}"
        for g in range(12)
        for n in range(100)
    ]
    sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_inventory(tmp_path, 1, 1, name="unused.csv")
    mapping = tmp_path / "flat-test.toml"
    mapping.write_text(
        mapping.read_text().replace(
            'service_name = "Algorithm"', 'service_name = "Algorithm"\ncamera_name = "Name"'
        )
    )
    names = {f"cam-{g:02d}-{n:03d}": f"Cam {g}-{n}" for g in range(12) for n in range(100)}
    config = SimConfig(
        source_names=names, start_fail_percent=10, starting_after=0.0, running_after=0.0
    )

    with running_simulator(config) as sim:
        start_run(sheet, settings_for(sim.url, tmp_path))
        report = reconcile_run(tmp_path / "run", settings_for(sim.url, tmp_path))
        failing = {t.video_source_id for t in sim.state.tasks.values() if t.fails_to_start}
        task_calls = sum(1 for _, m, p, _ in sim.state.requests if p.endswith("/tasks"))

    counts = statuses(tmp_path / "run" / "results.xlsx")
    assert counts == Counter({"loaded": 1200 - len(failing), "failed": len(failing)})
    # the load lists no task (a change finds the ids it needs); reconcile reads two pages
    assert (report.exit_code, task_calls, report.statuses["failed"]) == (1, 2, len(failing))


@pytest.mark.slow
def test_reconcile_without_names_joins_the_sources_names(tmp_path: Path) -> None:
    """No camera names in the sheet: ListVideoSources names the groups' sources, and the
    tasks are matched through those names, with no ShowTaskInfo."""
    sheet = write_inventory(tmp_path, groups=4, per_group=3)
    config = SimConfig(start_fail_percent=0, starting_after=0.0, running_after=0.0)

    with running_simulator(config) as sim:
        start_run(sheet, settings_for(sim.url, tmp_path))
        reconcile_run(tmp_path / "run", settings_for(sim.url, tmp_path))
        shows = sum(1 for _, m, p, _ in sim.state.requests if "/tasks/" in p)
        sources = sum(1 for _, m, p, _ in sim.state.requests if p.endswith("/source/sources"))

    sheet_rows = openpyxl.load_workbook(tmp_path / "run" / "results.xlsx")["Cameras"]
    header = [c.value for c in sheet_rows[1]]
    task_states = {
        r[header.index("Task State")] for r in sheet_rows.iter_rows(min_row=2, values_only=True)
    }
    assert (shows, sources, task_states) == (0, 1, {"RUNNING"})


@pytest.mark.slow
def test_failures_the_api_does_not_name_are_found_through_list_tasks(tmp_path: Path) -> None:
    """error_list says only "a video source does not exist": the run asks ListTasks at once."""
    sheet = write_inventory(tmp_path, groups=10, per_group=3)
    config = SimConfig(
        unknown_sources=frozenset({"cam-00002-001", "cam-00008-002"}),
        anonymous_errors=True,
        start_fail_percent=0,  # reconcile judges task states: none may fail to start meanwhile
    )

    with running_simulator(config) as sim:
        report = start_run(sheet, settings_for(sim.url, tmp_path))
        list_calls = sum(1 for _, m, p, _ in sim.state.requests if p.endswith("/tasks"))
        first = statuses(tmp_path / "run" / "results.xlsx")
        again = reconcile_run(tmp_path / "run", settings_for(sim.url, tmp_path))

    assert (report.exit_code, list_calls, again.exit_code) == (1, 1, 1)
    assert (
        first == statuses(tmp_path / "run" / "results.xlsx") == Counter({"loaded": 28, "failed": 2})
    )


@pytest.mark.slow
def test_a_new_run_never_resends_what_an_interrupted_run_may_have_created(tmp_path: Path) -> None:
    """Run 1 stops with batches in doubt; run 2 of the same sheet holds them as unknown."""
    sheet = write_inventory(tmp_path, groups=300, per_group=1)
    config = SimConfig(faults={"5xx-after": 1.0}, list_failures=1.0)

    with running_simulator(config) as sim:
        first = start_run(sheet, settings_for(sim.url, tmp_path, settle=0.05))
        config.faults.clear()
        config.list_failures = 0.0
        second = start_run(sheet, settings_for(sim.url, tmp_path, run_dir=tmp_path / "second"))
        resumed = resume_run(tmp_path / "run", settings_for(sim.url, tmp_path))
        third = start_run(sheet, settings_for(sim.url, tmp_path, run_dir=tmp_path / "third"))
        counts = sim.state.task_counts()

    assert first.exit_code == 3
    assert (second.exit_code, second.statuses["unknown"]) == (3, 300)
    assert (resumed.exit_code, third.exit_code, third.statuses["unchanged"]) == (0, 0, 300)
    assert counts == Counter({(f"grp-{g:05d}", f"cam-{g:05d}-000"): 1 for g in range(300)})


@pytest.mark.slow
def test_groups_sheet_accounts_for_every_group_row(tmp_path: Path, write_xlsx: Any) -> None:
    """Each Groups row appears with its row status and camera counts; unknown groups too."""
    mapping = tmp_path / "flat-test.toml"
    mapping.write_text(TWO_SHEET_MAPPING)
    sheet = write_xlsx(
        {
            "Cameras": [
                ["Camera", "Group"],
                ["cam-0001", "g1"],
                ["cam-0002", "g1"],
                ["cam-0003", "g2"],
                ["cam-0004", "gx"],
            ],
            "Groups": [
                ["Group", "Name", "Days"],
                ["g1", "Lobby", "daily"],
                ["g2", "Dock", "Funday"],
                ["g3", "Empty", "daily"],
            ],
        }
    )

    with running_simulator() as sim:
        start_run(sheet, settings_for(sim.url, tmp_path))

    book = openpyxl.load_workbook(tmp_path / "run" / "results.xlsx")
    rows = list(book["Groups"].iter_rows(values_only=True))
    header = list(rows[0])
    picked = [
        (
            r[header.index("Group ID")],
            r[header.index("Row Status")],
            r[header.index("Cameras")],
            r[header.index("loaded")],
            r[header.index("rejected")],
        )
        for r in rows[1:]
    ]
    assert picked == [
        ("g1", "valid", 2, 2, 0),
        ("g2", "rejected", 1, 0, 1),
        ("g3", "valid", 0, 0, 0),
        ("gx", "not on the sheet", 1, 0, 1),
    ]


def test_a_batch_found_by_name_shows_the_lost_answer_and_says_so() -> None:
    """Batches sheet: the status of the answer that was lost (500), never 0, and 'found by name'."""
    events: list[Event] = [
        RunStarted(batches=1, cameras=1),
        BatchPlanned(batch="b1", cameras=1),
        BatchSending(batch="b1", attempt=1),
        BatchAmbiguous(batch="b1", attempt=1, reason="500 VIAS.00010006 internal", status=500),
        BatchAccepted(batch="b1", batch_id="id-1", found_by_lookup=True),
    ]
    state = replay(events)
    batch = state.batches["b1"]

    assert (batch.http_status, results_module._batch_message(batch)) == (
        500,
        "found by its name after an unclear answer (500 VIAS.00010006 internal)",
    )
