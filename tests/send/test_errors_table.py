"""The documented error table, row by row: classify's verdict and scope, then the engine's
exact events and exact request counts on MockTransport, for a refused batch n1 and a batch
n2 sent after it (research notes sections 3 and 6)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pytest

from loader.send.answers import Scope, Verdict, classify
from loader.send.auth import AkSkAuth
from loader.send.engine import SubmitOptions
from loader.send.signing import AkSk
from loader.state.events import Event
from loader.state.runstate import BatchStatus
from tests.conftest import FakeClock
from tests.send.test_submit import FakeApi, listing, ok, settle

SIGNED = AkSkAuth(AkSk("SIMAK0000000000000001", "sim-secret-key-0123456789abcdef"), project_id="p1")
THROTTLED_MESSAGE = (
    "The throttling threshold has been reached: policy user over ratelimit,limit:20,time:1 second"
)


def vias(status: int, code: str, message: str = "m") -> httpx.Response:
    """A VIAS error: its body shape, the request id in the X-Request-Id header."""
    body = {"error_code": code, "error_msg": message, "detail": "d", "params": []}
    return httpx.Response(status, json=body, headers={"X-Request-Id": "req-n1"})


def gateway(status: int, code: str, message: str = "m") -> httpx.Response:
    """An API gateway error: its body shape, the request id only in the body."""
    body = {"error_code": code, "error_msg": message, "request_id": "req-n1"}
    return httpx.Response(status, json=body)


@dataclass(frozen=True)
class Row:
    """One answer to n1's create and everything that follows from it."""

    answer: httpx.Response
    verdict: Verdict
    scope: Scope
    n1: list[str]  # n1's event kinds
    n2: list[str]  # n2's event kinds
    posts: int
    gets: int = 0
    status: tuple[BatchStatus, BatchStatus] = (BatchStatus.REJECTED, BatchStatus.ACCEPTED)
    stop: str = ""  # the start of the run's stop reason ("": the run went on)
    lookups: list[httpx.Response] = field(default_factory=list)


SENT_OK = ["BatchSending", "BatchAccepted"]
REFUSED = ["BatchSending", "BatchRejected"]
FOUND = ["BatchSending", "BatchAmbiguous", "BatchLookedUp", "BatchAccepted"]
STOPPED = ["BatchSending", "BatchRetrying", "BatchGaveUp"]
PENDING = (BatchStatus.PENDING, BatchStatus.PENDING)
FAILED_UNSENT = (BatchStatus.REJECTED, BatchStatus.REJECTED)
REFUSED_RUN = "the API refused the run: "


def final_row(answer: httpx.Response, code: str) -> Row:
    """A refusal of the project for good: n1 rejected, n2 never sent and failed."""
    return Row(
        answer,
        Verdict.REJECTED,
        Scope.PROJECT,
        REFUSED,
        ["BatchGaveUp"],
        1,
        status=FAILED_UNSENT,
        stop=f"{REFUSED_RUN}{answer.status_code} {code}",
    )


def stop_row(answer: httpx.Response, verdict: Verdict, code: str) -> Row:
    """A refusal of the run until something changes: nothing more sent, both left to resume."""
    return Row(
        answer,
        verdict,
        Scope.RUN,
        STOPPED,
        ["BatchGaveUp"],
        1,
        status=PENDING,
        stop=f"{REFUSED_RUN}{answer.status_code} {code}",
    )


