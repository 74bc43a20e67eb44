"""
Every refusal of the simulator with its exact status, code and detail: schedules and the
other body rules, the gateway (size, AK/SK signature, date, quota, throttling), tokens,
projects, query parameters; then the slow-commit fault and the per-camera state report.
Signed requests are signed by the official SDK; clocks are passed in, nothing sleeps.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from email.utils import formatdate
from typing import Any

import pytest

from loader.sim import SimConfig, SimState, create_app
from tests.sim.test_sim_contract import (
    AK,
    BATCHES,
    DOCUMENTED_SCHEDULE,
    GATEWAY_KEYS,
    NOW,
    PROJECT,
    TOKEN,
    VIAS_KEYS,
    app_for,
    send,
    signed,
)

WEEK = [[{"begin_at": "08:00:00", "end_at": "18:00:00"}] for _ in range(7)]
SIGNATURE_FAIL = "Incorrect IAM authentication information: verify aksk signature fail"
SECRET_KEY_FAIL = "Incorrect IAM authentication information: Get secretKey failed"


@pytest.fixture
def body(valid_request: dict[str, Any]) -> dict[str, Any]:
    """A valid create body of two groups: g1 with cam-0001, g2 with cam-0002."""
    request = copy.deepcopy(valid_request)
    request["batch_input"]["video_source_group"].append(
        {"video_source_group_id": "g2", "video_source_list": [{"video_source_id": "cam-0002"}]}
    )
    return request


def refused(answer: Any) -> tuple[int, str, str]:
    """(status, code, detail) of a VIAS error answer, its body shape checked on the way."""
    found = answer.json()
    assert found.keys() == VIAS_KEYS
    return answer.status_code, found["error_code"], found["detail"]


def gateway_refused(answer: Any) -> tuple[int, str, str]:
    """(status, code, message) of a gateway error answer; request_id is the header's."""
    found = answer.json()
    assert found.keys() == GATEWAY_KEYS
    assert found["request_id"] == answer.headers["X-Request-Id"]
    return answer.status_code, found["error_code"], found["error_msg"]


def schedule(**changes: Any) -> dict[str, Any]:
    """The documented schedule with ``changes`` (a value of None drops the field)."""
    value = {**copy.deepcopy(DOCUMENTED_SCHEDULE), **changes}
    return {k: v for k, v in value.items() if v is not None}


