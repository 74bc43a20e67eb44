"""
The VIAS task ``schedule``: read it from sheet text, build it, check it and describe it.

This module owns the documented shape of the schedule body, from the reference
``shared/reference/vias-api-family.md``, section "4. Field formats > TaskSchedule"::

    {"type": "weekly", "timezone": "+08:00", "days_of_week": [1, 2, 3, 4, 5, 6, 7],
     "periods": [[], [], [], [], [{"begin_at": "22:15:00", "end_at": "23:59:00"}], ...]}

Rules taken from the reference: the type is ``weekly``; the timezone is a fixed offset
``+08:00`` (sign, two-digit hours, colon, minutes); ``periods`` holds one list of windows per
day, Monday first, ``[]`` on a day off; windows are ``hh:mm:ss``; the end of a day is written
``23:59:00``; a window that crosses midnight is two windows, up to 23:59:00 on its day and from
00:00:00 on the next. We always send the reference's "safest body": ``days_of_week`` [1..7]
and seven lists.

Public: ``parse_days`` and ``parse_windows`` (sheet text), ``weekly_schedule`` and
``weekly_schedule_from_rules`` (the body), ``validate_documented`` (the problems of any
body), ``describe`` and its inverse ``parse_description``; time zones are
``zones.normalize_offset``'s. All raise ``ScheduleError`` (a ``ValueError`` with ``fix``)
on what they cannot read. The patterns and constants the request model checks too
(``OFFSET_PATTERN``, ``TIME_PATTERN``, ``END_OF_DAY``, the week) are ``model.vias``'s, so
the builder and the model cannot drift.

Decisions where the reference is silent:

- ``23:59:00`` as an end means "to the end of the day" (the reference's cross-day note), so
  an end of ``23:59``, ``23:59:59``, ``24:00`` or, after a later begin, ``00:00`` all mean the
  end of the day, and no window can begin in the last minute (23:59 to midnight).
- A zero-length window (begin equal to end, such as ``08:00-08:00`` or ``00:00-00:00``) is
  refused: it could mean nothing or all day.
- The windows of a day are sorted, and overlapping or touching ones merged.
- A zone name (``Asia/Shanghai``) becomes its offset at noon on a given date; a zone with
  daylight saving gets a warning, since one fixed offset cannot follow it. ``CST`` is read as
  China Standard Time, with a warning; a bare number such as ``8`` is refused (east or west?).
- ``days_of_week`` must be Monday..k in order with one list each (``validate_documented``):
  otherwise a list could belong to the weekday of its position or to the day listed at it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, Final, Literal, TypedDict, TypeGuard, cast

from loader.model.problems import shown
from loader.model.vias import END_OF_DAY, OFFSET_PATTERN, TIME_PATTERN, WEEK

DAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ALL_DAYS: Final = WEEK

_DAY: Final = 86_400  # seconds; a window to the end of the day ends here inside this module
_LAST: Final = 86_340  # 23:59:00, how the API writes the end of the day
OFFSET_RANGE: Final = (-12 * 60, 14 * 60)  # minutes
_KEYS: Final = ("type", "timezone", "days_of_week", "periods")
_WINDOW_KEYS: Final = ("begin_at", "end_at")

_DAYS_FIX: Final = (
    "write days as Mon-Fri, Mon,Wed,Fri, 1-5, 周一至周五, weekdays, weekends or daily"
)
_WINDOWS_FIX: Final = (
    "write windows as 08:00-18:00 (several as 08:00-12:00,13:00-18:00), 8am-6pm,"
    " 22:00-06:00 to cross midnight, or all day"
)


class ScheduleError(ValueError):
    """Schedule text or values that cannot be read; ``fix`` says how to write them."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


class Window(TypedDict):
    """One run window of a day, as the API takes it."""

    begin_at: str
    end_at: str


class Schedule(TypedDict):
    """The documented ``schedule`` body."""

    type: Literal["weekly"]
    timezone: str
    days_of_week: list[int]
    periods: list[list[Window]]


Rule = tuple[Sequence[int], Sequence[tuple[str, str]]]


# ---------------------------------------------------------------- building


def weekly_schedule(
    days: Sequence[int], windows: Sequence[tuple[str, str]], offset: str
) -> Schedule:
    """The documented body for the same windows on each chosen day (Monday = 1)."""
    return weekly_schedule_from_rules([(days, windows)], offset)