ROWS = {
    "400-VIAS.00010001-invalid": Row(
        vias(400, "VIAS.00010001"), Verdict.REJECTED, Scope.BATCH, REFUSED, SENT_OK, 2
    ),
    "400-VIAS.00010004-invalid": Row(
        vias(400, "VIAS.00010004"), Verdict.REJECTED, Scope.BATCH, REFUSED, SENT_OK, 2
    ),
    "400-VIAS.0010001-seven-digits": Row(
        vias(400, "VIAS.0010001"), Verdict.REJECTED, Scope.BATCH, REFUSED, SENT_OK, 2
    ),
    "500-VIAS.00010012-not-allowed": Row(
        vias(500, "VIAS.00010012"), Verdict.REJECTED, Scope.BATCH, REFUSED, SENT_OK, 2
    ),
    "413-APIG.0201-too-large": Row(
        gateway(413, "APIG.0201"), Verdict.REJECTED, Scope.BATCH, REFUSED, SENT_OK, 2
    ),
    "400-VIAS.00010002-wrong-project": final_row(vias(400, "VIAS.00010002"), "VIAS.00010002"),
    "404-VIAS.00010002-wrong-project": final_row(vias(404, "VIAS.00010002"), "VIAS.00010002"),
    "401-VIAS.00010005-not-authorized": final_row(vias(401, "VIAS.00010005"), "VIAS.00010005"),
    "401-VIAS.00010021-frozen": final_row(vias(401, "VIAS.00010021"), "VIAS.00010021"),
    "500-VIAS.00010006-internal": Row(
        vias(500, "VIAS.00010006"),
        Verdict.AMBIGUOUS,
        Scope.BATCH,
        FOUND,
        SENT_OK,
        2,
        gets=1,
        status=(BatchStatus.ACCEPTED, BatchStatus.ACCEPTED),
        lookups=[listing(("n1", "b-found"))],
    ),
    "500-VIAS.00010009-internal": Row(
        vias(500, "VIAS.00010009"),
        Verdict.AMBIGUOUS,
        Scope.BATCH,
        FOUND,
        SENT_OK,
        2,
        gets=1,
        status=(BatchStatus.ACCEPTED, BatchStatus.ACCEPTED),
        lookups=[listing(("n1", "b-found"))],
    ),
    "400-VIAS.00010011-same-name": Row(
        vias(400, "VIAS.00010011"),
        Verdict.EXISTS,
        Scope.BATCH,
        FOUND,
        SENT_OK,
        2,
        gets=1,
        status=(BatchStatus.ACCEPTED, BatchStatus.ACCEPTED),
        lookups=[listing(("n1", "b-found"))],
    ),
    "429-APIGW.0308-throttled": Row(
        gateway(429, "APIGW.0308", THROTTLED_MESSAGE),
        Verdict.RETRIABLE,
        Scope.BATCH,
        ["BatchSending", "BatchRetrying", "BatchSending", "BatchAccepted"],
        SENT_OK,
        3,
        status=(BatchStatus.ACCEPTED, BatchStatus.ACCEPTED),
    ),
    "405-APIGW.0501-quota-used-up": stop_row(
        gateway(405, "APIGW.0501", "app quota used up"), Verdict.FATAL, "APIGW.0501"
    ),
    "429-APIG.0308-quota": stop_row(
        gateway(429, "APIG.0308", "The throttling threshold has been reached: quota used up"),
        Verdict.FATAL,
        "APIG.0308",
    ),
    "401-APIGW.0301-credentials": stop_row(
        gateway(401, "APIGW.0301", "Incorrect IAM authentication information"),
        Verdict.UNAUTHORIZED,
        "APIGW.0301",
    ),
    "401-APIGW.0307-stale-token": stop_row(
        gateway(401, "APIGW.0307", "The token must be updated"), Verdict.UNAUTHORIZED, "APIGW.0307"
    ),
    "403-forbidden": stop_row(gateway(403, "APIGW.0302", "forbidden"), Verdict.FATAL, "APIGW.0302"),
}


def of_batch(events: list[Event], name: str) -> list[str]:
    return [e.kind for e in events if e.batch == name]


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_classify_gives_the_documented_verdict_and_scope(row: Row) -> None:
    """Each documented answer has one verdict and one reach, and keeps its request id."""
    outcome = classify(row.answer)

    assert (outcome.verdict, outcome.scope, outcome.request_id) == (
        row.verdict,
        row.scope,
        "req-n1",
    )


