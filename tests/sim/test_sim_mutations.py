"""
The simulator's calls that change what exists (UpdateTask, DeleteTask, StartStopTask and
their batch forms), task states moving on an injected clock, the faults on each mutation,
ListVideoGroups, the filters of ListTasks, ShowTaskInfo's shape and the state report. The
clock is moved by hand; nothing sleeps (bar one loopback test of dropped connections).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from loader.sim import MUTATION_FAULTS, SimConfig, create_app, running_simulator
from loader.sim.app import new_state
from loader.sim.service import derived_group_name
from loader.sim.state import SimState, SimTask
from tests.sim.test_sim_contract import (
    BATCHES,
    DOCUMENTED_SCHEDULE,
    GATEWAY_KEYS,
    NOW,
    PROJECT,
    TOKEN,
    VIAS_KEYS,
    send,
)

TASKS = f"/v2/{PROJECT}/tasks"
GROUPS = f"/v2/{PROJECT}/video-group/groups"
ROI = '{"polygons":[{"data":[[0,0],[100,0],[100,100]]}]}'
OTHER_ROI = '{"lines":[{"data":[[0,0],[50,50]]}]}'
HOOK = {"url": "https://hook.example/alarms", "headers": {"X-Key": "s3cret"}}


class Clock:
    """The state's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """A fresh hand-moved clock at 100.0."""
    return Clock()


def sim(clock: Clock, **changes: Any) -> Starlette:
    """An app whose tasks all start (unless changed), on ``clock``."""
    config = SimConfig(**{"start_fail_percent": 0, "wall_clock": NOW.timestamp, **changes})
    return create_app(config, new_state(config, clock=clock))


def state_of(app: Starlette) -> SimState:
    found: SimState = app.state.sim
    return found


def body(name: str = "site-a", **changes: Any) -> dict[str, Any]:
    """A create body: grp-1 with cam-a (ROI) and cam-b, grp-2 with cam-c."""
    request = {
        "name": name,
        "service_name": "c-smoke-and-fire-cloud",
        "service_version": "3.0",
        "batch_input": {
            "video_source_group": [
                {
                    "video_source_group_id": "grp-1",
                    "video_source_list": [
                        {"video_source_id": "cam-a", "target_roi": ROI},
                        {"video_source_id": "cam-b"},
                    ],
                },
                {
                    "video_source_group_id": "grp-2",
                    "video_source_list": [{"video_source_id": "cam-c"}],
                },
            ]
        },
        "output": {"event_center": True},
    }
    return {**request, **changes}


def one_camera(name: str, group: str, source: str, roi: str | None = None) -> dict[str, Any]:
    """batch_input of a single camera."""
    entry: dict[str, Any] = {"video_source_id": source}
    if roi is not None:
        entry["target_roi"] = roi
    return {"video_source_group": [{"video_source_group_id": group, "video_source_list": [entry]}]}


def create(app: Starlette, request: dict[str, Any]) -> str:
    """Create a batch; its id."""
    answer = send(app, "POST", BATCHES, headers=TOKEN, body=request)
    assert answer.status_code == 200, answer.text
    batch_id: str = answer.json()["id"]
    return batch_id


def task_of(app: Starlette, source: str, group: str = "") -> SimTask:
    """The (one) task of a video source."""
    [task] = [
        t
        for t in state_of(app).tasks.values()
        if t.video_source_id == source and group in ("", t.group_id)
    ]
    return task


def update_body(source: str, **changes: Any) -> dict[str, Any]:
    """A valid UpdateTask body for a task of ``source``."""
    request = {
        "name": "renamed-任务",
        "input": {"type": "video_source", "data": [{"video_source_id": source}]},
        "output": {"event_center": True},
    }
    return {**request, **changes}


def refused(answer: httpx.Response) -> tuple[int, str, str]:
    """(status, code, detail) of a VIAS error answer, its body shape checked on the way."""
    found = answer.json()
    assert found.keys() == VIAS_KEYS
    return answer.status_code, found["error_code"], found["detail"]


def shown(app: Starlette, task_id: str) -> httpx.Response:
    return send(app, "GET", f"{TASKS}/{task_id}", headers=TOKEN)


def show_state(app: Starlette, task_id: str) -> str:
    """ShowTaskInfo's state of a task."""
    answer = shown(app, task_id)
    assert answer.status_code == 200, answer.text
    state: str = answer.json()["state"]
    return state


def report(app: Starlette) -> dict[str, Any]:
    found: dict[str, Any] = send(app, "GET", "/_sim/state").json()
    return found


def camera(app: Starlette, source: str) -> dict[str, Any]:
    """The state endpoint's entry of a camera."""
    [entry] = [c for c in report(app)["cameras"] if c["video_source_id"] == source]
    return entry


def action(app: Starlette, task_id: str, command: str) -> httpx.Response:
    return send(app, "PUT", f"{TASKS}/{task_id}/action/{command}", headers=TOKEN)


# ---- UpdateTask ----------------------------------------------------------------------------


