"""Every documented rule of the CreateBatchTask body, valid and invalid values."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from loader.model.vias import BatchTaskRequest, BatchTaskResponse, ErrorBody, explain, roi_problem
from tests.conftest import DATA

ROI_OK = '{"polygons":[{"data":[[204,64],[90,321],[511,319]]}]}'
# The only documented schedule value (vias-api-family.md, "TaskSchedule"), as printed.
DOCUMENTED_SCHEDULE = """
{"type": "weekly", "timezone": "+08:00", "days_of_week": [1, 2, 3, 4, 5, 6, 7],
 "periods": [[], [], [], [],
             [{"begin_at": "22:15:00", "end_at": "23:59:00"}],
             [{"begin_at": "00:00:00", "end_at": "23:59:00"}],
             [{"begin_at": "22:15:00", "end_at": "23:59:00"}]]}
"""


def _week(windows: dict[int, list[tuple[str, str]]], timezone: str = "+08:00") -> dict[str, Any]:
    """A schedule in the documented shape: windows per day (0 = Monday), [] on other days."""
    return {
        "type": "weekly",
        "timezone": timezone,
        "days_of_week": [1, 2, 3, 4, 5, 6, 7],
        "periods": [
            [{"begin_at": b, "end_at": e} for b, e in windows.get(day, [])] for day in range(7)
        ],
    }


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``body`` with the dotted ``path`` set (``None`` deletes it)."""
    result = copy.deepcopy(body)
    node: Any = result
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return result


VALID = [
    pytest.param("name", "a" * 100, id="name-100"),
    pytest.param("name", "A_b-9", id="name-mixed"),
    pytest.param("description", "x" * 500, id="description-500"),
    pytest.param("service_name", "烟火检测_v2-cloud", id="service-chinese"),
    pytest.param("service_name", "s" * 100, id="service-100"),
    pytest.param("service_version", "1.0", id="version-3"),
    pytest.param("service_version", "a" * 32, id="version-32"),
    pytest.param("resource_order_id", "ab-_", id="order-4"),
    pytest.param("resource_order_id", "a" * 36, id="order-36"),
    pytest.param("is_saved_as_template", False, id="template-false"),
    pytest.param("schedule", json.loads(DOCUMENTED_SCHEDULE), id="schedule-documented-example"),
    pytest.param(
        "schedule",
        _week({d: [("08:00:00", "12:00:00"), ("13:00:00", "18:00:00")] for d in range(5)}),
        id="schedule-two-windows-weekdays",
    ),
    pytest.param(
        "schedule",
        _week({4: [("22:00:00", "23:59:00")], 5: [("00:00:00", "06:00:00")]}, "-05:30"),
        id="schedule-crossing-midnight-as-two-windows",
    ),
    pytest.param("schedule", _week({}, "+14:00"), id="schedule-every-day-off"),
    pytest.param("batch_input.video_source_group.0.video_source_list", [], id="sources-0"),
    pytest.param(
        "batch_input.video_source_group.0.video_source_list",
        [{"video_source_id": f"c{i:04d}"} for i in range(100)],
        id="sources-100",
    ),
    pytest.param(
        "batch_input.video_source_group",
        [{"video_source_group_id": f"g{i}", "video_source_list": []} for i in range(100)],
        id="groups-100",
    ),
    pytest.param(
        "batch_input.video_source_group.0.video_source_list.0.target_roi", ROI_OK, id="roi"
    ),
    pytest.param(
        "batch_input.video_source_group.0.video_source_list.0.target_roi",
        '{"lines":[{"data":[[0,0],[10,10]],"name":"door","properties":{"side1_name":"in"}}]}',
        id="roi-line",
    ),
    pytest.param("output", {"obs": {"bucket": "my-bucket.01", "path": "out/tasks"}}, id="obs"),
    pytest.param(
        "output", {"dis": {"stream_name": "dis-Stream_1", "data_category": ["a"] * 10}}, id="dis"
    ),
    pytest.param(
        "output",
        {
            "webhook": {
                "url": "https://hooks.example/x",
                "headers": {f"h{i}": "v" for i in range(10)},
            }
        },
        id="webhook-10-headers",
    ),
    pytest.param("config", {"common": {"render_result_sw": 1}}, id="config"),
]