WINDOW_0 = "schedule.periods[0][0]"
SCHEDULES_REFUSED = {
    "flat-periods-old-shape": (
        schedule(periods=[{"begin_at": "08:00:00", "end_at": "18:00:00"}]),
        "schedule.periods must be 7 lists of windows, one per day of the week, Monday first"
        " ([] for a day off), not a flat list of windows",
    ),
    "one-inner-list-old-shape": (
        schedule(periods=[[{"begin_at": "08:00:00", "end_at": "18:00:00"}]]),
        "schedule.periods holds 1 lists, not 7 lists of windows, one per day of the week,"
        " Monday first ([] for a day off)",
    ),
    "lists-aligned-to-days-not-weekdays": (
        schedule(days_of_week=[1, 3, 5], periods=WEEK[:3]),
        "schedule.periods holds 3 lists, not 7 lists of windows, one per day of the week,"
        " Monday first ([] for a day off)",
    ),
    "periods-missing": (
        schedule(periods=None),
        "schedule.periods is required: 7 lists of windows, one per day of the week,"
        " Monday first ([] for a day off)",
    ),
    "gmt-prefix": (
        schedule(timezone="GMT+08:00"),
        "schedule.timezone 'GMT+08:00' is not a UTC offset like '+08:00' (sign, hh:mm);"
        " 'GMT+08:00' and zone names are not documented",
    ),
    "zone-name": (
        schedule(timezone="Asia/Shanghai"),
        "schedule.timezone 'Asia/Shanghai' is not a UTC offset like '+08:00' (sign, hh:mm);"
        " 'GMT+08:00' and zone names are not documented",
    ),
    "one-digit-hour": (
        schedule(timezone="+8:00"),
        "schedule.timezone '+8:00' is not a UTC offset like '+08:00' (sign, hh:mm);"
        " 'GMT+08:00' and zone names are not documented",
    ),
    "no-sign": (
        schedule(timezone="08:00"),
        "schedule.timezone '08:00' is not a UTC offset like '+08:00' (sign, hh:mm);"
        " 'GMT+08:00' and zone names are not documented",
    ),
    "offset-out-of-range": (
        schedule(timezone="+15:00"),
        "schedule.timezone '+15:00' is no UTC offset in use (-12:00 to +14:00)",
    ),
    "minutes-out-of-range": (
        schedule(timezone="+05:75"),
        "schedule.timezone '+05:75' is no UTC offset in use (-12:00 to +14:00)",
    ),
    "timezone-missing": (
        schedule(timezone=None),
        "schedule.timezone is required: a UTC offset such as '+08:00'",
    ),
    "monthly": (schedule(type="monthly"), "schedule.type must be 'weekly', not 'monthly'"),
    "type-missing": (schedule(type=None), "schedule.type must be 'weekly', not None"),
    "days-of-month": (
        schedule(days_of_month=[1]),
        "schedule.days_of_month is not supported: only weekly schedules are",
    ),
    "undocumented-field": (
        schedule(start_date="2025-01-01"),
        "schedule has undocumented fields ['start_date']",
    ),
    "days-missing": (
        schedule(days_of_week=None),
        "schedule.days_of_week is required for a weekly schedule: days 1 (Monday) to 7 (Sunday)",
    ),
    "days-empty": (schedule(days_of_week=[]), "schedule.days_of_week holds 0 days, not 1 to 7"),
    "day-zero": (
        schedule(days_of_week=[0, 1]),
        "schedule.days_of_week[0] is 0, not a day 1 (Monday) to 7 (Sunday)",
    ),
    "day-as-text": (
        schedule(days_of_week=["1"]),
        "schedule.days_of_week[0] is '1', not a day 1 (Monday) to 7 (Sunday)",
    ),
    "day-as-bool": (
        schedule(days_of_week=[True]),
        "schedule.days_of_week[0] is True, not a day 1 (Monday) to 7 (Sunday)",
    ),
    "day-repeated": (
        schedule(days_of_week=[1, 1, 2]),
        "schedule.days_of_week repeats a day: [1, 1, 2]",
    ),
    "days-not-ascending": (
        schedule(days_of_week=[7, 5, 6]),
        "schedule.days_of_week must be ascending: [7, 5, 6]",
    ),
    "window-on-unlisted-day": (
        schedule(days_of_week=[2, 3], periods=WEEK),
        "schedule.periods[0] (Monday) has windows, but day 1 is not in days_of_week [2, 3]",
    ),
    "no-window-at-all": (
        schedule(periods=[[] for _ in range(7)]),
        "schedule.periods has no window on any day of days_of_week [1, 2, 3, 4, 5, 6, 7]:"
        " at least one is needed",
    ),
    "no-window-on-listed-days": (
        schedule(days_of_week=[1], periods=[[], *WEEK[1:2], [], [], [], [], []]),
        "schedule.periods[1] (Tuesday) has windows, but day 2 is not in days_of_week [1]",
    ),
    "end-24h": (
        schedule(periods=[[{"begin_at": "08:00:00", "end_at": "24:00:00"}], *WEEK[1:]]),
        f"{WINDOW_0}.end_at is 24:00:00; a day ends at 23:59:00 (a window past midnight is"
        " two windows)",
    ),
    "begin-after-end": (
        schedule(periods=[[{"begin_at": "22:00:00", "end_at": "06:00:00"}], *WEEK[1:]]),
        f"{WINDOW_0} begins at 22:00:00 but ends at 06:00:00: begin_at must come first"
        " (a window past midnight is two windows)",
    ),
    "empty-window": (
        schedule(periods=[[{"begin_at": "08:00:00", "end_at": "08:00:00"}], *WEEK[1:]]),
        f"{WINDOW_0} begins at 08:00:00 but ends at 08:00:00: begin_at must come first"
        " (a window past midnight is two windows)",
    ),
    "time-without-seconds": (
        schedule(periods=[[{"begin_at": "08:00", "end_at": "18:00:00"}], *WEEK[1:]]),
        f"{WINDOW_0}.begin_at is '08:00', not a time of day hh:mm:ss",
    ),
    "one-digit-hour-time": (
        schedule(periods=[[{"begin_at": "8:00:00", "end_at": "18:00:00"}], *WEEK[1:]]),
        f"{WINDOW_0}.begin_at is '8:00:00', not a time of day hh:mm:ss",
    ),
    "end-missing": (
        schedule(periods=[[{"begin_at": "08:00:00"}], *WEEK[1:]]),
        f"{WINDOW_0}.end_at is required",
    ),
    "window-extra-field": (
        schedule(periods=[[{"begin_at": "08:00:00", "end_at": "18:00:00", "day": 1}], *WEEK[1:]]),
        f"{WINDOW_0} has undocumented fields ['day']",
    ),
    "window-as-list": (
        schedule(periods=[[["08:00:00", "18:00:00"]], *WEEK[1:]]),
        f"{WINDOW_0} must be an object with begin_at and end_at",
    ),
    "schedule-as-text": ("weekly", "schedule must be an object"),
}