def test_update_replaces_settings_with_the_key_a_create_of_them_gives(clock: Clock) -> None:
    """UpdateTask answers {id, name}; the task's key is that of a create with the same settings."""
    app = sim(clock)
    create(app, body())
    task = task_of(app, "cam-b")
    new = {
        "description": "night watch",
        "schedule": DOCUMENTED_SCHEDULE,
        "output": {"webhook": HOOK},
        "config": {"common": {"video_sampling_interval": 2, "target_roi": OTHER_ROI}},
        "resource_order_id": "order-0001",
    }

    answer = send(app, "PUT", f"{TASKS}/{task.id}", headers=TOKEN, body=update_body("cam-b", **new))
    twin = {k: v for k, v in new.items() if k != "config"}
    twin["config"] = {"common": {"video_sampling_interval": 2}}
    create(app, body("twin", batch_input=one_camera("twin", "grp-9", "cam-z", OTHER_ROI), **twin))

    assert (answer.status_code, answer.json()) == (200, {"id": task.id, "name": "renamed-任务"})
    [key] = camera(app, "cam-b")["settings"]
    assert camera(app, "cam-z")["settings"] == [key]
    assert report(app)["settings"][key] == {
        "service_name": "c-smoke-and-fire-cloud",
        "service_version": "3.0",
        "schedule": DOCUMENTED_SCHEDULE,
        "output": {"webhook": {"url": HOOK["url"], "headers": {"X-Key": "***"}}},
        "config": {"common": {"video_sampling_interval": 2}},
        "resource_order_id": "order-0001",
        "target_roi": OTHER_ROI,
    }
    assert (task.name, task.description) == ("renamed-任务", "night watch")


NORMALISED = {
    "roi-only-common-is-dropped": ({"config": {"common": {"target_roi": ROI}}}, ROI),
    "empty-config-is-dropped": ({"config": {}}, None),
    "empty-roi-is-the-whole-frame": ({"config": {"common": {"target_roi": ""}}}, None),
}


@pytest.mark.parametrize(("changes", "roi"), NORMALISED.values(), ids=NORMALISED)
def test_update_settings_normalise_like_a_create_without_config(
    changes: dict[str, Any], roi: str | None, clock: Clock
) -> None:
    """A config holding only the ROI (or nothing) gives the key of a create with no config."""
    app = sim(clock)
    create(app, body())
    task = task_of(app, "cam-b")

    send(app, "PUT", f"{TASKS}/{task.id}", headers=TOKEN, body=update_body("cam-b", **changes))
    create(app, body("twin", batch_input=one_camera("twin", "grp-9", "cam-z", roi)))

    assert camera(app, "cam-b")["settings"] == camera(app, "cam-z")["settings"]
    assert report(app)["settings"][task.settings]["target_roi"] == roi


UPDATES_REFUSED = {
    "service-name": (
        {"service_name": "c-other"},
        "the body has ['service_name']: an update cannot change the algorithm or its version"
        " (another one is a new task)",
    ),
    "service-version": (
        {"service_version": "4.0"},
        "the body has ['service_version']: an update cannot change the algorithm or its version"
        " (another one is a new task)",
    ),
    "unknown-field": ({"priority": 1}, "the body has undocumented fields ['priority']"),
    "batch-input": (
        {"batch_input": one_camera("x", "grp-1", "cam-b")},
        "the body has undocumented fields ['batch_input']",
    ),
    "second-input": (
        {
            "input": {
                "type": "video_source",
                "data": [{"video_source_id": "cam-b"}, {"video_source_id": "cam-c"}],
            }
        },
        "input.data holds 2 items: an update takes exactly one video source",
    ),
    "changed-video-source": (
        {"input": {"type": "video_source", "data": [{"video_source_id": "cam-c"}]}},
        "input.data[0].video_source_id 'cam-c' is not the task's video source 'cam-b':"
        " a task's video source cannot change",
    ),
    "changed-input-type": (
        {"input": {"type": "url", "data": [{"video_source_id": "cam-b"}]}},
        "input.type 'url' must be 'video_source': a video_source input cannot change type",
    ),
    "input-missing": ({"input": None}, "input is required: an object"),
    "input-item-extra": (
        {"input": {"type": "video_source", "data": [{"video_source_id": "cam-b", "url": "x"}]}},
        "input.data[0] has undocumented fields ['url']",
    ),
    "output-without-mode": (
        {"output": {"event_center": False}},
        "output needs at least one mode: obs, dis, webhook or event_center",
    ),
    "name-with-space": (
        {"name": "a b"},
        "name 'a b' must be 1-100 Chinese letters, letters, digits, '-' or '_'",
    ),
    "schedule-gmt": (
        {"schedule": {**DOCUMENTED_SCHEDULE, "timezone": "GMT+08:00"}},
        "schedule.timezone 'GMT+08:00' is not a UTC offset like '+08:00' (sign, hh:mm);"
        " 'GMT+08:00' and zone names are not documented",
    ),
    "roi-not-json": (
        {"config": {"common": {"target_roi": "{polygons"}}},
        "config.common.target_roi is not JSON",
    ),
}


@pytest.mark.parametrize(("changes", "detail"), UPDATES_REFUSED.values(), ids=UPDATES_REFUSED)
def test_update_refusals(changes: dict[str, Any], detail: str, clock: Clock) -> None:
    """Each rule an UpdateTask body breaks: 400 VIAS.00010001 saying which; nothing changed."""
    app = sim(clock)
    create(app, body())
    task = task_of(app, "cam-b")
    before = (task.name, task.settings)
    request = {k: v for k, v in update_body("cam-b", **changes).items() if v is not None}

    answer = send(app, "PUT", f"{TASKS}/{task.id}", headers=TOKEN, body=request)

    assert refused(answer) == (400, "VIAS.00010001", detail)
    assert (task.name, task.settings) == before