def weekly_schedule_from_rules(rules: Sequence[Rule], offset: str) -> Schedule:
    """The documented body for several (days, windows) rules, such as weekdays and Saturday."""
    timezone = _documented_offset(offset)
    if not rules:
        raise ScheduleError("no days and windows given", _WINDOWS_FIX)
    spans: list[list[tuple[int, int]]] = [[] for _ in ALL_DAYS]
    for days, windows in rules:
        chosen, read = _checked_days(days), [_checked_window(b, e) for b, e in windows]
        if not read:
            raise ScheduleError(f"no windows for days {list(days)}", _WINDOWS_FIX)
        for day in chosen:
            for begin, end in read:
                _place(spans, day - 1, begin, end)
    return {
        "type": "weekly",
        "timezone": timezone,
        "days_of_week": list(ALL_DAYS),
        "periods": [[_window_body(b, e) for b, e in _merged(day)] for day in spans],
    }


def _documented_offset(offset: str) -> str:
    """The offset as given when it is already the documented ``+08:00``; else an error."""
    if _offset_problems(offset):
        raise ScheduleError(
            f"timezone {offset!r} is not a fixed offset like +08:00",
            "pass the offset normalize_offset gives, such as +08:00",
        )
    return offset


def _checked_days(days: Sequence[int]) -> list[int]:
    """The chosen days, each a weekday number 1..7, without repeats."""
    for day in days:
        if not _is_int(day) or not 1 <= day <= 7:
            raise ScheduleError(f"day {day!r} is not a day of the week 1..7", _DAYS_FIX)
    if not days:
        raise ScheduleError("no days given", _DAYS_FIX)
    return sorted(set(days))


def _checked_window(begin: str, end: str) -> tuple[int, int]:
    """One window as seconds, the end of the day as 86400; crossing midnight when end < begin."""
    where = f"{begin}-{end}"
    return _span(_seconds(begin, where), _seconds(end, where, end=True), where)


def _span(begin: int, end: int, where: str) -> tuple[int, int]:
    """Apply the end-of-day convention to a window, refusing one that holds no time."""
    if begin == end:
        raise ScheduleError(
            f"window {where!r} begins where it ends, so it holds no time",
            "for the whole day write 00:00-24:00 or all day; otherwise make the end differ",
        )
    if end == 0 or end >= _LAST:
        end = _DAY
    if begin >= _LAST and end == _DAY:
        raise ScheduleError(
            f"window {where!r} holds no time: the API writes the end of a day as 23:59:00,"
            " so no window can begin at 23:59 or later",
            "begin the window before 23:59",
        )
    return begin, end


def _place(spans: list[list[tuple[int, int]]], index: int, begin: int, end: int) -> None:
    """Put a window on its day; one crossing midnight goes on into the next day."""
    if begin < end:
        spans[index].append((begin, end))
        return
    if begin < _LAST:
        spans[index].append((begin, _DAY))
    spans[(index + 1) % 7].append((0, end))


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A day's windows in order, overlapping or touching ones made one."""
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


def _window_body(begin: int, end: int) -> Window:
    """One window as the API writes it; the end of the day is 23:59:00."""
    return {"begin_at": _clock_text(begin), "end_at": _clock_text(min(end, _LAST))}


