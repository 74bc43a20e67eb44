"""
The simulator's check of a TaskSchedule, from the one documented value (research notes,
section 4, "TaskSchedule": the CreateTask request example) and the CreateBatchTask table:

    {"type": "weekly", "timezone": "+08:00", "days_of_week": [1, 2, 3, 4, 5, 6, 7],
     "periods": [[], [], [], [], [{"begin_at": "22:15:00", "end_at": "23:59:00"}], ...]}

Exactly that shape passes: ``type`` weekly; ``timezone`` a UTC offset ``±hh:mm``;
``days_of_week`` ascending distinct integers 1 (Monday) to 7; ``periods`` seven lists, one
per day of the week, Monday first, each of windows ``{"begin_at", "end_at"}`` in hh:mm:ss with
begin before end. A day off is an empty list; a day not in ``days_of_week`` must be one, and
at least one window must fall on a listed day ("select at least one time segment").
Refused with the reason: the older flat ``periods`` list, ``GMT+08:00``, zone names,
``days_of_month`` (documented as unsupported) and any field the table does not list.
"""

from __future__ import annotations

import re
from typing import Any

from loader.sim.invalid import Invalid, require

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_FIELDS = {"type", "timezone", "days_of_week", "periods"}
_OFFSET = re.compile(r"[+-](\d{2}):(\d{2})")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d")
_WINDOW = {"begin_at", "end_at"}
_SHAPE = "7 lists of windows, one per day of the week, Monday first ([] for a day off)"


def check_schedule(schedule: Any) -> None:
    """Raise Invalid naming the first documented rule ``schedule`` breaks."""
    require(isinstance(schedule, dict), "schedule must be an object")
    require(
        "days_of_month" not in schedule,
        "schedule.days_of_month is not supported: only weekly schedules are",
    )
    unknown = set(schedule) - _FIELDS
    require(not unknown, f"schedule has undocumented fields {sorted(unknown)}")
    require(
        schedule.get("type") == "weekly",
        f"schedule.type must be 'weekly', not {schedule.get('type')!r}",
    )
    _timezone(schedule.get("timezone"))
    days = _days_of_week(schedule.get("days_of_week"))
    _periods(schedule.get("periods"), days)


def _timezone(zone: Any) -> None:
    """A fixed offset as the example writes it: sign, two-digit hours, colon, minutes."""
    require(
        isinstance(zone, str),
        "schedule.timezone is required: a UTC offset such as '+08:00'",
    )
    found = _OFFSET.fullmatch(zone)
    if found is None:
        raise Invalid(
            f"schedule.timezone {zone!r} is not a UTC offset like '+08:00' (sign, hh:mm);"
            " 'GMT+08:00' and zone names are not documented"
        )
    minutes = int(found[1]) * 60 + int(found[2])
    require(
        int(found[2]) < 60 and minutes <= (14 * 60 if zone[0] == "+" else 12 * 60),
        f"schedule.timezone {zone!r} is no UTC offset in use (-12:00 to +14:00)",
    )


def _days_of_week(days: Any) -> list[int]:
    """1..7 days, Monday first, none twice."""
    require(
        isinstance(days, list),
        "schedule.days_of_week is required for a weekly schedule: days 1 (Monday) to 7 (Sunday)",
    )
    require(1 <= len(days) <= 7, f"schedule.days_of_week holds {len(days)} days, not 1 to 7")
    for n, day in enumerate(days):
        require(
            type(day) is int and 1 <= day <= 7,
            f"schedule.days_of_week[{n}] is {day!r}, not a day 1 (Monday) to 7 (Sunday)",
        )
    require(len(set(days)) == len(days), f"schedule.days_of_week repeats a day: {days}")
    require(days == sorted(days), f"schedule.days_of_week must be ascending: {days}")
    return list(days)


def _periods(periods: Any, days: list[int]) -> None:
    """Seven lists of windows; windows only on listed days, at least one in all."""
    require(periods is not None, f"schedule.periods is required: {_SHAPE}")
    require(
        isinstance(periods, list) and all(isinstance(p, list) for p in periods),
        f"schedule.periods must be {_SHAPE}, not a flat list of windows",
    )
    require(len(periods) == 7, f"schedule.periods holds {len(periods)} lists, not {_SHAPE}")
    for index, windows in enumerate(periods):
        for n, window in enumerate(windows):
            _window(window, f"schedule.periods[{index}][{n}]")
        require(
            not windows or index + 1 in days,
            f"schedule.periods[{index}] ({WEEKDAYS[index]}) has windows,"
            f" but day {index + 1} is not in days_of_week {days}",
        )
    require(
        any(periods[day - 1] for day in days),
        f"schedule.periods has no window on any day of days_of_week {days}: at least one is needed",
    )


def _window(window: Any, where: str) -> None:
    """``{"begin_at", "end_at"}``, both hh:mm:ss within a day, begin before end."""
    require(isinstance(window, dict), f"{where} must be an object with begin_at and end_at")
    unknown = set(window) - _WINDOW
    require(not unknown, f"{where} has undocumented fields {sorted(unknown)}")
    for key in ("begin_at", "end_at"):
        value = window.get(key)
        require(value is not None, f"{where}.{key} is required")
        require(
            value != "24:00:00",
            f"{where}.{key} is 24:00:00; a day ends at 23:59:00 (a window past midnight"
            " is two windows)",
        )
        require(
            isinstance(value, str) and _TIME.fullmatch(value) is not None,
            f"{where}.{key} is {value!r}, not a time of day hh:mm:ss",
        )
    require(
        window["begin_at"] < window["end_at"],
        f"{where} begins at {window['begin_at']} but ends at {window['end_at']}:"
        " begin_at must come first (a window past midnight is two windows)",
    )