@pytest.mark.parametrize(
    ("value", "detail"), SCHEDULES_REFUSED.values(), ids=SCHEDULES_REFUSED.keys()
)
def test_schedule_refusals(value: Any, detail: str, body: dict[str, Any]) -> None:
    """Each shape the documentation does not show: 400 VIAS.00010001 saying what is wrong."""
    answer = send(app_for(), "POST", BATCHES, headers=TOKEN, body={**body, "schedule": value})

    assert refused(answer) == (400, "VIAS.00010001", detail)


SCHEDULES_ACCEPTED = {
    "documented-example": DOCUMENTED_SCHEDULE,
    "every-day-one-window": schedule(periods=WEEK),
    "weekdays-with-weekend-off": schedule(
        days_of_week=[1, 2, 3, 4, 5], periods=[*WEEK[:5], [], []]
    ),
    "listed-day-off": schedule(days_of_week=[1, 2], periods=[WEEK[0], [], [], [], [], [], []]),
    "west-of-utc-end-of-day": schedule(
        timezone="-05:30",
        periods=[[{"begin_at": "00:00:00", "end_at": "23:59:59"}], *WEEK[1:]],
    ),
    "two-windows-a-day": schedule(
        periods=[
            [
                {"begin_at": "06:00:00", "end_at": "09:00:00"},
                {"begin_at": "17:00:00", "end_at": "23:59:00"},
            ],
            *WEEK[1:],
        ]
    ),
    "utc-plus-14": schedule(timezone="+14:00"),
}


@pytest.mark.parametrize("value", SCHEDULES_ACCEPTED.values(), ids=SCHEDULES_ACCEPTED.keys())
def test_schedules_of_the_documented_shape_are_accepted(
    value: dict[str, Any], body: dict[str, Any]
) -> None:
    """Seven Monday-first lists, offsets, windows within a day: created (200)."""
    answer = send(app_for(), "POST", BATCHES, headers=TOKEN, body={**body, "schedule": value})

    assert answer.status_code == 200


