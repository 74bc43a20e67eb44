"""The settler's rules, each run through both kinds of work (creates, changes) against
httpx.MockTransport on a fake clock: one machine, so one behaviour."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest

from loader.model.changes import Action, Mutation
from loader.send.auth import StaticToken
from loader.send.changes import ChangeJob, Changer
from loader.send.client import ViasClient
from loader.send.control import RunControl, Sender, SubmitOptions
from loader.send.engine import Job, Submitter
from loader.send.pacing import Grant, RateLimiter
from loader.send.settle import Piece, Settler
from loader.state.events import BatchAccepted, ChangeDone, Emit, Event
from loader.state.runstate import BatchState, BatchStatus, ChangeState, ChangeStatus
from tests.conftest import FakeClock

Answer = httpx.Response | type[httpx.TransportError]
ACCEPTED = {"total_count": 1, "failed_count": 0, "succeed_count": 1, "id": "b-1", "error_list": []}
# One job at a time, one lookup spanning a 1 s window: scripts answer in order.
OPTIONS = SubmitOptions(concurrency=1, workers=1, lookup_delays=(1.0,), outage_after=100)


def vias(status: int, code: str = "", request_id: str = "r-1") -> httpx.Response:
    """A VIAS error answer with its request id."""
    body = {"error_code": code, "error_msg": "x"}
    return httpx.Response(status, json=body, headers={"X-Request-Id": request_id})


@dataclass(frozen=True)
class Kind:
    """How a test speaks to one kind: its jobs, and the API's answers meaning the same."""

    job: Callable[[int, bool], Piece]  # the n-th job, in doubt or not
    ok: Callable[[], httpx.Response]  # a send that is answered done
    found: Callable[[int], httpx.Response]  # a read showing the n-th job done
    absent: Callable[[], httpx.Response]  # a read showing it provably not done
    settle: Callable[..., Settler[Any]]  # the settler, as the run builds it
    done: Callable[[Any], Event]  # the event of a job done in an earlier pass


def _batch(n: int, in_doubt: bool) -> Job:
    """Batch n{n}, never sent or sent unanswered."""
    status = BatchStatus.IN_DOUBT if in_doubt else BatchStatus.PENDING
    return Job(f"n{n}", b"{}", BatchState(f"n{n}", status=status))


def _listing(n: int) -> httpx.Response:
    """A lookup by name that finds batch n{n}."""
    items = [{"id": f"b-{n}", "batch_task_name": f"n{n}"}]
    return httpx.Response(200, json={"count": 1, "batch_task_list": items})


def _submitter(
    client: ViasClient, emit: Emit, clock: FakeClock, options: SubmitOptions, control: Any
) -> Submitter:
    """The run's first settler: its sender makes the run's control (a test may pass its own)."""
    return Submitter(
        Sender.of(client, emit, clock, options, jobs=1, control=control), rng=random.Random(1)
    )


def _change(n: int, in_doubt: bool) -> ChangeJob:
    """A STOP of task t{n}, never sent or sent unanswered."""
    mutation = Mutation(Action.STOP, f"t{n}", ("g1", f"cam-{n}", "c-smoke"), position=n)
    if not in_doubt:
        return ChangeJob(mutation, None, ChangeState(mutation.id))
    return ChangeJob(mutation, None, ChangeState(mutation.id, ChangeStatus.IN_DOUBT, attempts=1))


def _task(state: str) -> Callable[..., httpx.Response]:
    """ShowTaskInfo's answer: the task in ``state`` (STOPPED: the STOP is applied)."""
    return lambda *_: httpx.Response(200, json={"id": "t", "state": state})


def _changer(
    client: ViasClient, emit: Emit, clock: FakeClock, options: SubmitOptions, control: Any
) -> Changer:
    """A run's changer: it takes the run's control."""
    control = control or RunControl(budget=20, outage_after=options.outage_after)
    return Changer(Sender.of(client, emit, clock, options, control=control), rng=random.Random(1))


CREATES = Kind(
    _batch,
    lambda: httpx.Response(200, json=ACCEPTED),
    _listing,
    lambda: httpx.Response(200, json={"count": 0, "batch_task_list": []}),
    _submitter,
    lambda job: BatchAccepted(batch=job.name, batch_id="b-0"),
)
CHANGES = Kind(
    _change,
    lambda: httpx.Response(200),
    _task("STOPPED"),
    _task("RUNNING"),
    _changer,
    lambda job: ChangeDone(change=job.mutation.id),
)
KINDS = [pytest.param(CREATES, id="creates"), pytest.param(CHANGES, id="changes")]