INVALID = [
    pytest.param("name", "", "name", id="name-empty"),
    pytest.param("name", "a" * 101, "name", id="name-101"),
    pytest.param("name", "has space", "name", id="name-space"),
    pytest.param("name", "中文", "name", id="name-chinese"),
    pytest.param("description", "x" * 501, "description", id="description-501"),
    pytest.param("service_name", "Smoke and fire", "service_name", id="service-spaces"),
    pytest.param("service_name", "s" * 101, "service_name", id="service-101"),
    pytest.param("service_name", None, "service_name", id="service-missing"),
    pytest.param("service_version", "1.", "service_version", id="version-short"),
    pytest.param("service_version", "V1.0", "service_version", id="version-upper"),
    pytest.param("service_version", "a" * 33, "service_version", id="version-33"),
    pytest.param("resource_order_id", "abc", "resource_order_id", id="order-3"),
    pytest.param("resource_order_id", "ABCD", "resource_order_id", id="order-upper"),
    pytest.param("is_saved_as_template", "yes", "is_saved_as_template", id="template-text"),
    pytest.param("schedule", {**_week({}), "type": "daily"}, "schedule.type", id="schedule-daily"),
    pytest.param(
        "schedule", _week({}, "GMT+08:00"), "schedule.timezone", id="schedule-old-gmt-spelling"
    ),
    pytest.param(
        "schedule", _week({}, "Asia/Shanghai"), "schedule.timezone", id="schedule-zone-name"
    ),
    pytest.param("schedule", _week({}, "Mars/Base"), "schedule.timezone", id="schedule-timezone"),
    pytest.param("schedule", _week({}, "+8:00"), "schedule.timezone", id="schedule-one-digit"),
    pytest.param("schedule", _week({}, "+15:00"), "schedule.timezone", id="schedule-plus-15"),
    pytest.param(
        "schedule",
        {**_week({}), "days_of_week": [0, 2, 3, 4, 5, 6, 7]},
        "schedule.days_of_week.0",
        id="schedule-day-0",
    ),
    pytest.param(
        "schedule",
        {**_week({}), "days_of_week": [1, 2, 3, 4, 5, 6, 8]},
        "schedule.days_of_week.6",
        id="schedule-day-8",
    ),
    pytest.param(
        "schedule",
        {**_week({}), "days_of_week": [1, 2, 3, 4, 5]},
        "schedule.days_of_week",
        id="schedule-chosen-days-only",
    ),
    pytest.param(
        "schedule",
        {**_week({}), "days_of_week": [1, 1, 2, 3, 4, 5, 6]},
        "schedule.days_of_week",
        id="schedule-day-twice",
    ),
    pytest.param(
        "schedule",
        {**_week({}), "days_of_week": []},
        "schedule.days_of_week",
        id="schedule-no-days",
    ),
    pytest.param(
        "schedule", {**_week({}), "periods": []}, "schedule.periods", id="schedule-no-periods"
    ),
    pytest.param(
        "schedule",
        {
            "type": "weekly",
            "timezone": "+08:00",
            "days_of_week": [1, 2, 3, 4, 5],
            "periods": [
                [
                    {"begin_at": "08:00:00", "end_at": "12:00:00"},
                    {"begin_at": "13:00:00", "end_at": "18:00:00"},
                ]
            ],
        },
        "schedule.periods",
        id="schedule-old-flat-list",
    ),
    pytest.param(
        "schedule",
        {**_week({}), "periods": [[] for _ in range(8)]},
        "schedule.periods",
        id="schedule-eight-lists",
    ),
    pytest.param(
        "schedule",
        _week({0: [("8:00", "18:00:00")]}),
        "schedule.periods.0.0.begin_at",
        id="schedule-time-format",
    ),
    pytest.param(
        "schedule",
        _week({0: [("00:00:00", "24:00:00")]}),
        "schedule.periods.0.0.end_at",
        id="schedule-24:00",
    ),
    pytest.param(
        "schedule",
        _week({0: [("00:00:00", "23:59:59")]}),
        "schedule.periods.0.0",
        id="schedule-after-23:59:00",
    ),
    pytest.param(
        "schedule",
        _week({4: [("22:00:00", "06:00:00")]}),
        "schedule.periods.4.0",
        id="schedule-crossing-midnight-in-one-window",
    ),
    pytest.param(
        "schedule",
        _week({0: [("13:00:00", "18:00:00"), ("08:00:00", "14:00:00")]}),
        "schedule.periods",
        id="schedule-windows-out-of-order",
    ),
    pytest.param(
        "schedule",
        {**_week({}), "days_of_month": [1]},
        "schedule.days_of_month",
        id="schedule-days-of-month",
    ),
    pytest.param(
        "batch_input.video_source_group", [], "batch_input.video_source_group", id="groups-0"
    ),
    pytest.param(
        "batch_input.video_source_group",
        [{"video_source_group_id": f"g{i}", "video_source_list": []} for i in range(101)],
        "batch_input.video_source_group",
        id="groups-101",
    ),
    pytest.param(
        "batch_input.video_source_group.0.video_source_list",
        [{"video_source_id": f"c{i:04d}"} for i in range(101)],
        "batch_input.video_source_group.0.video_source_list",
        id="sources-101",
    ),
    pytest.param(
        "batch_input.video_source_group.0.video_source_group_id",
        "",
        "batch_input.video_source_group.0.video_source_group_id",
        id="group-id-empty",
    ),
    pytest.param(
        "batch_input.video_source_group.0.video_source_list.0.video_source_id",
        "",
        "batch_input.video_source_group.0.video_source_list.0.video_source_id",
        id="source-id-empty",
    ),
    pytest.param(
        "batch_input.video_source_group.0.video_source_list.0.target_roi",
        "x" * 2049,
        "batch_input.video_source_group.0.video_source_list.0.target_roi",
        id="roi-2049",
    ),
    pytest.param(
        "batch_input.video_source_group.0.video_source_list.0.target_roi",
        "[[1,2],[3,4]]",
        "batch_input.video_source_group.0.video_source_list.0.target_roi",
        id="roi-not-object",
    ),
    pytest.param("output", {}, "output", id="output-none"),
    pytest.param("output", {"event_center": False}, "output", id="output-event-center-false"),
    pytest.param(
        "output",
        {"obs": {"bucket": "My_Bucket", "path": "x"}},
        "output.obs.bucket",
        id="obs-bucket",
    ),
    pytest.param(
        "output",
        {"obs": {"bucket": "b" * 64, "path": "x"}},
        "output.obs.bucket",
        id="obs-bucket-64",
    ),
    pytest.param(
        "output",
        {"obs": {"bucket": "bucket", "path": "/abs"}},
        "output.obs.path",
        id="obs-path-leading-slash",
    ),
    pytest.param(
        "output",
        {"obs": {"bucket": "bucket", "path": "a//b"}},
        "output.obs.path",
        id="obs-path-double-slash",
    ),
    pytest.param(
        "output",
        {"obs": {"bucket": "bucket", "path": "a:b"}},
        "output.obs.path",
        id="obs-path-colon",
    ),
    pytest.param(
        "output",
        {"obs": {"bucket": "bucket", "path": "a."}},
        "output.obs.path",
        id="obs-path-trailing-dot",
    ),
    pytest.param(
        "output",
        {"obs": {"bucket": "bucket", "path": "p", "data_category": ["a"] * 11}},
        "output.obs.data_category",
        id="obs-categories-11",
    ),
    pytest.param(
        "output", {"dis": {"stream_name": "bad stream"}}, "output.dis.stream_name", id="dis-stream"
    ),
    pytest.param(
        "output", {"dis": {"stream_name": "s" * 65}}, "output.dis.stream_name", id="dis-stream-65"
    ),
    pytest.param(
        "output",
        {"webhook": {"url": "https://x", "headers": {}}},
        "output.webhook.headers",
        id="webhook-no-headers",
    ),
    pytest.param(
        "output",
        {"webhook": {"url": "https://x", "headers": {f"h{i}": "v" for i in range(11)}}},
        "output.webhook.headers",
        id="webhook-11-headers",
    ),
    pytest.param(
        "output",
        {"webhook": {"url": "https://" + "x" * 993, "headers": {"a": "b"}}},
        "output.webhook.url",
        id="webhook-url-1001",
    ),
    pytest.param(
        "output",
        {"webhook": {"url": "ftp://x", "headers": {"a": "b"}}},
        "output.webhook.url",
        id="webhook-url-scheme",
    ),
    pytest.param("config", {"common": [1, 2]}, "config.common", id="config-common-list"),
    pytest.param("priority", "low", "priority", id="undocumented-field"),
]


