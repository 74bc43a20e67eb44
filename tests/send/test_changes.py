"""The change engine against httpx.MockTransport on a fake clock: exact events, exact requests."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from loader.model.changes import Action, Mutation
from loader.planning.documents import masked
from loader.send.answers import Scope, Verdict, classify_change
from loader.send.auth import StaticToken
from loader.send.changes import GONE, ChangeJob, Changer
from loader.send.client import ReadFailed, RunRefused, ViasClient
from loader.send.control import RunControl, Sender, SubmitOptions
from loader.send.pacing import RateLimiter
from loader.state.events import (
    ChangeAmbiguous,
    ChangeChecked,
    ChangeCheckFailed,
    ChangeDone,
    ChangeGaveUp,
    ChangeRefused,
    ChangeRetrying,
    ChangeSending,
    Event,
    RunStarted,
)
from loader.state.runstate import ChangeState, ChangeStatus, replay
from tests.conftest import FakeClock

Answer = httpx.Response | type[httpx.TransportError]
KEY = ("g1", "cam-1", "c-smoke-and-fire-cloud")
BODY: dict[str, Any] = {
    "name": "cam-1",
    "schedule": {"type": "weekly", "periods": [[{"start": "00:00", "end": "23:59"}]] * 7},
    "output": {
        "event_center": True,
        "webhook": {"url": "https://hook.test/x", "headers": {"Authorization": "Bearer s3cret"}},
    },
    "config": {"common": {"target_roi": '{"polygons":[]}'}},
    "input": {"type": "video_source", "data": [{"video_source_id": "cam-1"}]},
}
CONTENT = json.dumps(BODY).encode()
OPTIONS = SubmitOptions(concurrency=1, workers=1)  # one job at a time: scripts answer in order


def answer(status: int, code: str = "", request_id: str = "r-1", **headers: str) -> httpx.Response:
    """An API answer: 2xx with an untyped body, else a VIAS error body; the request id header."""
    body: dict[str, Any] = {} if status < 300 else {"error_code": code, "error_msg": "x"}
    return httpx.Response(status, json=body, headers={"X-Request-Id": request_id, **headers})


def task(state: str, request_id: str = "r-c", **fields: Any) -> httpx.Response:
    """ShowTaskInfo's answer for task t1 in ``state``."""
    body = {"id": "t1", "name": "cam-1", "state": state, **fields}
    return httpx.Response(200, json=body, headers={"X-Request-Id": request_id})


class FakeApi:
    """Scripted answers: changes (PUT, DELETE) and reads (GET) each from their own list."""

    def __init__(self, changes: list[Answer], reads: list[Answer] | None = None) -> None:
        self.changes, self.reads = list(changes), list(reads or [])
        self.calls: list[tuple[str, str, bytes]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path, request.content))
        found = (self.reads if request.method == "GET" else self.changes).pop(0)
        if isinstance(found, type):
            raise found("scripted", request=request)
        return found

    def count(self, method: str) -> int:
        return sum(1 for m, _, _ in self.calls if m == method)


def job(
    action: Action,
    *,
    wanted: dict[str, Any] | None = None,
    state: ChangeState | None = None,
    task_id: str = "t1",
) -> ChangeJob:
    """A change of task ``task_id``; an update carries BODY."""
    mutation = Mutation(action, task_id, KEY, position=0)
    content = CONTENT if action == Action.UPDATE else None
    return ChangeJob(mutation, content, state or ChangeState(mutation.id), wanted)


@dataclass
class Applied:
    """What a run of the Changer left: its events, the engine, the jobs."""

    events: list[Event]
    changer: Changer
    jobs: list[ChangeJob]


async def apply(
    api: Any,
    clock: FakeClock,
    jobs: list[ChangeJob],
    *,
    options: SubmitOptions = OPTIONS,
    control: RunControl | None = None,
) -> Applied:
    """Run the Changer over ``jobs`` against the scripted API."""
    events: list[Event] = []

    async def emit(event: Event) -> None:
        events.append(event)

    control = control or RunControl(budget=20, outage_after=options.outage_after)
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(api), base_url="https://vias.test"
    ) as http:
        client = ViasClient(
            http, project_id="p1", auth=StaticToken("tok-1"), limiter=RateLimiter(10, clock)
        )
        sender = Sender.of(client, emit, clock, options, control=control)
        changer = Changer(sender, rng=random.Random(1))
        await changer.run(jobs)
    return Applied(events, changer, jobs)