def test_update_of_an_unknown_task_is_400_no_task() -> None:
    """An id no task has: 400 VIAS.00010007."""
    answer = send(sim(Clock()), "PUT", f"{TASKS}/nope", headers=TOKEN, body=update_body("x"))

    assert refused(answer) == (400, "VIAS.00010007", "no task has the id nope")


def test_changes_to_a_deleting_task_are_not_allowed(clock: Clock) -> None:
    """Update, delete, start and stop of a DELETING task: 500 VIAS.00010012 each."""
    app = sim(clock)
    create(app, body())
    task = task_of(app, "cam-b")
    send(app, "DELETE", f"{TASKS}/{task.id}", headers=TOKEN)

    answers = [
        send(app, "PUT", f"{TASKS}/{task.id}", headers=TOKEN, body=update_body("cam-b")),
        send(app, "DELETE", f"{TASKS}/{task.id}", headers=TOKEN),
        action(app, task.id, "start"),
        action(app, task.id, "stop"),
    ]

    deleting = f"task {task.id} is being deleted"
    assert [refused(a) for a in answers] == [
        (500, "VIAS.00010012", deleting),
        (500, "VIAS.00010012", f"task {task.id} is already being deleted"),
        (500, "VIAS.00010012", deleting),
        (500, "VIAS.00010012", deleting),
    ]


# ---- DeleteTask, StartStopTask -------------------------------------------------------------


def test_delete_shows_deleting_then_the_task_is_gone(clock: Clock) -> None:
    """DELETING (listed, shown, counted apart) for deleting_after s; then gone everywhere."""
    app = sim(clock, deleting_after=1.0)
    batch_id = create(app, body())
    task = task_of(app, "cam-b")

    answer = send(app, "DELETE", f"{TASKS}/{task.id}", headers=TOKEN)
    clock.now += 0.75
    listed = send(app, "GET", TASKS, headers=TOKEN, params={"task_state": "DELETING"}).json()
    during = (show_state(app, task.id), camera(app, "cam-b"), report(app)["tasks_by_state"])
    clock.now += 0.25
    after = (refused(shown(app, task.id)), camera(app, "cam-b"), report(app))
    batch = state_of(app).batches[batch_id]

    assert (answer.status_code, answer.json()) == (200, {})
    assert [t["id"] for t in listed["tasks"]] == [task.id]
    assert during[0] == "DELETING"
    assert {k: during[1][k] for k in ("tasks", "deleting", "settings", "states")} == {
        "tasks": 0,
        "deleting": 1,
        "settings": [],
        "states": [],
    }
    assert (during[2]["DELETING"], during[2]["RUNNING"]) == (1, 0)
    assert after[0] == (400, "VIAS.00010007", f"no task has the id {task.id}")
    assert (after[1]["tasks"], after[1]["deleting"]) == (0, 0)
    assert (after[2]["tasks"], after[2]["batches"], after[2]["tasks_by_state"]["DELETING"]) == (
        2,
        1,
        0,
    )
    assert (task.id in state_of(app).tasks, [t.video_source_id for t in batch.tasks]) == (
        False,
        ["cam-a", "cam-c"],
    )
    all_listed = send(app, "GET", TASKS, headers=TOKEN, params={"batch_id": batch_id}).json()
    assert sorted(t["id"] for t in all_listed["tasks"]) == sorted(t.id for t in batch.tasks)


def test_stop_shows_stopping_then_stopped_and_a_second_stop_is_a_no_op(clock: Clock) -> None:
    """stop: STOPPING for stopping_after s, then STOPPED; stopping again changes nothing."""
    app = sim(clock, stopping_after=1.0)
    create(app, body())
    task = task_of(app, "cam-b")
    clock.now = 102.0

    first = action(app, task.id, "stop")
    states = [show_state(app, task.id)]
    clock.now = 102.5
    again = action(app, task.id, "stop")  # while STOPPING: the stop keeps its time
    states.append(show_state(app, task.id))
    clock.now = 103.0
    states.append(show_state(app, task.id))
    last = action(app, task.id, "stop")

    assert [(a.status_code, a.json()) for a in (first, again, last)] == 3 * [(200, {})]
    assert states == ["STOPPING", "STOPPING", "STOPPED"]
    assert (show_state(app, task.id), shown(app, task.id).json()["updated_at"]) == (
        "STOPPED",
        "103000",
    )


def _to_state(app: Starlette, clock: Clock, task: SimTask, state: str) -> None:
    """Bring a RUNNING-bound task of cam-b to ``state`` (STOPPED, START_FAILED or ABNORMAL)."""
    clock.now = 102.0
    if state == "STOPPED":
        action(app, task.id, "stop")
        clock.now = 103.0
    elif state == "ABNORMAL":
        clock.now = 101.5 + 3.0


@pytest.mark.parametrize(
    ("state", "changes"),
    [
        ("STOPPED", {}),
        ("START_FAILED", {"start_fail_percent": 100}),
        ("ABNORMAL", {"abnormal_sources": frozenset({"cam-b"})}),
    ],
    ids=["stopped", "start-failed", "abnormal"],
)
def test_start_brings_a_task_back_through_pending_and_starting(
    state: str, changes: dict[str, Any], clock: Clock
) -> None:
    """start: PENDING at once, STARTING after starting_after, RUNNING after running_after."""
    app = sim(clock, **changes)
    create(app, body())
    task = task_of(app, "cam-b")
    _to_state(app, clock, task, state)
    before = show_state(app, task.id)
    start = clock.now

    answer = action(app, task.id, "start")
    seen = []
    for offset in (0.0, 0.5, 1.5):
        clock.now = start + offset
        seen.append(show_state(app, task.id))

    assert (before, answer.status_code, answer.json()) == (state, 200, {})
    assert seen == ["PENDING", "STARTING", "RUNNING"]