def _clock_text(seconds: int) -> str:
    """Seconds after midnight as ``hh:mm:ss``."""
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _is_int(value: object) -> TypeGuard[int]:
    """Whether ``value`` is a whole number and not a boolean (``True == 1`` in Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------- reading sheet text


_DAY_WORDS: Final = {
    **{
        word: day
        for day, names in enumerate(
            (
                ("mon", "monday", "mo", "周一", "星期一", "礼拜一"),
                ("tue", "tues", "tuesday", "tu", "周二", "星期二", "礼拜二"),
                ("wed", "wednesday", "we", "周三", "星期三", "礼拜三"),
                ("thu", "thur", "thurs", "thursday", "th", "周四", "星期四", "礼拜四"),
                ("fri", "friday", "fr", "周五", "星期五", "礼拜五"),
                ("sat", "saturday", "sa", "周六", "星期六", "礼拜六"),
                ("sun", "sunday", "su", "周日", "周天", "星期日", "星期天", "礼拜日", "礼拜天"),
            ),
            start=1,
        )
        for word in names
    },
    **{str(day): day for day in ALL_DAYS},
}
_DAY_SETS: Final = {
    **dict.fromkeys(
        ("daily", "everyday", "every day", "all", "all days", "每天", "每日"), ALL_DAYS
    ),
    **dict.fromkeys(("weekdays", "workdays", "工作日"), (1, 2, 3, 4, 5)),
    **dict.fromkeys(("weekends", "weekend", "周末"), (6, 7)),
}
_ALL_DAY_WORDS: Final = frozenset({"all day", "allday", "24h", "24/7", "24x7", "全天", "always"})
# Patterns compiled on first use (``re``'s cache), not at import: only schedule text reads
# them, and their CJK words made compiling them 2 ms of every run's start.
_RANGE: Final = r"\s*(?:-|~|\bto\b|至|到)\s*"
_DAY_LIST: Final = r"\s*[,;/、\s]\s*"
_WINDOW_LIST: Final = r"\s*[,;、\r\n]\s*"
_CLOCK: Final = r"\d{1,2}(?::\d{2}){0,2}(?:\s*[ap]\.?m\.?)?"
_WINDOW: Final = rf"({_CLOCK})\s*(?:-|~|\bto\b|至|到)\s*({_CLOCK})"
_WINDOWS: Final = rf"{_WINDOW}(?:\s+{_WINDOW})*"
_TIME: Final = r"(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?(?:\s*([ap])\.?m\.?)?"


_DASHES: Final = str.maketrans("−–—", "---")


def fold(text: str) -> str:
    """Text as compared: full-width forms made plain (NFKC), dashes as ``-``, lower case."""
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    return folded.translate(_DASHES)


def parse_days(text: str) -> tuple[int, ...]:
    """Days people write (``Mon-Fri``, ``1,3,5``, ``周一至周五``, ``weekdays``) as 1..7, sorted."""
    folded = fold(text)
    if folded in _DAY_SETS:
        return _DAY_SETS[folded]
    found: set[int] = set()
    for part in re.split(_DAY_LIST, re.sub(_RANGE, "-", folded)):
        if part:
            found.update(_day_part(part, text))
    if not found:
        raise ScheduleError(f"no days in {shown(text)}", _DAYS_FIX)
    return tuple(sorted(found))


def _day_part(part: str, text: str) -> Sequence[int]:
    """One item of a day list: a day, a set of days, or a range (wrapping past Sunday)."""
    if part in _DAY_SETS:
        return _DAY_SETS[part]
    ends = part.split("-")
    numbers = [_DAY_WORDS.get(end) for end in ends]
    if len(ends) > 2 or None in numbers:
        unknown = next((e for e, n in zip(ends, numbers, strict=True) if n is None and e), part)
        raise ScheduleError(f"{_within(unknown, text)} is not a day of the week", _DAYS_FIX)
    first, last = (n or 0 for n in (numbers[0], numbers[-1]))
    if first <= last:
        return range(first, last + 1)
    return (*range(first, 8), *range(1, last + 1))


def _within(part: str, text: str) -> str:
    """The part of a cell a message is about, with the whole cell when that is longer."""
    return shown(text) if part == fold(text) else f"{shown(part)} in {shown(text)}"


def parse_windows(text: str) -> tuple[tuple[str, str], ...]:
    """Windows people write (``08:00-18:00``, ``8am-6pm``, ``all day``) as hh:mm:ss pairs.

    The end of the day comes out as ``23:59:00``; a window crossing midnight stays one pair,
    begin after end, for ``weekly_schedule`` to split once it knows the days.
    """
    folded = fold(text)
    if folded in _ALL_DAY_WORDS:
        return (("00:00:00", END_OF_DAY),)
    windows: list[tuple[str, str]] = []
    for chunk in re.split(_WINDOW_LIST, folded):
        if not chunk:
            continue
        if not re.fullmatch(_WINDOWS, chunk):
            raise ScheduleError(f"{_within(chunk, text)} is not a time window", _WINDOWS_FIX)
        for match in re.finditer(_WINDOW, chunk):
            begin, end = _checked_window(match[1], match[2])
            windows.append((_clock_text(begin), _clock_text(min(end, _LAST))))
    if not windows:
        raise ScheduleError(f"no time windows in {shown(text)}", _WINDOWS_FIX)
    return tuple(windows)


def _seconds(value: str, where: str, *, end: bool = False) -> int:
    """A time of day (``8``, ``08:30``, ``18:00:00``, ``6pm``) as seconds after midnight."""
    match = re.fullmatch(_TIME, fold(value))
    if not match:
        raise ScheduleError(f"{value!r} in {where!r} is not a time of day", _WINDOWS_FIX)
    hour, minute, second = (int(g or 0) for g in match.group(1, 2, 3))
    if match[4] and not 1 <= hour <= 12:
        raise ScheduleError(f"{value!r} in {where!r} is not a 12-hour time", _WINDOWS_FIX)
    if match[4]:
        hour = hour % 12 + (12 if match[4] == "p" else 0)
    if end and (hour, minute, second) == (24, 0, 0):
        return _DAY
    if hour > 23 or minute > 59 or second > 59:
        raise ScheduleError(f"{value!r} in {where!r} is not a time of day", _WINDOWS_FIX)
    return hour * 3600 + minute * 60 + second


# ---------------------------------------------------------------- checking the body


def validate_documented(schedule: object) -> list[str]:
    """Every way ``schedule`` departs from the documented body; empty when it is one."""
    if not isinstance(schedule, dict):
        return [f"schedule must be a JSON object, not {_show(schedule)}"]
    problems = _key_problems(schedule, _KEYS, "schedule")
    if "type" in schedule and schedule["type"] != "weekly":
        problems.append(f"type is {_show(schedule['type'])}; batch tasks support only 'weekly'")
    if "timezone" in schedule:
        problems += _offset_problems(schedule["timezone"])
    days = schedule.get("days_of_week")
    if "days_of_week" in schedule:
        problems += _days_problems(days)
    if "periods" in schedule:
        count = len(days) if isinstance(days, list) and days else len(ALL_DAYS)
        problems += _periods_problems(schedule["periods"], count)
    return problems


def _show(value: object) -> str:
    """A value as it reads in a problem message."""
    return (
        repr(value) if isinstance(value, str | int | float | bool | None) else type(value).__name__
    )


def _key_problems(body: dict[Any, Any], keys: tuple[str, ...], where: str) -> list[str]:
    """Missing and unexpected keys of an object."""
    problems = [f"{where} has no {key!r}" for key in keys if key not in body]
    for key in body:
        if key not in keys:
            why = " (monthly schedules only, not supported)" if key == "days_of_month" else ""
            problems.append(f"{where} has an unexpected key {key!r}{why}; it takes {list(keys)}")
    return problems


def _offset_problems(value: object) -> list[str]:
    """Why ``value`` is not the documented fixed offset, if it is not."""
    if not isinstance(value, str) or not re.fullmatch(OFFSET_PATTERN, value):
        return [
            f"timezone {_show(value)} is not a fixed UTC offset written like +08:00"
            " (sign, two-digit hours, colon, minutes)"
        ]
    minutes = int(value[1:3]) * 60 + int(value[4:6])
    if value.startswith("-") and minutes > -OFFSET_RANGE[0]:
        return [f"timezone {value} is beyond -12:00, the westmost offset"]
    if value.startswith("+") and minutes > OFFSET_RANGE[1]:
        return [f"timezone {value} is beyond +14:00, the eastmost offset"]
    if value == "-00:00":
        return ["timezone -00:00 is not how UTC is written: write +00:00"]
    return []


def _days_problems(days: object) -> list[str]:
    """Why ``days_of_week`` is not Monday..k in order, if it is not."""
    if not isinstance(days, list):
        return [f"days_of_week must be a list of days 1..7, not {_show(days)}"]
    if not days:
        return ["days_of_week is empty; send [1, 2, 3, 4, 5, 6, 7]"]
    problems = [
        f"days_of_week[{i}] is {_show(d)}, not a day 1..7 (Monday..Sunday)"
        for i, d in enumerate(days)
        if not _is_int(d) or not 1 <= d <= 7
    ]
    repeated = sorted(d for d, n in Counter(d for d in days if _is_int(d)).items() if n > 1)
    if repeated:
        problems.append(f"days_of_week lists {repeated} more than once")
    if not problems and days != list(range(1, len(days) + 1)):
        problems.append(
            f"days_of_week {days} is not Monday..k in order, so a list in periods could belong"
            " to its weekday or to the day at its position; send [1, 2, 3, 4, 5, 6, 7] and"
            " seven lists, [] on days off"
        )
    return problems


def _periods_problems(periods: object, count: int) -> list[str]:
    """Why ``periods`` is not one list of windows per day of ``days_of_week``, if it is not."""
    if not isinstance(periods, list):
        return [f"periods must be a list of {count} lists of windows, not {_show(periods)}"]
    problems = []
    if len(periods) != count:
        problems.append(
            f"periods has {len(periods)} lists; it needs {count}, one per day of days_of_week"
            " (seven, Monday first, for [1..7])"
        )
    for i, day in enumerate(periods):
        if not isinstance(day, list):
            problems.append(f"periods[{i}] must be a list of windows, not {_show(day)}")
            continue
        problems += _day_problems(day, f"periods[{i}]")
    return problems


def _day_problems(day: list[Any], where: str) -> list[str]:
    """Problems of one day's windows, each alone and then their order."""
    problems: list[str] = []
    spans = [_window_span(w, f"{where}[{j}]", problems) for j, w in enumerate(day)]
    valid = [span for span in spans if span is not None]
    for (_, end), (begin, _) in pairwise(valid):
        if begin < end:
            problems.append(
                f"{where} has windows out of order or overlapping ({begin} before {end})"
            )
    return problems


