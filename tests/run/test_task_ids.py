"""Task ids at the least cost: a load sends its creates and nothing else; a change finds the
ids it needs by joining ListTasks to ListVideoSources' names, ShowTaskInfo only for what
names leave open; and the simulator's ListVideoSources follows the SDK's model."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from loader.run.runner import start_run
from loader.send.auth import StaticToken
from loader.send.client import ViasClient
from loader.send.observe import find_tasks, source_names
from loader.send.pacing import RateLimiter
from loader.sim import SimConfig
from loader.sim.service import derived_source_name
from tests.conftest import FakeClock
from tests.run.test_sync import _options, assert_matches, edit, inventory, wiring_for
from tests.run.test_sync import write as write_sheet

BASE = "/v2/sim-project"


def _kinds(requests: list[Any]) -> Counter[str]:
    """Requests by what they ask: create, list tasks, show task, list sources..."""
    kinds: Counter[str] = Counter()
    for r in requests:
        path = r.path.removeprefix(BASE)
        if r.method == "POST" and path == "/batch-tasks":
            kinds["create"] += 1
        elif r.method == "GET" and path == "/tasks":
            kinds["list tasks"] += 1
        elif r.method == "GET" and path.startswith("/tasks/"):
            kinds["show task"] += 1
        elif r.method == "GET" and path == "/source/sources":
            kinds["list sources"] += 1
        elif r.method == "GET" and path == "/batch-tasks":
            kinds["list batches"] += 1
        elif r.method in ("PUT", "DELETE"):
            kinds["change"] += 1
        else:
            kinds[f"{r.method} {path}"] += 1
    return kinds


def _write_nameless(folder: Path, rows: list[tuple[str, str, str, str, str]], name: str) -> Path:
    """The weekly sheet without its Name column (as the held-back weekly export has none)."""
    path = write_sheet(folder, rows, name)
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [",".join(part for n, part in enumerate(_split(line)) if n != 2) for line in lines]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    mapping = folder / "weekly.toml"
    mapping.write_text(
        mapping.read_text(encoding="utf-8").replace('camera_name = "Name"\n', ""),
        encoding="utf-8",
    )
    return path


def _split(line: str) -> list[str]:
    """A CSV line of ours split on commas outside quotes (the ROI is quoted)."""
    parts, quoted, current = [], False, ""
    for char in line:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def test_a_default_load_sends_its_creates_and_nothing_else(tmp_path: Path) -> None:
    """2,400 cameras in 120 groups of 20: two batches, two creates; no task list, no
    ShowTaskInfo, no source list."""
    clock = FakeClock()
    wiring, sim = wiring_for(SimConfig(start_fail_percent=0), clock)
    sheet = write_sheet(tmp_path, inventory(2_400))

    report = start_run(sheet, _options(tmp_path), wiring=wiring)

    assert report.exit_code == 0
    assert _kinds(sim.requests) == {"create": report.counts["batches"]}
    assert report.counts["batches"] == 2


def test_a_weekly_apply_of_a_nameless_sheet_finds_ids_without_showtaskinfo(
    tmp_path: Path,
) -> None:
    """No Name column, no ids learned at the load: week 2 joins ListTasks to the sources'
    names (one list per touched batch, one source page per 200 cameras of touched groups)
    and changes exactly the planned tasks."""
    clock = FakeClock()
    wiring, sim = wiring_for(SimConfig(start_fail_percent=0), clock)
    rows = inventory(400)
    first = start_run(
        _write_nameless(tmp_path, rows, "site.csv"), _options(tmp_path), wiring=wiring
    )
    assert first.exit_code == 0
    edited, expected = edit(rows)
    removed = {(g, c) for c, g, *_ in rows} - {(g, c) for c, g, *_ in edited}
    week2 = _write_nameless(tmp_path, edited, "site-week-2.csv")
    before = len(sim.requests)

    report = start_run(week2, _options(tmp_path, prune="stop"), wiring=wiring)

    kinds = _kinds(sim.requests[before:])
    assert report.exit_code == 0, report.stop_reason
    # week 1's 20 groups' 400 sources: two pages, asked once in the run (the batches that
    # replace tasks are in groups already asked about); week 1's batch, then the two new
    assert (kinds["show task"], kinds["list sources"], kinds["list tasks"]) == (0, 2, 1 + 2)
    assert_matches(sim, edited, removed)
    assert sim.camera_report()["duplicated_cameras"] == 0
    assert report.removed == {"stopped": expected["remove"]}


def test_a_weekly_apply_shows_no_task_of_a_camera_it_does_not_change(tmp_path: Path) -> None:
    """One camera a group (most groups untouched): the touched groups' source names find
    every task a change needs; the batch's other tasks, whose names are not among them, are
    no changed camera's and are never shown (they were, one ShowTaskInfo each)."""
    clock = FakeClock()
    wiring, sim = wiring_for(SimConfig(start_fail_percent=0), clock)
    rows = [
        (f"cam-{n:05d}", f"grp-{n:05d}", "c-smoke", "08:00-18:00", f"0,0;{n % 50 + 10},0;0,10")
        for n in range(200)
    ]
    first = start_run(
        _write_nameless(tmp_path, rows, "site.csv"), _options(tmp_path), wiring=wiring
    )
    assert first.exit_code == 0
    timed = set(range(0, 200, 25))  # 8 new hours
    gone = set(range(3, 200, 50))  # 4 removed
    edited = [
        (c, g, a, "09:00-17:00" if n in timed else h, r)
        for n, (c, g, a, h, r) in enumerate(rows)
        if n not in gone
    ]
    removed = {(rows[n][1], rows[n][0]) for n in gone}
    before = len(sim.requests)

    report = start_run(
        _write_nameless(tmp_path, edited, "site-week-2.csv"),
        _options(tmp_path, prune="stop"),
        wiring=wiring,
    )

    kinds = _kinds(sim.requests[before:])
    assert report.exit_code == 0, report.stop_reason
    # 200 groups: two batches, one list each; 12 touched groups: one page of sources
    assert (kinds["show task"], kinds["list sources"], kinds["list tasks"]) == (0, 1, 2)
    assert (report.statuses["updated"], report.removed) == (8, {"stopped": 4})
    assert_matches(sim, edited, removed)