def _changed(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``body`` with the field at dotted ``path`` (list indexes as digits) set, or dropped."""
    changed = copy.deepcopy(body)
    *parents, last = path.split(".")
    target: Any = changed
    for part in parents:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
    if value is None:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return changed


GROUP_0 = "batch_input.video_source_group[0]"
BODIES_REFUSED = {
    "undocumented-top-field": ("priority", "low", "the body has undocumented fields ['priority']"),
    "name-with-space": ("name", "a b", "name 'a b' must be 1-100 letters, digits, '-' or '_'"),
    "name-missing": ("name", None, "name is required"),
    "version-upper-case": (
        "service_version",
        "V3",
        "service_version 'V3' must be 3-32 of a-z, 0-9 and '.'",
    ),
    "resource-order-short": (
        "resource_order_id",
        "abc",
        "resource_order_id 'abc' must be 4-36 of a-z, 0-9, '-' and '_'",
    ),
    "description-too-long": (
        "description",
        "x" * 501,
        "description must be text of at most 500 characters",
    ),
    "template-flag-as-text": (
        "is_saved_as_template",
        "false",
        "is_saved_as_template must be true or false",
    ),
    "batch-input-missing": ("batch_input", None, "batch_input is required: an object"),
    "batch-input-extra": (
        "batch_input.mode",
        "x",
        "batch_input has undocumented fields ['mode']",
    ),
    "no-groups": (
        "batch_input.video_source_group",
        [],
        "batch_input.video_source_group must hold 1-100 groups",
    ),
    "group-id-empty": (
        "batch_input.video_source_group.0.video_source_group_id",
        "",
        f"{GROUP_0}.video_source_group_id is required",
    ),
    "source-extra-field": (
        "batch_input.video_source_group.0.video_source_list.0.name",
        "x",
        f"{GROUP_0}.video_source_list[0] has undocumented fields ['name']",
    ),
    "roi-not-json": (
        "batch_input.video_source_group.0.video_source_list.0.target_roi",
        "{polygons",
        f"{GROUP_0}.video_source_list[0].target_roi is not JSON",
    ),
    "roi-too-long": (
        "batch_input.video_source_group.0.video_source_list.0.target_roi",
        "x" * 2049,
        f"{GROUP_0}.video_source_list[0].target_roi must be text of at most 2048",
    ),
    "no-output-mode": (
        "output",
        {"event_center": False},
        "output needs at least one mode: obs, dis, webhook or event_center",
    ),
    "output-extra-mode": ("output.smn", {}, "output has undocumented fields ['smn']"),
    "event-center-as-text": (
        "output.event_center",
        "true",
        "output.event_center must be true, false, 1 or 0",
    ),
    "obs-path-leading-slash": (
        "output.obs",
        {"bucket": "alarms-bucket", "path": "/alarms"},
        "output.obs.path '/alarms' must be at most 1023 characters, none of :*?\"<>|\\, no '//',"
        " not starting with '/', '.' or a space, not ending with '.' or a space",
    ),
    "obs-bucket-upper-case": (
        "output.obs",
        {"bucket": "Alarms", "path": "a"},
        "output.obs.bucket 'Alarms' is not a bucket name",
    ),
    "dis-stream-with-dot": (
        "output.dis",
        {"stream_name": "a.b"},
        "output.dis.stream_name 'a.b' must be 1-64 of A-Z, a-z, 0-9, '-' and '_'",
    ),
    "webhook-without-headers": (
        "output.webhook",
        {"url": "https://hook.example", "headers": {}},
        "output.webhook.headers must hold 1-10 key-value pairs",
    ),
    "data-category-eleven": (
        "output.dis",
        {"stream_name": "s1", "data_category": ["a"] * 11},
        "output.dis.data_category must be a list of at most 10 strings",
    ),
    "config-extra-field": (
        "config",
        {"advanced": {}},
        "config has undocumented fields ['advanced']",
    ),
    "config-common-list": ("config", {"common": []}, "config.common must be an object"),
}


@pytest.mark.parametrize(("path", "value", "detail"), BODIES_REFUSED.values(), ids=BODIES_REFUSED)
def test_body_refusals(path: str, value: Any, detail: str, body: dict[str, Any]) -> None:
    """The other documented body rules: 400 VIAS.00010001 with the rule in detail."""
    answer = send(app_for(), "POST", BATCHES, headers=TOKEN, body=_changed(body, path, value))

    assert refused(answer) == (400, "VIAS.00010001", detail)


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (
            b"{",
            "the body is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (b"[]", "the body must be a JSON object"),
    ],
    ids=["truncated-json", "json-array"],
)
def test_bodies_that_are_no_json_object_are_refused(content: bytes, detail: str) -> None:
    """A body that is not a JSON object: 400 VIAS.00010001."""
    answer = send(app_for(), "POST", BATCHES, headers=TOKEN, content=content)

    assert refused(answer) == (400, "VIAS.00010001", detail)


# ---- the gateway --------------------------------------------------------------------------


TWELVE_MB = 12 * 1024 * 1024  # the notes' "12 MB", read as MiB


def test_body_over_12_mb_is_refused_by_the_gateway() -> None:
    """One byte over 12 MB: 413 APIG.0201 "Request entity too large"."""
    answer = send(app_for(), "POST", BATCHES, headers=TOKEN, content=b" " * (TWELVE_MB + 1))

    assert gateway_refused(answer) == (413, "APIG.0201", "Request entity too large")


def test_body_of_12_mb_reaches_the_service() -> None:
    """Exactly 12 MB passes the gateway: the service judges it (here: not JSON, 400)."""
    answer = send(app_for(), "POST", BATCHES, headers=TOKEN, content=b" " * TWELVE_MB)

    assert refused(answer)[:2] == (400, "VIAS.00010001")


@pytest.mark.parametrize(
    "throttle_code", ["APIG.0308", "APIGW.0308"], ids=["apig-spelling", "apigw-spelling"]
)
def test_throttled_call_gets_429_with_the_configured_code(throttle_code: str) -> None:
    """Over the rate: 429 with the configured spelling and the documented message."""
    app = app_for(SimConfig(rate=1, throttle_code=throttle_code), clock=0.0)

    send(app, "GET", BATCHES, headers=TOKEN)
    answer = send(app, "GET", BATCHES, headers=TOKEN)

    assert gateway_refused(answer) == (
        429,
        throttle_code,
        "The throttling threshold has been reached: policy user over ratelimit,limit:1,time:1 second",
    )
    assert answer.headers["Retry-After"] == "1"


def test_retry_after_date_is_read_from_the_wall_clock() -> None:
    """Retry-After as an HTTP date: the gateway's wall clock plus retry_after_seconds."""
    config = SimConfig(rate=1, retry_after="date", retry_after_seconds=2, wall_clock=NOW.timestamp)
    app = app_for(config, clock=0.0)

    send(app, "GET", BATCHES, headers=TOKEN)
    answer = send(app, "GET", BATCHES, headers=TOKEN)

    assert answer.headers["Retry-After"] == formatdate(NOW.timestamp() + 2, usegmt=True)


def test_quota_used_up_is_405_for_every_further_call() -> None:
    """After app_quota calls: 405 APIGW.0501 "app quota used up", each time."""
    app = app_for(SimConfig(app_quota=2))

    statuses = [send(app, "GET", BATCHES, headers=TOKEN).status_code for _ in range(2)]
    answers = [send(app, "GET", BATCHES, headers=TOKEN) for _ in range(2)]

    assert statuses == [200, 200]
    assert [gateway_refused(a) for a in answers] == [(405, "APIGW.0501", "app quota used up")] * 2


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "the request carries neither X-Auth-Token nor an AK/SK signature"),
        ({"X-Auth-Token": "forged"}, "the token is unknown or has expired"),
    ],
    ids=["no-credentials", "unknown-token"],
)
def test_token_refusals(headers: dict[str, str], detail: str) -> None:
    """No credentials or an unknown token: 401 VIAS.00010005."""
    answer = send(app_for(), "GET", BATCHES, headers=headers)

    assert refused(answer) == (401, "VIAS.00010005", detail)