@pytest.mark.anyio
@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
async def test_engine_events_and_requests_per_row(row: Row, clock: FakeClock) -> None:
    """The exact events of both batches, the exact requests, the statuses and the stop."""
    api = FakeApi([row.answer, ok("b-2"), ok("b-3")], lookups=list(row.lookups))
    options = SubmitOptions(concurrency=1, lookup_delays=(1.0, 2.0, 4.0))

    events, engine, jobs = await settle(api, clock, ["n1", "n2"], auth=SIGNED, options=options)

    assert (of_batch(events, "n1"), of_batch(events, "n2")) == (row.n1, row.n2)
    assert (api.count("POST"), api.count("GET")) == (row.posts, row.gets)
    assert (jobs[0].state.status, jobs[1].state.status) == row.status
    assert engine.control.stop_reason.startswith(row.stop)
    assert (engine.control.stop_reason == "") == (row.stop == "")
    answered = next(e for e in events if e.batch == "n1" and e.kind != "BatchSending")
    assert answered.request_id == "req-n1"  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_wrong_project_fails_unsent_batches_and_names_the_flag(clock: FakeClock) -> None:
    """400 VIAS.00010002: n1 refused with its request id, n2 never sent, failed with the reason."""
    api = FakeApi([vias(400, "VIAS.00010002", "The object does not exist.")])

    events, engine, jobs = await settle(api, clock, ["n1", "n2"])

    reason = engine.control.stop_reason
    assert reason == (
        "the API refused the run: 400 VIAS.00010002 The object does not exist.: d"
        " (request id req-n1); check --project-id / BULKLOAD_PROJECT_ID (a wrong project id"
        " answers this)"
    )
    assert (jobs[0].state.message, jobs[1].state.gave_up) == (
        "400 VIAS.00010002 The object does not exist.: d (request id req-n1); check"
        " --project-id / BULKLOAD_PROJECT_ID (a wrong project id answers this)",
        f"not sent: {reason}",
    )
    assert [getattr(e, "final", None) for e in events if e.kind == "BatchGaveUp"] == [True]


@pytest.mark.anyio
async def test_a_batch_in_doubt_stays_in_doubt_when_the_project_is_refused(
    clock: FakeClock,
) -> None:
    """A refusal for good fails what was never sent, never what may have been created."""
    api = FakeApi([httpx.ReadTimeout, vias(401, "VIAS.00010005")])

    events, _, jobs = await settle(api, clock, ["n1", "n2", "n3"], auth=SIGNED)

    statuses = [j.state.status for j in jobs]
    assert statuses == [BatchStatus.IN_DOUBT, BatchStatus.REJECTED, BatchStatus.REJECTED]
    gave_up = {e.batch: getattr(e, "final", None) for e in events if e.kind == "BatchGaveUp"}
    assert gave_up == {"n1": False, "n3": True}
    assert (api.count("POST"), api.count("GET")) == (2, 0)  # the stop cut n1's settle wait


@pytest.mark.anyio
async def test_authorization_failed_to_a_given_token_is_left_to_resume(clock: FakeClock) -> None:
    """401 VIAS.00010005 to BULKLOAD_AUTH_TOKEN may mean it expired: stop, fail nothing."""
    api = FakeApi([vias(401, "VIAS.00010005", "Authorization failed.")])

    events, engine, jobs = await settle(api, clock, ["n1", "n2"])

    assert (of_batch(events, "n1"), of_batch(events, "n2")) == (STOPPED, ["BatchGaveUp"])
    assert [j.state.status for j in jobs] == [BatchStatus.PENDING, BatchStatus.PENDING]
    assert engine.control.stop_reason == (
        "the API refused the run: 401 VIAS.00010005 Authorization failed.: d (request id"
        " req-n1); BULKLOAD_AUTH_TOKEN was refused (a token lasts 24 hours): export a new one,"
        " or use BULKLOAD_AK/BULKLOAD_SK or IAM (BULKLOAD_IAM_*), then bulkload resume"
    )


@pytest.mark.anyio
async def test_lenient_200_is_accepted_not_ambiguous(clock: FakeClock) -> None:
    """A 200 with a null error_list and no counts: accepted once, all succeeded, no lookup."""
    api = FakeApi([httpx.Response(200, json={"id": "b-1", "error_list": None})])

    events, _, jobs = await settle(api, clock, ["n1"])

    assert [e.kind for e in events] == ["BatchSending", "BatchAccepted"]
    assert (jobs[0].state.batch_id, jobs[0].state.failed, api.count("GET")) == ("b-1", 0, 0)