@pytest.mark.parametrize(("path", "value"), VALID)
def test_valid_values_pass(valid_request: dict[str, Any], path: str, value: Any) -> None:
    """A value inside every documented limit is accepted."""
    body = _with(valid_request, path, value)

    assert BatchTaskRequest.model_validate(body).model_dump(mode="json", exclude_none=True) == body


@pytest.mark.parametrize(("path", "value", "where"), INVALID)
def test_invalid_values_fail_at_their_field(
    valid_request: dict[str, Any], path: str, value: Any, where: str
) -> None:
    """A value outside a documented limit is refused, and the error names its field."""
    with pytest.raises(ValidationError) as caught:
        BatchTaskRequest.model_validate(_with(valid_request, path, value))

    assert where in [p for p, _ in explain(caught.value)]


def test_seed_example_is_refused_for_exactly_its_three_faults(seed_request: dict[str, Any]) -> None:
    """The seed's own example: spaces in service_name and two undocumented fields."""
    with pytest.raises(ValidationError) as caught:
        BatchTaskRequest.model_validate(seed_request)

    assert sorted(p for p, _ in explain(caught.value)) == [
        "manufacturer",
        "priority",
        "service_name",
    ]


def test_seed_example_with_faults_fixed_passes(seed_request: dict[str, Any]) -> None:
    """Fix the three faults and the rest of the seed example is valid."""
    seed_request.pop("manufacturer")
    seed_request.pop("priority")
    seed_request["service_name"] = "c-smoke-and-fire-cloud"

    assert BatchTaskRequest.model_validate(seed_request).name == "wdwd"


