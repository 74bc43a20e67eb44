"""Drift in ``bulkload plan``: the API's per-state counts of the sheet's batches (one
ListBatchTasks page), read against the ledger, say which batches have tasks that are not
running and what ``--restart-failed`` or ``bulkload refresh`` would do; and
``--detailed-exitcode`` says 0, 1 or 2."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from loader.cli import app
from loader.model.cameras import LedgerEntry, LedgerState
from loader.model.changes import Change
from loader.planning.delta import Delta, TaskChange
from loader.planning.drift import drift
from loader.run import drift as run_drift
from loader.run.options import RunOptions
from loader.run.plan import diff_sheet
from loader.run.refresh import refresh_ledger
from loader.run.runner import Wiring, start_run
from loader.run.sheet import load_sheet
from loader.sim import SimConfig
from loader.sim.app import create_app, new_state
from tests.conftest import FakeClock, write_inventory
from tests.run.test_run import settings_for

ENDPOINT = "http://sim.test"
PROJECT = "sim-project"
runner = CliRunner()


def _item(batch_id: str, name: str, **counts: int) -> dict[str, Any]:
    """A ListBatchTasks item as the SDK's BatchTaskDto has it."""
    return {
        "id": batch_id,
        "batch_task_name": name,
        "alg_name": "c-smoke",
        "num_task": sum(counts.values()),
        "batch_task_status_info": {"pending": 0, "running": 0, "start_failed": 0, **counts},
    }


def _entry(camera: str, batch: str, batch_id: str, state: str = LedgerState.LOADED) -> LedgerEntry:
    return LedgerEntry(
        "g1", camera, "c-smoke", "fp", state, "r1", batch, batch_id, task_id=f"t-{camera}"
    )


def _delta(*entries: LedgerEntry, restarts: tuple[LedgerEntry, ...] = ()) -> Delta:
    return Delta(
        send=[],
        earlier={e.key: e for e in entries},
        restarts=[TaskChange(Change.RESTART, e.key, e) for e in restarts],
    )


def test_batches_whose_tasks_all_run_show_no_drift() -> None:
    """All running: nothing drifted, nothing pending; other prefixes' batches are not counted."""
    listed = [
        _item("b1", "bulkload-0123456789ab", running=3),
        _item("b2", "other-0123456789ab", start_failed=7),
    ]

    found = drift(listed, _delta(), {"bulkload"}, requests=1)

    assert (found.batches, found.tasks, found.drifted, found.pending) == (1, 3, [], False)


def test_failed_tasks_the_ledger_does_not_know_are_left_for_a_refresh() -> None:
    """2 START_FAILED by the API's count, none known to the ledger: a refresh learns them."""
    entries = [_entry(f"cam-{n}", "bulkload-0123456789ab", "b1") for n in range(5)]
    listed = [_item("b1", "bulkload-0123456789ab", running=3, start_failed=2)]

    found = drift(listed, _delta(*entries), {"bulkload"})

    (batch,) = found.drifted
    assert (batch.states, batch.restart_known, batch.restart_unknown, batch.gone) == (
        {"start_failed": 2},
        0,
        2,
        0,
    )
    assert found.pending


def test_failed_tasks_the_ledger_knows_are_what_restart_failed_starts() -> None:
    """The plan's restarts in the batch are counted as known: none is left for a refresh."""
    failed = [
        _entry(f"cam-{n}", "bulkload-0123456789ab", "b1")._replace(task_state="START_FAILED")
        for n in range(2)
    ]
    running = [_entry(f"cam-{n}", "bulkload-0123456789ab", "b1") for n in range(2, 5)]
    listed = [_item("b1", "bulkload-0123456789ab", running=3, start_failed=2)]

    (batch,) = drift(
        listed, _delta(*failed, *running, restarts=tuple(failed)), {"bulkload"}
    ).drifted

    assert (batch.restart_known, batch.restart_unknown) == (2, 0)