class FakeApi:
    """Scripted answers: reads (GET) and sends (anything else) each from their own list."""

    def __init__(self, sends: list[Answer], reads: list[Answer] | None = None) -> None:
        self.sends, self.reads = list(sends), list(reads or [])
        self.methods: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.methods.append(request.method)
        found = (self.reads if request.method == "GET" else self.sends).pop(0)
        if isinstance(found, type):
            raise found("scripted", request=request)
        return found

    @property
    def counts(self) -> tuple[int, int]:
        """(sends, reads) made."""
        gets = self.methods.count("GET")
        return len(self.methods) - gets, gets


@dataclass
class Settled:
    """What a pass of the settler left: its events, the settler, the jobs."""

    events: list[Event]
    settler: Settler[Any]
    jobs: list[Any]

    @property
    def reasons(self) -> list[str]:
        """The reasons of the give-ups, in order."""
        return [getattr(e, "reason", "") for e in self.events if e.kind.endswith("GaveUp")]


async def settle(
    kind: Kind,
    api: Any,
    clock: FakeClock,
    jobs: list[Any],
    *,
    control: RunControl | None = None,
    options: SubmitOptions = OPTIONS,
    watch: Callable[[Event], None] = lambda event: None,
) -> Settled:
    """One pass of the kind's settler over ``jobs`` against the scripted API; ``watch``
    sees each event as it is recorded."""
    events: list[Event] = []

    async def emit(event: Event) -> None:
        watch(event)
        events.append(event)

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(api), base_url="https://vias.test"
    ) as http:
        client = ViasClient(
            http, project_id="p1", auth=StaticToken("tok-1"), limiter=RateLimiter(10, clock)
        )
        settler = kind.settle(client, emit, clock, options, control)
        await settler.run(jobs)
    return Settled(events, settler, jobs)


def kinds_of(events: list[Event]) -> list[str]:
    """Event kinds without the kind's prefix: the same steps read the same for both."""
    return [e.kind.removeprefix("Batch").removeprefix("Change") for e in events]


# Workers take only what is left.


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_settled_job_is_not_sent_again(kind: Kind, clock: FakeClock) -> None:
    """A job settled before its pass (done in an earlier one) is skipped: nothing sent."""
    done = kind.job(1, False)
    done.state.apply(kind.done(done))
    api = FakeApi([kind.ok()])

    run = await settle(kind, api, clock, [done, kind.job(2, False)])

    assert (api.counts, kinds_of(run.events)) == ((1, 0), ["Sending", _done(kind)])


def _done(kind: Kind) -> str:
    """The last word of a done job's event."""
    return kind.done(kind.job(0, False)).kind.removeprefix("Batch").removeprefix("Change")


# What did not arrive is sent again; what may have arrived is verified first.


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_throttled_waits_retry_after_then_sends_again(kind: Kind, clock: FakeClock) -> None:
    """429 with Retry-After: that wait, then the same job again; one retry spent."""
    throttled = vias(429, "APIG.0308")
    throttled.headers["Retry-After"] = "7"
    api = FakeApi([throttled, kind.ok()])

    run = await settle(kind, api, clock, [kind.job(1, False)])

    assert kinds_of(run.events) == ["Sending", "Retrying", "Sending", _done(kind)]
    assert (api.counts, 7.0 in clock.sleeps, run.settler.control.retries) == ((2, 0), True, 1)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_lost_answer_found_done_is_never_sent_again(kind: Kind, clock: FakeClock) -> None:
    """500 after sending: the read finds the job done; one send only, and the streak ends."""
    api = FakeApi([vias(500, "VIAS.00010006")], reads=[kind.found(1)])

    run = await settle(kind, api, clock, [kind.job(1, False)])

    assert (api.counts, run.jobs[0].state.settled) == ((1, 1), True)
    assert (run.settler.control.retries, run.settler.control.streak) == (1, 0)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_lost_answer_proven_absent_is_sent_again_once(kind: Kind, clock: FakeClock) -> None:
    """A reset after sending, and the read shows it not done: sent again, once."""
    api = FakeApi([httpx.RemoteProtocolError, kind.ok()], reads=[kind.absent()])

    run = await settle(kind, api, clock, [kind.job(1, False)])

    assert (api.counts, kinds_of(run.events)[:2], run.jobs[0].state.settled) == (
        (2, 1),
        ["Sending", "Ambiguous"],
        True,
    )


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_job_in_doubt_when_taken_is_verified_first(kind: Kind, clock: FakeClock) -> None:
    """Resume after a crash: the job is read before anything is sent; found done, not sent."""
    api = FakeApi([], reads=[kind.found(1)])

    run = await settle(kind, api, clock, [kind.job(1, True)])

    assert (api.counts, run.jobs[0].state.settled) == ((0, 1), True)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_reads_that_never_answer_leave_it_in_doubt_and_spend_nothing(
    kind: Kind, clock: FakeClock
) -> None:
    """Every read fails: nothing is sent again, the job is given up in doubt, and only the
    send spent budget (the reads are bounded by their own schedule)."""
    api = FakeApi([vias(500)], reads=[vias(503)] * 12)

    run = await settle(kind, api, clock, [kind.job(1, False)])

    assert (api.counts[0], run.reasons[0].startswith("in doubt: "), run.jobs[0].state.settled) == (
        1,
        True,
        False,
    )
    assert "failed (GET /" in run.reasons[0]
    assert (run.settler.control.retries, run.settler.control.streak) == (1, 1)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_refused_read_ends_the_verification(kind: Kind, clock: FakeClock) -> None:
    """A read refused as asked (400): asking again as is would not help; one try, in doubt.
    (A lookup by name falls back once to listing everything, hence its second read.)"""
    api = FakeApi([vias(500)], reads=[vias(400, "VIAS.00010001")] * 12)

    run = await settle(kind, api, clock, [kind.job(1, False)])

    reads = 2 if kind is CREATES else 1
    assert (api.counts, run.reasons[0].startswith("in doubt: ")) == ((1, reads), True)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_read_refused_for_the_run_stops_the_run(kind: Kind, clock: FakeClock) -> None:
    """401 to a given token while verifying: the run stops; the job stays in doubt and the
    next is given up unsent."""
    api = FakeApi([vias(500)], reads=[vias(401, "APIGW.0307", "r-2")])

    run = await settle(kind, api, clock, [kind.job(1, False), kind.job(2, False)])

    stop = run.settler.control.stop_reason
    assert stop.startswith("the API refused the run: 401 APIGW.0307")
    assert (api.counts, run.reasons) == ((1, 1), [f"in doubt: {stop}", stop])


