"""``bulkload refresh``: the ledger learned from the simulated API, in process, on a fake clock."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from loader.model.cameras import LedgerEntry, LedgerKey, LedgerState
from loader.planning import documents
from loader.planning.learned import (
    ListedBatch,
    managed_prefix,
    managed_prefixes,
    resolve_group,
    task_document,
)
from loader.run.options import RunOptions
from loader.run.refresh import RefreshProgress, refresh_ledger
from loader.run.runner import Wiring, start_run
from loader.run.sheet import load_sheet
from loader.send import learn
from loader.sim import SimConfig, SimState
from loader.sim.app import create_app, new_state
from loader.sim.state import SimBatch
from loader.state.ledger import Ledger
from tests.conftest import FakeClock, write_inventory
from tests.run.test_run import settings_for

ENDPOINT = "http://sim.test"
PROJECT = "sim-project"
SERVICE = "c-smoke"


def _sim(
    config: SimConfig, clock: FakeClock, state: SimState | None = None
) -> tuple[Wiring, SimState]:
    """An in-process simulator on the fake clock (a given state: the same project, a new app)."""
    if state is None:
        state = new_state(config)
        state.clock = clock.now
    app = create_app(config, state)
    return Wiring(clock=clock, transport=httpx.ASGITransport(app=app)), state


def _options(folder: Path, **overrides: object) -> RunOptions:
    return settings_for(ENDPOINT, folder, ledger=folder / "ledger.sqlite", **overrides)


def _entries(options: RunOptions) -> dict[LedgerKey, LedgerEntry]:
    assert options.ledger is not None
    with Ledger(options.ledger) as ledger:
        return ledger.entries(ENDPOINT, PROJECT)


def _body(name: str, groups: range, per_group: int, **settings: Any) -> dict[str, Any]:
    """A valid CreateBatchTask body: groups grp-G with cameras cam-G-N."""
    entries = [
        {
            "video_source_group_id": f"grp-{g:05d}",
            "video_source_list": [
                {"video_source_id": f"cam-{g:05d}-{n:03d}"} for n in range(per_group)
            ],
        }
        for g in groups
    ]
    return {
        "name": name,
        "service_name": SERVICE,
        "service_version": "3.0",
        "output": {"event_center": True},
        **settings,
        "batch_input": {"video_source_group": entries},
    }


def _create(sim: SimState, body: dict[str, Any]) -> SimBatch:
    """A batch as a create makes it: its groups known to ListVideoGroups, its tasks made."""
    sim.note_seen(body)
    return sim.create(body)


def _managed_name(number: int, prefix: str = "bulkload") -> str:
    return f"{prefix}-{hashlib.sha256(str(number).encode()).hexdigest()[:12]}"


def _requests(sim: SimState, since: int, kind: str) -> int:
    """Requests of one kind logged since index ``since``: batches, tasks, show, groups."""
    base = f"/v2/{PROJECT}/"
    paths = [r.path.removeprefix(base) for r in sim.requests[since:] if r.method == "GET"]
    match kind:
        case "show":
            return sum(1 for p in paths if p.startswith("tasks/"))
        case "tasks":
            return paths.count("tasks")
        case "batches":
            return paths.count("batch-tasks")
        case _:
            return paths.count("video-group/groups")


def _expected_print(options: RunOptions, sheet: Path) -> str:
    """The fingerprint of the sheet's settings as the API reports them: no service_version."""
    settings = load_sheet(sheet, options).checked.settings_classes[0].task_settings
    doc = documents.document(settings, None)
    del doc["service_version"]
    return documents.fingerprint(doc)


