"""The engine against httpx.MockTransport on a fake clock: exact events, exact request counts."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from loader.send.auth import IamPassword, StaticToken, TokenSource
from loader.send.client import ViasClient
from loader.send.engine import Job, Sender, SubmitOptions, Submitter
from loader.send.pacing import RateLimiter
from loader.state.events import Event
from loader.state.runstate import BatchState, BatchStatus
from tests.conftest import FakeClock

Answer = httpx.Response | type[httpx.TransportError]
ACCEPTED = {"total_count": 1, "failed_count": 0, "succeed_count": 1, "id": "bid", "error_list": []}


def ok(batch_id: str = "bid") -> httpx.Response:
    return httpx.Response(200, json={**ACCEPTED, "id": batch_id})


def error(status: int, code: str = "", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error_code": code, "error_msg": "x"}, headers=headers)


def listing(*names_ids: tuple[str, str]) -> httpx.Response:
    items = [{"id": i, "batch_task_name": n} for n, i in names_ids]
    return httpx.Response(200, json={"count": len(items), "batch_task_list": items})


class FakeApi:
    """Scripted answers: creates and lookups each from their own list; every call recorded."""

    def __init__(
        self,
        creates: list[Answer],
        lookups: list[Answer] | None = None,
        iam: list[Answer] | None = None,
    ) -> None:
        self.creates, self.lookups, self.iam = list(creates), list(lookups or []), list(iam or [])
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(
            (request.method, request.url.path, request.headers.get("X-Auth-Token", ""))
        )
        script = (
            self.iam
            if request.url.path.startswith("/v3")
            else self.creates
            if request.method == "POST"
            else self.lookups
        )
        answer = script.pop(0)
        if isinstance(answer, type):
            raise answer("scripted", request=request)
        return answer

    def count(self, method: str) -> int:
        return sum(1 for m, p, _ in self.calls if m == method and p.startswith("/v2"))


async def settle(
    api: FakeApi,
    clock: FakeClock,
    names: list[str],
    *,
    auth: TokenSource | None = None,
    options: SubmitOptions | None = None,
    in_doubt: bool = False,
) -> tuple[list[Event], Submitter, list[Job]]:
    """Run the engine over ``names`` with the scripted API; returns events, engine, jobs."""
    events: list[Event] = []

    async def emit(event: Event) -> None:
        events.append(event)

    options = options or SubmitOptions(concurrency=1, lookup_delays=(1.0, 2.0, 4.0))
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(api), base_url="https://vias.test"
    ) as http:
        client = ViasClient(
            http,
            project_id="p1",
            auth=auth or StaticToken("tok-123456"),
            limiter=RateLimiter(10, clock),
        )
        sender = Sender.of(client, emit, clock, options, jobs=len(names))
        engine = Submitter(sender, rng=random.Random(1))
        status = BatchStatus.IN_DOUBT if in_doubt else BatchStatus.PENDING
        jobs = [
            Job(n, json.dumps({"name": n}).encode(), BatchState(n, status=status)) for n in names
        ]
        await engine.run(jobs)
    return events, engine, jobs


def kinds(events: list[Event], **fields: Callable[[Event], Any]) -> list[tuple[Any, ...]]:
    """(kind, selected fields) per event, for exact comparison."""
    return [(e.kind, *(f(e) for f in fields.values())) for e in events]


@pytest.mark.anyio
async def test_accepted_first_time(clock: FakeClock) -> None:
    """One request, two events: sending then accepted with the API's id."""
    api = FakeApi([ok("b-1")])

    events, _, jobs = await settle(api, clock, ["n1"])

    assert kinds(events, id=lambda e: getattr(e, "batch_id", "")) == [
        ("BatchSending", ""),
        ("BatchAccepted", "b-1"),
    ]
    assert (api.count("POST"), jobs[0].state.status) == (1, BatchStatus.ACCEPTED)


@pytest.mark.anyio
async def test_429_waits_retry_after_then_resends(clock: FakeClock) -> None:
    """Throttled: the wait is the API's Retry-After, then the same batch goes again."""
    api = FakeApi([error(429, "APIG.0308", **{"Retry-After": "7"}), ok()])

    events, engine, _ = await settle(api, clock, ["n1"])

    assert kinds(events, delay=lambda e: getattr(e, "delay", None)) == [
        ("BatchSending", None),
        ("BatchRetrying", 7.0),
        ("BatchSending", None),
        ("BatchAccepted", None),
    ]
    assert (api.count("POST"), engine.control.retries) == (2, 1)


