"""
From a row's settings texts (cell, else group, else ``[task]``) to a checked
``TaskSettings``, and from the API's field paths back to the mapping's field names, so an
invalid setting is reported on the column it came from. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError

from loader.check.mapping import OUTPUT_FIELDS, SCHEDULE_FIELDS
from loader.model.vias import TaskSettings, explain

# API field path prefix -> the mapping fields it is built from (longest prefix wins).
_PATH_FIELDS: Final = {
    "service_name": ("service_name",),
    "service_version": ("service_version",),
    "resource_order_id": ("resource_order_id",),
    "description": ("description",),
    "is_saved_as_template": ("is_saved_as_template",),
    "schedule": SCHEDULE_FIELDS,
    "schedule.timezone": ("timezone",),
    "schedule.days_of_week": ("days_of_week",),
    "schedule.periods": ("periods",),
    "output": OUTPUT_FIELDS,
    "output.obs": ("obs_bucket", "obs_path"),
    "output.obs.bucket": ("obs_bucket",),
    "output.obs.path": ("obs_path",),
    "output.obs.data_category": ("obs_data_category",),
    "output.dis": ("dis_stream",),
    "output.dis.stream_name": ("dis_stream",),
    "output.dis.data_category": ("dis_data_category",),
    "output.webhook": ("webhook_url",),
    "output.webhook.url": ("webhook_url",),
    "output.webhook.headers": ("webhook_headers",),
    "output.webhook.data_category": ("webhook_data_category",),
    "output.event_center": ("event_center",),
    "config": ("config_common",),
}


class SettingsError(ValueError):
    """Settings that break the API's rules: (mapping fields, message) pairs."""

    def __init__(self, issues: list[tuple[tuple[str, ...], str]]) -> None:
        super().__init__("; ".join(message for _, message in issues))
        self.issues = issues


def build_settings(
    texts: Mapping[str, str], webhook_headers: Mapping[str, str] | None
) -> TaskSettings:
    """The checked settings for one combination of setting texts; SettingsError if invalid."""
    body: dict[str, Any] = {
        key: texts[key]
        for key in ("service_name", "service_version", "resource_order_id", "description")
        if texts.get(key)
    }
    if texts.get("is_saved_as_template"):
        body["is_saved_as_template"] = texts["is_saved_as_template"] == "true"
    issues: list[tuple[tuple[str, ...], str]] = []
    for name in ("service_name", "service_version"):
        if not texts.get(name):
            issues.append(((name,), f"{name} is required: set it in [task] or in a column"))
    schedule = _schedule(texts, issues)
    if schedule:
        body["schedule"] = schedule
    body["output"] = _output(texts, webhook_headers)
    if texts.get("config_common"):
        body["config"] = {"common": json.loads(texts["config_common"])}
    try:
        settings = TaskSettings.model_validate(body)
    except ValidationError as exc:
        issues += [(fields_of(path), f"{path}: {message}") for path, message in explain(exc)]
        issues = [i for i in issues if not _is_echo(i, issues)]
    if issues:
        raise SettingsError(issues)
    return settings


def _is_echo(issue: tuple[tuple[str, ...], str], issues: list[tuple[tuple[str, ...], str]]) -> bool:
    """Pydantic's "field required" for a field we already explained."""
    return "Field required" in issue[1] and any(
        other[0] == issue[0] and other is not issue for other in issues
    )


def _schedule(
    texts: Mapping[str, str], issues: list[tuple[tuple[str, ...], str]]
) -> dict[str, Any]:
    """The weekly schedule, when any of its fields is set; all three are then needed."""
    given = [f for f in SCHEDULE_FIELDS if texts.get(f)]
    if not given:
        return {}
    missing = [f for f in SCHEDULE_FIELDS if f not in given]
    if missing:
        issues.append(
            (
                tuple(missing),
                f"a schedule needs timezone, days_of_week and periods; {', '.join(missing)}"
                " missing",
            )
        )
        return {}
    windows = [w.split("-") for w in texts["periods"].split(",")]
    return {
        "type": "weekly",
        "timezone": texts["timezone"],
        "days_of_week": [int(d) for d in texts["days_of_week"].split(",")],
        "periods": [[{"begin_at": b, "end_at": e} for b, e in windows]],
    }


def _output(texts: Mapping[str, str], headers: Mapping[str, str] | None) -> dict[str, Any]:
    """The output modes the texts set."""
    output: dict[str, Any] = {}
    if texts.get("obs_bucket") or texts.get("obs_path"):
        output["obs"] = _with_categories(
            {"bucket": texts.get("obs_bucket", ""), "path": texts.get("obs_path", "")},
            texts.get("obs_data_category"),
        )
    if texts.get("dis_stream"):
        output["dis"] = _with_categories(
            {"stream_name": texts["dis_stream"]}, texts.get("dis_data_category")
        )
    if texts.get("webhook_url"):
        output["webhook"] = _with_categories(
            {"url": texts["webhook_url"], "headers": dict(headers or {})},
            texts.get("webhook_data_category"),
        )
    if texts.get("event_center"):
        output["event_center"] = texts["event_center"] == "true"
    return output


def _with_categories(mode: dict[str, Any], categories: str | None) -> dict[str, Any]:
    """An output mode with its data_category list, when one is given."""
    if categories:
        mode["data_category"] = [c.strip() for c in categories.split(",") if c.strip()]
    return mode


def fields_of(path: str) -> tuple[str, ...]:
    """The mapping fields an API field path (``output.obs.bucket``) is built from."""
    parts = path.split(".")
    for length in range(len(parts), 0, -1):
        prefix = ".".join(p for p in parts[:length] if not p.isdigit())
        if prefix in _PATH_FIELDS:
            return _PATH_FIELDS[prefix]
    return ()