def sending(change: str, attempt: int = 1) -> ChangeSending:
    action, task_id = change.split(":")
    return ChangeSending(change=change, action=action, task_id=task_id, attempt=attempt)


def in_doubt(change: str) -> ChangeState:
    """The fold of a journal whose last event for ``change`` is its sending (kill -9)."""
    return replay([RunStarted(), sending(change)]).changes[change]


# The happy paths.


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("action", "method", "path", "content"),
    [
        pytest.param(Action.UPDATE, "PUT", "/v2/p1/tasks/t1", CONTENT, id="update"),
        pytest.param(Action.DELETE, "DELETE", "/v2/p1/tasks/t1", b"", id="delete"),
        pytest.param(Action.STOP, "PUT", "/v2/p1/tasks/t1/action/stop", b"", id="stop"),
        pytest.param(Action.START, "PUT", "/v2/p1/tasks/t1/action/start", b"", id="start"),
    ],
)
async def test_each_action_is_one_request_then_done(
    clock: FakeClock, action: Action, method: str, path: str, content: bytes
) -> None:
    """One request to the action's method and path (an update's exact bytes), then done."""
    api = FakeApi([answer(200)])

    run = await apply(api, clock, [job(action)])

    change = f"{action}:t1"
    assert run.events == [sending(change), ChangeDone(change=change, request_id="r-1")]
    assert (api.calls, run.jobs[0].state.status) == ([(method, path, content)], ChangeStatus.DONE)


@pytest.mark.anyio
async def test_an_empty_2xx_is_done(clock: FakeClock) -> None:
    """The answer's body is untyped: a 204 without one is the change applied."""
    api = FakeApi([httpx.Response(204)])

    run = await apply(api, clock, [job(Action.DELETE)])

    assert run.events[-1] == ChangeDone(change="delete:t1")


# What did not arrive is sent again.


@pytest.mark.anyio
async def test_429_waits_retry_after_then_resends_once(clock: FakeClock) -> None:
    """Throttled: Retry-After is waited out, the same change goes again and is applied once."""
    api = FakeApi([answer(429, "APIG.0308", "r-1", **{"Retry-After": "7"}), answer(200, "", "r-2")])

    run = await apply(api, clock, [job(Action.STOP)])

    assert run.events == [
        sending("stop:t1"),
        ChangeRetrying(
            change="stop:t1",
            attempt=1,
            reason="429 APIG.0308 x (request id r-1)",
            delay=7.0,
            request_id="r-1",
        ),
        sending("stop:t1", 2),
        ChangeDone(change="stop:t1", request_id="r-2"),
    ]
    assert (api.count("PUT"), 7.0 in clock.sleeps, run.changer.control.retries) == (2, True, 1)


@pytest.mark.anyio
async def test_attempt_cap_gives_up_pending_and_resume_tries_again(clock: FakeClock) -> None:
    """Refused connections every time: max_attempts sends, then gave_up; a resume sends anew."""
    options = SubmitOptions(concurrency=1, workers=1, max_attempts=2, outage_after=100)
    first = await apply(
        FakeApi([httpx.ConnectError] * 2), clock, [job(Action.STOP)], options=options
    )
    state = replay(first.events).changes["stop:t1"]
    status = state.status

    second = await apply(FakeApi([answer(200)]), clock, [job(Action.STOP, state=state)])

    assert [e.kind for e in first.events] == [
        "ChangeSending",
        "ChangeRetrying",
        "ChangeSending",
        "ChangeRetrying",
        "ChangeGaveUp",
    ]
    assert first.events[-1] == ChangeGaveUp(
        change="stop:t1", reason="2 attempts without a clear answer; last: ConnectError (not sent)"
    )
    assert (status, second.events) == (
        ChangeStatus.GAVE_UP,
        [sending("stop:t1", 3), ChangeDone(change="stop:t1", request_id="r-1")],
    )


# What may have arrived is checked before anything is sent again.