def test_stops_of_cameras_that_left_the_sheet_are_expected() -> None:
    """Tasks bulkload stopped (--prune) are not drift; one more stopped task is."""
    entries = [
        _entry("cam-0", "bulkload-0123456789ab", "b1"),
        _entry("cam-1", "bulkload-0123456789ab", "b1", LedgerState.STOPPED),
        _entry("cam-2", "bulkload-0123456789ab", "b1", LedgerState.STOPPED),
    ]
    quiet = drift(
        [_item("b1", "bulkload-0123456789ab", running=1, stopped=2)], _delta(*entries), {"bulkload"}
    )
    more = drift([_item("b1", "bulkload-0123456789ab", stopped=3)], _delta(*entries), {"bulkload"})

    assert (quiet.drifted, quiet.pending) == ([], False)
    (batch,) = more.drifted
    assert (batch.stopped_by_bulkload, batch.restart_unknown) == (2, 1)


def test_tasks_on_their_way_are_listed_but_nothing_is_pending() -> None:
    """PENDING and STARTING: shown, not a change (a later plan sees where they went)."""
    listed = [_item("b1", "bulkload-0123456789ab", running=1, pending=1, starting=1)]

    found = drift(listed, _delta(), {"bulkload"})

    assert ([b.on_the_way for b in found.drifted], found.pending) == ([2], False)


def test_tasks_and_batches_gone_from_the_api_are_drift() -> None:
    """The ledger holds 3 tasks in b1, the API counts 2; b2 is not listed at all."""
    entries = [_entry(f"cam-{n}", "bulkload-0123456789ab", "b1") for n in range(3)]
    entries.append(_entry("cam-9", "bulkload-ba9876543210", "b2"))
    listed = [_item("b1", "bulkload-0123456789ab", running=2)]

    found = drift(listed, _delta(*entries), {"bulkload"})

    assert ([b.gone for b in found.drifted], found.missing) == (
        [1],
        [("bulkload-ba9876543210", "b2")],
    )


def test_a_batch_loaded_by_this_file_under_another_prefix_is_the_sheets() -> None:
    """Scoped as removals are: by the sheet's prefixes, or by the file that loaded it."""
    entry = _entry("cam-0", "old-0123456789ab", "b1")._replace(inventory="site.csv")
    listed = [_item("b1", "old-0123456789ab", start_failed=1)]

    assert [b.id for b in drift(listed, _delta(entry), {"bulkload"}, "site.csv").drifted] == ["b1"]
    assert drift(listed, _delta(entry), {"bulkload"}, "other.csv").drifted == []


# --- against the simulated API, in process, on a fake clock --------------------------------


def _sim(config: SimConfig, clock: FakeClock) -> Wiring:
    state = new_state(config)
    state.clock = clock.now
    return Wiring(clock=clock, transport=httpx.ASGITransport(app=create_app(config, state)))


def _options(folder: Path) -> RunOptions:
    return settings_for(ENDPOINT, folder, ledger=folder / "ledger.sqlite")


def _week_one(folder: Path, clock: FakeClock, failing: frozenset[str]) -> tuple[Path, Wiring]:
    """A sheet of 2 groups x 3 cameras run once; ``failing`` cameras fail to start."""
    sheet = write_inventory(folder, groups=2, per_group=3)
    config = SimConfig(start_fail_percent=0, always_fail_sources=failing)
    wiring = _sim(config, clock)
    start_run(sheet, _options(folder), wiring=wiring)
    clock.time += 60.0  # every task has reached its state
    return sheet, wiring