def test_token_expires_after_its_uses() -> None:
    """token_uses=1: the second call with the same token is 401 VIAS.00010005."""
    app = app_for(SimConfig(token_uses=1))

    first = send(app, "GET", BATCHES, headers=TOKEN)
    second = send(app, "GET", BATCHES, headers=TOKEN)

    assert (first.status_code, refused(second)) == (
        200,
        (401, "VIAS.00010005", "the token is unknown or has expired"),
    )


def test_wrong_project_is_400_object_does_not_exist() -> None:
    """Another project id in the path: 400 VIAS.00010002 (the table's status), not 404."""
    answer = send(app_for(), "GET", "/v2/other-project/batch-tasks", headers=TOKEN)

    assert refused(answer) == (400, "VIAS.00010002", "project other-project does not exist")


def test_unknown_path_is_the_gateways_404() -> None:
    """A path the API does not have: 404 APIGW.0101 in the gateway's body."""
    answer = send(app_for(), "GET", f"/v2/{PROJECT}/cameras", headers=TOKEN)

    assert gateway_refused(answer) == (
        404,
        "APIGW.0101",
        "The API does not exist or has not been published in the environment.",
    )


QUERIES_REFUSED = {
    "page-size-under-5": (
        BATCHES,
        {"page_size": "4"},
        "page_size '4' must be an integer from 5 to 200",
    ),
    "page-size-over-200": (
        BATCHES,
        {"page_size": "201"},
        "page_size '201' must be an integer from 5 to 200",
    ),
    "page-num-zero": (
        BATCHES,
        {"page_num": "0"},
        "page_num '0' must be an integer from 1 to 10000",
    ),
    "page-num-text": (
        BATCHES,
        {"page_num": "one"},
        "page_num 'one' must be an integer from 1 to 10000",
    ),
    "name-like-alone": (
        BATCHES,
        {"name_like": "x"},
        "name_like must be used together with type_like",
    ),
    "type-like-unknown": (
        BATCHES,
        {"type_like": "name", "name_like": "x"},
        "type_like 'name' must be one of ['batch_task_name', 'publish_service_name']",
    ),
    "task-page-size-over-1000": (
        f"/v2/{PROJECT}/tasks",
        {"page_size": "1001"},
        "page_size '1001' must be an integer from 5 to 1000",
    ),
    "batch-id-pattern": (
        f"/v2/{PROJECT}/tasks",
        {"batch_id": "ABC"},
        "batch_id 'ABC' must be 4-36 of a-z, 0-9, '-' and '_'",
    ),
}