@pytest.mark.anyio
async def test_delete_500_after_applied_is_checked_not_resent(clock: FakeClock) -> None:
    """A 500 to a DELETE that went through: the check finds DELETING; no second DELETE."""
    api = FakeApi([answer(500, "VIAS.00010006", "r-1")], reads=[task("DELETING", "r-2")])

    run = await apply(api, clock, [job(Action.DELETE)])

    assert run.events == [
        sending("delete:t1"),
        ChangeAmbiguous(
            change="delete:t1",
            attempt=1,
            reason="500 VIAS.00010006 x (request id r-1)",
            status=500,
            request_id="r-1",
        ),
        ChangeChecked(change="delete:t1", state="DELETING", exists=True, request_id="r-2"),
        ChangeDone(change="delete:t1", request_id="r-2", checked=True),
    ]
    assert (api.count("DELETE"), api.count("GET")) == (1, 1)


@pytest.mark.anyio
async def test_stop_500_with_the_task_still_running_is_resent_once(clock: FakeClock) -> None:
    """A 500 to a STOP, and the task is RUNNING: the STOP goes again, once."""
    api = FakeApi([answer(500, "", "r-1"), answer(200, "", "r-3")], reads=[task("RUNNING", "r-2")])

    run = await apply(api, clock, [job(Action.STOP)])

    assert run.events == [
        sending("stop:t1"),
        ChangeAmbiguous(
            change="stop:t1",
            attempt=1,
            reason="500 x (request id r-1)",
            status=500,
            request_id="r-1",
        ),
        ChangeChecked(change="stop:t1", state="RUNNING", exists=True, request_id="r-2"),
        sending("stop:t1", 2),
        ChangeDone(change="stop:t1", request_id="r-3"),
    ]
    assert api.count("PUT") == 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("action", "state"),
    [
        pytest.param(Action.STOP, "STOPPING", id="stop-stopping"),
        pytest.param(Action.STOP, "stopped", id="stop-stopped-lowercase"),
        pytest.param(Action.START, "STARTING", id="start-starting"),
        pytest.param(Action.START, "SCHEDULING", id="start-scheduling"),
    ],
)
async def test_start_stop_found_applied_is_done(
    clock: FakeClock, action: Action, state: str
) -> None:
    """A state the action leads to shows it applied: done, nothing sent again."""
    api = FakeApi([httpx.ReadTimeout], reads=[task(state)])

    run = await apply(api, clock, [job(action)])

    assert (run.events[-1], api.count("PUT")) == (
        ChangeDone(change=f"{action}:t1", request_id="r-c", checked=True),
        1,
    )


@pytest.mark.anyio
async def test_update_ambiguous_with_the_task_as_wanted_is_done_without_resend(
    clock: FakeClock,
) -> None:
    """The task already shows the new schedule, output and config (a rotated webhook secret
    is masked on both sides): done, not sent again."""
    output = {
        **BODY["output"],
        "webhook": {**BODY["output"]["webhook"], "headers": {"Authorization": "Bearer rotated"}},
    }
    detail = task("RUNNING", schedule=BODY["schedule"], output=output, config=BODY["config"])
    api = FakeApi([httpx.ReadTimeout], reads=[detail])

    run = await apply(api, clock, [job(Action.UPDATE, wanted=masked(BODY))])

    assert run.events == [
        sending("update:t1"),
        ChangeAmbiguous(change="update:t1", attempt=1, reason="ReadTimeout after sending"),
        ChangeChecked(change="update:t1", state="RUNNING", exists=True, request_id="r-c"),
        ChangeDone(change="update:t1", request_id="r-c", checked=True),
    ]
    assert api.count("PUT") == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    "wanted",
    [
        pytest.param(masked(BODY), id="task-differs"),
        pytest.param(None, id="nothing-to-compare"),
    ],
)
async def test_update_ambiguous_not_shown_is_resent(
    clock: FakeClock, wanted: dict[str, Any] | None
) -> None:
    """The task shows the old config, or nothing says what to compare: the whole
    configuration goes again (a repeat converges)."""
    old = task("RUNNING", schedule=BODY["schedule"], output=BODY["output"], config={})
    api = FakeApi([httpx.ReadTimeout, answer(200)], reads=[old])

    run = await apply(api, clock, [job(Action.UPDATE, wanted=wanted)])

    assert [e.kind for e in run.events] == [
        "ChangeSending",
        "ChangeAmbiguous",
        "ChangeChecked",
        "ChangeSending",
        "ChangeDone",
    ]
    assert [c for m, _, c in api.calls if m == "PUT"] == [CONTENT, CONTENT]