def test_a_plan_sees_a_task_that_failed_to_start_in_one_request_then_refresh_knows_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Without a refresh the ledger holds it as created; the counts show it; after a
    refresh it is a restart the plan lists, and --restart-failed starts it."""
    sheet, wiring = _week_one(tmp_path, clock, frozenset({"cam-00001-002"}))
    options = _options(tmp_path)
    loaded = load_sheet(sheet, options)

    before = run_drift.check_drift(
        loaded,
        options,
        diff_sheet(loaded, options.plan_choices, options.ledger_scope()),
        wiring,
    )
    refresh_ledger(options, wiring=wiring)
    delta = diff_sheet(loaded, options.plan_choices, options.ledger_scope())
    after = run_drift.check_drift(loaded, options, delta, wiring)

    assert (before.checked, before.requests, before.batches, before.tasks) == (True, 1, 1, 6)
    assert [(b.states, b.restart_known, b.restart_unknown) for b in before.drifted] == [
        ({"start_failed": 1}, 0, 1)
    ]
    assert [(b.restart_known, b.restart_unknown) for b in after.drifted] == [(1, 0)]
    assert [c.key[1] for c in delta.restarts] == ["cam-00001-002"]


def test_no_credentials_plan_as_before_and_say_why_drift_was_not_checked(
    tmp_path: Path, clock: FakeClock
) -> None:
    """No credentials: nothing is asked, the reason names the variables to set."""
    sheet, wiring = _week_one(tmp_path, clock, frozenset())
    options = _options(tmp_path)
    bare = RunOptions.of(
        mapping=options.reading.mapping,
        endpoint=ENDPOINT,
        project_id=PROJECT,
        ledger=options.ledger,
    )
    loaded = load_sheet(sheet, bare)

    found = run_drift.check_drift(
        loaded, bare, diff_sheet(loaded, bare.plan_choices, bare.ledger_scope()), wiring
    )

    assert (found.checked, found.reason.startswith("no credentials: set BULKLOAD_AUTH_TOKEN")) == (
        False,
        True,
    )


def _plan(
    monkeypatch: pytest.MonkeyPatch, wiring: Wiring, folder: Path, sheet: Path, *extra: str
) -> Any:
    """``bulkload plan --detailed-exitcode --json`` against the in-process simulator."""
    monkeypatch.setattr(run_drift, "check_drift", partial(run_drift.check_drift, wiring=wiring))
    arguments = [
        *("plan", str(sheet), "-m", str(folder / "flat-test.toml"), "--json"),
        *(
            "--endpoint",
            ENDPOINT,
            "--project-id",
            PROJECT,
            "--ledger",
            str(folder / "ledger.sqlite"),
        ),
        *("--detailed-exitcode", *extra),
    ]
    return runner.invoke(app, arguments, env={"BULKLOAD_AUTH_TOKEN": "sim-token"})


def test_detailed_exitcode_is_0_when_the_project_matches_the_sheet(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every camera unchanged, every task running: exit 0, and --json says so."""
    sheet, wiring = _week_one(tmp_path, clock, frozenset())

    result = _plan(monkeypatch, wiring, tmp_path, sheet)

    summary = json.loads(result.stdout)
    assert (result.exit_code, summary["exit_code"], summary["changes_pending"]) == (0, 0, False)
    assert summary["drift"]["batches"] == 1
    assert "drift: none; every task of the sheet's 1 batch runs" in result.stderr
    assert "exit 0: no changes" in result.stderr