@pytest.mark.anyio
async def test_429_without_retry_after_uses_full_jitter_within_the_cap(clock: FakeClock) -> None:
    """No Retry-After: the delay is drawn from [0, base * 2^(attempt-1)]."""
    api = FakeApi([error(429, "APIG.0308"), error(429, "APIG.0308"), ok()])

    events, _, _ = await settle(api, clock, ["n1"])

    delays = [e.delay for e in events if e.kind == "BatchRetrying"]  # type: ignore[attr-defined]
    assert len(delays) == 2
    assert 0 <= delays[0] <= 0.5
    assert 0 <= delays[1] <= 1.0


@pytest.mark.anyio
async def test_ambiguous_then_found_by_lookup_is_never_resent(clock: FakeClock) -> None:
    """500 after sending: the lookup finds the batch by exact name; no second create."""
    api = FakeApi(
        [error(500, "VIAS.00010006")], lookups=[listing(("n1-other", "x"), ("n1", "b-found"))]
    )

    events, _, jobs = await settle(api, clock, ["n1"])

    assert kinds(
        events, found=lambda e: getattr(e, "found_id", None) or getattr(e, "batch_id", None)
    ) == [
        ("BatchSending", None),
        ("BatchAmbiguous", None),
        ("BatchLookedUp", "b-found"),
        ("BatchAccepted", "b-found"),
    ]
    assert (api.count("POST"), jobs[0].state.batch_id or events[-1].batch_id) == (1, "b-found")  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_ambiguous_and_provably_absent_is_resent_once(clock: FakeClock) -> None:
    """A reset: three lookups over 1+2+4 s find nothing, so the batch goes again, once."""
    api = FakeApi([httpx.RemoteProtocolError, ok()], lookups=[listing(), listing(), listing()])

    events, _, _ = await settle(api, clock, ["n1"])

    assert [e.kind for e in events] == [
        "BatchSending",
        "BatchAmbiguous",
        "BatchLookedUp",
        "BatchLookedUp",
        "BatchLookedUp",
        "BatchAbsent",
        "BatchSending",
        "BatchAccepted",
    ]
    assert (api.count("POST"), clock.sleeps[:3]) == (2, [1.0, 2.0, 4.0])


@pytest.mark.anyio
async def test_name_exists_is_looked_up_not_resent(clock: FakeClock) -> None:
    """VIAS.00010011 (same name): the batch is there already; it is found, not created."""
    api = FakeApi([error(400, "VIAS.00010011")], lookups=[listing(("n1", "b-old"))])

    events, engine, _ = await settle(api, clock, ["n1"])

    assert (events[-1].kind, api.count("POST"), engine.control.retries) == ("BatchAccepted", 1, 0)


@pytest.mark.anyio
async def test_failing_lookups_leave_the_batch_in_doubt(clock: FakeClock) -> None:
    """When lookups keep failing, nothing is resent: the batch is given up in doubt."""
    api = FakeApi([httpx.ReadTimeout], lookups=[error(500)] * 6)

    events, _, jobs = await settle(api, clock, ["n1"])

    assert (events[-1].kind, api.count("POST"), jobs[0].state.status) == (
        "BatchGaveUp",
        1,
        BatchStatus.IN_DOUBT,
    )
    assert events[-1].reason.startswith("in doubt")  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_rejected_is_not_retried(clock: FakeClock) -> None:
    """400 validation: recorded with the API's code and message; one request only."""
    api = FakeApi([error(400, "VIAS.00010001")])

    events, _, jobs = await settle(api, clock, ["n1"])

    assert (kinds(events, code=lambda e: getattr(e, "code", None)), api.count("POST")) == (
        [("BatchSending", None), ("BatchRejected", "VIAS.00010001")],
        1,
    )
    assert jobs[0].state.status == BatchStatus.REJECTED


@pytest.mark.anyio
async def test_attempt_cap(clock: FakeClock) -> None:
    """Connection refused every time: max_attempts sends, then given up (still pending)."""
    api = FakeApi([httpx.ConnectError] * 3)
    options = SubmitOptions(concurrency=1, max_attempts=3, outage_after=100)

    events, _, jobs = await settle(api, clock, ["n1"], options=options)

    assert (api.count("POST"), events[-1].kind, jobs[0].state.status) == (
        3,
        "BatchGaveUp",
        BatchStatus.PENDING,
    )