def test_an_abnormal_source_turns_abnormal_again_after_its_restart(clock: Clock) -> None:
    """abnormal_sources: ABNORMAL abnormal_after s past RUNNING, after every start."""
    app = sim(clock, abnormal_sources=frozenset({"cam-b"}), abnormal_after=3.0)
    create(app, body())
    task = task_of(app, "cam-b")
    clock.now = 104.5
    action(app, task.id, "start")

    clock.now = 104.5 + 1.5 + 2.75
    still = show_state(app, task.id)
    clock.now = 104.5 + 1.5 + 3.0

    assert (still, show_state(app, task.id), show_state(app, task_of(app, "cam-a").id)) == (
        "RUNNING",
        "ABNORMAL",
        "RUNNING",
    )


@pytest.mark.parametrize(
    ("always", "expected"),
    [(frozenset(), "RUNNING"), (frozenset({"cam-b"}), "START_FAILED")],
    ids=["restart-runs", "always-fails"],
)
def test_a_restarted_task_fails_again_only_for_always_fail_sources(
    always: frozenset[str], expected: str, clock: Clock
) -> None:
    """A task that failed to start runs after a start, unless its source always fails."""
    app = sim(clock, start_fail_percent=100, always_fail_sources=always)
    create(app, body())
    task = task_of(app, "cam-b")
    clock.now = 102.0

    action(app, task.id, "start")
    clock.now = 103.5

    assert show_state(app, task.id) == expected


@pytest.mark.parametrize("when", [100.0, 100.5, 102.0], ids=["pending", "starting", "running"])
def test_start_of_a_started_task_is_a_no_op(when: float, clock: Clock) -> None:
    """start of a PENDING, STARTING or RUNNING task: 200 {}, its timing unchanged."""
    app = sim(clock)
    create(app, body())
    task = task_of(app, "cam-b")
    clock.now = when
    before = show_state(app, task.id)

    answer = action(app, task.id, "start")

    assert (answer.status_code, answer.json(), task.started_at) == (200, {}, 100.0)
    assert show_state(app, task.id) == before


def test_start_of_a_stopping_task_is_not_allowed(clock: Clock) -> None:
    """start while STOPPING: 500 VIAS.00010012 (it is neither stopped nor started)."""
    app = sim(clock)
    create(app, body())
    task = task_of(app, "cam-b")
    action(app, task.id, "stop")

    answer = action(app, task.id, "start")

    assert refused(answer) == (
        500,
        "VIAS.00010012",
        f"task {task.id} is stopping: start it once it is STOPPED",
    )


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("tasks/{task}/action/restart", "command 'restart' must be start or stop"),
        ("tasks/nope/action/stop", "no task has the id nope"),
        ("batch-tasks/{batch}/action/pause", "command 'pause' must be start or stop"),
    ],
    ids=["task-command", "task-unknown", "batch-command"],
)
def test_start_stop_refusals(path: str, detail: str, clock: Clock) -> None:
    """A command other than start or stop: 400 VIAS.00010001; an unknown task: 00010007."""
    app = sim(clock)
    batch_id = create(app, body())
    uri = f"/v2/{PROJECT}/" + path.format(task=task_of(app, "cam-b").id, batch=batch_id)

    answer = send(app, "PUT", uri, headers=TOKEN)

    code = "VIAS.00010007" if "nope" in path else "VIAS.00010001"
    assert refused(answer) == (400, code, detail)


# ---- faults on mutations -------------------------------------------------------------------


def _mutation(app: Starlette, kind: str) -> tuple[str, str, dict[str, Any] | None]:
    """(method, path, body) of one call of each mutation kind, on the batch of body()."""
    [batch_id] = state_of(app).batches
    task_id = task_of(app, "cam-b").id
    changed = body("site-b")
    del changed["service_name"], changed["service_version"]
    return {
        "update": ("PUT", f"{TASKS}/{task_id}", update_body("cam-b")),
        "delete": ("DELETE", f"{TASKS}/{task_id}", None),
        "stop": ("PUT", f"{TASKS}/{task_id}/action/stop", None),
        "update-batch": ("PUT", f"{BATCHES}/{batch_id}", changed),
        "delete-batch": ("DELETE", f"{BATCHES}/{batch_id}", None),
        "stop-batch": ("PUT", f"{BATCHES}/{batch_id}/action/stop", None),
    }[kind]


def _applied(app: Starlette, kind: str) -> bool:
    """Whether the mutation of ``kind`` took effect."""
    task = task_of(app, "cam-b")
    [batch] = state_of(app).batches.values()
    return {
        "update": task.name == "renamed-任务",
        "delete": task.deleting_at is not None,
        "stop": task.stopped_at is not None,
        "update-batch": batch.name == "site-b",
        "delete-batch": batch.deleting_at is not None,
        "stop-batch": task.stopped_at is not None,
    }[kind]


