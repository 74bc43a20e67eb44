"""The weekly cycle: the sheet as the desired state, applied to a simulator that holds real
task state (in process, on a fake clock): plan's counts, then exactly one task per camera
with the sheet's settings, none running for removed cameras, nothing unmanaged touched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from loader.check import transforms
from loader.model.cameras import LedgerEntry
from loader.run.open import reopen_run
from loader.run.options import RunOptions
from loader.run.runner import Wiring, resume_run, start_run
from loader.sim import SimConfig, SimState, running_simulator
from loader.sim.app import create_app, new_state
from loader.state.events import TaskIdsFound
from loader.state.journal import Journal
from tests.conftest import FakeClock
from tests.e2e.test_kill_resume import bulkload, wait_for
from tests.run.test_run import settings_for

MAPPING = """
name = "weekly"
[cameras.columns]
video_source_id = { column = "Camera", required = true }
group = { column = "Group", required = true }
camera_name = "Name"
service_name = "Algorithm"
periods = "Hours"
target_roi = "ROI"
[task]
name_prefix = "weekly"
service_version = "3.0"
timezone = "+08:00"
days_of_week = "Mon-Fri"
event_center = true
"""
RUNNING = frozenset({"PENDING", "STARTING", "RUNNING"})
Row = tuple[str, str, str, str, str]  # camera, group, algorithm, hours, roi


def _roi(n: int) -> str:
    """A polygon as a sheet writes it (x,y;x,y;...), different for most cameras."""
    return f"0,0;{n % 50 + 10},0;{n % 50 + 10},10;0,10"


def inventory(cameras: int) -> list[Row]:
    """``cameras`` cameras in groups of 20, one algorithm, office hours."""
    return [
        (f"cam-{n:05d}", f"grp-{n // 20:04d}", "c-smoke", "08:00-18:00", _roi(n))
        for n in range(cameras)
    ]


def write(folder: Path, rows: list[Row], name: str = "site.csv") -> Path:
    """The sheet (CSV) and its mapping beside it."""
    lines = ["Camera,Group,Name,Algorithm,Hours,ROI"]
    for camera, group, algorithm, hours, roi in rows:
        lines.append(f'{camera},{group},{camera},{algorithm},{hours},"{roi}"')
    (folder / "weekly.toml").write_text(MAPPING, encoding="utf-8")
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def edit(rows: list[Row]) -> tuple[list[Row], dict[str, int]]:
    """The week's edits: 5% new hours, 5% removed, 5% added, one group's algorithm changed."""
    count = len(rows)
    step = 20  # every 20th camera: 5%
    changed = [
        (c, g, a, "09:00-17:00", r) if n % step == 1 else (c, g, a, h, r)
        for n, (c, g, a, h, r) in enumerate(rows)
    ]
    kept = [row for n, row in enumerate(changed) if n % step != 7]
    added = [
        (f"new-{n:05d}", f"grp-new-{n // 20:03d}", "c-smoke", "08:00-18:00", _roi(n))
        for n in range(count // step)
    ]
    swapped_group = rows[40][1]  # its 20 cameras (one was removed, one re-timed) go c-fire
    final = [(c, g, "c-fire" if g == swapped_group else a, h, r) for c, g, a, h, r in kept + added]
    in_group = [row for row in kept if row[1] == swapped_group]
    return final, {
        "create": len(added),
        "update": sum(1 for n, _ in enumerate(rows) if n % step == 1) - 1,  # one is replaced
        "replace": len(in_group),
        "remove": count // step,
        "restart": 0,
    }


def wiring_for(config: SimConfig, clock: FakeClock) -> tuple[Wiring, SimState]:
    """An in-process simulator on the fake clock."""
    state = new_state(config)
    state.clock = clock.now
    app = create_app(config, state)
    return Wiring(clock=clock, transport=httpx.ASGITransport(app=app)), state


def assert_matches(sim: SimState, rows: list[Row], removed: set[tuple[str, str]]) -> None:
    """Every camera of the sheet holds one live task with its settings; removed ones none."""
    report: dict[str, Any] = sim.camera_report()
    by_camera = {(c["group_id"], c["video_source_id"]): c for c in report["cameras"]}
    settings = report["settings"]
    for camera, group, algorithm, hours, roi in rows:
        held = by_camera[(group, camera)]
        live = [s for s in held["states"] if s in RUNNING]
        assert (len(live), held["tasks"]) == (1, 1), (camera, held)
        chosen = settings[held["settings"][0]]
        begin, end = hours.split("-")
        assert chosen["service_name"] == algorithm, camera
        assert chosen["target_roi"] == transforms.roi(roi), camera
        assert chosen["schedule"]["periods"][0] == [
            {"begin_at": f"{begin}:00", "end_at": f"{end}:00"}
        ], camera
    for key in removed:
        held = by_camera.get(key, {"states": []})
        assert not [s for s in held["states"] if s in RUNNING], (key, held)


_RUNS = iter(range(1_000_000))


def _options(tmp_path: Path, **changes: Any) -> RunOptions:
    """Each run in a directory of its own under runs/, one ledger beside them."""
    return settings_for(
        "http://sim.test",
        tmp_path,
        mapping=str(tmp_path / "weekly.toml"),
        run_dir=tmp_path / "runs" / f"run-{next(_RUNS)}",
        ledger=tmp_path / "runs" / "ledger.sqlite",
        **changes,
    )


def _changes_sheet(results: Path) -> list[dict[str, Any]]:
    """The Changes sheet of a results workbook, as one dict per row."""
    book = openpyxl.load_workbook(results, read_only=True)
    try:
        rows = list(book["Changes"].values)
    finally:
        book.close()
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _plan_counts(report_dir: Path) -> dict[str, int]:
    data = json.loads((report_dir / "diff.json").read_text(encoding="utf-8"))
    return {
        "create": data["creates"],
        "update": len(data["updates"]),
        "replace": len(data["replaces"]),
        "remove": len(data["removes"]),
        "restart": len(data["restarts"]),
    }


def _week(
    tmp_path: Path, clock: FakeClock, config: SimConfig, *, task_ids: bool = True
) -> tuple[Any, ...]:
    """Week 1 loads the inventory; week 2's sheet is edited. Returns what week 2 needs."""
    rows = inventory(400)
    # The API names each task's video source as the sheet's Name column does (cam-00001...).
    names = {c: c for c, *_ in rows} | {f"new-{n:05d}": f"new-{n:05d}" for n in range(20)}
    wiring, sim = wiring_for(replace(config, source_names=names), clock)
    options = _options(tmp_path, task_ids=task_ids)
    first = start_run(write(tmp_path, rows), options, wiring=wiring)
    assert first.exit_code == 0, (first.statuses, first.stop_reason)
    edited, expected = edit(rows)
    removed = {(g, c) for c, g, *_ in rows} - {(g, c) for c, g, *_ in edited}
    swapped = {(g, c) for c, g, a, *_ in edited if a == "c-fire"}
    return wiring, sim, edited, expected, removed | set(), swapped