@pytest.mark.anyio
@pytest.mark.parametrize("action", [Action.UPDATE, Action.STOP, Action.START], ids=str)
async def test_a_change_whose_task_is_gone_is_refused(clock: FakeClock, action: Action) -> None:
    """Ambiguous, and the check says no such task: refused, not sent again."""
    api = FakeApi([answer(502)], reads=[answer(400, "VIAS.00010007", "r-2")])

    run = await apply(api, clock, [job(action, wanted=masked(BODY))])

    change = f"{action}:t1"
    assert run.events[2:] == [
        ChangeChecked(change=change, state="", exists=False, request_id="r-2"),
        ChangeRefused(change=change, message=GONE, request_id="r-2"),
    ]
    assert (api.count("PUT"), run.jobs[0].state.status) == (1, ChangeStatus.REFUSED)


@pytest.mark.anyio
async def test_failing_checks_are_retried_then_decide(clock: FakeClock) -> None:
    """Two checks fail (500), the third answers DELETING: done, no second DELETE."""
    api = FakeApi(
        [answer(504)], reads=[answer(500, "", "r-x"), httpx.ConnectError, task("DELETING")]
    )

    run = await apply(api, clock, [job(Action.DELETE)])

    assert run.events[2:] == [
        ChangeCheckFailed(
            change="delete:t1",
            reason="GET /tasks/t1 answered 500 x (request id r-x)",
            request_id="r-x",
        ),
        ChangeCheckFailed(change="delete:t1", reason="GET /tasks/t1 failed: ConnectError"),
        ChangeChecked(change="delete:t1", state="DELETING", exists=True, request_id="r-c"),
        ChangeDone(change="delete:t1", request_id="r-c", checked=True),
    ]
    assert api.count("DELETE") == 1


@pytest.mark.anyio
async def test_checks_that_never_answer_leave_it_in_doubt(clock: FakeClock) -> None:
    """Every check fails: nothing is sent again; given up in doubt, for resume to check."""
    options = SubmitOptions(concurrency=1, workers=1, max_attempts=3, outage_after=100)
    api = FakeApi([answer(500)], reads=[answer(503)] * 3)

    run = await apply(api, clock, [job(Action.STOP)], options=options)

    assert run.events[-1] == ChangeGaveUp(
        change="stop:t1",
        reason="in doubt: checks failed (GET /tasks/t1 answered 503 x (request id r-1)): "
        "it may or may not be applied",
    )
    assert (api.count("PUT"), api.count("GET"), run.jobs[0].state.status) == (
        1,
        3,
        ChangeStatus.IN_DOUBT,
    )


@pytest.mark.anyio
async def test_a_check_refused_for_the_run_stops_the_run(clock: FakeClock) -> None:
    """A 401 to a given token while checking: the run stops, the change stays in doubt."""
    api = FakeApi([answer(500)], reads=[answer(401, "APIGW.0307", "r-2")])

    run = await apply(api, clock, [job(Action.DELETE), job(Action.DELETE, task_id="t2")])

    assert run.changer.control.stop_reason.startswith("the API refused the run: 401 APIGW.0307")
    assert [e.kind for e in run.events] == [
        "ChangeSending",
        "ChangeAmbiguous",
        "ChangeCheckFailed",
        "ChangeGaveUp",
        "ChangeGaveUp",
    ]
    assert [j.state.status for j in run.jobs] == [ChangeStatus.IN_DOUBT, ChangeStatus.GAVE_UP]
    assert api.count("DELETE") == 1


# Refusals.


@pytest.mark.anyio
async def test_delete_of_a_task_that_does_not_exist_is_done(clock: FakeClock) -> None:
    """DELETE answered VIAS.00010007: the task is gone already, which is what was wanted."""
    api = FakeApi([answer(400, "VIAS.00010007", "r-1")])

    run = await apply(api, clock, [job(Action.DELETE)])

    assert run.events == [
        sending("delete:t1"),
        ChangeDone(change="delete:t1", request_id="r-1", checked=True),
    ]