MUTATIONS = ("update", "delete", "stop", "update-batch", "delete-batch", "stop-batch")
ANSWERED = {"5xx-before": (500, False), "5xx-after": (500, True), "429": (429, False)}
ANSWERED |= {"slow": (200, True), "none": (200, True)}


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize(("fault", "expected"), ANSWERED.items(), ids=ANSWERED)
def test_answered_faults_change_or_keep_as_named(
    mutation: str, fault: str, expected: tuple[int, bool], clock: Clock
) -> None:
    """5xx-before and 429 change nothing; 5xx-after and slow change; each with its status."""
    app = sim(clock, mutation_fault_sequence=[fault], slow_seconds=0.0)
    create(app, body())
    method, path, request = _mutation(app, mutation)

    answer = send(app, method, path, headers=TOKEN, body=request)

    assert (answer.status_code, _applied(app, mutation)) == expected
    if fault == "429":
        assert answer.json().keys() == GATEWAY_KEYS
        assert (answer.json()["error_code"], answer.headers["Retry-After"]) == ("APIG.0308", "1")
    elif answer.status_code == 500:
        assert refused(answer) == (
            500,
            "VIAS.00010006",
            "simulated fault 5xx-before: nothing changed"
            if fault == "5xx-before"
            else "simulated fault 5xx-after: changed, not answered",
        )


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize(
    ("fault", "applied"), [("reset-before", False), ("commit-reset", True)], ids=str
)
def test_connection_faults_change_or_keep_as_named(
    mutation: str, fault: str, applied: bool, clock: Clock
) -> None:
    """In process there is no connection to drop (the app raises), but the effect is as named."""
    app = sim(clock, mutation_fault_sequence=[fault])
    create(app, body())
    method, path, request = _mutation(app, mutation)

    with pytest.raises(RuntimeError, match="connection resets need uvicorn's h11 protocol"):
        send(app, method, path, headers=TOKEN, body=request)

    assert _applied(app, mutation) is applied


def test_a_refused_change_answers_its_refusal_whatever_fault_follows(clock: Clock) -> None:
    """5xx-after drawn for an update of an unknown task: the 400, not a 500."""
    app = sim(clock, mutation_fault_sequence=["5xx-after"])

    answer = send(app, "PUT", f"{TASKS}/nope", headers=TOKEN, body=update_body("x"))

    assert refused(answer)[:2] == (400, "VIAS.00010007")


def test_mutation_faults_leave_create_faults_in_place(clock: Clock) -> None:
    """Mutation faults are drawn apart: a create fault sequence is not consumed by them."""
    app = sim(clock, fault_sequence=["none", "5xx-before"], mutation_fault_sequence=["5xx-after"])
    create(app, body())
    action(app, task_of(app, "cam-b").id, "stop")

    answer = send(app, "POST", BATCHES, headers=TOKEN, body=body("site-b"))

    assert refused(answer)[:2] == (500, "VIAS.00010006")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "applied"), [("reset-before", False), ("commit-reset", True)], ids=str
)
def test_connection_faults_drop_the_connection_on_loopback(fault: str, applied: bool) -> None:
    """Over a real socket the client sees no answer at all; the change is done or not."""
    config = SimConfig(start_fail_percent=0, mutation_fault_sequence=[fault])
    with running_simulator(config) as running:
        with httpx.Client(base_url=running.url, headers=TOKEN) as client:
            client.post(BATCHES, json=body())
            [task] = [t for t in running.state.tasks.values() if t.video_source_id == "cam-b"]
            with pytest.raises(httpx.TransportError):
                client.put(f"{TASKS}/{task.id}/action/stop")

        assert (task.stopped_at is not None) is applied


# ---- the batch forms -----------------------------------------------------------------------


def test_update_batch_changes_the_named_cameras_and_counts_the_rest(clock: Clock) -> None:
    """Named cameras take the new settings and ROI; unnamed stay; named without a task fail."""
    app = sim(clock)
    batch_id = create(app, body())
    untouched = task_of(app, "cam-b").settings
    entries = one_camera("", "grp-1", "cam-a", OTHER_ROI)["video_source_group"]
    entries[0]["video_source_list"].append({"video_source_id": "cam-x"})
    entries.append(one_camera("", "grp-2", "cam-c")["video_source_group"][0])
    request = {
        "name": "site-a2",
        "batch_input": {"video_source_group": entries},
        "output": {"webhook": HOOK},
        "schedule": DOCUMENTED_SCHEDULE,
    }

    answer = send(app, "PUT", f"{BATCHES}/{batch_id}", headers=TOKEN, body=request)
    twin = {k: v for k, v in request.items() if k not in ("name", "batch_input")}
    create(app, body("twin", batch_input=one_camera("", "grp-9", "cam-z", OTHER_ROI), **twin))
    listed = send(app, "GET", BATCHES, headers=TOKEN).json()["batch_task_list"]

    assert answer.json() == {
        "total_count": 3,
        "failed_count": 1,
        "succeed_count": 2,
        "id": batch_id,
        "error_list": [f"video source cam-x of group grp-1 has no task in batch task {batch_id}"],
    }
    assert camera(app, "cam-a")["settings"] == camera(app, "cam-z")["settings"]
    assert report(app)["settings"][task_of(app, "cam-c").settings]["target_roi"] is None
    assert task_of(app, "cam-b").settings == untouched
    assert {b["id"]: b["batch_task_name"] for b in listed}[batch_id] == "site-a2"
    assert [t.name for t in state_of(app).batches[batch_id].tasks] == [
        "site-a-1",
        "site-a-2",
        "site-a-3",
    ]