# Attempts, budget, outage.


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_attempts_are_capped_per_pass_with_one_message(kind: Kind, clock: FakeClock) -> None:
    """max_attempts sends, then given up saying how many; a resume gets as many anew and
    says how many in all. The words are the same for both kinds."""
    options = SubmitOptions(concurrency=1, workers=1, max_attempts=2, outage_after=100)
    job = kind.job(1, False)

    first = await settle(kind, FakeApi([httpx.ConnectError] * 2), clock, [job], options=options)
    second = await settle(kind, FakeApi([httpx.ConnectError] * 2), clock, [job], options=options)

    assert (first.reasons, second.reasons) == (
        ["2 attempts without a clear answer; last: ConnectError (not sent)"],
        ["2 attempts without a clear answer (4 in all); last: ConnectError (not sent)"],
    )


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_the_retry_budget_is_run_wide(kind: Kind, clock: FakeClock) -> None:
    """A budget of 2: the third retry anywhere stops the run."""
    control = RunControl(budget=2, outage_after=100)
    api = FakeApi([vias(429, "APIG.0308")] * 10)

    await settle(kind, api, clock, [kind.job(1, False), kind.job(2, False)], control=control)

    assert (api.counts, control.stop_reason) == ((3, 0), "retry budget of 2 spent")


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_failures_in_a_row_are_an_outage(kind: Kind, clock: FakeClock) -> None:
    """Nothing answers: after ``outage_after`` failures the run stops; every job given up."""
    control = RunControl(budget=100, outage_after=3)
    jobs = [kind.job(n, False) for n in range(5)]

    run = await settle(kind, FakeApi([httpx.ConnectError] * 20), clock, jobs, control=control)

    assert (len(run.reasons), control.stop_reason) == (
        5,
        "the API failed 3 requests in a row (outage)",
    )


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_reads_finding_nothing_do_not_hide_an_outage(kind: Kind, clock: FakeClock) -> None:
    """Lost answers whose reads show the job not done: the reads answered, but nothing
    succeeded, so two lost answers in a row are an outage of two."""
    control = RunControl(budget=100, outage_after=2)
    api = FakeApi([vias(500), vias(500), kind.ok()], reads=[kind.absent()] * 2)

    run = await settle(kind, api, clock, [kind.job(1, False)], control=control)

    assert (api.counts[0], control.stop_reason) == (
        2,
        "the API failed 2 requests in a row (outage)",
    )
    assert run.reasons == [f"in doubt: {control.stop_reason}"]


# Refusals.


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_refused_request_is_final_for_its_job(kind: Kind, clock: FakeClock) -> None:
    """400 VIAS.00010001: refused with the API's code and its request id; sent once."""
    api = FakeApi([vias(400, "VIAS.00010001"), kind.ok()])

    run = await settle(kind, api, clock, [kind.job(1, False), kind.job(2, False)])

    refusal = run.events[1]
    assert (getattr(refusal, "code", ""), refusal.request_id, api.counts) == (  # type: ignore[attr-defined]
        "VIAS.00010001",
        "r-1",
        (2, 0),
    )
    assert run.settler.control.stop_reason == ""


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_refusal_of_the_project_stops_the_run_for_good(
    kind: Kind, clock: FakeClock
) -> None:
    """VIAS.00010021 (account frozen): this job refused, the next never sent."""
    api = FakeApi([vias(400, "VIAS.00010021")])

    run = await settle(kind, api, clock, [kind.job(1, False), kind.job(2, False)])

    stop = run.settler.control.stop_reason
    assert (run.settler.control.final, api.counts, len(run.reasons)) == (True, (1, 0), 1)
    assert run.reasons[0].endswith(stop)