@pytest.mark.parametrize(
    ("path", "params", "detail"), QUERIES_REFUSED.values(), ids=QUERIES_REFUSED
)
def test_list_query_refusals(path: str, params: dict[str, str], detail: str) -> None:
    """List parameters outside their documented ranges: 400 VIAS.00010001."""
    answer = send(app_for(), "GET", path, headers=TOKEN, params=params)

    assert refused(answer) == (400, "VIAS.00010001", detail)


# ---- AK/SK signatures, signed by the official SDK -----------------------------------------


def _stale(minutes: int) -> str:
    """The 0303 message for a date ``minutes`` off the wall clock NOW."""
    date = (NOW + timedelta(minutes=minutes)).strftime("%Y%m%dT%H%M%SZ")
    return (
        "Incorrect app authentication information: signature expired,"
        f" signature time:{date},server time:20250314T092653Z"
    )


def _tamper(kind: str, uri: str, headers: dict[str, str], body: bytes) -> tuple[str, bytes]:
    """Change one signed thing after signing; returns the URI and body to send."""
    if kind == "body":
        return uri, body.replace(b"cam-0001", b"cam-0009")
    if kind == "query":
        return uri.replace("page_size=50", "page_size=60"), body
    if kind == "path":
        return uri.replace(PROJECT, "other-project"), body
    if kind == "signed-header":
        headers["Content-Type"] = "application/json"
    elif kind == "signature":
        headers["Authorization"] = headers["Authorization"][:-1] + (
            "0" if headers["Authorization"][-1] != "0" else "1"
        )
    elif kind == "signed-header-dropped":
        del headers["Content-Type"]
    return uri, body


@pytest.mark.parametrize(
    "kind",
    ["body", "query", "path", "signed-header", "signed-header-dropped", "signature"],
    ids=lambda k: f"tampered-{k}",
)
def test_tampered_requests_fail_the_signature(kind: str, body: dict[str, Any]) -> None:
    """Anything changed after the SDK signed: 401 APIGW.0301 verify aksk signature fail."""
    content = json.dumps(body).encode()
    uri, headers = signed("POST", BATCHES, [("page_size", "50")], content)
    uri, content = _tamper(kind, uri, headers, content)

    answer = send(app_for(), "POST", uri, headers=headers, content=content)

    assert gateway_refused(answer) == (401, "APIGW.0301", SIGNATURE_FAIL)


def test_untampered_twin_of_the_tamper_cases_passes(body: dict[str, Any]) -> None:
    """The request the tamper cases start from is accepted: only the change is refused."""
    content = json.dumps(body).encode()
    uri, headers = signed("POST", BATCHES, [("page_size", "50")], content)

    answer = send(app_for(), "POST", uri, headers=headers, content=content)

    assert answer.status_code == 200


SIGNATURES_REFUSED = {
    "unknown-access-key": (
        {"access_key": "SIMAKUNKNOWN"},
        None,
        (401, "APIGW.0301", SECRET_KEY_FAIL),
    ),
    "wrong-secret-key": (
        {"secret_key": "not-the-secret"},
        None,
        (401, "APIGW.0301", SIGNATURE_FAIL),
    ),
    "date-16-min-behind": (
        {"date": NOW - timedelta(minutes=16)},
        None,
        (401, "APIG.0303", _stale(-16)),
    ),
    "date-16-min-ahead": (
        {"date": NOW + timedelta(minutes=16)},
        None,
        (401, "APIG.0303", _stale(16)),
    ),
    "date-missing": (
        {},
        {"X-Sdk-Date": None},
        (
            401,
            "APIG.0303",
            "Incorrect app authentication information: x-sdk-date is missing,"
            " server time:20250314T092653Z",
        ),
    ),
    "date-malformed": (
        {},
        {"X-Sdk-Date": "2025-03-14T09:26:53Z"},
        (
            401,
            "APIG.0303",
            "Incorrect app authentication information: x-sdk-date is malformed,"
            " signature time:2025-03-14T09:26:53Z",
        ),
    ),
    "date-impossible": (
        {},
        {"X-Sdk-Date": "20251341T256199Z"},
        (
            401,
            "APIG.0303",
            "Incorrect app authentication information: x-sdk-date is malformed,"
            " signature time:20251341T256199Z",
        ),
    ),
    "authorization-malformed": (
        {},
        {"Authorization": "SDK-HMAC-SHA256 Credential=x"},
        (401, "APIGW.0301", SIGNATURE_FAIL),
    ),
    "other-algorithm": (
        {},
        {"Authorization": "V11-HMAC-SHA256 Credential=x/y, SignedHeaders=host, Signature=00"},
        (401, "APIGW.0301", SIGNATURE_FAIL),
    ),
}