BATCH_UPDATES_REFUSED = {
    "service-name": (
        "batch",
        {"service_name": "c-other"},
        (
            400,
            "VIAS.00010001",
            "the body has ['service_name']: an update cannot change the algorithm or its"
            " version (another one is a new task)",
        ),
    ),
    "unknown-field": (
        "batch",
        {"priority": 1},
        (400, "VIAS.00010001", "the body has undocumented fields ['priority']"),
    ),
    "name-of-another-batch": (
        "batch",
        {"name": "other"},
        (400, "VIAS.00010011", "a batch task named other exists already"),
    ),
    "unknown-batch": (
        "nope",
        {},
        (400, "VIAS.00010008", "no batch task has the id nope"),
    ),
}


@pytest.mark.parametrize(
    ("target", "changes", "expected"),
    BATCH_UPDATES_REFUSED.values(),
    ids=BATCH_UPDATES_REFUSED,
)
def test_update_batch_refusals(
    target: str, changes: dict[str, Any], expected: tuple[int, str, str], clock: Clock
) -> None:
    """UpdateBatchTask: no algorithm change, no unknown field, no used name, a known batch."""
    app = sim(clock)
    batch_id = create(app, body())
    create(app, body("other", batch_input=one_camera("", "grp-9", "cam-z")))
    request = {k: v for k, v in body().items() if not k.startswith("service")} | changes
    path = f"{BATCHES}/{batch_id if target == 'batch' else target}"

    answer = send(app, "PUT", path, headers=TOKEN, body=request)

    assert refused(answer) == expected


def test_delete_batch_deletes_every_task_and_the_batch_goes_with_the_last(clock: Clock) -> None:
    """Counts as created; DELETING tasks counted in the list; then the batch is gone."""
    app = sim(clock)
    batch_id = create(app, body())
    already = task_of(app, "cam-a")
    send(app, "DELETE", f"{TASKS}/{already.id}", headers=TOKEN)
    clock.now += 0.5

    answer = send(app, "DELETE", f"{BATCHES}/{batch_id}", headers=TOKEN)
    [listed] = send(app, "GET", BATCHES, headers=TOKEN).json()["batch_task_list"]
    again = send(app, "DELETE", f"{BATCHES}/{batch_id}", headers=TOKEN)
    clock.now += 0.5  # cam-a's delete is done, the other two are not
    middle = send(app, "GET", BATCHES, headers=TOKEN).json()["count"]
    clock.now += 0.5
    after = (send(app, "GET", BATCHES, headers=TOKEN).json()["count"], report(app))
    gone = send(app, "DELETE", f"{BATCHES}/{batch_id}", headers=TOKEN)

    assert answer.json() == {
        "total_count": 3,
        "failed_count": 1,
        "succeed_count": 2,
        "id": batch_id,
        "error_list": [
            f"video source cam-a of group grp-1: task {already.id} is already being deleted"
        ],
    }
    assert (listed["num_task"], listed["batch_task_status_info"]["deleting"]) == (3, 3)
    assert refused(again) == (500, "VIAS.00010012", f"batch task {batch_id} is being deleted")
    assert middle == 1
    assert (after[0], after[1]["batches"], after[1]["tasks"], after[1]["names"]) == (0, 0, 0, {})
    assert refused(gone)[:2] == (400, "VIAS.00010008")


def test_batch_stop_and_start_act_on_every_task_with_counts(clock: Clock) -> None:
    """stop: every task STOPPING then STOPPED; start: every task back; refusals counted."""
    app = sim(clock, deleting_after=2.0)
    batch_id = create(app, body())
    clock.now = 102.0
    deleting = task_of(app, "cam-c")
    send(app, "DELETE", f"{TASKS}/{deleting.id}", headers=TOKEN)

    stop = send(app, "PUT", f"{BATCHES}/{batch_id}/action/stop", headers=TOKEN)
    clock.now = 103.0
    [stopped] = send(app, "GET", BATCHES, headers=TOKEN).json()["batch_task_list"]
    start = send(app, "PUT", f"{BATCHES}/{batch_id}/action/start", headers=TOKEN)

    assert stop.json() == {
        "total_count": 3,
        "failed_count": 1,
        "succeed_count": 2,
        "id": batch_id,
        "error_list": [f"video source cam-c of group grp-2: task {deleting.id} is being deleted"],
    }
    assert {k: v for k, v in stopped["batch_task_status_info"].items() if v} == {
        "stopped": 2,
        "deleting": 1,
    }
    assert (start.json()["total_count"], start.json()["succeed_count"]) == (3, 2)
    assert sorted(camera(app, s)["states"][0] for s in ("cam-a", "cam-b")) == ["PENDING"] * 2


# ---- reading: ListTasks, ListBatchTasks, ListVideoGroups, ShowTaskInfo, the state ---------


LIST_FILTERS = {
    "state-running": ({"task_state": "RUNNING"}, ["cam-a", "cam-c"]),
    "state-stopping": ({"task_state": "STOPPING"}, ["cam-b"]),
    "one-group": ({"video_group_id": "grp-2"}, ["cam-c"]),
    "two-groups": ({"video_group_id": "grp-2,grp-1"}, ["cam-a", "cam-b", "cam-c"]),
    "name-part": ({"task_name": "a-3"}, ["cam-c"]),
    "together": ({"video_group_id": "grp-1", "task_state": "RUNNING"}, ["cam-a"]),
}