def _window_span(window: object, where: str, problems: list[str]) -> tuple[str, str] | None:
    """A window's (begin, end) when it is valid; otherwise None, with its problems added."""
    if not isinstance(window, dict):
        problems.append(f"{where} must be an object with begin_at and end_at, not {_show(window)}")
        return None
    found = _key_problems(window, _WINDOW_KEYS, where)
    for key in _WINDOW_KEYS:
        value = window.get(key)
        if key == "end_at" and value == "24:00:00":
            found.append(f"{where}.{key} is 24:00:00; the end of a day is written 23:59:00")
        elif key in window and not (isinstance(value, str) and re.fullmatch(TIME_PATTERN, value)):
            found.append(f"{where}.{key} {_show(value)} is not a time hh:mm:ss")
    if found:
        problems += found
        return None
    begin, end = cast(str, window["begin_at"]), cast(str, window["end_at"])
    if end > END_OF_DAY:
        problems.append(f"{where}.end_at {end} is after 23:59:00, which ends the day")
    elif begin >= end:
        problems.append(
            f"{where} begins at {begin}, not before its end {end}; a window crossing midnight"
            " is two: up to 23:59:00, then from 00:00:00 on the next day"
        )
    else:
        return begin, end
    return None


# ---------------------------------------------------------------- describing


