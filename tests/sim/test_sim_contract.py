"""
The simulator against the documentation's own examples: the CreateBatchTask example request
and response (shared/reference/seed-create-batch-task.txt), the documented schedule and
error body (shared/reference/vias-api-family.md), the error table's status and message per
code, and a request signed by the official SDK. Only the simulator is tested here.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials  # type: ignore[import-untyped]
from huaweicloudsdkcore.sdk_request import SdkRequest  # type: ignore[import-untyped]
from starlette.applications import Starlette

from loader.sim import SimConfig, SimState, create_app
from tests.conftest import DATA

PROJECT = "sim-project"
HOST = "sim.test"
TOKEN = {"X-Auth-Token": "sim-token"}
AK = "SIMAK0000000000000001"
SK = "sim-secret-key-0123456789abcdef"
NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
BATCHES = f"/v2/{PROJECT}/batch-tasks"
REQUEST_ID = re.compile(r"[0-9a-f]{32}")
VIAS_KEYS = {"error_code", "error_msg", "detail", "params", "reason", "advice"}
GATEWAY_KEYS = {"error_code", "error_msg", "request_id"}

# vias-api-family.md, section 4 "TaskSchedule": the only documented schedule value.
DOCUMENTED_SCHEDULE = {
    "type": "weekly",
    "timezone": "+08:00",
    "days_of_week": [1, 2, 3, 4, 5, 6, 7],
    "periods": [
        [],
        [],
        [],
        [],
        [{"begin_at": "22:15:00", "end_at": "23:59:00"}],
        [{"begin_at": "00:00:00", "end_at": "23:59:00"}],
        [{"begin_at": "22:15:00", "end_at": "23:59:00"}],
    ],
}

# vias-api-family.md, section 3 "Error body": the documented example.
DOCUMENTED_ERROR = {
    "error_code": "VIAS.00010006",
    "error_msg": "An internal error occurs.",
    "detail": "Request method 'GET' not supported",
    "params": [],
    "reason": "...",
    "advice": "...",
}

# vias-api-family.md, section 6: the VIAS error table (code -> HTTP status, message).
ERROR_TABLE = {
    "VIAS.00010001": (400, "The parameters are invalid."),
    "VIAS.00010002": (400, "The object does not exist."),
    "VIAS.00010005": (401, "Authorization failed."),
    "VIAS.00010006": (500, "An internal error occurs."),
    "VIAS.00010007": (400, "No task is found based on the task ID."),
    "VIAS.00010008": (400, "No task is found based on the ID."),
    "VIAS.00010011": (400, "There is a job with the same name."),
}


def app_for(config: SimConfig | None = None, clock: float | None = None) -> Starlette:
    """A simulator app in process; ``clock`` pins its monotonic clock (lags, rate, states)."""
    config = config or SimConfig(wall_clock=NOW.timestamp)
    state = None if clock is None else SimState(clock=lambda: clock)
    return create_app(config, state)


def send(
    app: Starlette,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
    content: bytes | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    """One request to the in-process app, as httpx puts it on the wire."""

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
            return await client.request(
                method, path, headers=headers, json=body, content=content, params=params
            )

    return anyio.run(call)


def signed(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str = "application/json;charset=utf-8",
    *,
    access_key: str = AK,
    secret_key: str = SK,
    security_token: str | None = None,
    project_id: str | None = PROJECT,
    date: datetime = NOW,
) -> tuple[str, dict[str, str]]:
    """The URI and headers of a request the official huaweicloudsdkcore signer signed."""
    credentials = BasicCredentials(access_key, secret_key, project_id)
    if security_token is not None:
        credentials.with_security_token(security_token)
    headers = {"X-Sdk-Date": date.strftime("%Y%m%dT%H%M%SZ")}
    if body:
        headers["Content-Type"] = content_type
    request = SdkRequest(
        method=method,
        schema="http",
        host=HOST,
        resource_path=path,
        query_params=list(query),
        header_params=headers,
        body=body,
    )
    done = credentials.sign_request(request)
    return done.uri, dict(done.header_params)


def seed_fixed(seed_request: dict[str, Any]) -> dict[str, Any]:
    """The seed example with exactly its two documented faults fixed (as test_payload does)."""
    fixed = copy.deepcopy(seed_request)
    del fixed["manufacturer"], fixed["priority"]  # undocumented fields
    fixed["service_name"] = "c-smoke-and-fire-cloud"  # spaces break the documented pattern
    return fixed


def test_seed_example_as_printed_is_refused_for_its_undocumented_fields(
    seed_request: dict[str, Any],
) -> None:
    """The page's example as printed: 400 VIAS.00010001 naming manufacturer and priority."""
    answer = send(app_for(), "POST", BATCHES, headers=TOKEN, body=seed_request)

    assert (answer.status_code, answer.json()["error_code"], answer.json()["detail"]) == (
        400,
        "VIAS.00010001",
        "the body has undocumented fields ['manufacturer', 'priority']",
    )