@pytest.mark.parametrize("task_ids", [True, False], ids=["ids-learned", "ids-found-later"])
def test_the_weekly_cycle_applies_exactly_the_plan(
    tmp_path: Path, clock: FakeClock, task_ids: bool
) -> None:
    """Plan counts equal the edits; the apply leaves one task per camera with its settings.

    Week 1 learned its task ids, or (--no-task-ids) week 2 finds those it changes, through
    the names of its groups' video sources.
    """
    wiring, sim, edited, expected, removed, _ = _week(
        tmp_path, clock, SimConfig(start_fail_percent=0), task_ids=task_ids
    )
    sheet = write(tmp_path, edited, "site-week-2.csv")  # a weekly export's new file name
    before = len(sim.requests)

    report = start_run(sheet, _options(tmp_path, prune="stop"), wiring=wiring)

    shows = sum(1 for r in sim.requests[before:] if r.method == "GET" and "/tasks/" in r.path)
    assert shows == 0  # learned ids, or ids joined by video source name: no ShowTaskInfo
    assert _plan_counts(report.run_dir) == expected
    assert report.exit_code == 0, report.stop_reason
    assert_matches(sim, edited, removed)
    assert sim.camera_report()["duplicated_cameras"] == 0
    assert report.removed == {"stopped": expected["remove"]}
    changes = _changes_sheet(report.results)
    cameras = {(r["Change"], r["Status"], r["Video Source ID"]) for r in changes}
    assert Counter((change, status) for change, status, _ in cameras) == {
        ("update", "updated"): expected["update"],
        ("replace", "replaced"): expected["replace"],
        ("remove", "stopped"): expected["remove"],
    }
    timed = next(r for r in changes if r["Video Source ID"] == "cam-00001")
    assert (timed["Field"], timed["Old Value"], timed["New Value"], timed["Row"]) == (
        "schedule",
        "Mon-Fri 08:00-18:00 (UTC+08:00)",
        "Mon-Fri 09:00-17:00 (UTC+08:00)",
        3,
    )
    statuses = {k: v for k, v in report.statuses.items() if v}
    assert statuses == {
        "loaded": expected["create"],
        "updated": expected["update"],
        "replaced": expected["replace"],
        "unchanged": len(edited) - expected["create"] - expected["update"] - expected["replace"],
    }