@pytest.mark.anyio
async def test_stop_of_a_task_that_does_not_exist_is_refused(clock: FakeClock) -> None:
    """STOP answered VIAS.00010008: refused with the API's code, not sent again."""
    api = FakeApi([answer(400, "VIAS.00010008", "r-1")])

    run = await apply(api, clock, [job(Action.STOP)])

    assert run.events == [
        sending("stop:t1"),
        ChangeRefused(
            change="stop:t1", status=400, code="VIAS.00010008", message="x", request_id="r-1"
        ),
    ]
    assert run.jobs[0].state.message == "400 VIAS.00010008 x (request id r-1)"


@pytest.mark.anyio
async def test_a_refusal_of_the_project_stops_the_run(clock: FakeClock) -> None:
    """VIAS.00010021 (account frozen): this change refused, the next one never sent."""
    api = FakeApi([answer(400, "VIAS.00010021")])

    run = await apply(api, clock, [job(Action.STOP), job(Action.STOP, task_id="t2")])

    assert [e.kind for e in run.events] == ["ChangeSending", "ChangeRefused", "ChangeGaveUp"]
    assert (run.changer.control.final, api.count("PUT")) == (True, 1)


# Resume and the stop switch.


@pytest.mark.anyio
async def test_resume_checks_a_change_in_doubt_before_anything_else(clock: FakeClock) -> None:
    """The journal ends with ChangeSending (kill -9): the task is read first; gone, the
    DELETE is done without being sent."""
    api = FakeApi([], reads=[answer(400, "VIAS.00010007", "r-2")])

    run = await apply(api, clock, [job(Action.DELETE, state=in_doubt("delete:t1"))])

    assert run.events == [
        ChangeChecked(change="delete:t1", state="", exists=False, request_id="r-2"),
        ChangeDone(change="delete:t1", request_id="r-2", checked=True),
    ]
    assert api.count("DELETE") == 0


@pytest.mark.anyio
async def test_resume_resends_a_change_in_doubt_the_check_shows_not_applied(
    clock: FakeClock,
) -> None:
    """In doubt at resume, the task still RUNNING: checked, then the STOP goes as attempt 2."""
    api = FakeApi([answer(200, "", "r-3")], reads=[task("RUNNING", "r-2")])

    run = await apply(api, clock, [job(Action.STOP, state=in_doubt("stop:t1"))])

    assert run.events == [
        ChangeChecked(change="stop:t1", state="RUNNING", exists=True, request_id="r-2"),
        sending("stop:t1", 2),
        ChangeDone(change="stop:t1", request_id="r-3"),
    ]


@pytest.mark.anyio
async def test_a_stopped_run_gives_up_every_change_unsent(clock: FakeClock) -> None:
    """The switch is off before the run (Ctrl-C): nothing is sent or read; in doubt stays so."""
    control = RunControl(budget=20, outage_after=12)
    control.stop("interrupted")
    api = FakeApi([])
    jobs = [job(Action.DELETE, state=in_doubt("delete:t1")), job(Action.STOP, task_id="t2")]

    run = await apply(api, clock, jobs, control=control)

    assert run.events == [
        ChangeGaveUp(change="delete:t1", reason="in doubt: interrupted"),
        ChangeGaveUp(change="stop:t2", reason="interrupted"),
    ]
    assert ([j.state.status for j in jobs], api.calls) == (
        [ChangeStatus.IN_DOUBT, ChangeStatus.GAVE_UP],
        [],
    )


@pytest.mark.anyio
async def test_stopping_cuts_a_backoff_short(clock: FakeClock) -> None:
    """The run stops while a throttled change waits 30 s: no wait, no resend, given up."""
    control = RunControl(budget=20, outage_after=12)

    def api(request: httpx.Request) -> httpx.Response:
        control.stop("interrupted")
        return answer(429, "APIG.0308", **{"Retry-After": "30"})

    run = await apply(api, clock, [job(Action.START)], control=control)

    assert [e.kind for e in run.events] == ["ChangeSending", "ChangeRetrying", "ChangeGaveUp"]
    assert (run.events[-1], 30.0 in clock.sleeps) == (
        ChangeGaveUp(change="start:t1", reason="interrupted"),
        False,
    )


