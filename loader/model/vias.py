"""
The CreateBatchTask request and response, with every rule the API documents.

Source: ``shared/reference/seed-create-batch-task.txt`` (the API page) and
``vias-api-family.md`` (field formats). Decisions where the page is unclear:

- Fields the table does not document (the page's own example sends ``manufacturer`` and
  ``priority``) are refused: the table is the contract, and an unknown field is more likely
  a typo than a feature. The example's ``service_name`` ("Smoke and fire detection
  algorithm") breaks the documented pattern and is refused as well.
- The OBS path pattern as printed does not compile (``[^:*?"<>|\\]`` lost a backslash) and
  its ``//`` look-ahead only tests the second character; we apply the evident intent:
  no leading ``/``, ``.`` or space, no ``//`` anywhere, none of ``:*?"<>|\\``, no trailing
  ``.`` or space.
- ``schedule`` takes only the shape ``vias-api-family.md`` ("TaskSchedule") documents:
  ``timezone`` a fixed offset ``+08:00`` (not ``GMT+08:00``, not a zone name),
  ``days_of_week`` ``[1, ..., 7]`` and ``periods`` seven lists of windows, Monday first,
  ``[]`` on a day off; a window begins before it ends and ends by ``23:59:00`` (a window
  crossing midnight is two). ``days_of_month`` is refused (not supported).
  ``check/schedule.py`` builds that body from sheet text.
- The webhook URL must be http(s).
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"
SERVICE_NAME_PATTERN = r"^[\u4E00-\u9FA5a-zA-Z0-9_-]{1,100}$"
SERVICE_VERSION_PATTERN = r"^[a-z0-9.]{3,32}$"
RESOURCE_ORDER_ID_PATTERN = r"^[a-z0-9\-_]{4,36}$"
OBS_BUCKET_PATTERN = r"^[a-z0-9](?!.[-.][-.].)([a-z0-9-.]{1,61})[a-z0-9]$"
OBS_PATH_PATTERN = r"^(?![/.\s])(?!.*//)([^:*?\"<>|\\]{0,1023})(?<![.\s])$"
DIS_STREAM_PATTERN = r"^[-A-Za-z0-9_]{1,64}$"
TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"
OFFSET_PATTERN = r"^[+-](0\d|1[0-4]):[0-5]\d$"  # the documented timezone: +08:00
WEBHOOK_URL_PATTERN = r"^https?://\S+$"
# Not on the CreateBatchTask page: CreateVideoGroup documents source ids this way, so a row
# whose id is outside it is rejected (check/validate.py).
VIDEO_SOURCE_ID_PATTERN = r"^[a-z0-9\-_]{4,36}$"

PATTERN_HELP = {
    NAME_PATTERN: "may hold only letters, digits, - and _ (1 to 100)",
    SERVICE_NAME_PATTERN: (
        "may hold only letters, digits, Chinese characters, - and _ (1 to 100, no spaces);"
        " use the algorithm's API id, such as c-smoke-and-fire-cloud"
    ),
    SERVICE_VERSION_PATTERN: "may hold only a-z, 0-9 and dots (3 to 32), such as 3.0.0",
    RESOURCE_ORDER_ID_PATTERN: "may hold only a-z, 0-9, - and _ (4 to 36)",
    OBS_BUCKET_PATTERN: "is not an OBS bucket name (3 to 63 of a-z, 0-9, - and .)",
    OBS_PATH_PATTERN: (
        'is not an OBS path (no leading / or ., no //, none of :*?"<>|\\, no trailing .)'
    ),
    DIS_STREAM_PATTERN: "may hold only letters, digits, - and _ (1 to 64)",
    TIME_PATTERN: "is not a time hh:mm:ss",
    OFFSET_PATTERN: (
        "is not a fixed UTC offset written like +08:00 (sign, two-digit hours, colon, minutes)"
    ),
    WEBHOOK_URL_PATTERN: "must be an http:// or https:// address without spaces",
}

MAX_GROUPS_PER_BATCH = 100
MAX_SOURCES_PER_GROUP = 100
MAX_ROI_CHARS = 2048
MAX_DESCRIPTION_CHARS = 500
MAX_WEBHOOK_URL_CHARS = 1000
MAX_WEBHOOK_HEADERS = 10
MAX_DATA_CATEGORIES = 10
WEEK: Final = (1, 2, 3, 4, 5, 6, 7)  # days_of_week, Monday first: one list of periods each
END_OF_DAY: Final = "23:59:00"  # how the API writes the end of a day

_REQUEST = ConfigDict(extra="forbid", strict=True, regex_engine="python-re", frozen=True)
_RESPONSE = ConfigDict(extra="allow", regex_engine="python-re")
# Every model but TaskSettings builds its validator on first use, not at import: the parts
# of TaskSettings are validated inside it (its validator holds their schemas), and no run
# validates the others before its first request (the answers come after it; the request
# only documents the body, which planning writes). 0.004 s of a run's start.
_LATER = ConfigDict(defer_build=True)

DataCategory = Annotated[list[str], Field(max_length=MAX_DATA_CATEGORIES)]


class TimeWindow(BaseModel):
    """One execution window of a day, ``hh:mm:ss`` to ``hh:mm:ss``, ending by 23:59:00."""

    model_config = _REQUEST | _LATER
    begin_at: str = Field(pattern=TIME_PATTERN)
    end_at: str = Field(pattern=TIME_PATTERN)

    @model_validator(mode="after")
    def _within_the_day(self) -> Self:
        if self.end_at > END_OF_DAY:
            raise ValueError(f"end_at {self.end_at} is after 23:59:00, which ends the day")
        if self.begin_at >= self.end_at:
            raise ValueError(
                f"the window begins at {self.begin_at}, not before its end {self.end_at}; a"
                " window crossing midnight is two: up to 23:59:00, then from 00:00:00 on the"
                " next day"
            )
        return self


class TaskSchedule(BaseModel):
    """When the task runs: weekly, a fixed offset, and one list of windows per weekday."""

    model_config = _REQUEST | _LATER
    type: Literal["weekly"]
    timezone: str = Field(pattern=OFFSET_PATTERN)
    days_of_week: list[Annotated[int, Field(ge=1, le=7)]]
    days_of_month: None = Field(default=None, description="not supported by the API")
    periods: list[list[TimeWindow]]

    @field_validator("days_of_week")
    @classmethod
    def _every_day(cls, value: list[int]) -> list[int]:
        if tuple(value) != WEEK:
            raise ValueError(
                f"days_of_week is {value}; send [1, 2, 3, 4, 5, 6, 7] with seven lists in"
                " periods, Monday first, [] on days off"
            )
        return value

    @field_validator("periods")
    @classmethod
    def _one_list_per_day(cls, value: list[list[TimeWindow]]) -> list[list[TimeWindow]]:
        if len(value) != len(WEEK):
            raise ValueError(
                f"periods has {len(value)} lists; it needs seven, one per day, Monday first,"
                " [] on days off"
            )
        for day, windows in zip(WEEK, value, strict=True):
            for first, second in pairwise(windows):
                if second.begin_at < first.end_at:
                    raise ValueError(f"day {day}'s windows are out of order or overlap")
        return value


class VideoSource(BaseModel):
    """One camera of a group, with an optional region of interest."""

    model_config = _REQUEST | _LATER
    video_source_id: str = Field(min_length=1)
    target_roi: str | None = Field(default=None, max_length=MAX_ROI_CHARS)

    @field_validator("target_roi")
    @classmethod
    def _roi_shape(cls, value: str | None) -> str | None:
        problem = None if value is None else roi_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class VideoSourceGroup(BaseModel):
    """One group entry of a batch: a group id and up to 100 of its cameras."""

    model_config = _REQUEST | _LATER
    video_source_group_id: str = Field(min_length=1)
    video_source_list: list[VideoSource] = Field(max_length=MAX_SOURCES_PER_GROUP)


class BatchTaskInput(BaseModel):
    """The groups of a batch (1 to 100)."""

    model_config = _REQUEST | _LATER
    video_source_group: list[VideoSourceGroup] = Field(
        min_length=1, max_length=MAX_GROUPS_PER_BATCH
    )


class OutputObs(BaseModel):
    """Results written to an OBS bucket."""

    model_config = _REQUEST | _LATER
    bucket: str = Field(max_length=63, pattern=OBS_BUCKET_PATTERN)
    path: str = Field(max_length=1023, pattern=OBS_PATH_PATTERN)
    data_category: DataCategory | None = None


class OutputDis(BaseModel):
    """Results sent to a DIS stream."""

    model_config = _REQUEST | _LATER
    stream_name: str = Field(pattern=DIS_STREAM_PATTERN)
    data_category: DataCategory | None = None


class OutputWebhook(BaseModel):
    """Results posted to a webhook; header values may be ``${VAR}`` references."""

    model_config = _REQUEST | _LATER
    url: str = Field(min_length=1, max_length=MAX_WEBHOOK_URL_CHARS, pattern=WEBHOOK_URL_PATTERN)
    headers: dict[str, str] = Field(min_length=1, max_length=MAX_WEBHOOK_HEADERS)
    data_category: DataCategory | None = None


class TaskOutput(BaseModel):
    """Where results go; at least one mode must be set."""

    model_config = _REQUEST | _LATER
    obs: OutputObs | None = None
    dis: OutputDis | None = None
    webhook: OutputWebhook | None = None
    event_center: bool | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> Self:
        if not (self.obs or self.dis or self.webhook or self.event_center):
            raise ValueError("output needs at least one mode: obs, dis, webhook or event_center")
        return self


class TaskConfig(BaseModel):
    """Algorithm settings defined by the service publisher."""

    model_config = _REQUEST | _LATER
    common: dict[str, Any] | None = None


class TaskSettings(BaseModel):
    """Everything of a batch but its name and cameras: what decides which batch a group joins."""

    model_config = _REQUEST
    service_name: str = Field(pattern=SERVICE_NAME_PATTERN)
    service_version: str = Field(pattern=SERVICE_VERSION_PATTERN)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_CHARS)
    resource_order_id: str | None = Field(default=None, pattern=RESOURCE_ORDER_ID_PATTERN)
    is_saved_as_template: bool | None = None
    schedule: TaskSchedule | None = None
    output: TaskOutput
    config: TaskConfig | None = None


class BatchTaskRequest(TaskSettings):
    """The body of ``POST /v2/{project_id}/batch-tasks``."""

    model_config = _REQUEST | _LATER
    name: str = Field(pattern=NAME_PATTERN)
    batch_input: BatchTaskInput


class BatchTaskResponse(BaseModel):
    """The 200 answer; ``failed_count > 0`` means a partial success."""

    model_config = _RESPONSE | _LATER
    id: str
    total_count: int = 0
    failed_count: int = 0
    succeed_count: int = 0
    error_list: list[str] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """The 4xx/5xx answer of VIAS and of the API gateway (``APIG.0308`` when throttled)."""

    model_config = _RESPONSE | _LATER
    error_code: str = ""
    error_msg: str = ""
    detail: str | None = None
    params: list[str] | None = None
    reason: str | None = None
    advice: str | None = None


def roi_problem(text: str) -> str | None:
    """Why ``text`` is not a valid ``target_roi`` JSON string, or None when it is."""
    if len(text) > MAX_ROI_CHARS:
        return f"ROI is {len(text)} characters long; the API takes at most {MAX_ROI_CHARS}"
    try:
        roi = json.loads(text)
    except ValueError:
        return 'ROI is not JSON: write {"polygons":[{"data":[[x,y],...]}]} or points x,y;x,y;...'
    if not isinstance(roi, dict):
        return "ROI must be a JSON object with lines and/or polygons"
    unknown = sorted(set(roi) - {"lines", "polygons"})
    if unknown:
        return f"ROI has unknown keys {unknown}; only lines and polygons are allowed"
    if not roi.get("lines") and not roi.get("polygons"):
        return "ROI has no lines and no polygons"
    for kind, points in (("lines", 2), ("polygons", 3)):
        problem = _regions_problem(kind, roi.get(kind, []), points)
        if problem:
            return problem
    return None


def _regions_problem(kind: str, regions: object, points: int) -> str | None:
    """Why a list of ROI lines (2 points) or polygons (3+ points) is malformed."""
    if not isinstance(regions, list):
        return f"ROI {kind} must be a list"
    for number, region in enumerate(regions, start=1):
        where = f"ROI {kind[:-1]} {number}"
        if not isinstance(region, dict) or not isinstance(region.get("data"), list):
            return f"{where} must be an object with data: [[x,y],...]"
        if set(region) - {"data", "name", "properties"}:
            return f"{where} has keys other than data, name, properties"
        data = region["data"]
        if (len(data) != points) if kind == "lines" else (len(data) < points):
            wanted = "exactly 2" if kind == "lines" else "at least 3"
            return f"{where} has {len(data)} points; it needs {wanted}"
        if not all(_is_point(point) for point in data):
            return f"{where} has a point that is not [x, y] in whole non-negative pixels"
        if not isinstance(region.get("name", ""), str):
            return f"{where} name must be text"
        if not isinstance(region.get("properties", {}), dict):
            return f"{where} properties must be an object"
    return None


def _is_point(point: object) -> bool:
    """Whether ``point`` is ``[x, y]`` in non-negative integer pixels."""
    return (
        isinstance(point, list)
        and len(point) == 2
        and all(type(c) is int and c >= 0 for c in point)
    )


def explain(exc: ValidationError) -> list[tuple[str, str]]:
    """Pydantic's errors as (field path, message) pairs in the API's field names."""
    found = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a documented field of CreateBatchTask; remove it"
        elif error["type"] == "string_pattern_mismatch":
            pattern = str((error.get("ctx") or {}).get("pattern", ""))
            message = PATTERN_HELP.get(pattern, message)
        found.append((path, message))
    return found


# --- The API's vocabulary beyond the create request: one place for every stage ---------

# Task states (ShowTaskInfo / ListTasks ``state``; the SDK's TaskInfo enum) by what they mean.
FAILED_TASK_STATES: Final = frozenset(
    {"CREATE_FAILED", "START_FAILED", "ABNORMAL", "FAILED", "LACK_OF_RESOURCES"}
)
STOPPED_TASK_STATES: Final = frozenset({"STOPPING", "STOPPED"})  # a stop applied
STARTED_TASK_STATES: Final = frozenset(  # a start applied: running, or on its way there
    {"PENDING", "STARTING", "RUNNING", "RECOVERING", "SCHEDULING"}
)
DELETED_TASK_STATES: Final = frozenset({"DELETING"})  # a delete applied (or the task is gone)
RESTARTABLE_TASK_STATES: Final = frozenset({"START_FAILED", "ABNORMAL", "STOPPED"})
# What UpdateTask changes and so what a check after a lost update compares.
UPDATED_FIELDS: Final = ("schedule", "output", "config")
# The algorithms the template offers and doctor knows (others are sent as written).
KNOWN_SERVICES: Final = (
    "c-smoke-and-fire-cloud",
    "c-smoke-and-fire-edge",
    "c-intrusion-detection-cloud",
    "c-helmet-detection-cloud",
)