def test_seed_example_service_name_breaks_the_documented_pattern(
    seed_request: dict[str, Any],
) -> None:
    """With only the undocumented fields removed, the spaced service_name is still refused."""
    del seed_request["manufacturer"], seed_request["priority"]

    answer = send(app_for(), "POST", BATCHES, headers=TOKEN, body=seed_request)

    assert (answer.status_code, answer.json()["detail"]) == (
        400,
        "service_name 'Smoke and fire detection algorithm' must be 1-100 Chinese letters,"
        " letters, digits, '_' or '-'",
    )


def test_seed_example_fixed_is_answered_like_the_example_response(
    seed_request: dict[str, Any],
) -> None:
    """Its two faults fixed, the example is created and answered in the example's shape."""
    example = json.loads((DATA / "seed_example_response.json").read_text())

    answer = send(app_for(), "POST", BATCHES, headers=TOKEN, body=seed_fixed(seed_request))

    body = answer.json()
    assert answer.status_code == 200
    assert body.keys() == example.keys()
    assert {k: type(v) for k, v in body.items()} == {k: type(v) for k, v in example.items()}
    assert {k: v for k, v in body.items() if k != "id"} == {
        k: v for k, v in example.items() if k != "id"
    }
    assert len(body["id"]) == len(example["id"]) == 32
    assert REQUEST_ID.fullmatch(answer.headers["X-Request-Id"])


def test_documented_schedule_is_accepted_and_kept_as_sent(seed_request: dict[str, Any]) -> None:
    """The TaskSchedule example passes, and the camera's task carries it unchanged."""
    app = app_for()
    request = {**seed_fixed(seed_request), "schedule": DOCUMENTED_SCHEDULE}

    answer = send(app, "POST", BATCHES, headers=TOKEN, body=request)
    state = send(app, "GET", "/_sim/state").json()

    assert answer.status_code == 200
    [camera] = state["cameras"]
    assert state["settings"][camera["settings"][0]]["schedule"] == DOCUMENTED_SCHEDULE


def test_documented_error_example_is_answered_as_documented() -> None:
    """GET on a path without GET is the documented example: 500 VIAS.00010006, its detail."""
    answer = send(app_for(), "GET", f"{BATCHES}/0123456789abcdef", headers=TOKEN)

    body = answer.json()
    assert answer.status_code == ERROR_TABLE["VIAS.00010006"][0]
    assert body.keys() == DOCUMENTED_ERROR.keys()
    assert {k: body[k] for k in ("error_code", "error_msg", "detail", "params")} == {
        k: DOCUMENTED_ERROR[k] for k in ("error_code", "error_msg", "detail", "params")
    }
    assert isinstance(body["reason"], str)
    assert isinstance(body["advice"], str)


def _trigger(code: str, seed_request: dict[str, Any]) -> httpx.Response:
    """Provoke ``code`` from a fresh simulator by the call that documents it."""
    valid = seed_fixed(seed_request)
    if code == "VIAS.00010001":
        return send(app_for(), "POST", BATCHES, headers=TOKEN, body={**valid, "name": "a b"})
    if code == "VIAS.00010002":
        return send(app_for(), "GET", "/v2/other-project/batch-tasks", headers=TOKEN)
    if code == "VIAS.00010005":
        return send(app_for(), "GET", BATCHES)
    if code == "VIAS.00010006":
        faulty = app_for(SimConfig(fault_sequence=["5xx-before"]))
        return send(faulty, "POST", BATCHES, headers=TOKEN, body=valid)
    if code == "VIAS.00010007":
        return send(app_for(), "GET", f"/v2/{PROJECT}/tasks/no-such-task", headers=TOKEN)
    if code == "VIAS.00010008":
        return send(app_for(), "DELETE", f"{BATCHES}/no-such-batch", headers=TOKEN)
    app = app_for()
    send(app, "POST", BATCHES, headers=TOKEN, body=valid)
    return send(app, "POST", BATCHES, headers=TOKEN, body=valid)


@pytest.mark.parametrize("code", ERROR_TABLE, ids=ERROR_TABLE)
def test_each_vias_error_has_the_tables_status_message_and_body(
    code: str, seed_request: dict[str, Any]
) -> None:
    """Each code the simulator returns: the table's status and message, the six body keys."""
    answer = _trigger(code, seed_request)

    body = answer.json()
    assert (answer.status_code, body["error_code"], body["error_msg"]) == (
        ERROR_TABLE[code][0],
        code,
        ERROR_TABLE[code][1],
    )
    assert (body.keys(), body["params"]) == (VIAS_KEYS, [])
    assert all(isinstance(body[k], str) and body[k] for k in ("detail", "reason", "advice"))
    assert REQUEST_ID.fullmatch(answer.headers["X-Request-Id"])


def test_throttled_answer_has_the_gateway_body_with_the_request_id() -> None:
    """429 APIG.0308: error_code, error_msg and request_id, which equals X-Request-Id."""
    app = app_for(SimConfig(rate=1, retry_after=None), clock=0.0)

    send(app, "GET", BATCHES, headers=TOKEN)
    answer = send(app, "GET", BATCHES, headers=TOKEN)

    body = answer.json()
    assert (answer.status_code, body.keys(), body["error_code"]) == (
        429,
        GATEWAY_KEYS,
        "APIG.0308",
    )
    assert body["request_id"] == answer.headers["X-Request-Id"]