@pytest.mark.parametrize(
    ("sign", "after", "expected"), SIGNATURES_REFUSED.values(), ids=SIGNATURES_REFUSED
)
def test_signature_refusals(
    sign: dict[str, Any], after: dict[str, str | None] | None, expected: tuple[int, str, str]
) -> None:
    """Unknown AK, wrong SK, stale/missing/malformed date, bad Authorization: 401 each."""
    uri, headers = signed("GET", BATCHES, **sign)
    for name, value in (after or {}).items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value

    answer = send(app_for(), "GET", uri, headers=headers)

    assert gateway_refused(answer) == expected


@pytest.mark.parametrize("minutes", [-15, 15], ids=["15-min-behind", "15-min-ahead"])
def test_date_exactly_15_minutes_off_is_accepted(minutes: int) -> None:
    """The skew limit is inclusive: 15 minutes either way still passes."""
    uri, headers = signed("GET", BATCHES, date=NOW + timedelta(minutes=minutes))

    answer = send(app_for(), "GET", uri, headers=headers)

    assert answer.status_code == 200


TEMPORARY = SimConfig(
    access_keys={AK: "sim-secret-key-0123456789abcdef", "SIMTEMPAK01": "temp-secret"},
    security_tokens={"SIMTEMPAK01": "sts-token-0123"},
    wall_clock=NOW.timestamp,
)


@pytest.mark.parametrize(
    "token", [None, "sts-token-9999"], ids=["token-missing", "token-of-another-session"]
)
def test_temporary_key_without_its_security_token_is_refused(token: str | None) -> None:
    """A temporary AK signed without (or with another) X-Security-Token: 401 APIGW.0301."""
    uri, headers = signed(
        "GET", BATCHES, access_key="SIMTEMPAK01", secret_key="temp-secret", security_token=token
    )

    answer = send(app_for(TEMPORARY), "GET", uri, headers=headers)

    assert gateway_refused(answer) == (401, "APIGW.0301", SECRET_KEY_FAIL)


def test_signed_project_header_must_name_the_paths_project() -> None:
    """X-Project-Id (signed by the SDK) for another project: 400 VIAS.00010002."""
    uri, headers = signed("GET", BATCHES, project_id="other-project")

    answer = send(app_for(), "GET", uri, headers=headers)

    assert refused(answer) == (
        400,
        "VIAS.00010002",
        "X-Project-Id other-project is not the project sim-project of the path",
    )


def test_signature_is_checked_even_beside_a_valid_token() -> None:
    """An Authorization header is verified whatever else the request carries."""
    uri, headers = signed("GET", BATCHES, secret_key="not-the-secret")

    answer = send(app_for(), "GET", uri, headers={**headers, **TOKEN})

    assert gateway_refused(answer) == (401, "APIGW.0301", SIGNATURE_FAIL)


# ---- faults and the state report ----------------------------------------------------------


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_slow_commit_is_created_answered_500_and_listed_only_later(body: dict[str, Any]) -> None:
    """slow-commit: 500 VIAS.00010006, the name is taken, lists show it after N seconds."""
    clock = Clock()
    app = create_app(
        SimConfig(fault_sequence=["slow-commit"], slow_commit_seconds=5.0), SimState(clock=clock)
    )
    listing = {"type_like": "batch_task_name", "name_like": body["name"]}

    answer = send(app, "POST", BATCHES, headers=TOKEN, body=body)
    [batch_id] = app.state.sim.batches
    hidden = send(app, "GET", BATCHES, headers=TOKEN, params=listing).json()
    tasks_hidden = send(
        app, "GET", f"/v2/{PROJECT}/tasks", headers=TOKEN, params={"batch_id": batch_id}
    )
    again = send(app, "POST", BATCHES, headers=TOKEN, body=body)
    clock.now += 5.0
    shown = send(app, "GET", BATCHES, headers=TOKEN, params=listing).json()

    assert refused(answer) == (
        500,
        "VIAS.00010006",
        "simulated fault slow-commit: created, not answered",
    )
    assert (hidden["count"], tasks_hidden.json()["count"]) == (0, 0)
    assert refused(again)[:2] == (400, "VIAS.00010011")
    assert [b["id"] for b in shown["batch_task_list"]] == [batch_id]