# The stop switch.


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_stopped_run_gives_every_job_up_unsent(kind: Kind, clock: FakeClock) -> None:
    """Stopped before the pass (Ctrl-C): nothing sent or read; in doubt stays so."""
    control = RunControl(budget=20, outage_after=12)
    control.stop("interrupted")
    api = FakeApi([])

    run = await settle(kind, api, clock, [kind.job(1, True), kind.job(2, False)], control=control)

    assert (api.counts, run.reasons) == ((0, 0), ["in doubt: interrupted", "interrupted"])


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_stopping_cuts_a_backoff_short(kind: Kind, clock: FakeClock) -> None:
    """The run stops while a throttled job waits 30 s: no wait, no resend, given up."""
    control = RunControl(budget=20, outage_after=12)

    def api(request: httpx.Request) -> httpx.Response:
        control.stop("interrupted")
        throttled = vias(429, "APIG.0308")
        throttled.headers["Retry-After"] = "30"
        return throttled

    run = await settle(kind, api, clock, [kind.job(1, False)], control=control)

    assert (kinds_of(run.events), 30.0 in clock.sleeps) == (
        ["Sending", "Retrying", "GaveUp"],
        False,
    )


# The journal and the limit.


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_every_event_is_folded_before_it_is_recorded(kind: Kind, clock: FakeClock) -> None:
    """When an event is recorded the job's state already holds it: a sending is counted
    and in doubt, the answer settles it."""
    job = kind.job(1, False)
    seen: list[tuple[int, bool]] = []

    def watch(event: Event) -> None:
        seen.append((job.state.attempts, job.state.settled))

    await settle(kind, FakeApi([kind.ok()]), clock, [job], watch=watch)

    assert seen == [(1, False), (1, True)]


@pytest.mark.anyio
async def test_a_runs_settlers_share_its_control_and_its_limit_in_flight(
    clock: FakeClock,
) -> None:
    """A run's changer takes the submitter's control and its limit in flight: the changes
    go out while the creates do, to the same API; a settler made alone has its own."""

    async def emit(event: Event) -> None:
        pass

    async with httpx.AsyncClient() as http:
        client = ViasClient(
            http, project_id="p1", auth=StaticToken("t"), limiter=RateLimiter(1, clock)
        )
        sender = Sender.of(client, emit, clock, OPTIONS, jobs=1)
        submitter = Submitter(sender)
        changer = Changer(sender)
        alone = Changer(Sender.of(client, emit, clock, OPTIONS, control=sender.control))

    assert (changer.control is submitter.control, changer.limit is submitter.limit) == (
        True,
        True,
    )
    assert alone.limit is not submitter.limit


class _GatedLimiter(RateLimiter):
    """A pacer whose next slot comes only when the test opens the gate."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(1000.0, clock)
        self.gate = anyio.Event()
        self.waiting = anyio.Event()

    async def take(self) -> Grant:
        self.waiting.set()
        await self.gate.wait()
        return await super().take()


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["create", "change"])
async def test_a_request_waiting_for_its_turn_when_the_run_stops_never_leaves(
    clock: FakeClock, kind: str
) -> None:
    """Stop while a send waits at the pacer: it is not sent (the API sees nothing), and the
    job is left not in doubt (resume sends it without a lookup)."""
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, json=ACCEPTED)

    events: list[Event] = []

    async def emit(event: Event) -> None:
        events.append(event)

    limiter = _GatedLimiter(clock)
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(answer), base_url="http://vias.test"
    ) as http:
        client = ViasClient(http, project_id="p1", auth=StaticToken("t"), limiter=limiter)
        submitter = Submitter(Sender.of(client, emit, clock, OPTIONS, jobs=1))
        settler: Settler[Any] = submitter if kind == "create" else Changer(submitter.sender)
        job: Any = _batch(1, False) if kind == "create" else _change(1, False)
        async with anyio.create_task_group() as group:
            group.start_soon(settler.run, [job])
            await limiter.waiting.wait()
            submitter.control.stop("interrupted")
            limiter.gate.set()

    assert sent == []
    assert job.state.status not in (BatchStatus.IN_DOUBT, ChangeStatus.IN_DOUBT)
    assert not job.state.settled