_DESCRIPTION: Final = re.compile(r"(?P<body>.*?)\s*\(UTC(?P<offset>[+-]\d\d:\d\d)\)")
_CLAUSE: Final = re.compile(r"(?P<days>.+?)\s+(?P<windows>\d.*)")


def describe(schedule: Mapping[str, object]) -> str:
    """The schedule as a person checks it: ``Mon-Fri 08:00-18:00 (UTC+08:00)``."""
    problems = validate_documented(dict(schedule))
    if problems:
        raise ScheduleError(
            "not a documented schedule: " + "; ".join(problems), "build it with weekly_schedule"
        )
    body = cast(Schedule, schedule)
    by_day = dict(zip(body["days_of_week"], body["periods"], strict=True))
    texts = [", ".join(_window_text(w) for w in by_day.get(day, [])) for day in ALL_DAYS]
    return f"{'; '.join(_clauses(texts)) or 'never'} (UTC{body['timezone']})"


def _clauses(texts: list[str]) -> list[str]:
    """``Mon-Fri 08:00-18:00`` for each run of consecutive days with the same windows."""
    clauses = []
    for first, text in enumerate(texts):
        if text and (first == 0 or texts[first - 1] != text):
            last = first
            while last + 1 < len(texts) and texts[last + 1] == text:
                last += 1
            days = DAY_NAMES[first] + (f"-{DAY_NAMES[last]}" if last > first else "")
            clauses.append(f"{days} {text}")
    return clauses


def _window_text(window: Window) -> str:
    """A window as ``08:00-18:00``; seconds are shown only when they are not zero."""
    ends = (window["begin_at"], window["end_at"])
    return "-".join(t[:5] if t.endswith(":00") else t for t in ends)


def parse_description(text: str) -> Schedule:
    """The schedule that ``describe`` wrote ``text`` for, so a description can be typed back."""
    match = _DESCRIPTION.fullmatch(text.strip())
    if not match:
        raise ScheduleError(
            f"{text!r} does not end with its offset, such as (UTC+08:00)",
            "write days and windows then the offset: Mon-Fri 08:00-18:00 (UTC+08:00)",
        )
    rules: list[Rule] = []
    for clause in filter(None, (c.strip() for c in match["body"].split(";"))):
        parts = _CLAUSE.fullmatch(clause)
        if not parts:
            raise ScheduleError(f"{clause!r} is not days then windows", _WINDOWS_FIX)
        rules.append((parse_days(parts["days"]), parse_windows(parts["windows"])))
    return weekly_schedule_from_rules(rules, match["offset"])