def test_detailed_exitcode_is_2_when_only_drift_differs(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All unchanged by the ledger, one task failed to start: exit 2 with the drift named."""
    sheet, wiring = _week_one(tmp_path, clock, frozenset({"cam-00000-000"}))

    result = _plan(monkeypatch, wiring, tmp_path, sheet)

    summary = json.loads(result.stdout)
    assert (result.exit_code, summary["exit_code"], summary["pending"]) == (2, 2, {"drift": 1})
    assert summary["diff"]["counts"]["unchanged"] == 6
    text = " ".join(result.stderr.split())
    assert "6 tasks, 5 running, 1 start_failed" in text
    assert "bulkload refresh (or plan --refresh) learns which, then --restart-failed" in text


def test_plan_refresh_turns_the_drift_into_a_listed_restart(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """plan --refresh: the ledger learns the failed task; it is a restart, still exit 2."""
    sheet, wiring = _week_one(tmp_path, clock, frozenset({"cam-00000-000"}))
    monkeypatch.setattr(
        "loader.run.refresh.refresh_ledger",
        partial(refresh_ledger, wiring=wiring),
    )

    result = _plan(monkeypatch, wiring, tmp_path, sheet, "--refresh")

    summary = json.loads(result.stdout)
    assert (result.exit_code, summary["pending"]) == (2, {"restart": 1, "drift": 1})
    assert summary["drift"]["drifted"][0]["restart_known"] == 1


# --- the listing: paged, a page without an answer asked once more ---------------------------


def _listing_api(answers: list[httpx.Response]) -> tuple[Wiring, list[httpx.Request], FakeClock]:
    """A mock API that answers ListBatchTasks from ``answers`` in turn."""
    seen: list[httpx.Request] = []
    clock = FakeClock()

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return Wiring(clock=clock, transport=httpx.MockTransport(api)), seen, clock


def _checked(tmp_path: Path, wiring: Wiring) -> Any:
    sheet = write_inventory(tmp_path, groups=1, per_group=1)
    options = _options(tmp_path)
    loaded = load_sheet(sheet, options)
    return run_drift.check_drift(loaded, options, Delta(send=[]), wiring)


def test_a_page_without_an_answer_is_asked_once_more_after_a_pause(tmp_path: Path) -> None:
    """500, then the page: one drift from two requests, a second's pause between them."""
    page = {"count": 1, "batch_task_list": [_item("b1", "bulkload-0123456789ab", running=1)]}
    wiring, seen, clock = _listing_api(
        [httpx.Response(500, json={"error_code": "VIAS.00010006"}), httpx.Response(200, json=page)]
    )

    found = _checked(tmp_path, wiring)

    assert (found.checked, found.requests, found.batches, clock.sleeps) == (True, 2, 1, [1.0])
    assert [dict(r.url.params) for r in seen] == [{"page_size": "200", "page_num": "1"}] * 2


def test_a_refused_listing_is_not_asked_again_and_says_why(tmp_path: Path) -> None:
    """A 400 is final: drift not checked, the API's answer as the reason; the plan goes on."""
    refusal = {"error_code": "VIAS.00010001", "error_msg": "The parameters are invalid."}
    wiring, seen, _ = _listing_api([httpx.Response(400, json=refusal)])

    found = _checked(tmp_path, wiring)

    assert (found.checked, len(seen)) == (False, 1)
    assert found.reason.startswith("ListBatchTasks: GET /batch-tasks answered")


def test_pages_are_read_until_a_short_one(tmp_path: Path) -> None:
    """200 batches, then 1: two requests, every batch counted."""
    full = [_item(f"b{n}", f"bulkload-{n:012x}", running=1) for n in range(200)]
    last = [_item("b200", f"bulkload-{200:012x}", running=1)]
    wiring, seen, _ = _listing_api(
        [
            httpx.Response(200, json={"count": 201, "batch_task_list": full}),
            httpx.Response(200, json={"count": 201, "batch_task_list": last}),
        ]
    )

    found = _checked(tmp_path, wiring)

    assert (found.requests, found.batches, [r.url.params["page_num"] for r in seen]) == (
        2,
        201,
        ["1", "2"],
    )


# --- every task that is not running is accounted for once ------------------------------------

STATES = ["pending", "starting", "start_failed", "running", "stopping", "stopped", "abnormal"]
STATES += ["create_failed", "failed", "deleting", "lack_of_resources", "succeeded"]


@given(
    counts=st.fixed_dictionaries({s: st.integers(0, 4) for s in STATES}),
    pruned=st.integers(0, 6),
    known=st.integers(0, 6),
)
def test_every_task_not_running_is_counted_in_exactly_one_kind(
    counts: dict[str, int], pruned: int, known: int
) -> None:
    """Restartable, on the way, not restartable and stopped by --prune add up to the tasks
    that are not running, whatever the counts and the ledger say; what the ledger does not
    know to restart is the rest of the restartable."""
    stops = counts["stopped"] + counts["stopping"]
    restartable = counts["start_failed"] + counts["abnormal"] + counts["stopped"]
    pruned, known = min(pruned, stops), min(known, restartable)
    name = "bulkload-0123456789ab"
    stopped = [_entry(f"gone-{n}", name, "b1", LedgerState.STOPPED) for n in range(pruned)]
    failed = [
        _entry(f"cam-{n}", name, "b1")._replace(task_state="START_FAILED") for n in range(known)
    ]
    listed = [_item("b1", name, **counts)]

    found = drift(listed, _delta(*stopped, *failed, restarts=tuple(failed)), {"bulkload"})

    not_running = sum(counts.values()) - counts["running"]
    (batch,) = found.drifted or [None]
    if batch is None:
        assert not_running == pruned
    else:
        kinds = (batch.restartable, batch.on_the_way, batch.not_restartable)
        assert sum(kinds) + batch.stopped_by_bulkload == not_running
        assert batch.restart_unknown == max(0, batch.restartable - known)
