"""
The simulator's own check of a CreateBatchTask body, written apart from ``loader.model.vias``
so that a mistake in the loader's models cannot hide behind the same mistake here. Plain
code over plain JSON; the first broken rule is reported, as an API gateway would.
"""

from __future__ import annotations

import json
import re
from typing import Any

_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
_SERVICE = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9_-]{1,100}")
_VERSION = re.compile(r"[a-z0-9.]{3,32}")
_ORDER = re.compile(r"[a-z0-9_-]{4,36}")
_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_STREAM = re.compile(r"[-A-Za-z0-9_]{1,64}")
_TOP = {
    "name",
    "description",
    "schedule",
    "batch_input",
    "output",
    "config",
    "service_name",
    "service_version",
    "is_saved_as_template",
    "resource_order_id",
}


class Invalid(ValueError):
    """A body that breaks a documented rule."""


def check_body(body: Any) -> None:
    """Raise Invalid naming the first rule ``body`` breaks."""
    _require(isinstance(body, dict), "body must be a JSON object")
    unknown = set(body) - _TOP
    _require(not unknown, f"unknown fields {sorted(unknown)}")
    _text(body, "name", _NAME)
    _text(body, "service_name", _SERVICE)
    _text(body, "service_version", _VERSION)
    if "resource_order_id" in body:
        _text(body, "resource_order_id", _ORDER)
    if "description" in body:
        _require(
            isinstance(body["description"], str) and len(body["description"]) <= 500, "description"
        )
    if "is_saved_as_template" in body:
        _require(isinstance(body["is_saved_as_template"], bool), "is_saved_as_template")
    if "schedule" in body:
        _schedule(body["schedule"])
    _batch_input(body.get("batch_input"))
    _output(body.get("output"))
    if "config" in body:
        config = body["config"]
        _require(isinstance(config, dict) and set(config) <= {"common"}, "config")
        _require(isinstance(config.get("common", {}), dict), "config.common must be an object")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise Invalid(message)


def _text(body: dict[str, Any], key: str, pattern: re.Pattern[str]) -> None:
    value = body.get(key)
    _require(isinstance(value, str) and pattern.fullmatch(value) is not None, f"{key} is invalid")


def _schedule(schedule: Any) -> None:
    _require(isinstance(schedule, dict), "schedule must be an object")
    _require(schedule.get("type") == "weekly", "schedule.type must be weekly")
    _require(
        isinstance(schedule.get("timezone"), str) and schedule["timezone"], "schedule.timezone"
    )
    days = schedule.get("days_of_week")
    _require(
        isinstance(days, list)
        and 1 <= len(days) <= 7
        and all(type(d) is int and 1 <= d <= 7 for d in days),
        "schedule.days_of_week",
    )
    _require("days_of_month" not in schedule, "schedule.days_of_month is not supported")
    periods = schedule.get("periods")
    _require(isinstance(periods, list) and len(periods) >= 1, "schedule.periods")
    for day in periods:
        _require(isinstance(day, list) and len(day) > 0, "schedule.periods entry")
        for window in day:
            _require(
                isinstance(window, dict)
                and all(
                    isinstance(window.get(k), str) and _TIME.fullmatch(window[k])
                    for k in ("begin_at", "end_at")
                ),
                "schedule.periods window",
            )


def _batch_input(batch_input: Any) -> None:
    _require(isinstance(batch_input, dict), "batch_input is required")
    groups = batch_input.get("video_source_group")
    _require(
        isinstance(groups, list) and 1 <= len(groups) <= 100,
        "video_source_group must hold 1-100 groups",
    )
    for group in groups:
        _require(isinstance(group, dict), "video_source_group entry")
        _require(
            isinstance(group.get("video_source_group_id"), str) and group["video_source_group_id"],
            "video_source_group_id",
        )
        sources = group.get("video_source_list")
        _require(
            isinstance(sources, list) and len(sources) <= 100,
            "video_source_list must hold 0-100 sources",
        )
        for source in sources:
            _require(
                isinstance(source, dict) and set(source) <= {"video_source_id", "target_roi"},
                "video source entry",
            )
            _require(
                isinstance(source.get("video_source_id"), str) and source["video_source_id"],
                "video_source_id",
            )
            if "target_roi" in source:
                _roi(source["target_roi"])


def _roi(roi: Any) -> None:
    _require(isinstance(roi, str) and len(roi) <= 2048, "target_roi must be text of at most 2048")
    try:
        value = json.loads(roi)
    except ValueError:
        raise Invalid("target_roi is not JSON") from None
    _require(isinstance(value, dict) and set(value) <= {"lines", "polygons"}, "target_roi keys")


def _output(output: Any) -> None:
    _require(isinstance(output, dict), "output is required")
    _require(set(output) <= {"obs", "dis", "webhook", "event_center"}, "output has unknown modes")
    modes = [output.get(k) for k in ("obs", "dis", "webhook")]
    _require(
        any(modes) or output.get("event_center") in (True, 1), "output needs at least one mode"
    )
    if "obs" in output:
        obs = output["obs"]
        _require(
            isinstance(obs, dict)
            and isinstance(obs.get("bucket"), str)
            and _BUCKET.fullmatch(obs["bucket"]) is not None,
            "output.obs.bucket",
        )
        path = obs.get("path")
        _require(
            isinstance(path, str)
            and len(path) <= 1023
            and not path.startswith(("/", "."))
            and "//" not in path,
            "output.obs.path",
        )
    if "dis" in output:
        dis = output["dis"]
        _require(
            isinstance(dis, dict)
            and isinstance(dis.get("stream_name"), str)
            and _STREAM.fullmatch(dis["stream_name"]) is not None,
            "output.dis.stream_name",
        )
    if "webhook" in output:
        hook = output["webhook"]
        _require(
            isinstance(hook, dict)
            and isinstance(hook.get("url"), str)
            and 0 < len(hook["url"]) <= 1000,
            "output.webhook.url",
        )
        headers = hook.get("headers")
        _require(
            isinstance(headers, dict) and 1 <= len(headers) <= 10,
            "output.webhook.headers must hold 1-10 pairs",
        )
    for mode in ("obs", "dis", "webhook"):
        if isinstance(output.get(mode), dict) and "data_category" in output[mode]:
            categories = output[mode]["data_category"]
            _require(
                isinstance(categories, list) and len(categories) <= 10,
                f"output.{mode}.data_category",
            )