@pytest.mark.parametrize(
    ("fault", "status", "created"),
    [
        ("5xx-before", 500, 0),
        ("5xx-after", 500, 1),
        ("429", 429, 0),
        ("slow", 200, 1),
        ("none", 200, 1),
    ],
    ids=["5xx-before", "5xx-after", "429", "slow", "none"],
)
def test_existing_faults_keep_working(
    fault: str, status: int, created: int, body: dict[str, Any]
) -> None:
    """The in-process faults: their status, and whether the batch was committed."""
    app = app_for(SimConfig(fault_sequence=[fault], slow_seconds=0.0))

    answer = send(app, "POST", BATCHES, headers=TOKEN, body=body)

    assert (answer.status_code, len(app.state.sim.batches)) == (status, created)


def test_state_reports_task_counts_and_settings_per_camera(body: dict[str, Any]) -> None:
    """/_sim/state: cameras by task count (0, 1, 2+), duplicates, each task's settings."""
    app = create_app(SimConfig(unknown_sources=frozenset({"cam-0002"})))
    send(app, "POST", BATCHES, headers=TOKEN, body=body)
    other = _changed(body, "service_version", "4.0")
    send(app, "POST", BATCHES, headers=TOKEN, body={**other, "name": "again"})

    state = send(app, "GET", "/_sim/state").json()

    [cam1, cam2] = state["cameras"]
    assert {
        k: state[k] for k in ("batches", "tasks", "cameras_by_task_count", "duplicated_cameras")
    } == {
        "batches": 2,
        "tasks": 2,
        "cameras_by_task_count": {"0": 1, "1": 0, "2+": 1},
        "duplicated_cameras": 1,
    }
    assert (cam1["group_id"], cam1["video_source_id"], cam1["tasks"]) == ("g1", "cam-0001", 2)
    assert (cam2["group_id"], cam2["video_source_id"], cam2["tasks"], cam2["settings"]) == (
        "g2",
        "cam-0002",
        0,
        [],
    )
    versions = sorted(state["settings"][key]["service_version"] for key in cam1["settings"])
    assert versions == ["3.0", "4.0"]
    assert state["names"] == {body["name"]: 1, "again": 1}


def test_state_hides_webhook_header_values(body: dict[str, Any]) -> None:
    """Settings shown by /_sim/state mask webhook header values, which are often secrets."""
    app = app_for()
    hook = {"url": "https://hook.example", "headers": {"X-Key": "s3cret"}}
    send(app, "POST", BATCHES, headers=TOKEN, body=_changed(body, "output.webhook", hook))

    state = send(app, "GET", "/_sim/state").json()

    [settings] = state["settings"].values()
    assert settings["output"]["webhook"]["headers"] == {"X-Key": "***"}
    assert "s3cret" not in json.dumps(state)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"throttle_code": "APIG.0309"}, "throttle_code must be one of"),
        ({"faults": {"5xx-later": 0.1}}, "unknown faults"),
        ({"fault_sequence": ["slowcommit"]}, "unknown faults"),
        ({"security_tokens": {"NOAK": "t"}}, "security_tokens names access keys"),
    ],
    ids=["throttle-code", "fault-kind", "fault-in-sequence", "token-without-key"],
)
def test_config_refuses_what_would_silently_do_nothing(
    changes: dict[str, Any], message: str
) -> None:
    """A misspelt fault or code fails at SimConfig(), not as a quiet no-op in a test."""
    with pytest.raises(ValueError, match=message):
        SimConfig(**changes)


def test_default_access_key_is_documented() -> None:
    """The default AK/SK pair tests and the loader's tests sign with."""
    assert SimConfig().access_keys == {AK: "sim-secret-key-0123456789abcdef"}


@pytest.mark.parametrize(
    "path",
    [f"/v2/{PROJECT}/batch-tasks", "/v2/other-project/batch-tasks", "/no-such-route"],
    ids=["answered", "vias-error", "gateway-error"],
)
def test_every_answer_is_dated_by_the_simulated_wall_clock(path: str) -> None:
    """Date comes from SimConfig.wall_clock (clock skew can be simulated), on every answer."""
    answer = send(app_for(), "GET", path, headers=TOKEN)

    assert answer.headers.get_list("Date") == [formatdate(NOW.timestamp(), usegmt=True)]