@pytest.mark.anyio
async def test_full_outage_ends_the_run_with_every_batch_reported(clock: FakeClock) -> None:
    """Nothing answers: after `outage_after` failures the run stops; all 30 batches reported."""
    api = FakeApi([httpx.ConnectError] * 200)
    names = [f"n{i}" for i in range(30)]
    options = SubmitOptions(concurrency=1, outage_after=5)

    events, engine, _ = await settle(api, clock, names, options=options)

    gave_up = {e.batch for e in events if e.kind == "BatchGaveUp"}
    assert (gave_up, api.count("POST"), engine.control.stop_reason) == (
        set(names),
        5,
        "the API failed 5 requests in a row (outage)",
    )


@pytest.mark.anyio
async def test_retry_budget_is_run_wide(clock: FakeClock) -> None:
    """With a budget of 2, the third retry anywhere stops the run."""
    api = FakeApi([error(429, "APIG.0308")] * 10)
    options = SubmitOptions(concurrency=1, retry_budget=2, outage_after=100)

    _, engine, _ = await settle(api, clock, ["n1", "n2"], options=options)

    assert (api.count("POST"), engine.control.stop_reason) == (3, "retry budget of 2 spent")


@pytest.mark.anyio
async def test_in_doubt_batch_from_a_crash_is_looked_up_first(clock: FakeClock) -> None:
    """Resume: a batch whose send was journaled but not answered is found, not resent."""
    api = FakeApi([], lookups=[listing(("n1", "b-crash"))])

    events, _, _ = await settle(api, clock, ["n1"], in_doubt=True)

    assert ([e.kind for e in events], api.count("POST")) == (["BatchLookedUp", "BatchAccepted"], 0)


@pytest.mark.anyio
async def test_401_gets_a_new_token_once_and_repeats(clock: FakeClock) -> None:
    """IAM auth: a 401 fetches a new token, and the same request goes again with it."""
    iam = [
        httpx.Response(201, headers={"X-Subject-Token": f"iam-token-{i}"}, json={}) for i in (1, 2)
    ]
    api = FakeApi([error(401, "VIAS.00010005"), ok()], iam=iam)
    auth = IamPassword(
        iam_url="https://iam.test", user="u", password="pw-secret", domain="d", region="r1"
    )

    events, _, _ = await settle(api, clock, ["n1"], auth=auth)

    tokens = [t for m, p, t in api.calls if p.startswith("/v2")]
    assert (tokens, events[-1].kind) == (["iam-token-1", "iam-token-2"], "BatchAccepted")


@pytest.mark.anyio
async def test_401_with_a_fixed_token_stops_the_run(clock: FakeClock) -> None:
    """A given token cannot be renewed: the run stops, the batch stays to resume."""
    api = FakeApi([error(401, "APIGW.0307")])

    events, engine, jobs = await settle(api, clock, ["n1", "n2"])

    assert engine.control.stop_reason.startswith("the API refused the run: 401")
    assert ({e.batch for e in events if e.kind == "BatchGaveUp"}, api.count("POST")) == (
        {"n1", "n2"},
        1,
    )
    assert jobs[0].state.status == BatchStatus.PENDING


@pytest.mark.anyio
async def test_every_request_is_paced(clock: FakeClock) -> None:
    """Creates and lookups alike wait for the limiter: 10/s means 0.102 s apart."""
    api = FakeApi([ok("a"), ok("b"), ok("c")])

    await settle(api, clock, ["n1", "n2", "n3"])

    assert clock.sleeps == pytest.approx([0.102, 0.102])