def test_a_second_apply_changes_nothing(tmp_path: Path, clock: FakeClock) -> None:
    """Applied once, the same sheet plans no change and sends nothing."""
    wiring, sim, edited, _, _, _ = _week(tmp_path, clock, SimConfig(start_fail_percent=0))
    sheet = write(tmp_path, edited)
    start_run(sheet, _options(tmp_path, prune="stop"), wiring=wiring)
    before = len(sim.requests)

    again = start_run(sheet, _options(tmp_path, prune="stop"), wiring=wiring)

    counts = _plan_counts(again.run_dir)
    assert counts == {"create": 0, "update": 0, "replace": 0, "remove": 0, "restart": 0}
    writes = [r for r in sim.requests[before:] if r.method != "GET"]
    assert (writes, again.exit_code) == ([], 0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_weekly_cycle_under_faults_on_every_call(
    tmp_path: Path, clock: FakeClock, seed: int
) -> None:
    """Lost answers on creates and on every mutation: checked before any repeat, each once."""
    faults = {"5xx-after": 0.15, "5xx-before": 0.1, "429": 0.1}
    config = SimConfig(
        seed=seed, faults=dict(faults), mutation_faults=dict(faults), start_fail_percent=0
    )
    wiring, sim, edited, _, removed, _ = _week(tmp_path, clock, config)
    sheet = write(tmp_path, edited)
    options = _options(tmp_path, prune="delete", max_attempts=12)

    report = start_run(sheet, options, wiring=wiring)
    if report.exit_code == 3:  # an outage stop is legal: resume finishes the same plan
        report = resume_run(report.run_dir, options, wiring=wiring)

    assert report.exit_code == 0, report.stop_reason
    assert_matches(sim, edited, removed)
    assert sim.camera_report()["duplicated_cameras"] == 0
    assert report.removed == {"deleted": len(removed)}
    left = {
        sim.state_of(t) for t in sim.tasks.values() if (t.group_id, t.video_source_id) in removed
    }
    assert left <= {"DELETING"}  # deleted, or on its way out


def test_an_empty_ledger_learns_the_project_then_applies(tmp_path: Path, clock: FakeClock) -> None:
    """Ledger lost: refresh learns task ids and settings from the API; the apply is the same."""
    from loader.run.refresh import refresh_ledger

    wiring, sim, edited, expected, removed, _ = _week(
        tmp_path, clock, SimConfig(start_fail_percent=0)
    )
    (tmp_path / "runs" / "ledger.sqlite").unlink()
    options = _options(tmp_path, prune="stop")
    refresh_ledger(options, prefixes=["weekly"], wiring=wiring)

    report = start_run(write(tmp_path, edited), options, wiring=wiring)

    counts = _plan_counts(report.run_dir)
    assert counts == expected
    assert report.exit_code == 0, report.stop_reason
    assert_matches(sim, edited, removed)


def test_unmanaged_tasks_are_never_touched(tmp_path: Path, clock: FakeClock) -> None:
    """A batch another tool made (another name) keeps its tasks through refresh and prune."""
    from loader.run.refresh import refresh_ledger

    wiring, sim, edited, _, _, _ = _week(tmp_path, clock, SimConfig(start_fail_percent=0))
    foreign = sim.create(
        {
            "name": "someone-else",
            "service_name": "c-smoke",
            "service_version": "3.0",
            "output": {"event_center": True},
            "batch_input": {
                "video_source_group": [
                    {
                        "video_source_group_id": "grp-0000",
                        "video_source_list": [{"video_source_id": "cam-00007"}],
                    }
                ]
            },
        }
    )
    (tmp_path / "runs" / "ledger.sqlite").unlink()
    options = _options(tmp_path, prune="delete")
    refresh_ledger(options, prefixes=["weekly"], wiring=wiring)

    start_run(write(tmp_path, edited), options, wiring=wiring)

    assert [t.id for t in foreign.tasks if t.id in sim.tasks] == [foreign.tasks[0].id]


def _cli(tmp_path: Path, url: str, sheet: Path, run_dir: Path, *extra: str) -> list[str]:
    """`bulkload run` of the weekly sheet against a loopback simulator."""
    return [
        *bulkload("run", str(sheet), "-m", str(tmp_path / "weekly.toml")),
        *("--endpoint", url, "--project-id", "sim-project", "--run-dir", str(run_dir)),
        *("--ledger", str(tmp_path / "ledger.sqlite"), "--rate", "40", "--settle", "0.2"),
        *("--timeout", "5", "--json", *extra),
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "mutations_before_kill",
    [-1, 0, 1, 25],
    ids=["finding-ids", "at-first-create", "first-change", "mid-changes"],
)
def test_sigkill_mid_apply_then_resume_ends_in_the_planned_state(
    tmp_path: Path, mutations_before_kill: int
) -> None:
    """kill -9 while the apply finds its task ids, or while updates, replaces and deletes
    are going out; resume: the plan, once."""
    rows = inventory(400)
    edited, _ = edit(rows)
    removed = {(g, c) for c, g, *_ in rows} - {(g, c) for c, g, *_ in edited}
    config = SimConfig(latency=0.05, start_fail_percent=0, mutation_faults={"5xx-after": 0.1})
    env = {**os.environ, "BULKLOAD_AUTH_TOKEN": "sim-token"}
    with running_simulator(config) as sim:
        week1 = tmp_path / "week1"
        subprocess.run(
            _cli(tmp_path, sim.url, write(tmp_path, rows), week1),
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        before = len(sim.state.requests)
        sheet = write(tmp_path, edited)
        week2 = tmp_path / "week2"
        process = subprocess.Popen(
            _cli(tmp_path, sim.url, sheet, week2, "--prune", "delete", "--yes"),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def mutations() -> int:
            return sum(1 for r in sim.state.requests[before:] if r.method in ("PUT", "DELETE"))

        if mutations_before_kill < 0:  # the names of its sources asked for: finding ids
            wait_for(
                lambda: any(
                    r.path.endswith("/source/sources") for r in sim.state.requests[before:]
                ),
                process,
            )
        elif mutations_before_kill:
            wait_for(lambda: mutations() >= mutations_before_kill, process)
        else:  # the first create of week 2 has arrived
            wait_for(lambda: any(r.method == "POST" for r in sim.state.requests[before:]), process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        resumed = subprocess.run(
            [*bulkload("resume", str(week2), "--json")], env=env, capture_output=True, timeout=120
        )
        assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
        assert_matches(sim.state, edited, removed)
        assert sim.state.camera_report()["duplicated_cameras"] == 0


def test_a_camera_back_in_the_sheet_has_its_stopped_task_restarted(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Pruned (stopped) one week, back the next: listed as a restart, started with the flag."""
    rows = inventory(40)
    wiring, sim = wiring_for(SimConfig(start_fail_percent=0), clock)
    start_run(write(tmp_path, rows), _options(tmp_path), wiring=wiring)
    start_run(write(tmp_path, rows[1:]), _options(tmp_path, prune="stop"), wiring=wiring)
    clock.time += 5.0  # STOPPING -> STOPPED
    back = write(tmp_path, rows)

    listed = start_run(back, _options(tmp_path), wiring=wiring)
    started = start_run(back, _options(tmp_path, restart_failed=True), wiring=wiring)

    assert (_plan_counts(listed.run_dir)["restart"], listed.statuses["restarted"]) == (1, 0)
    assert (_plan_counts(started.run_dir)["restart"], started.statuses["restarted"]) == (1, 1)
    assert_matches(sim, rows, set())


def test_changes_go_alongside_a_create_whose_answer_was_lost(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Week 2's first create answers 500 after committing: the updates and stops (which wait
    on no create) start while it is in doubt, not after it is found; every camera ends
    with one task as planned."""
    from loader.state.events import BatchAccepted, BatchAmbiguous, ChangeSending
    from loader.state.journal import Journal

    config = SimConfig(start_fail_percent=0, fault_sequence=["none", "5xx-after"])
    wiring, sim, edited, expected, removed, _ = _week(tmp_path, clock, config)
    sheet = write(tmp_path, edited, "site-week-2.csv")

    report = start_run(sheet, _options(tmp_path, prune="stop"), wiring=wiring)

    journal = Journal(report.run_dir / "journal.sqlite")
    events = list(journal.events())
    journal.close()
    ambiguous = next(e.batch for e in events if isinstance(e, BatchAmbiguous))
    found_at = next(
        n for n, e in enumerate(events) if isinstance(e, BatchAccepted) and e.batch == ambiguous
    )
    first_change = next(n for n, e in enumerate(events) if isinstance(e, ChangeSending))
    assert first_change < found_at
    assert report.exit_code == 0, report.stop_reason
    assert report.statuses["updated"] == expected["update"]
    assert report.removed == {"stopped": expected["remove"]}
    assert_matches(sim, edited, removed)
    assert sim.camera_report()["duplicated_cameras"] == 0


def test_the_retry_budget_covers_the_changes_whose_ids_are_found(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Week 1 records no task ids, so the run starts knowing none of its 59 changes' tasks;
    25 of them answer 500 once (nothing changed). One retry per batch and change is the
    budget: the apply ends in one pass (it was held to 20, the changes left out, and gave
    up the rest in doubt)."""
    config = SimConfig(start_fail_percent=0, mutation_fault_sequence=["5xx-before", "none"] * 25)
    wiring, sim, edited, expected, removed, _ = _week(tmp_path, clock, config, task_ids=False)
    sheet = write(tmp_path, edited, "site-week-2.csv")

    report = start_run(sheet, _options(tmp_path, prune="stop"), wiring=wiring)

    assert report.exit_code == 0, report.stop_reason
    assert report.retries >= 25
    assert report.removed == {"stopped": expected["remove"]}
    assert_matches(sim, edited, removed)


def test_the_plan_is_never_rewritten_and_the_ids_found_are_journaled(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Week 2 finds the task ids it changes: diff.json stays as planned (no task id), one
    TaskIdsFound in the journal names a task for every change, and the run reopened for a
    resume has them all from the journal."""
    wiring, _, edited, expected, _, _ = _week(
        tmp_path, clock, SimConfig(start_fail_percent=0), task_ids=False
    )
    sheet = write(tmp_path, edited, "site-week-2.csv")

    report = start_run(sheet, _options(tmp_path, prune="stop"), wiring=wiring)

    plan = json.loads((report.run_dir / "diff.json").read_text(encoding="utf-8"))
    changes = [*plan["updates"], *plan["replaces"], *plan["removes"]]
    planned_ids = {LedgerEntry(*entry).task_id for _, _, entry, _, _ in changes}
    found = [
        e for e in Journal(report.run_dir / "journal.sqlite").events() if e.kind == "TaskIdsFound"
    ]
    tasks = found[0].tasks if isinstance(found[0], TaskIdsFound) else []
    reopened = reopen_run(report.run_dir, _options(tmp_path, prune="stop"))
    named = reopened.changes_named()
    reopened.journal.close()
    reopened.ledger.close()
    resumed_ids = {c.entry.task_id for c in [*named.updates, *named.removes]}
    assert (planned_ids, len(found), report.exit_code) == ({""}, 1, 0)
    assert len(tasks) == expected["update"] + expected["replace"] + expected["remove"]
    assert "" not in resumed_ids  # a resume reads the ids found back from the journal