@pytest.mark.parametrize(("params", "sources"), LIST_FILTERS.values(), ids=LIST_FILTERS)
def test_list_tasks_filters(params: dict[str, str], sources: list[str], clock: Clock) -> None:
    """task_state (upper case), video_group_id (comma-separated) and task_name (a part)."""
    app = sim(clock)
    create(app, body())
    clock.now = 102.0
    action(app, task_of(app, "cam-b").id, "stop")

    answer = send(app, "GET", TASKS, headers=TOKEN, params=params).json()

    ids = {t.id: t.video_source_id for t in state_of(app).tasks.values()}
    assert sorted(ids[t["id"]] for t in answer["tasks"]) == sources
    assert answer["count"] == len(sources)


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        (
            {"task_state": "running"},
            "task_state 'running' must be one upper-case task state, such as RUNNING",
        ),
        (
            {"video_group_id": "g1"},
            "video_group_id 'g1' must be 4-2048 characters: group ids apart with ','",
        ),
        ({"task_name": "x" * 1025}, "task_name must be at most 1024 characters"),
    ],
    ids=["state-lower-case", "group-ids-short", "name-too-long"],
)
def test_list_tasks_filter_refusals(params: dict[str, str], detail: str) -> None:
    """Filters outside their documented forms: 400 VIAS.00010001."""
    answer = send(sim(Clock()), "GET", TASKS, headers=TOKEN, params=params)

    assert refused(answer) == (400, "VIAS.00010001", detail)


def test_list_batches_name_the_groups_of_each_batch(clock: Clock) -> None:
    """video_group_name: the batch's groups' names, comma-separated, configured or derived."""
    app = sim(clock, group_names={"grp-1": "Lobby"})
    create(app, body())

    [listed] = send(app, "GET", BATCHES, headers=TOKEN).json()["batch_task_list"]

    derived = "g" + hashlib.sha1(b"grp-2").hexdigest()[:12]
    assert listed["video_group_name"] == f"Lobby,{derived}"
    assert derived_group_name("grp-2") == derived


def _groups(app: Starlette, **params: str) -> dict[str, Any]:
    answer = send(app, "GET", GROUPS, headers=TOKEN, params=params)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_list_video_groups_pages_sorts_and_filters(clock: Clock) -> None:
    """12 groups: pages of 5 newest first, is_paged=false, name fragment, sort by sources."""
    app = sim(clock, group_names={f"grp-{n:02d}": f"Hall{n:02d}" for n in range(12)})
    for n in range(12):
        clock.now = 100.0 + n
        sources = [{"video_source_id": f"cam-{n}-{m}"} for m in range(n % 3 + 1)]
        entry = {"video_source_group_id": f"grp-{n:02d}", "video_source_list": sources}
        create(app, body(f"b{n}", batch_input={"video_source_group": [entry]}))

    pages = [_groups(app, page_size="5", page_num=str(n)) for n in (1, 2, 3)]
    everything = _groups(app, is_paged="false", order_by="asc")
    named = _groups(app, name="Hall1")
    by_sources = _groups(app, sort_name="num_video_source", order_by="asc", page_size="5")

    ids = [[g["video_group_id"] for g in p["video_group_list"]] for p in pages]
    assert ids == [
        ["grp-11", "grp-10", "grp-09", "grp-08", "grp-07"],
        ["grp-06", "grp-05", "grp-04", "grp-03", "grp-02"],
        ["grp-01", "grp-00"],
    ]
    assert [(p["total_number"], p["video_group_number"]) for p in pages] == [
        (12, 5),
        (12, 5),
        (12, 2),
    ]
    assert [g["video_group_id"] for g in everything["video_group_list"]] == [
        f"grp-{n:02d}" for n in range(12)
    ]
    assert [g["video_group_name"] for g in named["video_group_list"]] == ["Hall11", "Hall10"]
    assert [g["num_video_source"] for g in by_sources["video_group_list"]] == [1, 1, 1, 1, 2]
    assert everything["video_group_list"][4] == {
        "video_group_id": "grp-04",
        "video_group_name": "Hall04",
        "num_video_source": 2,
        "access_type": "cloud",
        "create_at": 104000,
        "modify_at": 104000,
        "num_batch_task": 1,
    }


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"page_size": "4"}, "page_size '4' must be an integer from 5 to 200"),
        ({"page_num": "100001"}, "page_num '100001' must be an integer from 1 to 100000"),
        (
            {"sort_name": "name"},
            "sort_name 'name' must be one of create_at, modify_at, num_video_source, num_task",
        ),
        ({"order_by": "up"}, "order_by 'up' must be asc or desc"),
    ],
    ids=["page-size", "page-num", "sort-name", "order-by"],
)
def test_list_video_groups_refusals(params: dict[str, str], detail: str) -> None:
    """Paging and sorting outside the SDK's ranges: 400 VIAS.00010001."""
    answer = send(sim(Clock()), "GET", GROUPS, headers=TOKEN, params=params)

    assert refused(answer) == (400, "VIAS.00010001", detail)