@pytest.mark.anyio
async def test_many_workers_apply_each_change_once(clock: FakeClock) -> None:
    """Forty changes over the default workers, four in flight: each task gets one request."""
    api = FakeApi([answer(200)] * 40)
    jobs = [job(Action.DELETE, task_id=f"t{n}") for n in range(40)]

    run = await apply(api, clock, jobs, options=SubmitOptions(concurrency=4))

    assert sorted(p for _, p, _ in api.calls) == sorted(f"/v2/p1/tasks/t{n}" for n in range(40))
    assert {j.state.status for j in run.jobs} == {ChangeStatus.DONE}


# The fold.


@pytest.mark.anyio
async def test_replay_folds_to_the_engines_states_and_twice_changes_nothing(
    clock: FakeClock,
) -> None:
    """The journal's fold equals the states the engine kept; replaying it twice is the same."""
    api = FakeApi(
        [answer(500), answer(200), answer(429), answer(200), answer(400, "VIAS.00010001")],
        reads=[task("RUNNING")],
    )
    jobs = [job(Action.STOP), job(Action.DELETE, task_id="t2"), job(Action.UPDATE, task_id="t3")]

    run = await apply(api, clock, jobs)

    once = replay([RunStarted(), *run.events])
    twice = replay([RunStarted(), *run.events, *run.events])
    assert once.changes == {j.mutation.id: j.state for j in jobs}
    assert (twice, once.changes_unsettled()) == (once, [])
    assert [c.status for c in once.changes.values()] == [
        ChangeStatus.DONE,
        ChangeStatus.DONE,
        ChangeStatus.REFUSED,
    ]


@pytest.mark.parametrize(
    ("events", "status"),
    [
        pytest.param([sending("stop:t1")], ChangeStatus.IN_DOUBT, id="sent"),
        pytest.param(
            [sending("stop:t1"), ChangeRetrying(change="stop:t1")],
            ChangeStatus.PENDING,
            id="retrying",
        ),
        pytest.param(
            [sending("stop:t1"), ChangeRetrying(change="stop:t1"), ChangeGaveUp(change="stop:t1")],
            ChangeStatus.GAVE_UP,
            id="gave-up-unapplied",
        ),
        pytest.param(
            [sending("stop:t1"), ChangeAmbiguous(change="stop:t1"), ChangeGaveUp(change="stop:t1")],
            ChangeStatus.IN_DOUBT,
            id="gave-up-in-doubt",
        ),
        pytest.param(
            [sending("stop:t1"), ChangeChecked(change="stop:t1", state="RUNNING", exists=True)],
            ChangeStatus.IN_DOUBT,
            id="checked-stays-in-doubt",
        ),
        pytest.param(
            [ChangeDone(change="stop:t1"), sending("stop:t1", 2)],
            ChangeStatus.DONE,
            id="settled-stays",
        ),
        pytest.param([ChangeRefused(change="stop:t1")], ChangeStatus.REFUSED, id="refused"),
    ],
)
def test_change_fold_status(events: list[Event], status: ChangeStatus) -> None:
    """Whether a change must be sent, checked, or is settled, from its events alone."""
    state = replay([RunStarted(), *events])

    assert (state.changes["stop:t1"].status, state.batches) == (status, {})
    assert bool(state.changes_unsettled()) == (status not in ("done", "refused"))


# The client and the answers.


def vias(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"error_code": code, "error_msg": "m"})


