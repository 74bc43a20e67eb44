"""
From a row's settings texts (cell, else group, else ``[task]``) to a checked
``TaskSettings``, and from the API's field paths back to the mapping's field names, so an
invalid setting is reported on the column it came from. Pure: the date that turns a zone
name into its offset is passed in.

The schedule is built by ``schedule.py`` in the documented shape: days and windows read
with ``parse_days``/``parse_windows``, the time zone as a fixed offset on the plan's date
(``normalize_offset``, whose warnings, such as daylight saving, are returned beside the
settings), the body from ``weekly_schedule``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from pydantic import ValidationError

from loader.check import schedule
from loader.check.mapping import OUTPUT_FIELDS, SCHEDULE_FIELDS
from loader.model.vias import TaskSettings, explain

if TYPE_CHECKING:  # zones are read for a schedule only (most mappings have none)
    from loader.check.zones import ZoneResult

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


class Issue(NamedTuple):
    """A finding about settings, on the mapping fields it came from; ``code`` for warnings."""

    fields: tuple[str, ...]
    message: str
    fix: str = ""
    code: str = ""


class SettingsError(ValueError):
    """Settings that break the API's rules, each issue on its mapping fields."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(issue.message for issue in issues))
        self.issues = issues


def build_settings(
    texts: Mapping[str, str], webhook_headers: Mapping[str, str] | None, *, on: date
) -> tuple[TaskSettings, list[Issue]]:
    """The checked settings and their warnings; SettingsError if invalid. Zones resolve ``on``."""
    body: dict[str, Any] = {
        key: texts[key]
        for key in ("service_name", "service_version", "resource_order_id", "description")
        if texts.get(key)
    }
    if texts.get("is_saved_as_template"):
        body["is_saved_as_template"] = texts["is_saved_as_template"] == "true"
    issues: list[Issue] = []
    for name in ("service_name", "service_version"):
        if not texts.get(name):
            issues.append(Issue((name,), f"{name} is required: set it in [task] or in a column"))
    warnings: list[Issue] = []
    if any(texts.get(f) for f in SCHEDULE_FIELDS):
        body["schedule"] = _schedule(texts, on, issues, warnings)  # None only with an issue
    body["output"] = _output(texts, webhook_headers)
    if texts.get("config_common"):
        body["config"] = {"common": json.loads(texts["config_common"])}
    try:
        settings = TaskSettings.model_validate(body)
    except ValidationError as exc:
        issues += [Issue(fields_of(path), f"{path}: {message}") for path, message in explain(exc)]
        issues = [i for i in issues if not _is_echo(i, issues)]
    if issues:
        raise SettingsError(issues)
    return settings, warnings


def _is_echo(issue: Issue, issues: list[Issue]) -> bool:
    """Pydantic's "field required" for a field we already explained."""
    return "Field required" in issue.message and any(
        other.fields == issue.fields and other is not issue for other in issues
    )


def _schedule(
    texts: Mapping[str, str], on: date, issues: list[Issue], warnings: list[Issue]
) -> schedule.Schedule | None:
    """The documented weekly schedule from its three fields, all of which are then needed."""
    missing = [f for f in SCHEDULE_FIELDS if not texts.get(f)]
    if missing:
        message = f"a schedule needs timezone, days_of_week and periods; {', '.join(missing)}"
        issues.append(Issue(tuple(missing), message + " missing"))
        return None
    found = _documented(texts["timezone"], texts["days_of_week"], texts["periods"], on)
    if isinstance(found, Issue):
        issues.append(found)
        return None
    built, zone = found
    if zone.warning:
        warnings.append(Issue(("timezone",), zone.warning, _ZONE_FIX, _zone_code(zone.warning)))
    return built


@lru_cache(maxsize=4096)
def _documented(
    timezone: str, days: str, periods: str, on: date
) -> tuple[schedule.Schedule, ZoneResult] | Issue:
    """The body and zone of three schedule texts, else the first unreadable one's issue.

    Cached: many groups share a schedule, and a class per camera is common.
    """
    from loader.check import zones  # a schedule only: see TYPE_CHECKING

    reading: tuple[str, ...] = ("timezone",)
    try:
        zone = zones.normalize_offset(timezone, on=on)
        reading = ("days_of_week",)
        chosen = schedule.parse_days(days)
        reading = ("periods",)
        windows = schedule.parse_windows(periods)
        reading = SCHEDULE_FIELDS
        return schedule.weekly_schedule(chosen, windows, zone.offset), zone
    except schedule.ScheduleError as exc:
        return Issue(reading, str(exc), exc.fix)


_ZONE_FIX: Final = "write a fixed offset such as +01:00 to choose the one the task keeps"


def _zone_code(warning: str) -> str:
    """Problem code of a zone warning, so daylight saving can be filtered from misreadings."""
    return "daylight-saving" if "observes daylight saving" in warning else "ambiguous-timezone"


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