def test_an_empty_ledger_learns_every_camera_task_a_run_created(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A run's batches, its ledger deleted: every task learned by its key, id and settings."""
    sheet = write_inventory(tmp_path, groups=150, per_group=2)  # 300 cameras, 2 batches
    wiring, sim = _sim(SimConfig(), clock)
    options = _options(tmp_path)
    start_run(sheet, options, wiring=wiring)
    for leftover in tmp_path.glob("ledger.sqlite*"):
        leftover.unlink()
    clock.time += 60.0  # every task has reached its last state: the states read stay true
    since = len(sim.requests)
    seen: list[RefreshProgress] = []

    report = refresh_ledger(options, wiring=wiring, observer=seen.append)

    entries = _entries(options)
    tasks = {(t.group_id, t.video_source_id, SERVICE): t for t in sim.tasks.values()}
    assert {k: e.task_id for k, e in entries.items()} == {k: t.id for k, t in tasks.items()}
    assert {e.fingerprint for e in entries.values()} == {_expected_print(options, sheet)}
    assert {k: e.task_state for k, e in entries.items()} == {
        k: sim.state_of(t) for k, t in tasks.items()
    }
    assert {(e.state, e.run, e.message, e.inventory) for e in entries.values()} == {
        (LedgerState.LOADED, report.run, "learned from the API", "")
    }
    assert {e.batch_id: e.batch for e in entries.values()} == {
        b.id: b.name for b in sim.batches.values()
    }
    result = report.result
    assert (result.batches_managed, result.batches_unmanaged, result.tasks_learned) == (2, 0, 300)
    assert (result.tasks_updated, result.tasks_gone, result.tasks_unresolved) == (0, 0, 0)
    assert (report.exit_code, result.requests) == (0, len(sim.requests) - since)
    assert result.requests == 1 + 2 + 300 + 1  # batches, tasks of each, each task, groups
    assert seen[-1] == RefreshProgress(2, 2, 300, 300)


def test_the_documents_of_learned_tasks_are_kept_by_fingerprint(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A learned task's settings go to the ledger's documents, header values masked."""
    wiring, sim = _sim(SimConfig(), clock)
    webhook = {"url": "https://hook.example/x", "headers": {"Authorization": "Bearer s3cret-value"}}
    _create(sim, _body(_managed_name(1), range(2), 1, output={"webhook": webhook}))
    options = _options(tmp_path)

    refresh_ledger(options, wiring=wiring)

    assert options.ledger is not None
    with Ledger(options.ledger) as ledger:
        kept = ledger.documents(ENDPOINT, PROJECT)
    masked_hook = {"url": "https://hook.example/x", "headers": {"Authorization": "***"}}
    expected = {"service_name": SERVICE, "output": {"webhook": masked_hook}}
    assert kept == {documents.fingerprint(expected): expected}
    assert {e.fingerprint for e in _entries(options).values()} == set(kept)


def test_a_batch_of_another_name_is_reported_and_never_recorded(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Names that are not <managed prefix>-<12 hex> are listed in the report, nothing more."""
    wiring, sim = _sim(SimConfig(), clock)
    ours = _create(sim, _body(_managed_name(1), range(3), 1))
    manual = _create(sim, _body("manual-rollout", range(3, 5), 2))
    other = _create(sim, _body(_managed_name(2, "other"), range(5, 6), 1))
    options = _options(tmp_path)
    since = len(sim.requests)

    report = refresh_ledger(options, wiring=wiring)

    unmanaged = sorted(report.result.unmanaged, key=lambda b: b.name)
    assert unmanaged == [
        ListedBatch(manual.id, "manual-rollout", SERVICE, 4),
        ListedBatch(other.id, other.name, SERVICE, 1),
    ]
    assert {e.batch_id for e in _entries(options).values()} == {ours.id}
    assert (_requests(sim, since, "tasks"), _requests(sim, since, "show")) == (1, 3)


def test_a_prefix_given_makes_its_batches_managed(tmp_path: Path, clock: FakeClock) -> None:
    """--prefix other: other-<12 hex> is read too (the prefix cleaned as planning cleans it)."""
    wiring, sim = _sim(SimConfig(), clock)
    other = _create(sim, _body(_managed_name(2, "other"), range(2), 1))

    report = refresh_ledger(_options(tmp_path), prefixes=["other "], wiring=wiring)

    assert (report.result.unmanaged, report.result.tasks_learned) == ([], 2)
    assert {e.batch for e in _entries(_options(tmp_path)).values()} == {other.name}


def test_a_refresh_that_stopped_resumes_after_what_it_recorded(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused mid-way (quota): what was recorded stays (whole batches with their mark, and
    the batch under way in chunks); the next refresh lists and shows only the rest."""
    monkeypatch.setattr(learn, "RECORD_EVERY", 10)
    config = SimConfig(app_quota=40)
    _, sim = _sim(config, clock)
    small = [_create(sim, _body(_managed_name(n), range(2 * n, 2 * n + 2), 1)) for n in (1, 2)]
    _create(sim, _body(_managed_name(3), range(10, 60), 1))  # 50 cameras: read last
    options = _options(tmp_path)
    stopped = refresh_ledger(options, wiring=_sim(config, clock, sim)[0])
    recorded, kept = stopped.result.batches_read, len(_entries(options))
    since = len(sim.requests)

    resumed = refresh_ledger(options, wiring=_sim(SimConfig(), clock, sim)[0])

    assert stopped.result.stop_reason.startswith("the API refused the run")
    assert (stopped.exit_code, recorded, stopped.result.tasks_learned) == (3, 2, kept)
    assert 4 < kept < 54  # the small batches whole, the large one in part
    assert {b.id for b in small} <= {e.batch_id for e in _entries(options).values()}
    assert (_requests(sim, since, "tasks"), _requests(sim, since, "show")) == (1, 54 - kept)
    assert (resumed.exit_code, resumed.result.batches_resumed) == (0, recorded)
    assert (resumed.result.tasks_learned, resumed.result.tasks_updated) == (54 - kept, kept - 4)
    assert len(_entries(options)) == 54
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        assert ledger.refreshed(ENDPOINT, PROJECT) == set()  # done: the marks are gone


class _FailingShows(httpx.AsyncBaseTransport):
    """The simulator, but ShowTaskInfo of one task answers 500 every time."""

    def __init__(self, inner: httpx.AsyncBaseTransport, task_id: str) -> None:
        self.inner, self.path, self.asked = inner, f"/v2/{PROJECT}/tasks/{task_id}", 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.path:
            self.asked += 1
            body = {"error_code": "VIAS.00010006", "error_msg": "An internal error occurs."}
            return httpx.Response(500, json=body)
        return await self.inner.handle_async_request(request)


def test_a_task_whose_show_fails_leaves_its_batch_for_the_next_refresh(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Asked three times, then left: the rest is recorded, the batch unmarked, exit 3; the
    next refresh lists that batch alone and shows that task alone."""
    wiring, sim = _sim(SimConfig(), clock)
    flaky = _create(sim, _body(_managed_name(1), range(3), 1))
    _create(sim, _body(_managed_name(2), range(3, 5), 1))
    assert wiring.transport is not None
    failing = _FailingShows(wiring.transport, flaky.tasks[0].id)
    options = _options(tmp_path)
    first = refresh_ledger(options, wiring=replace(wiring, transport=failing))
    since = len(sim.requests)

    second = refresh_ledger(options, wiring=wiring)

    assert (failing.asked, first.exit_code, first.result.batches_left) == (3, 3, 1)
    assert [(u.task_id, u.transient) for u in first.result.unresolved] == [
        (flaky.tasks[0].id, True)
    ]
    assert (first.result.tasks_learned, second.result.tasks_learned) == (4, 1)
    assert (_requests(sim, since, "tasks"), _requests(sim, since, "show")) == (1, 1)
    assert (second.exit_code, len(_entries(options))) == (0, 5)


def test_again_reads_every_batch_even_after_a_stop(tmp_path: Path, clock: FakeClock) -> None:
    """--again forgets where the stopped refresh was: every batch is listed again."""
    config = SimConfig(app_quota=12)
    _, sim = _sim(config, clock)
    for n in range(3):
        _create(sim, _body(_managed_name(n), range(2 * n, 2 * n + 2), 1))
    options = _options(tmp_path)
    refresh_ledger(options, wiring=_sim(config, clock, sim)[0])
    since = len(sim.requests)

    again = refresh_ledger(options, again=True, wiring=_sim(SimConfig(), clock, sim)[0])

    assert (again.exit_code, again.result.batches_resumed) == (0, 0)
    assert _requests(sim, since, "tasks") == 3


def test_known_task_ids_are_refreshed_without_show_task_info(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Entries known by task id: state and name from ListTasks; key, settings, inventory kept."""
    wiring, sim = _sim(SimConfig(), clock)
    batch = _create(sim, _body(_managed_name(1), range(3), 2))
    options = _options(tmp_path)
    known = [
        LedgerEntry(
            t.group_id,
            t.video_source_id,
            SERVICE,
            "from-a-run",
            "unknown",
            "run-1",
            batch.name,
            batch.id,
            "",
            "",
            "cams.csv",
            t.id,
            "",
            "PENDING",
        )
        for t in batch.tasks
    ]
    assert options.ledger is not None
    with Ledger(options.ledger) as ledger:
        ledger.record(ENDPOINT, PROJECT, known)
    clock.time += 10  # the tasks run (or failed to start) by now
    since = len(sim.requests)

    report = refresh_ledger(options, wiring=wiring)

    entries = _entries(options)
    assert _requests(sim, since, "show") == 0
    assert (report.result.tasks_updated, report.result.tasks_learned) == (6, 0)
    assert {(e.fingerprint, e.inventory, e.run, e.state) for e in entries.values()} == {
        ("from-a-run", "cams.csv", "run-1", "loaded")
    }
    assert {e.task_id: (e.task_name, e.task_state) for e in entries.values()} == {
        t.id: (t.name, sim.state_of(t)) for t in batch.tasks
    }


def test_a_run_entry_without_a_task_id_gets_its_task_and_keeps_its_settings(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Recorded by the run that created the batch, no task id: ShowTaskInfo ties them."""
    wiring, sim = _sim(SimConfig(), clock)
    batch = _create(sim, _body(_managed_name(1), range(2), 1))
    options = _options(tmp_path)
    known = [
        LedgerEntry(
            t.group_id,
            t.video_source_id,
            SERVICE,
            "v3",
            "loaded",
            "run-1",
            batch.name,
            batch.id,
            "",
            "",
            "cams.csv",
        )
        for t in batch.tasks
    ]
    assert options.ledger is not None
    with Ledger(options.ledger) as ledger:
        ledger.record(ENDPOINT, PROJECT, known)

    report = refresh_ledger(options, wiring=wiring)

    assert (report.result.tasks_updated, report.result.tasks_learned) == (2, 0)
    assert {(e.task_id, e.fingerprint, e.inventory, e.run) for e in _entries(options).values()} == {
        (t.id, "v3", "cams.csv", "run-1") for t in batch.tasks
    }


def test_a_task_deleted_in_the_api_becomes_deleted(tmp_path: Path, clock: FakeClock) -> None:
    """A task no longer listed: its entry says deleted, with no task state; the rest as is."""
    wiring, sim = _sim(SimConfig(), clock)
    batch = _create(sim, _body(_managed_name(1), range(3), 1))
    options = _options(tmp_path)
    refresh_ledger(options, wiring=wiring)
    victim = batch.tasks[0]
    sim.delete_task(victim)
    clock.time += 10  # past deleting_after: gone
    sim.sweep()

    report = refresh_ledger(options, wiring=wiring)

    states = Counter((e.state, e.task_state == "") for e in _entries(options).values())
    assert states == {("deleted", True): 1, ("loaded", False): 2}
    key = (victim.group_id, victim.video_source_id, SERVICE)
    assert _entries(options)[key].task_id == victim.id
    assert (report.result.tasks_gone, report.result.tasks_updated) == (1, 2)


def test_a_batch_deleted_in_the_api_has_its_entries_deleted(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A recorded batch no longer listed, nor found by its name: every entry of it deleted."""
    wiring, sim = _sim(SimConfig(), clock)
    kept = _create(sim, _body(_managed_name(1), range(2), 1))
    doomed = _create(sim, _body(_managed_name(2), range(2, 5), 1))
    options = _options(tmp_path)
    refresh_ledger(options, wiring=wiring)
    for task in sim.delete_batch(doomed):
        sim.delete_task(task)
    clock.time += 10
    sim.sweep()

    report = refresh_ledger(options, wiring=wiring)

    by_batch = Counter((e.batch_id, e.state) for e in _entries(options).values())
    assert by_batch == {(kept.id, "loaded"): 2, (doomed.id, "deleted"): 3}
    assert (report.result.batches_gone, report.result.tasks_gone, report.exit_code) == (1, 3, 0)


def test_tasks_of_a_group_whose_name_is_not_unique_are_unresolved(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Two groups named alike: their tasks are reported, not recorded; the rest is learned."""
    config = SimConfig(group_names={"grp-00000": "Lobby", "grp-00001": "Lobby"})
    wiring, sim = _sim(config, clock)
    _create(sim, _body(_managed_name(1), range(3), 1))

    report = refresh_ledger(_options(tmp_path), wiring=wiring)

    assert [u.reason for u in report.result.unresolved] == ["2 video groups are named 'Lobby'"] * 2
    assert {k[0] for k in _entries(_options(tmp_path))} == {"grp-00002"}
    assert (report.result.tasks_learned, report.exit_code) == (1, 1)


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("bulkload-0123456789ab", "bulkload"),
        ("flat-test-0123456789ab", "flat-test"),
        ("bulkload-0123456789AB", None),
        ("bulkload-0123456789a", None),
        ("manual-rollout", None),
        ("-0123456789ab", None),
    ],
    ids=["default", "dashes", "upper-hex", "short-hash", "no-hash", "no-prefix"],
)
def test_managed_names_are_prefix_dash_twelve_lowercase_hex(name: str, prefix: str | None) -> None:
    """Only names planning gives batches carry a prefix."""
    assert managed_prefix(name) == prefix


def test_managed_prefixes_are_the_ledgers_bulkload_and_the_given() -> None:
    """The ledger's batch names give their prefixes; given ones are cleaned as planning does."""
    entry = LedgerEntry("g", "s", SERVICE, "f", "loaded", "r", "flat-test-0123456789ab")

    assert managed_prefixes([entry], ["my prefix"]) == {"bulkload", "flat-test", "my-prefix"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Lobby", ("g1", "")),
        ("Twice", ("", "2 video groups are named 'Twice'")),
        ("Nowhere", ("", "no video group is named 'Nowhere'")),
        ("Lobby,Twice", ("", "its camera is in several groups (Lobby,Twice)")),
        ("", ("", "ShowTaskInfo names no group")),
    ],
    ids=["unique", "not-unique", "unknown", "several", "none"],
)
def test_a_group_name_resolves_only_when_it_names_one_group(
    name: str, expected: tuple[str, str]
) -> None:
    """group_name -> id through ListVideoGroups' names."""
    by_name = {"Lobby": ["g1"], "Twice": ["g2", "g3"]}

    assert resolve_group(name, by_name) == expected


def test_a_task_document_is_what_show_task_info_says_without_nulls() -> None:
    """Nulls (and an empty description) are left out, as from a sheet's; not in config.common."""
    detail = {
        "id": "t1",
        "name": "x",
        "description": "",
        "schedule": {"type": "weekly", "days_of_month": None, "days_of_week": [1]},
        "output": {"event_center": True, "obs": None},
        "config": {"common": {"kept": None, "x": 1}},
        "resource_order_id": "order-1",
        "state": "RUNNING",
    }

    assert task_document(detail, SERVICE) == {
        "service_name": SERVICE,
        "schedule": {"type": "weekly", "days_of_week": [1]},
        "output": {"event_center": True},
        "config": {"common": {"kept": None, "x": 1}},
        "resource_order_id": "order-1",
    }