def test_show_task_info_has_the_sdks_shape_with_header_values_masked(clock: Clock) -> None:
    """ShowTaskInfo: schedule, input, output (masked), config with the ROI, names, title, type."""
    app = sim(clock, group_names={"grp-1": "Lobby"}, source_names={"cam-a": "Gate A"})
    request = body(
        description="rollout",
        schedule=DOCUMENTED_SCHEDULE,
        output={"webhook": HOOK},
        config={"common": {"video_sampling_interval": 2}},
        resource_order_id="order-0001",
    )
    create(app, request)
    task = task_of(app, "cam-a")
    clock.now = 102.0

    answer = shown(app, task.id)

    assert answer.json() == {
        "id": task.id,
        "name": "site-a-1",
        "description": "rollout",
        "state": "RUNNING",
        "status": "",
        "created_at": "100000",
        "updated_at": "101500",
        "schedule": DOCUMENTED_SCHEDULE,
        "input": {"type": "video_source", "data": [{"video_source_id": "cam-a"}]},
        "output": {"webhook": {"url": HOOK["url"], "headers": {"X-Key": "***"}}},
        "config": {"common": {"video_sampling_interval": 2, "target_roi": ROI}},
        "video_source_name": "Gate A",
        "group_name": "Lobby",
        "title": "c-smoke-and-fire-cloud",
        "type": "cloud",
        "resource_order_id": "order-0001",
    }
    assert "s3cret" not in answer.text


def test_show_task_info_of_a_failed_task_says_why_and_omits_what_it_lacks(clock: Clock) -> None:
    """START_FAILED has a status text; no schedule, config or order id when the task has none."""
    app = sim(clock, start_fail_percent=100)
    create(app, body())
    task = task_of(app, "cam-b")
    clock.now = 102.0

    info = shown(app, task.id).json()

    assert (info["state"], info["status"]) == (
        "START_FAILED",
        "the algorithm failed to start on video source cam-b (simulated)",
    )
    assert {"schedule", "config", "resource_order_id", "service_name"} & info.keys() == set()
    assert info["group_name"] == derived_group_name("grp-1")


def test_state_reports_states_per_camera_and_the_totals(clock: Clock) -> None:
    """/_sim/state: per camera its tasks' keys and states aligned, deleting apart; totals."""
    app = sim(clock, unknown_sources=frozenset({"cam-x"}))
    first = copy.deepcopy(body())
    first["batch_input"]["video_source_group"][1]["video_source_list"].append(
        {"video_source_id": "cam-x"}
    )
    create(app, first)
    create(app, body("again", batch_input=one_camera("", "grp-1", "cam-a")))
    clock.now = 102.0
    action(app, task_of(app, "cam-b").id, "stop")
    send(app, "DELETE", f"{TASKS}/{task_of(app, 'cam-c').id}", headers=TOKEN)

    found = report(app)

    entries = {c["video_source_id"]: c for c in found["cameras"]}
    assert {k: found[k] for k in ("tasks", "duplicated_cameras", "running_cameras")} == {
        "tasks": 3,
        "duplicated_cameras": 1,
        "running_cameras": 0,
    }
    assert found["cameras_by_task_count"] == {"0": 2, "1": 1, "2+": 1}
    assert found["tasks_by_state"] == {
        "PENDING": 0,
        "STARTING": 0,
        "START_FAILED": 0,
        "RUNNING": 2,
        "STOPPING": 1,
        "STOPPED": 0,
        "ABNORMAL": 0,
        "DELETING": 1,
    }
    cam_a = entries["cam-a"]
    assert (cam_a["tasks"], cam_a["states"], cam_a["deleting"]) == (2, ["RUNNING"] * 2, 0)
    assert cam_a["settings"] == sorted(cam_a["settings"])
    assert sorted(cam_a["task_ids"]) == sorted(
        t.id for t in state_of(app).tasks.values() if t.video_source_id == "cam-a"
    )
    assert [(entries[s]["tasks"], entries[s]["deleting"]) for s in ("cam-b", "cam-c", "cam-x")] == [
        (1, 0),
        (0, 1),
        (0, 0),
    ]
    assert entries["cam-b"]["states"] == ["STOPPING"]


def test_running_cameras_count_cameras_with_exactly_one_started_task(clock: Clock) -> None:
    """A camera with one RUNNING task counts; with none, or with two, it does not."""
    app = sim(clock)
    create(app, body())
    create(app, body("again", batch_input=one_camera("", "grp-1", "cam-a")))
    clock.now = 100.25

    assert report(app)["running_cameras"] == 2  # cam-b and cam-c; cam-a holds two


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mutation_faults": {"slow-commit": 0.1}}, "unknown mutation faults"),
        ({"mutation_fault_sequence": ["5xx-later"]}, "unknown mutation faults"),
        ({"group_names": {"grp-1": "Lobby 1"}}, "no VIAS group names"),
        ({"group_names": {"grp-1": "x" * 21}}, "no VIAS group names"),
    ],
    ids=[
        "mutation-fault-kind",
        "mutation-fault-in-sequence",
        "group-name-space",
        "group-name-long",
    ],
)
def test_config_refuses_unknown_mutation_faults_and_unfit_group_names(
    changes: dict[str, Any], message: str
) -> None:
    """A misspelt mutation fault or a group name VIAS would refuse fails at SimConfig()."""
    with pytest.raises(ValueError, match=message):
        SimConfig(**changes)


def test_mutation_fault_kinds_are_documented() -> None:
    """The kinds the config accepts for mutations, as its docstring names them."""
    assert MUTATION_FAULTS == (
        "5xx-before",
        "5xx-after",
        "reset-before",
        "commit-reset",
        "429",
        "slow",
    )
