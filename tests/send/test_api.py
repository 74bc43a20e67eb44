"""classify(): every answer and transport error mapped to what the engine does next."""

from __future__ import annotations

import json
from email.utils import formatdate

import httpx
import pytest

from loader.send.answers import Verdict, classify, classify_error, retry_after

ACCEPTED_BODY = {
    "total_count": 2,
    "failed_count": 1,
    "succeed_count": 1,
    "id": "b1",
    "error_list": ["src x unknown"],
}


def _answer(status: int, body: object = None, **headers: str) -> httpx.Response:
    content = json.dumps(body).encode() if body is not None else b""
    return httpx.Response(status, content=content, headers=headers)


@pytest.mark.parametrize(
    ("status", "body", "verdict", "code"),
    [
        pytest.param(200, ACCEPTED_BODY, Verdict.ACCEPTED, "", id="200"),
        pytest.param(201, ACCEPTED_BODY, Verdict.ACCEPTED, "", id="201"),
        pytest.param(200, {"oops": 1}, Verdict.AMBIGUOUS, "", id="200-unreadable"),
        pytest.param(
            400,
            {"error_code": "VIAS.00010001", "error_msg": "The parameters are invalid."},
            Verdict.REJECTED,
            "VIAS.00010001",
            id="400-invalid",
        ),
        pytest.param(
            400,
            {"error_code": "VIAS.00010011", "error_msg": "There is a job with the same name."},
            Verdict.EXISTS,
            "VIAS.00010011",
            id="400-same-name",
        ),
        pytest.param(
            400,
            {"error_code": "VIAS.00010003", "error_msg": "The object already exists."},
            Verdict.EXISTS,
            "VIAS.00010003",
            id="400-exists",
        ),
        pytest.param(409, None, Verdict.EXISTS, "", id="409"),
        pytest.param(
            400,
            {
                "error_code": "VIAS.0010048",
                "error_msg": "The maximum number of tasks has been reached.",
            },
            Verdict.REJECTED,
            "VIAS.0010048",
            id="400-quota",
        ),
        pytest.param(413, None, Verdict.REJECTED, "", id="413"),
        pytest.param(
            401, {"error_code": "APIGW.0307"}, Verdict.UNAUTHORIZED, "APIGW.0307", id="401"
        ),
        pytest.param(403, None, Verdict.FATAL, "", id="403"),
        pytest.param(404, None, Verdict.FATAL, "", id="404"),
        pytest.param(408, None, Verdict.AMBIGUOUS, "", id="408"),
        pytest.param(
            429,
            {"error_code": "APIG.0308", "error_msg": "throttled"},
            Verdict.RETRIABLE,
            "APIG.0308",
            id="429",
        ),
        pytest.param(
            400,
            {"error_code": "APIG.0308", "error_msg": "throttled"},
            Verdict.RETRIABLE,
            "APIG.0308",
            id="APIG.0308-in-400",
        ),
        pytest.param(
            500, {"error_code": "VIAS.00010006"}, Verdict.AMBIGUOUS, "VIAS.00010006", id="500"
        ),
        pytest.param(502, None, Verdict.AMBIGUOUS, "", id="502"),
        pytest.param(503, b"<html>busy</html>", Verdict.AMBIGUOUS, "", id="503-html"),
    ],
)
def test_status_table(status: int, body: object, verdict: Verdict, code: str) -> None:
    """Each HTTP answer has one verdict; the VIAS/APIG code is kept."""
    response = (
        httpx.Response(status, content=body) if isinstance(body, bytes) else _answer(status, body)
    )

    outcome = classify(response)

    assert (outcome.verdict, outcome.status, outcome.code) == (verdict, status, code)


def test_partial_success_keeps_counts_and_errors() -> None:
    """A 200 with failed_count > 0 is accepted, with the API's counts and error_list."""
    outcome = classify(_answer(200, ACCEPTED_BODY))

    assert outcome.response is not None
    assert (outcome.response.id, outcome.response.failed_count, outcome.response.error_list) == (
        "b1",
        1,
        ["src x unknown"],
    )


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        pytest.param(httpx.ConnectError, Verdict.RETRIABLE, id="connect-error"),
        pytest.param(httpx.ConnectTimeout, Verdict.RETRIABLE, id="connect-timeout"),
        pytest.param(httpx.PoolTimeout, Verdict.RETRIABLE, id="pool-timeout"),
        pytest.param(httpx.ReadTimeout, Verdict.AMBIGUOUS, id="read-timeout"),
        pytest.param(httpx.WriteTimeout, Verdict.AMBIGUOUS, id="write-timeout"),
        pytest.param(httpx.ReadError, Verdict.AMBIGUOUS, id="read-error"),
        pytest.param(httpx.RemoteProtocolError, Verdict.AMBIGUOUS, id="reset"),
    ],
)
def test_transport_errors(error: type[httpx.TransportError], verdict: Verdict) -> None:
    """Refused before sending is retriable; lost after sending is ambiguous."""
    assert classify_error(error("boom")).verdict == verdict


def test_429_retry_after_seconds_and_date() -> None:
    """Retry-After in delta-seconds and in HTTP-date form both give seconds to wait."""
    seconds = classify(_answer(429, {"error_code": "APIG.0308"}, **{"Retry-After": "3"}))
    dated = classify(
        _answer(
            429, {"error_code": "APIG.0308"}, **{"Retry-After": formatdate(1_000_010, usegmt=True)}
        ),
        now=1_000_000,
    )

    assert (seconds.retry_after, dated.retry_after) == (3.0, 10.0)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("2.5", 2.5),
        ("-4", 0.0),
        ("100000", 300.0),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_is_bounded(value: str | None, seconds: float | None) -> None:
    """Negative waits are 0, huge ones capped at 5 minutes, nonsense ignored."""
    assert retry_after(value, now=0) == seconds


@pytest.mark.parametrize(("status", "congested"), [(429, True), (500, False), (200, False)])
def test_congestion_signal(status: int, congested: bool) -> None:
    """Throttling (and timeouts) shrink concurrency; other failures do not."""
    body = {"error_code": "APIG.0308"} if status == 429 else ACCEPTED_BODY if status == 200 else {}
    assert classify(_answer(status, body)).congested is congested
    assert classify_error(httpx.ReadTimeout("t")).congested is True