@pytest.mark.anyio
async def test_lookup_falls_back_to_listing_everything_when_the_filter_is_refused(
    clock: FakeClock,
) -> None:
    """A server that rejects name_like (400): all batches are listed and scanned by name."""
    api = FakeApi(
        [error(500)],
        lookups=[error(400, "VIAS.00010001"), listing(("other", "x"), ("n1", "b-scan"))],
    )

    events, _, _ = await settle(api, clock, ["n1"])

    assert (events[-1].kind, events[-1].batch_id, api.count("POST")) == (
        "BatchAccepted",
        "b-scan",
        1,
    )  # type: ignore[attr-defined]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("project_id", "scope"),
    [("p-123", {"id": "p-123"}), ("", {"name": "cn-north-4"})],
    ids=["by-project-id", "by-region-name"],
)
async def test_iam_request_is_project_scoped(project_id: str, scope: dict[str, str]) -> None:
    """The IAM body asks for a project-scoped token, by project id when given, else by region."""
    bodies: list[dict[str, Any]] = []

    def iam(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(201, headers={"X-Subject-Token": "t-1"}, json={})

    auth = IamPassword(
        iam_url="https://iam.test",
        user="u",
        password="pw",
        domain="d",
        region="cn-north-4",
        project_id=project_id,
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(iam)) as http:
        token = await auth.token(http)

    assert (token, bodies[0]["auth"]["scope"]["project"]) == ("t-1", scope)
    assert bodies[0]["auth"]["identity"]["password"]["user"] == {
        "name": "u",
        "password": "pw",
        "domain": {"name": "d"},
    }


@pytest.mark.anyio
async def test_lookup_matches_a_listed_name_under_either_key(clock: FakeClock) -> None:
    """A listing that says ``name`` instead of ``batch_task_name`` still finds the batch."""
    listed = httpx.Response(
        200, json={"count": 1, "batch_task_list": [{"id": "b-n", "name": "n1"}]}
    )
    api = FakeApi([error(502)], lookups=[listed])

    events, _, _ = await settle(api, clock, ["n1"])

    assert (events[-1].kind, events[-1].batch_id, api.count("POST")) == ("BatchAccepted", "b-n", 1)  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_429_without_retry_after_lowers_the_rate_then_it_recovers(clock: FakeClock) -> None:
    """No Retry-After: the pacer drops to 70% of --rate at once, then climbs back over successes."""
    limiter = RateLimiter(10, clock)
    rates: list[float] = []
    answers = [error(429, "APIGW.0308")] + [ok(f"b-{i}") for i in range(40)]

    def api(request: httpx.Request) -> httpx.Response:
        rates.append(limiter.rate)
        return answers.pop(0)

    async def emit(event: Event) -> None:
        pass

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(api), base_url="https://vias.test"
    ) as http:
        client = ViasClient(http, project_id="p1", auth=StaticToken("tok-1"), limiter=limiter)
        engine = Submitter(Sender.of(client, emit, clock, SubmitOptions(concurrency=1), jobs=40))
        jobs = [Job(f"n{i}", b"{}", BatchState(f"n{i}")) for i in range(40)]
        await engine.run(jobs)

    climbing = rates[1:]
    assert (rates[0], rates[1]) == (10, pytest.approx(7.0))
    assert climbing == sorted(climbing)
    assert (climbing[-1], limiter.rate, limiter.interval) == (10, 10, pytest.approx(0.102))
    assert 20 < climbing.index(10) < 30  # about +1/s per second of answers: 7 -> 10 in ~26


@pytest.mark.anyio
async def test_429_with_retry_after_pauses_without_lowering_the_rate(clock: FakeClock) -> None:
    """Retry-After: every worker waits that long; the rate itself stays at --rate."""
    api = FakeApi([error(429, "APIG.0308", **{"Retry-After": "3"}), ok()])
    limiter = RateLimiter(10, clock)

    async def emit(event: Event) -> None:
        pass

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(api), base_url="https://vias.test"
    ) as http:
        client = ViasClient(http, project_id="p1", auth=StaticToken("tok-1"), limiter=limiter)
        sender = Sender.of(client, emit, clock, SubmitOptions(concurrency=1), jobs=1)
        await Submitter(sender).run([Job("n1", b"{}", BatchState("n1"))])

    assert (limiter.rate, api.count("POST"), 3.0 in clock.sleeps) == (10, 2, True)


@pytest.mark.anyio
async def test_rate_cut_once_per_epoch_never_below_the_floor(clock: FakeClock) -> None:
    """Throttled answers to calls sent before a cut do not cut again; the floor is 1/s."""
    limiter = RateLimiter(10, clock)
    first, second = (await limiter.take()).epoch, (await limiter.take()).epoch
    limiter.slow_down(epoch=first)
    limiter.slow_down(epoch=second)
    once = limiter.rate
    for _ in range(20):
        limiter.slow_down(epoch=(await limiter.take()).epoch)
    slow = RateLimiter(0.5, clock)
    slow.slow_down(epoch=(await slow.take()).epoch)

    assert (once, limiter.rate, slow.rate) == (pytest.approx(7.0), 1.0, 0.5)
    assert (limiter.interval, slow.interval) == (pytest.approx(1.02), pytest.approx(2.04))