def _client(transport: httpx.AsyncBaseTransport) -> tuple[httpx.AsyncClient, ViasClient]:
    http = httpx.AsyncClient(base_url="http://vias.test", transport=transport)
    limiter = RateLimiter(1000.0, FakeClock())
    return http, ViasClient(http, project_id="p", auth=StaticToken("t"), limiter=limiter)


@pytest.mark.anyio
async def test_tasks_are_joined_by_name_and_a_camera_twice_in_a_batch_is_left_open() -> None:
    """Named tasks need no ShowTaskInfo; an unnamed one is shown; a camera with two tasks in
    one batch maps to no task (which group's is which is not known)."""
    shown: list[str] = []
    tasks = [
        {"id": "t1", "name": "a", "state": "RUNNING", "video_source_name": "cam one"},
        {"id": "t2", "name": "b", "state": "RUNNING", "video_source_name": "cam two"},
        {"id": "t3", "name": "c", "state": "RUNNING", "video_source_name": "cam two"},
        {"id": "t4", "name": "d", "state": "RUNNING", "video_source_name": ""},
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/p/tasks":
            return httpx.Response(200, json={"count": len(tasks), "tasks": tasks})
        shown.append(request.url.path.rsplit("/", 1)[-1])
        return httpx.Response(
            200, json={"name": "d", "input": {"data": [{"video_source_id": "s4"}]}}
        )

    http, client = _client(httpx.MockTransport(answer))
    async with http:
        found = await find_tasks(client, ["b1"], {"cam one": "s1", "cam two": "s2"})

    assert found == {("b1", "s1"): ("t1", "a"), ("b1", "s2"): ("", ""), ("b1", "s4"): ("t4", "d")}
    assert shown == ["t4"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("wanted", "shown"),
    [
        ({"s1"}, []),  # named: nothing to show, the other cameras' tasks least of all
        ({"s1", "s5"}, ["t4"]),  # s5's name is known, on no task: only a nameless one may be it
        ({"s1", "s9"}, ["t3", "t4"]),  # s9's name is not known: every unmatched task may be it
    ],
    ids=["all-named", "named-elsewhere", "name-unknown"],
)
async def test_only_tasks_that_may_be_a_wanted_cameras_are_shown(
    wanted: set[str], shown: list[str]
) -> None:
    """With the sources sought named, ShowTaskInfo goes only to the tasks that may be one
    of theirs, never to the tasks of the batch's other cameras."""
    asked: list[str] = []
    tasks = [
        {"id": "t1", "name": "a", "state": "RUNNING", "video_source_name": "cam one"},
        {"id": "t2", "name": "b", "state": "RUNNING", "video_source_name": "cam two"},
        {"id": "t3", "name": "c", "state": "RUNNING", "video_source_name": "someone else"},
        {"id": "t4", "name": "d", "state": "RUNNING", "video_source_name": ""},
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/p/tasks":
            return httpx.Response(200, json={"count": len(tasks), "tasks": tasks})
        task_id = request.url.path.rsplit("/", 1)[-1]
        asked.append(task_id)
        source = {"t3": "s3", "t4": "s4"}[task_id]
        return httpx.Response(
            200, json={"name": task_id, "input": {"data": [{"video_source_id": source}]}}
        )

    names = {"cam one": "s1", "cam two": "s2", "cam five": "s5"}
    http, client = _client(httpx.MockTransport(answer))
    async with http:
        found = await find_tasks(client, ["b1"], names, wanted={"b1": wanted})

    assert sorted(asked) == shown
    assert found[("b1", "s1")] == ("t1", "a")


@pytest.mark.anyio
async def test_source_names_page_through_every_group_chunk() -> None:
    """200 sources a page, at most 100 groups a query; names map to ids."""
    asked: list[tuple[int, int]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        groups = request.url.params.get_list("video_group_id")
        page = int(request.url.params["page_num"])
        asked.append((len(groups), page))
        count = 200 if page == 1 else 3
        items = [
            {
                "video_source_id": f"{groups[0]}-{page}-{n}",
                "video_source_name": f"n{groups[0]}-{page}-{n}",
            }
            for n in range(count)
        ]
        return httpx.Response(200, json={"total_number": 203, "video_source_list": items})

    http, client = _client(httpx.MockTransport(answer))
    async with http:
        names = await source_names(client, [f"g{n:03d}" for n in range(150)])

    assert asked == [(100, 1), (100, 2), (50, 1), (50, 2)]  # 203 of each: 200, then 3
    assert len(names) == 2 * 203
    assert names["ng000-2-1"] == "g000-2-1"


def test_the_simulator_lists_sources_by_group_with_their_names(tmp_path: Path) -> None:
    """ListVideoSources as the SDK models it: the groups' sources, named (configured or
    derived), paged by page_size 5..200, filtered by repeated video_group_id."""
    clock = FakeClock()
    config = SimConfig(start_fail_percent=0, source_names={"cam-00001": "Lobby east"})
    wiring, _ = wiring_for(config, clock)
    start_run(write_sheet(tmp_path, inventory(60)), _options(tmp_path), wiring=wiring)
    transport = wiring.transport
    assert transport is not None
    headers = {"X-Auth-Token": "sim-token"}

    async def ask() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as http:
            path = f"{BASE}/source/sources"
            return [
                await http.get(path, params=params, headers=headers)
                for params in (
                    {"video_group_id": ["grp-0000", "grp-0002"], "page_size": 5},
                    {"page_size": 201},
                    {"is_paged": "false"},
                )
            ]

    one, too_big, all_of_them = anyio.run(ask)

    page = one.json()
    assert (page["total_number"], page["video_source_number"]) == (40, 5)
    listed = {s["video_source_id"]: s for s in all_of_them.json()["video_source_list"]}
    assert len(listed) == 60
    assert listed["cam-00001"]["video_source_name"] == "Lobby east"
    assert listed["cam-00002"]["video_source_name"] == derived_source_name("cam-00002")
    assert [p["video_group_id"] for p in listed["cam-00002"]["video_packages"]] == ["grp-0000"]
    assert len({s["video_source_name"] for s in listed.values()}) == 60
    assert (too_big.status_code, too_big.json()["error_code"]) == (400, "VIAS.00010001")


def test_the_simulator_sorts_sources_by_each_documented_sort_name(tmp_path: Path) -> None:
    """sort_name create_at, num_task and num_template (ListVideoSourcesRequest) each sort
    the list; num_task by the sources' ``num_tasks``."""
    wiring, _ = wiring_for(SimConfig(start_fail_percent=0), FakeClock())
    start_run(write_sheet(tmp_path, inventory(40)), _options(tmp_path), wiring=wiring)
    transport = wiring.transport
    assert transport is not None

    async def ask(sort: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as http:
            params = {"sort_name": sort, "order_by": "asc", "is_paged": "false"}
            headers = {"X-Auth-Token": "sim-token"}
            return await http.get(f"{BASE}/source/sources", params=params, headers=headers)

    answers = {sort: anyio.run(ask, sort) for sort in ("create_at", "num_task", "num_template")}

    assert {sort: a.status_code for sort, a in answers.items()} == {
        "create_at": 200,
        "num_task": 200,
        "num_template": 200,
    }
    listed = answers["num_task"].json()["video_source_list"]
    assert [s["num_tasks"] for s in listed] == sorted(s["num_tasks"] for s in listed)