def test_seed_response_parses() -> None:
    """The seed's example 200 answer."""
    body = json.loads((DATA / "seed_example_response.json").read_text())

    assert BatchTaskResponse.model_validate(body) == BatchTaskResponse(
        id="x" * 32, total_count=1, failed_count=0, succeed_count=1, error_list=[]
    )


def test_error_body_keeps_unknown_fields() -> None:
    """Answers are read leniently: a gateway's extra fields do not break parsing."""
    body = ErrorBody.model_validate(
        {"error_code": "APIG.0308", "error_msg": "throttled", "request_id": "r"}
    )

    assert (body.error_code, body.model_extra) == ("APIG.0308", {"request_id": "r"})


@pytest.mark.parametrize(
    ("roi", "problem"),
    [
        pytest.param(ROI_OK, None, id="polygon"),
        pytest.param(
            '{"lines":[{"data":[[1,1],[2,2],[3,3]]}]}',
            "ROI line 1 has 3 points; it needs exactly 2",
            id="line-3-points",
        ),
        pytest.param(
            '{"polygons":[{"data":[[1,1],[2,2]]}]}',
            "ROI polygon 1 has 2 points; it needs at least 3",
            id="polygon-2-points",
        ),
        pytest.param(
            '{"polygons":[{"data":[[1,1],[2,-2],[3,3]]}]}',
            "ROI polygon 1 has a point that is not [x, y] in whole non-negative pixels",
            id="negative",
        ),
        pytest.param(
            '{"polygons":[{"data":[[1,1],[2,2.5],[3,3]]}]}',
            "ROI polygon 1 has a point that is not [x, y] in whole non-negative pixels",
            id="fraction",
        ),
        pytest.param(
            '{"circles":[]}',
            "ROI has unknown keys ['circles']; only lines and polygons are allowed",
            id="unknown-key",
        ),
        pytest.param("{}", "ROI has no lines and no polygons", id="empty"),
        pytest.param(
            "not json",
            'ROI is not JSON: write {"polygons":[{"data":[[x,y],...]}]} or points x,y;x,y;...',
            id="not-json",
        ),
    ],
)
def test_roi_rules(roi: str, problem: str | None) -> None:
    """target_roi is a JSON string of lines (2 points) and polygons (3+ points)."""
    assert roi_problem(roi) == problem