@pytest.mark.parametrize(
    ("body", "counts"),
    [
        pytest.param({"id": "b"}, (0, 0, 0, []), id="no-counts-no-errors"),
        pytest.param({"id": "b", "error_list": None}, (0, 0, 0, []), id="null-error-list"),
        pytest.param(
            {"id": "b", "error_list": ["cam-1 unknown", "cam-2 unknown"]},
            (0, 0, 2, ["cam-1 unknown", "cam-2 unknown"]),
            id="no-counts-two-errors",
        ),
        pytest.param(
            {"id": "b", "succeed_count": 3, "error_list": ["cam-1 x"]},
            (4, 3, 1, ["cam-1 x"]),
            id="total-from-the-others",
        ),
        pytest.param(
            {"id": "b", "total_count": 5, "failed_count": None, "error_list": []},
            (5, 5, 0, []),
            id="succeeded-from-total",
        ),
    ],
)
def test_lenient_counts(body: dict[str, object], counts: tuple[int, int, int, list[str]]) -> None:
    """Missing counts: all succeeded only when error_list is empty, else counted from it."""
    outcome = classify(httpx.Response(200, json=body))

    answer = outcome.response
    assert answer is not None
    assert (answer.total_count, answer.succeed_count, answer.failed_count, answer.error_list) == (
        counts
    )


@pytest.mark.parametrize(
    "content",
    [b"", b"null", b"[]", b'{"total_count": 1}', b'{"id": null}'],
    ids=["empty", "null", "list", "no-id", "null-id"],
)
def test_200_without_a_batch_id_stays_ambiguous(content: bytes) -> None:
    """Without an id the batch may or may not exist: it is looked up, never assumed."""
    assert classify(httpx.Response(200, content=content)).verdict == Verdict.AMBIGUOUS


@pytest.mark.parametrize(
    ("code", "creating", "scope"),
    [
        ("VIAS.00010002", False, Scope.BATCH),
        ("VIAS.00010005", False, Scope.PROJECT),
    ],
    ids=["missing-object-on-a-read", "no-authorization-on-a-read"],
)
def test_reads_refuse_only_themselves_unless_the_project_is_refused(
    code: str, creating: bool, scope: Scope
) -> None:
    """A read that names a missing object says nothing of the project; no authorization does."""
    assert classify(vias(400, code), creating=creating).scope == scope


def test_default_payload_cap_keeps_bodies_under_the_gateway_limit() -> None:
    """413 APIG.0201 is avoided by planning: 10 MiB by default, the minimum count below it."""
    from loader.model.cameras import Camera, Cameras, SettingsClass
    from loader.model.vias import TaskSettings
    from loader.planning.batches import DEFAULT_MAX_PAYLOAD_BYTES, minimum_batches, plan

    settings = [
        SettingsClass(
            TaskSettings.model_validate(
                {
                    "service_name": "c-smoke",
                    "service_version": "3.0",
                    "output": {"event_center": True},
                }
            ),
            "big",
        )
    ]
    points = ",".join(f"[{n},{n}]" for n in range(130))
    roi = f'{{"polygons":[{{"data":[{points}]}}]}}'  # about 1.1 KB per camera in the body
    big = Cameras.of(Camera(n, n + 2, f"g{n // 100}", f"cam-{n}", roi, 0) for n in range(10_000))
    small = big[:300]

    planned, few = plan(big, settings), plan(small, settings)

    assert DEFAULT_MAX_PAYLOAD_BYTES == 10_485_760
    assert (minimum_batches(big), len(planned.batches)) == (1, 2)
    assert max(len(b.content()) for b in planned.batches) < DEFAULT_MAX_PAYLOAD_BYTES
    assert (len(few.batches), few.max_payload_bytes) == (
        minimum_batches(small),
        DEFAULT_MAX_PAYLOAD_BYTES,
    )
    assert len(plan(small, settings, max_payload_bytes=50_000).batches) > 1  # the flag lowers it