CALLS = {
    "iam-token": ("POST", "/v3/auth/tokens", None),
    "create": ("POST", BATCHES, None),
    "list-batches": ("GET", BATCHES, TOKEN),
    "list-tasks": ("GET", f"/v2/{PROJECT}/tasks", TOKEN),
    "show-task": ("GET", f"/v2/{PROJECT}/tasks/none", TOKEN),
    "delete-batch": ("DELETE", f"{BATCHES}/none", TOKEN),
    "sim-state": ("GET", "/_sim/state", None),
    "unknown-path": ("GET", "/v1/nothing", None),
    "wrong-method": ("PATCH", BATCHES, TOKEN),
}


@pytest.mark.parametrize(("method", "path", "headers"), CALLS.values(), ids=CALLS)
def test_every_answer_carries_a_fresh_request_id(
    method: str, path: str, headers: dict[str, str] | None
) -> None:
    """Success or error, every route: X-Request-Id is a uuid4 hex, new for each answer."""
    app = app_for()

    ids = [send(app, method, path, headers=headers).headers["X-Request-Id"] for _ in range(2)]

    assert all(REQUEST_ID.fullmatch(i) for i in ids)
    assert ids[0] != ids[1]


def test_request_log_holds_each_answers_request_id() -> None:
    """SimState.requests names each API call's X-Request-Id; entries still unpack in four."""
    app = app_for()

    answers = [send(app, "GET", BATCHES, headers=h) for h in (TOKEN, {})]

    logged = app.state.sim.requests
    assert [e.request_id for e in logged] == [a.headers["X-Request-Id"] for a in answers]
    assert [(method, path, status) for _, method, path, status in logged] == [
        ("GET", BATCHES, 0),
        ("GET", BATCHES, 401),
    ]


@dataclass(frozen=True)
class Signed:
    """A request to sign with the SDK, and the service's answer once the gateway passed it."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    with_body: bool = False
    content_type: str = "application/json;charset=utf-8"
    status: int = 200
    code: str = ""


SIGNED = {
    "create-json-body": Signed("POST", BATCHES, with_body=True),
    "create-unsigned-payload": Signed(
        "POST", BATCHES, with_body=True, content_type="text/plain"
    ),  # the SDK sends X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD for it
    "list-with-query": Signed(
        "GET",
        BATCHES,
        (("type_like", "batch_task_name"), ("name_like", "wd wd+~*/中"), ("page_size", "200")),
    ),
    "list-tasks-by-batch": Signed("GET", f"/v2/{PROJECT}/tasks", (("batch_id", "abcd-1234"),)),
    "path-needing-quotes": Signed(
        "GET", f"/v2/{PROJECT}/tasks/摄像头 1~(x)", status=400, code="VIAS.00010007"
    ),
    "delete-empty-body": Signed(
        "DELETE", f"{BATCHES}/no-such-batch", status=400, code="VIAS.00010008"
    ),
}


@pytest.mark.parametrize("case", SIGNED.values(), ids=SIGNED)
def test_official_sdk_signature_is_accepted(case: Signed, seed_request: dict[str, Any]) -> None:
    """A request signed by huaweicloudsdkcore's signer passes the gateway to the service."""
    content = json.dumps(seed_fixed(seed_request)).encode() if case.with_body else b""
    uri, headers = signed(case.method, case.path, case.query, content, case.content_type)

    answer = send(app_for(), case.method, uri, headers=headers, content=content)

    assert (answer.status_code, answer.json().get("error_code", "")) == (case.status, case.code)


def test_query_order_and_form_encoding_on_the_wire_do_not_matter() -> None:
    """The SDK signs sorted, %20-encoded pairs; httpx sends them unsorted with "+": accepted."""
    query = (("type_like", "batch_task_name"), ("name_like", "a b"), ("page_size", "50"))
    _, headers = signed("GET", BATCHES, query)

    answer = send(app_for(), "GET", BATCHES, headers=headers, params=dict(query))

    assert answer.request.url.query == b"type_like=batch_task_name&name_like=a+b&page_size=50"
    assert answer.status_code == 200


def test_official_sdk_signature_with_security_token_is_accepted() -> None:
    """Temporary credentials: the AK with its security token, signed by the SDK, pass."""
    config = SimConfig(
        access_keys={"SIMTEMPAK01": "temp-secret"},
        security_tokens={"SIMTEMPAK01": "sts-token-0123"},
        wall_clock=NOW.timestamp,
    )
    uri, headers = signed(
        "GET",
        BATCHES,
        access_key="SIMTEMPAK01",
        secret_key="temp-secret",
        security_token="sts-token-0123",
    )

    answer = send(app_for(config), "GET", uri, headers=headers)

    assert (answer.status_code, answer.json()["count"]) == (200, 0)