@pytest.mark.parametrize(
    ("response", "verdict", "scope", "missing"),
    [
        pytest.param(httpx.Response(200, json={}), Verdict.ACCEPTED, Scope.BATCH, False, id="200"),
        pytest.param(httpx.Response(204), Verdict.ACCEPTED, Scope.BATCH, False, id="204-empty"),
        pytest.param(vias(429, "APIGW.0308"), Verdict.RETRIABLE, Scope.BATCH, False, id="429"),
        pytest.param(vias(405, "APIGW.0501"), Verdict.FATAL, Scope.RUN, False, id="quota"),
        pytest.param(vias(401, "APIGW.0307"), Verdict.UNAUTHORIZED, Scope.RUN, False, id="401"),
        pytest.param(
            vias(400, "VIAS.00010021"), Verdict.REJECTED, Scope.PROJECT, False, id="frozen"
        ),
        pytest.param(vias(400, "VIAS.00010007"), Verdict.REJECTED, Scope.BATCH, True, id="no-task"),
        pytest.param(vias(400, "VIAS.0010008"), Verdict.REJECTED, Scope.BATCH, True, id="no-id"),
        pytest.param(
            vias(400, "VIAS.00010002"), Verdict.REJECTED, Scope.BATCH, False, id="no-object"
        ),
        pytest.param(
            vias(400, "VIAS.00010001"), Verdict.REJECTED, Scope.BATCH, False, id="invalid"
        ),
        pytest.param(
            vias(400, "VIAS.00010011"), Verdict.REJECTED, Scope.BATCH, False, id="same-name"
        ),
        pytest.param(vias(409, ""), Verdict.REJECTED, Scope.BATCH, False, id="409"),
        pytest.param(vias(403, ""), Verdict.REJECTED, Scope.BATCH, False, id="403"),
        pytest.param(vias(404, ""), Verdict.REJECTED, Scope.BATCH, False, id="404"),
        pytest.param(
            vias(500, "VIAS.00010012"), Verdict.REJECTED, Scope.BATCH, False, id="not-allowed"
        ),
        pytest.param(vias(500, "VIAS.00010006"), Verdict.AMBIGUOUS, Scope.BATCH, False, id="500"),
        pytest.param(vias(408, ""), Verdict.AMBIGUOUS, Scope.BATCH, False, id="408"),
    ],
)
def test_classify_change(
    response: httpx.Response, verdict: Verdict, scope: Scope, missing: bool
) -> None:
    """The answer to a change: 2xx applied whatever its body; "no task" told apart."""
    outcome = classify_change(response)

    assert (outcome.verdict, outcome.scope, outcome.missing) == (verdict, scope, missing)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "expected"),
    [
        pytest.param(
            task("RUNNING"), {"id": "t1", "name": "cam-1", "state": "RUNNING"}, id="found"
        ),
        pytest.param(vias(400, "VIAS.00010007"), None, id="00010007"),
        pytest.param(vias(400, "VIAS.00010008"), None, id="00010008"),
        pytest.param(vias(400, "VIAS.00010002"), None, id="00010002"),
    ],
)
async def test_task_detail(
    clock: FakeClock, response: httpx.Response, expected: dict[str, Any] | None
) -> None:
    """ShowTaskInfo's document, or None when the API says the task does not exist."""
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: response), base_url="https://vias.test"
    ) as http:
        client = ViasClient(
            http, project_id="p1", auth=StaticToken("tok-1"), limiter=RateLimiter(10, clock)
        )
        detail = await client.task_detail("t1")

    assert detail == expected


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "error"),
    [
        pytest.param(vias(500, "VIAS.00010006"), ReadFailed, id="500"),
        pytest.param(httpx.Response(200, json=[]), ReadFailed, id="not-an-object"),
        pytest.param(vias(401, "APIGW.0307"), RunRefused, id="401"),
    ],
)
async def test_task_detail_failures_raise(
    clock: FakeClock, response: httpx.Response, error: type[Exception]
) -> None:
    """Anything else raises as every read does: a failure, or the run refused."""
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: response), base_url="https://vias.test"
    ) as http:
        client = ViasClient(
            http, project_id="p1", auth=StaticToken("tok-1"), limiter=RateLimiter(10, clock)
        )
        with pytest.raises(error):
            await client.task_detail("t1")


def test_an_update_needs_its_body() -> None:
    """An UpdateTask job without bytes is a programming error, caught when it is made."""
    mutation = Mutation(Action.UPDATE, "t1", KEY)

    with pytest.raises(ValueError, match="update:t1"):
        ChangeJob(mutation, None, ChangeState(mutation.id))


def test_a_state_made_without_its_id_takes_it_from_its_first_event() -> None:
    """``ChangeState()`` for a change never journaled learns its id when it is first sent."""
    state = ChangeState()

    state.apply(sending("stop:t1"))

    assert (state.change, state.status, state.attempts) == ("stop:t1", ChangeStatus.IN_DOUBT, 1)
