"""The documented VIAS schedule: reading sheet text, building, checking and describing it."""

from __future__ import annotations

import json
from datetime import date
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loader.check.schedule import (
    Schedule,
    ScheduleError,
    describe,
    parse_days,
    parse_description,
    parse_windows,
    validate_documented,
    weekly_schedule,
    weekly_schedule_from_rules,
)
from loader.check.zones import ZoneResult, normalize_offset

# The only documented schedule value (vias-api-family.md, "TaskSchedule"), as printed.
DOCUMENTED_EXAMPLE = """
{
  "type": "weekly",
  "timezone": "+08:00",
  "days_of_week": [1, 2, 3, 4, 5, 6, 7],
  "periods": [[], [], [], [],
              [{"begin_at": "22:15:00", "end_at": "23:59:00"}],
              [{"begin_at": "00:00:00", "end_at": "23:59:00"}],
              [{"begin_at": "22:15:00", "end_at": "23:59:00"}]]
}
"""
JAN = date(2026, 1, 15)
JUL = date(2026, 7, 15)


def body(periods: dict[int, list[tuple[str, str]]], timezone: str = "+08:00") -> dict[str, Any]:
    """The documented body with the given windows per day (1 = Monday), [] elsewhere."""
    return {
        "type": "weekly",
        "timezone": timezone,
        "days_of_week": [1, 2, 3, 4, 5, 6, 7],
        "periods": [
            [{"begin_at": b, "end_at": e} for b, e in periods.get(day, [])] for day in range(1, 8)
        ],
    }


# ---------------------------------------------------------------- building


def test_documented_example_is_built_byte_for_byte() -> None:
    """Fri and Sun from 22:15 to midnight plus all of Saturday give the documented body exactly."""
    built = weekly_schedule_from_rules(
        [([5, 7], [("22:15", "24:00")]), ([6], parse_windows("all day"))], "+08:00"
    )

    assert json.dumps(built) == json.dumps(json.loads(DOCUMENTED_EXAMPLE))
    assert describe(built) == "Fri 22:15-23:59; Sat 00:00-23:59; Sun 22:15-23:59 (UTC+08:00)"


WEEKDAYS = [1, 2, 3, 4, 5]
ALL_WEEK = [1, 2, 3, 4, 5, 6, 7]
EOD = "23:59:00"


@pytest.mark.parametrize(
    ("days", "windows", "expected"),
    [
        pytest.param(
            WEEKDAYS,
            [("08:00", "18:00")],
            {d: [("08:00:00", "18:00:00")] for d in WEEKDAYS},
            id="mon-fri-office-hours",
        ),
        pytest.param(
            ALL_WEEK, [("00:00", "24:00")], {d: [("00:00:00", EOD)] for d in ALL_WEEK}, id="all-day"
        ),
        pytest.param(
            [3],
            [("13:00", "18:00"), ("08:00", "12:00")],
            {3: [("08:00:00", "12:00:00"), ("13:00:00", "18:00:00")]},
            id="several-windows-sorted",
        ),
        pytest.param(
            [3],
            [("08:00", "12:00"), ("11:00", "14:00")],
            {3: [("08:00:00", "14:00:00")]},
            id="overlap-merged",
        ),
        pytest.param(
            [3],
            [("08:00", "12:00"), ("12:00", "14:00")],
            {3: [("08:00:00", "14:00:00")]},
            id="touching-merged",
        ),
        pytest.param(
            [3],
            [("09:00", "10:00"), ("08:00", "18:00")],
            {3: [("08:00:00", "18:00:00")]},
            id="inside-merged",
        ),
        pytest.param([3], [("22:00", "24:00")], {3: [("22:00:00", EOD)]}, id="end-24:00"),
        pytest.param([3], [("22:00", "23:59:59")], {3: [("22:00:00", EOD)]}, id="end-23:59:59"),
        pytest.param([3], [("22:00", "23:59")], {3: [("22:00:00", EOD)]}, id="end-23:59"),
        pytest.param(
            [3], [("22:00", "00:00")], {3: [("22:00:00", EOD)]}, id="end-00:00-is-midnight"
        ),
        pytest.param(
            [3], [("08:00:30", "18:00:15")], {3: [("08:00:30", "18:00:15")]}, id="seconds-kept"
        ),
        pytest.param(
            [1],
            [("22:00", "06:00")],
            {1: [("22:00:00", EOD)], 2: [("00:00:00", "06:00:00")]},
            id="crossing-midnight",
        ),
        pytest.param(
            [7],
            [("22:00", "06:00")],
            {7: [("22:00:00", EOD)], 1: [("00:00:00", "06:00:00")]},
            id="sunday-wraps-to-monday",
        ),
        pytest.param(
            [1, 2],
            [("20:00", "02:00"), ("01:00", "03:00")],
            {
                1: [("01:00:00", "03:00:00"), ("20:00:00", EOD)],
                2: [("00:00:00", "03:00:00"), ("20:00:00", EOD)],
                3: [("00:00:00", "02:00:00")],
            },
            id="wrapped-tail-merges-with-next-day",
        ),
        pytest.param(
            [2],
            [("23:59", "06:00")],
            {3: [("00:00:00", "06:00:00")]},
            id="from-23:59-only-the-tail",
        ),
        pytest.param(
            [5, 5, 1],
            [("08:00", "09:00")],
            {1: [("08:00:00", "09:00:00")], 5: [("08:00:00", "09:00:00")]},
            id="repeated-day-once",
        ),
        pytest.param(
            [1], [("8am", "6:30pm")], {1: [("08:00:00", "18:30:00")]}, id="twelve-hour-times"
        ),
    ],
)
def test_weekly_schedule(
    days: list[int], windows: list[tuple[str, str]], expected: dict[int, list[tuple[str, str]]]
) -> None:
    """Days and windows become the documented body: seven lists, split at midnight, merged."""
    assert weekly_schedule(days, windows, "+08:00") == body(expected)


def test_rules_combine_on_one_day() -> None:
    """Two rules naming the same day merge their windows on it."""
    built = weekly_schedule_from_rules(
        [(WEEKDAYS, [("08:00", "12:00")]), ([5], [("11:00", "20:00")])], "-05:30"
    )

    assert built == body(
        {**{d: [("08:00:00", "12:00:00")] for d in WEEKDAYS}, 5: [("08:00:00", "20:00:00")]},
        "-05:30",
    )


@pytest.mark.parametrize(
    ("days", "windows", "offset", "message"),
    [
        pytest.param(
            [1],
            [("08:00", "08:00")],
            "+08:00",
            "window '08:00-08:00' begins where it ends, so it holds no time",
            id="zero-length",
        ),
        pytest.param(
            [1],
            [("00:00", "00:00")],
            "+08:00",
            "window '00:00-00:00' begins where it ends, so it holds no time",
            id="zero-length-midnight",
        ),
        pytest.param(
            [1],
            [("23:59", "24:00")],
            "+08:00",
            "window '23:59-24:00' holds no time: the API writes the end of a day as 23:59:00, so no window can begin at 23:59 or later",
            id="only-the-last-minute",
        ),
        pytest.param(
            [8], [("08:00", "09:00")], "+08:00", "day 8 is not a day of the week 1..7", id="day-8"
        ),
        pytest.param(
            [True],
            [("08:00", "09:00")],
            "+08:00",
            "day True is not a day of the week 1..7",
            id="bool-day",
        ),
        pytest.param([], [("08:00", "09:00")], "+08:00", "no days given", id="no-days"),
        pytest.param([1], [], "+08:00", "no windows for days [1]", id="no-windows"),
        pytest.param(
            [1],
            [("24:00", "06:00")],
            "+08:00",
            "'24:00' in '24:00-06:00' is not a time of day",
            id="begin-24:00",
        ),
        pytest.param(
            [1],
            [("08:00", "25:00")],
            "+08:00",
            "'25:00' in '08:00-25:00' is not a time of day",
            id="hour-25",
        ),
        pytest.param(
            [1],
            [("08:00", "09:00")],
            "GMT+08:00",
            "timezone 'GMT+08:00' is not a fixed offset like +08:00",
            id="gmt-offset",
        ),
        pytest.param(
            [1],
            [("08:00", "09:00")],
            "Asia/Shanghai",
            "timezone 'Asia/Shanghai' is not a fixed offset like +08:00",
            id="zone-name",
        ),
        pytest.param(
            [1],
            [("08:00", "09:00")],
            "+15:00",
            "timezone '+15:00' is not a fixed offset like +08:00",
            id="offset-out-of-range",
        ),
    ],
)
def test_weekly_schedule_refuses(
    days: list[int], windows: list[tuple[str, str]], offset: str, message: str
) -> None:
    """Inputs that are not a schedule fail with what is wrong and how to write it."""
    with pytest.raises(ScheduleError) as caught:
        weekly_schedule(days, windows, offset)

    assert (str(caught.value), bool(caught.value.fix)) == (message, True)


def test_zero_length_fix_says_how_to_write_all_day() -> None:
    """A zero-length window's fix names the way to ask for the whole day."""
    with pytest.raises(ScheduleError) as caught:
        weekly_schedule([1], [("00:00", "00:00")], "+08:00")

    assert caught.value.fix == (
        "for the whole day write 00:00-24:00 or all day; otherwise make the end differ"
    )


# ---------------------------------------------------------------- describing


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        pytest.param(
            weekly_schedule(WEEKDAYS, [("08:00", "18:00")], "+08:00"),
            "Mon-Fri 08:00-18:00 (UTC+08:00)",
            id="office-hours",
        ),
        pytest.param(
            weekly_schedule(ALL_WEEK, [("00:00", "24:00")], "+00:00"),
            "Mon-Sun 00:00-23:59 (UTC+00:00)",
            id="all-day",
        ),
        pytest.param(
            weekly_schedule(WEEKDAYS, [("22:00", "06:00")], "+08:00"),
            "Mon 22:00-23:59; Tue-Fri 00:00-06:00, 22:00-23:59; Sat 00:00-06:00 (UTC+08:00)",
            id="nights",
        ),
        pytest.param(
            weekly_schedule([1, 3, 5], [("08:00", "12:00"), ("13:00", "18:00")], "-05:30"),
            "Mon 08:00-12:00, 13:00-18:00; Wed 08:00-12:00, 13:00-18:00;"
            " Fri 08:00-12:00, 13:00-18:00 (UTC-05:30)",
            id="apart-days",
        ),
        pytest.param(
            weekly_schedule([7], [("22:00", "06:00")], "+08:00"),
            "Mon 00:00-06:00; Sun 22:00-23:59 (UTC+08:00)",
            id="sunday-night",
        ),
        pytest.param(
            weekly_schedule([2], [("08:00:30", "09:00")], "+08:00"),
            "Tue 08:00:30-09:00 (UTC+08:00)",
            id="seconds-shown",
        ),
        pytest.param(
            {**body({}), "days_of_week": [1, 2], "periods": [[], []]},
            "never (UTC+08:00)",
            id="no-windows",
        ),
    ],
)
def test_describe(schedule: Schedule, expected: str) -> None:
    """A schedule reads as days then windows, consecutive equal days grouped, with its offset."""
    assert describe(schedule) == expected


def test_describe_refuses_undocumented_body() -> None:
    """describe will not word a body the API would not take."""
    with pytest.raises(ScheduleError, match="timezone 'GMT\\+08:00' is not a fixed UTC offset"):
        describe(body({1: [("08:00:00", "09:00:00")]}, "GMT+08:00"))


def test_parse_description_reads_the_documented_example_back() -> None:
    """The documented example's description types back into the documented body."""
    text = "Fri 22:15-23:59; Sat 00:00-23:59; Sun 22:15-23:59 (UTC+08:00)"

    assert json.dumps(parse_description(text)) == json.dumps(json.loads(DOCUMENTED_EXAMPLE))


@pytest.mark.parametrize(
    "text",
    ["Mon-Fri 08:00-18:00", "never (UTC+08:00)", "08:00-18:00 (UTC+08:00)"],
    ids=["no-offset", "never", "no-days"],
)
def test_parse_description_refuses(text: str) -> None:
    """Text without an offset, without days or without windows is not a description."""
    with pytest.raises(ScheduleError):
        parse_description(text)


# ---------------------------------------------------------------- reading sheet text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Mon-Fri", (1, 2, 3, 4, 5), id="range"),
        pytest.param("mon, wed ,FRI", (1, 3, 5), id="list"),
        pytest.param("1-5", (1, 2, 3, 4, 5), id="numbers"),
        pytest.param("6,7", (6, 7), id="number-list"),
        pytest.param("Sat-Mon", (1, 6, 7), id="wraps-past-sunday"),
        pytest.param("Monday to Friday", (1, 2, 3, 4, 5), id="words"),
        pytest.param("Mon – Fri", (1, 2, 3, 4, 5), id="en-dash"),
        pytest.param("weekdays", (1, 2, 3, 4, 5), id="weekdays"),
        pytest.param("Weekends", (6, 7), id="weekends"),
        pytest.param("daily", (1, 2, 3, 4, 5, 6, 7), id="daily"),
        pytest.param("every day", (1, 2, 3, 4, 5, 6, 7), id="every-day"),
        pytest.param("Mon-Sun", (1, 2, 3, 4, 5, 6, 7), id="mon-sun"),
        pytest.param("weekdays, sat", (1, 2, 3, 4, 5, 6), id="set-and-day"),
        pytest.param("周一至周五", (1, 2, 3, 4, 5), id="chinese-range"),
        pytest.param("周一到周五", (1, 2, 3, 4, 5), id="chinese-range-dao"),
        pytest.param("星期六、星期日", (6, 7), id="chinese-list"),
        pytest.param("周一，周三；周五", (1, 3, 5), id="chinese-full-width-separators"),
        pytest.param("每天", (1, 2, 3, 4, 5, 6, 7), id="chinese-daily"),
        pytest.param("工作日", (1, 2, 3, 4, 5), id="chinese-workdays"),
        pytest.param("Mon-Wed, Fri", (1, 2, 3, 5), id="range-and-day"),
        pytest.param("1,2,3,4,5", (1, 2, 3, 4, 5), id="canonical-is-fixed-point"),
        pytest.param("１－５", (1, 2, 3, 4, 5), id="full-width-digits"),
    ],
)
def test_parse_days(text: str, expected: tuple[int, ...]) -> None:
    """Day lists people write become weekday numbers, Monday = 1, sorted."""
    assert parse_days(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("Funday", "'Funday' is not a day of the week", id="word"),
        pytest.param("8", "'8' is not a day of the week", id="eight"),
        pytest.param(
            "Mon-Fri-Sun",
            "'Mon-Fri-Sun' is not a day of the week",
            id="two-dashes",
        ),
        pytest.param("0-3", "'0' in '0-3' is not a day of the week", id="zero"),
        pytest.param("-", "'-' is not a day of the week", id="dash"),
        pytest.param("", "no days in ''", id="empty"),
    ],
)
def test_parse_days_refuses(text: str, message: str) -> None:
    """A word that is not a day is an error that says how to write days."""
    with pytest.raises(ScheduleError) as caught:
        parse_days(text)

    assert (str(caught.value), caught.value.fix.startswith("write days as Mon-Fri")) == (
        message,
        True,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("08:00-18:00", (("08:00:00", "18:00:00"),), id="hh:mm"),
        pytest.param("8:00 - 18:00", (("08:00:00", "18:00:00"),), id="spaces"),
        pytest.param("08:00:00-18:00:00", (("08:00:00", "18:00:00"),), id="canonical"),
        pytest.param("8-18", (("08:00:00", "18:00:00"),), id="bare-hours"),
        pytest.param("8 to 18", (("08:00:00", "18:00:00"),), id="to"),
        pytest.param("8am-6pm", (("08:00:00", "18:00:00"),), id="am-pm"),
        pytest.param("8:30 a.m. - 6 P.M.", (("08:30:00", "18:00:00"),), id="a.m.-p.m."),
        pytest.param("12am-12pm", (("00:00:00", "12:00:00"),), id="midnight-noon"),
        pytest.param("22:00~24:00", (("22:00:00", EOD),), id="to-midnight"),
        pytest.param("22:00-23:59:59", (("22:00:00", EOD),), id="to-23:59:59"),
        pytest.param("22:00-06:00", (("22:00:00", "06:00:00"),), id="crossing-kept-whole"),
        pytest.param(
            "08:00-12:00, 13:00-18:00",
            (("08:00:00", "12:00:00"), ("13:00:00", "18:00:00")),
            id="two",
        ),
        pytest.param(
            "08:00-12:00 13:00-18:00",
            (("08:00:00", "12:00:00"), ("13:00:00", "18:00:00")),
            id="two-spaced",
        ),
        pytest.param(
            "8am-12pm 1pm-6pm",
            (("08:00:00", "12:00:00"), ("13:00:00", "18:00:00")),
            id="two-spaced-am-pm",
        ),
        pytest.param(
            "08:00-12:00\n13:00-18:00",
            (("08:00:00", "12:00:00"), ("13:00:00", "18:00:00")),
            id="two-lines",
        ),
        pytest.param(
            "08：00－12：00，13：00～18：00",
            (("08:00:00", "12:00:00"), ("13:00:00", "18:00:00")),
            id="full-width",
        ),
        pytest.param("8:00至18:00", (("08:00:00", "18:00:00"),), id="chinese-zhi"),
        pytest.param("all day", (("00:00:00", EOD),), id="all-day"),
        pytest.param("24/7", (("00:00:00", EOD),), id="24/7"),
        pytest.param("全天", (("00:00:00", EOD),), id="chinese-all-day"),
        pytest.param("00:00-24:00", (("00:00:00", EOD),), id="00:00-24:00"),
    ],
)
def test_parse_windows(text: str, expected: tuple[tuple[str, str], ...]) -> None:
    """Time windows people write become hh:mm:ss pairs, the end of the day as 23:59:00."""
    assert parse_windows(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("25:00-26:00", "'25:00' in '25:00-26:00' is not a time of day", id="hour-25"),
        pytest.param("08:00", "'08:00' is not a time window", id="one-time"),
        pytest.param(
            "08:61-09:00", "'08:61' in '08:61-09:00' is not a time of day", id="minute-61"
        ),
        pytest.param("soon-later", "'soon-later' is not a time window", id="words"),
        pytest.param("8-9-10", "'8-9-10' is not a time window", id="three-times"),
        pytest.param("13pm-2pm", "'13pm' in '13pm-2pm' is not a 12-hour time", id="13pm"),
        pytest.param(
            "08:00-08:00",
            "window '08:00-08:00' begins where it ends, so it holds no time",
            id="zero-length",
        ),
        pytest.param(
            "08:00-12:00, later",
            "'later' in '08:00-12:00, later' is not a time window",
            id="one-bad-of-two",
        ),
        pytest.param(" , ", "no time windows in ' , '", id="only-separators"),
    ],
)
def test_parse_windows_refuses(text: str, message: str) -> None:
    """A window that is not two times of day is an error that says how to write windows."""
    with pytest.raises(ScheduleError) as caught:
        parse_windows(text)

    assert (str(caught.value), bool(caught.value.fix)) == (message, True)


# ---------------------------------------------------------------- time zones


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("+8", "+08:00", id="+8"),
        pytest.param("+08", "+08:00", id="+08"),
        pytest.param("+08:00", "+08:00", id="documented"),
        pytest.param("+8:00", "+08:00", id="+8:00"),
        pytest.param("+0800", "+08:00", id="+0800"),
        pytest.param("UTC+8", "+08:00", id="UTC+8"),
        pytest.param("utc +8", "+08:00", id="utc-space"),
        pytest.param("GMT+08:00", "+08:00", id="GMT+08:00"),
        pytest.param("GMT-5:30", "-05:30", id="GMT-5:30"),
        pytest.param("-05:30", "-05:30", id="-05:30"),
        pytest.param("+05:45", "+05:45", id="nepal"),
        pytest.param("−5", "-05:00", id="unicode-minus"),
        pytest.param("＋８：００", "+08:00", id="full-width"),
        pytest.param("-12:00", "-12:00", id="westmost"),
        pytest.param("+14:00", "+14:00", id="eastmost"),
        pytest.param("UTC", "+00:00", id="UTC"),
        pytest.param("gmt", "+00:00", id="gmt"),
        pytest.param("Z", "+00:00", id="Z"),
        pytest.param("UTC-0", "+00:00", id="minus-zero"),
        pytest.param("GMT0", "+00:00", id="GMT0"),
        pytest.param("北京时间", "+08:00", id="beijing-time-zh"),
        pytest.param("中国标准时间", "+08:00", id="china-standard-time-zh"),
        pytest.param("东八区", "+08:00", id="east-eight-zh"),
        pytest.param("Beijing Time", "+08:00", id="beijing-time"),
        pytest.param("China Standard Time", "+08:00", id="china-standard-time"),
        pytest.param("Asia/Shanghai", "+08:00", id="Asia/Shanghai"),
        pytest.param("asia/shanghai", "+08:00", id="lower-case-zone"),
        pytest.param("ASIA/KOLKATA", "+05:30", id="upper-case-zone"),
        pytest.param("PRC", "+08:00", id="PRC"),
    ],
)
def test_normalize_offset_spellings(text: str, expected: str) -> None:
    """Every accepted spelling of an offset without daylight saving becomes +hh:mm, no warning."""
    result = normalize_offset(text, on=JAN)

    assert (result.offset, result.warning) == (expected, None)


def test_zone_name_is_reported_canonically() -> None:
    """A zone name matched without case is reported in its canonical spelling."""
    assert normalize_offset(" asia/SHANGHAI ", on=JAN) == ZoneResult(
        "+08:00", None, "Asia/Shanghai"
    )


BERLIN_WARNING = (
    "Europe/Berlin observes daylight saving (standard time +01:00, daylight saving time +02:00);"
    " the schedule uses {used}, its offset on {on}. A schedule holds one fixed offset and cannot"
    " follow daylight saving: while {other} applies, the task runs 1 hour off local clock time."
)


@pytest.mark.parametrize(
    ("zone", "on", "offset", "warning"),
    [
        pytest.param(
            "Europe/Berlin",
            JAN,
            "+01:00",
            BERLIN_WARNING.format(used="+01:00", on="2026-01-15", other="+02:00"),
            id="berlin-winter",
        ),
        pytest.param(
            "europe/berlin",
            JUL,
            "+02:00",
            BERLIN_WARNING.format(used="+02:00", on="2026-07-15", other="+01:00"),
            id="berlin-summer",
        ),
        pytest.param(
            "America/New_York",
            JAN,
            "-05:00",
            "America/New_York observes daylight saving (standard time -05:00, daylight saving"
            " time -04:00); the schedule uses -05:00, its offset on 2026-01-15. A schedule holds"
            " one fixed offset and cannot follow daylight saving: while -04:00 applies, the task"
            " runs 1 hour off local clock time.",
            id="new-york-winter",
        ),
        pytest.param(
            "Australia/Lord_Howe",
            JUL,
            "+10:30",
            "Australia/Lord_Howe observes daylight saving (standard time +10:30, daylight saving"
            " time +11:00); the schedule uses +10:30, its offset on 2026-07-15. A schedule holds"
            " one fixed offset and cannot follow daylight saving: while +11:00 applies, the task"
            " runs 30 minutes off local clock time.",
            id="half-hour-daylight-saving",
        ),
    ],
)
def test_daylight_saving_zone_warns(zone: str, on: date, offset: str, warning: str) -> None:
    """A zone with daylight saving takes its offset on the date, warning with both offsets."""
    result = normalize_offset(zone, on=on)

    assert (result.offset, result.warning) == (offset, warning)


def test_new_york_summer_offset() -> None:
    """America/New_York in July is -04:00, still with the warning."""
    result = normalize_offset("America/New_York", on=JUL)

    assert (result.offset, "-05:00" in (result.warning or "")) == ("-04:00", True)


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        pytest.param(
            "CST",
            "CST is read as China Standard Time (+08:00), but it also names US Central Standard"
            " Time (-06:00) and Cuba Standard Time (-05:00); write +08:00 to be sure",
            id="cst",
        ),
        pytest.param(
            "Etc/GMT-8",
            "Etc/GMT-8 is +08:00: Etc/GMT names count the other way round (Etc/GMT+8 is 8 hours"
            " behind UTC); write +08:00 to be sure",
            id="etc-gmt",
        ),
    ],
)
def test_ambiguous_zone_words_warn(text: str, warning: str) -> None:
    """Zone words that people misread give +08:00 with a warning saying so."""
    assert (normalize_offset(text, on=JAN).offset, normalize_offset(text, on=JAN).warning) == (
        "+08:00",
        warning,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("8", "'8' has no sign, so it could be east or west of UTC", id="no-sign"),
        pytest.param(
            "UTC8", "'UTC8' has no sign, so it could be east or west of UTC", id="utc-no-sign"
        ),
        pytest.param("+15", "'+15' is not a UTC offset between -12:00 and +14:00", id="plus-15"),
        pytest.param(
            "-12:30", "'-12:30' is not a UTC offset between -12:00 and +14:00", id="minus-12:30"
        ),
        pytest.param(
            "+14:01", "'+14:01' is not a UTC offset between -12:00 and +14:00", id="plus-14:01"
        ),
        pytest.param("+08:75", "'+08:75' has 75 minutes; an hour has 60", id="minutes-75"),
        pytest.param(
            "Mars/Olympus",
            "'Mars/Olympus' is neither a UTC offset nor a time zone name",
            id="unknown-zone",
        ),
        pytest.param(
            "+8.5", "'+8.5' is neither a UTC offset nor a time zone name", id="decimal-hours"
        ),
        pytest.param(
            "localtime", "'localtime' is neither a UTC offset nor a time zone name", id="localtime"
        ),
        pytest.param("  ", "no time zone given", id="empty"),
    ],
)
def test_normalize_offset_refuses(text: str, message: str) -> None:
    """Text that is no offset and no zone fails with what is wrong and how to write it."""
    with pytest.raises(ScheduleError) as caught:
        normalize_offset(text, on=JAN)

    assert (str(caught.value), bool(caught.value.fix)) == (message, True)


def test_no_sign_fix_offers_both_directions() -> None:
    """A bare number's fix shows the east and the west offset it could mean."""
    with pytest.raises(ScheduleError) as caught:
        normalize_offset("8", on=JAN)

    assert caught.value.fix == "write +08:00 east of UTC (China is +08:00) or -08:00 west of it"


def test_schedule_error_is_a_value_error() -> None:
    """Callers that catch ValueError (as for TransformError) also catch ScheduleError."""
    assert issubclass(ScheduleError, ValueError)


# ---------------------------------------------------------------- checking the body


def test_documented_example_is_valid() -> None:
    """The reference's own example passes the check."""
    assert validate_documented(json.loads(DOCUMENTED_EXAMPLE)) == []


OLD_BODY = {
    "type": "weekly",
    "timezone": "GMT+08:00",
    "days_of_week": [1, 2, 3, 4, 5],
    "periods": [
        [
            {"begin_at": "08:00:00", "end_at": "12:00:00"},
            {"begin_at": "13:00:00", "end_at": "18:00:00"},
        ]
    ],
}
OFFICE = [("08:00:00", "18:00:00")]


@pytest.mark.parametrize(
    ("schedule", "problems"),
    [
        pytest.param(
            OLD_BODY,
            [
                "timezone 'GMT+08:00' is not a fixed UTC offset written like +08:00 (sign, two-digit hours, colon, minutes)",
                "periods has 1 lists; it needs 5, one per day of days_of_week (seven, Monday first, for [1..7])",
            ],
            id="old-one-list-body",
        ),
        pytest.param(
            body({1: OFFICE}, "GMT+08:00"),
            [
                "timezone 'GMT+08:00' is not a fixed UTC offset written like +08:00 (sign, two-digit hours, colon, minutes)"
            ],
            id="gmt-offset",
        ),
        pytest.param(
            body({1: OFFICE}, "Asia/Shanghai"),
            [
                "timezone 'Asia/Shanghai' is not a fixed UTC offset written like +08:00 (sign, two-digit hours, colon, minutes)"
            ],
            id="zone-name",
        ),
        pytest.param(
            body({1: OFFICE}, "+8:00"),
            [
                "timezone '+8:00' is not a fixed UTC offset written like +08:00 (sign, two-digit hours, colon, minutes)"
            ],
            id="one-digit-hour",
        ),
        pytest.param(
            body({1: OFFICE}, "+08:00\n"),
            [
                "timezone '+08:00\\n' is not a fixed UTC offset written like +08:00 (sign, two-digit hours, colon, minutes)"
            ],
            id="trailing-newline",
        ),
        pytest.param(
            body({1: OFFICE}, "+14:30"),
            ["timezone +14:30 is beyond +14:00, the eastmost offset"],
            id="beyond-14",
        ),
        pytest.param(
            body({1: OFFICE}, "-13:00"),
            ["timezone -13:00 is beyond -12:00, the westmost offset"],
            id="beyond-12",
        ),
        pytest.param(
            body({1: OFFICE}, "-00:00"),
            ["timezone -00:00 is not how UTC is written: write +00:00"],
            id="minus-zero",
        ),
        pytest.param(
            body({1: [("22:00:00", "24:00:00")]}),
            ["periods[0][0].end_at is 24:00:00; the end of a day is written 23:59:00"],
            id="end-24:00:00",
        ),
        pytest.param(
            body({1: [("22:00:00", "23:59:59")]}),
            ["periods[0][0].end_at 23:59:59 is after 23:59:00, which ends the day"],
            id="end-23:59:59",
        ),
        pytest.param(
            body({1: [("22:00:00", "06:00:00")]}),
            [
                "periods[0][0] begins at 22:00:00, not before its end 06:00:00; a window crossing midnight is two: up to 23:59:00, then from 00:00:00 on the next day"
            ],
            id="crossing-in-one-window",
        ),
        pytest.param(
            body({1: [("08:00:00", "08:00:00")]}),
            [
                "periods[0][0] begins at 08:00:00, not before its end 08:00:00; a window crossing midnight is two: up to 23:59:00, then from 00:00:00 on the next day"
            ],
            id="zero-length",
        ),
        pytest.param(
            body({1: [("8:00:00", "18:00")]}),
            [
                "periods[0][0].begin_at '8:00:00' is not a time hh:mm:ss",
                "periods[0][0].end_at '18:00' is not a time hh:mm:ss",
            ],
            id="not-hh:mm:ss",
        ),
        pytest.param(
            body({1: [("08:00:00", "12:00:00"), ("11:00:00", "13:00:00")]}),
            ["periods[0] has windows out of order or overlapping (11:00:00 before 12:00:00)"],
            id="overlapping",
        ),
        pytest.param(
            body({1: [("13:00:00", "14:00:00"), ("08:00:00", "09:00:00")]}),
            ["periods[0] has windows out of order or overlapping (08:00:00 before 14:00:00)"],
            id="out-of-order",
        ),
        pytest.param(
            {**body({1: OFFICE}), "periods": body({1: OFFICE})["periods"][:6]},
            [
                "periods has 6 lists; it needs 7, one per day of days_of_week (seven, Monday first, for [1..7])"
            ],
            id="six-lists",
        ),
        pytest.param(
            {**body({1: OFFICE}), "days_of_month": None},
            [
                "schedule has an unexpected key 'days_of_month' (monthly schedules only, not supported); it takes ['type', 'timezone', 'days_of_week', 'periods']"
            ],
            id="days-of-month",
        ),
        pytest.param(
            {**body({1: OFFICE}), "name": "x"},
            [
                "schedule has an unexpected key 'name'; it takes ['type', 'timezone', 'days_of_week', 'periods']"
            ],
            id="extra-key",
        ),
        pytest.param(
            {
                **body({}),
                "periods": [
                    [{"begin_at": "08:00:00", "end_at": "09:00:00", "x": 1}],
                    [],
                    [],
                    [],
                    [],
                    [],
                    [],
                ],
            },
            ["periods[0][0] has an unexpected key 'x'; it takes ['begin_at', 'end_at']"],
            id="extra-window-key",
        ),
        pytest.param(
            {**body({}), "periods": [[{"begin_at": "08:00:00"}], [], [], [], [], [], []]},
            ["periods[0][0] has no 'end_at'"],
            id="missing-window-key",
        ),
        pytest.param(
            {k: v for k, v in body({1: OFFICE}).items() if k != "type"},
            ["schedule has no 'type'"],
            id="missing-type",
        ),
        pytest.param(
            {**body({1: OFFICE}), "type": "monthly"},
            ["type is 'monthly'; batch tasks support only 'weekly'"],
            id="monthly",
        ),
        pytest.param(
            {**body({}), "days_of_week": [1, 1, 2, 3, 4, 5, 6]},
            ["days_of_week lists [1] more than once"],
            id="repeated-day",
        ),
        pytest.param(
            {**body({}), "days_of_week": [1, 2, 3, 4, 5, 6, 8]},
            ["days_of_week[6] is 8, not a day 1..7 (Monday..Sunday)"],
            id="day-8",
        ),
        pytest.param(
            {**body({}), "days_of_week": [True, 2, 3, 4, 5, 6, 7]},
            ["days_of_week[0] is True, not a day 1..7 (Monday..Sunday)"],
            id="bool-day",
        ),
        pytest.param(
            {**body({}), "days_of_week": [1, 3, 5], "periods": [[], [], []]},
            [
                "days_of_week [1, 3, 5] is not Monday..k in order, so a list in periods could belong to its weekday or to the day at its position; send [1, 2, 3, 4, 5, 6, 7] and seven lists, [] on days off"
            ],
            id="ambiguous-days",
        ),
        pytest.param(
            {**body({}), "days_of_week": []},
            ["days_of_week is empty; send [1, 2, 3, 4, 5, 6, 7]"],
            id="no-days",
        ),
        pytest.param(
            {**body({}), "periods": [[], [], [], [], [], [], {}]},
            ["periods[6] must be a list of windows, not dict"],
            id="day-not-a-list",
        ),
        pytest.param([], ["schedule must be a JSON object, not list"], id="not-an-object"),
    ],
)
def test_validate_documented_refuses(schedule: object, problems: list[str]) -> None:
    """Each departure from the documented shape is named precisely, and nothing else."""
    assert validate_documented(schedule) == problems


def test_validate_documented_accepts_a_shorter_monday_first_body() -> None:
    """Monday..Friday with five lists reads the same either way, so it is accepted."""
    schedule = {**body({}), "days_of_week": WEEKDAYS, "periods": [[], [], [], [], []]}

    assert validate_documented(schedule) == []


# ---------------------------------------------------------------- properties

DAY_MINUTES = 24 * 60
WEEK_MINUTES = 7 * DAY_MINUTES
LAST_MINUTE = DAY_MINUTES - 1  # 23:59, the API's end-of-day marker


def _minutes_walked(day: int, begin: int, end: int) -> set[int]:
    """Minutes of the week a window asks for: from begin, on the clock, until end."""
    length = (end - begin) % DAY_MINUTES or (DAY_MINUTES if end != begin else 0)
    start = (day - 1) * DAY_MINUTES + begin
    return {(start + k) % WEEK_MINUTES for k in range(length)}


def _without_marker(minutes: set[int]) -> set[int]:
    """The minutes, less each day's 23:59: the documented end-of-day marker, never a run minute."""
    return {m for m in minutes if m % DAY_MINUTES != LAST_MINUTE}


def _output_minutes(schedule: Schedule) -> set[int]:
    """Minutes of the week a built schedule's windows cover, begin inclusive, end exclusive."""
    covered: set[int] = set()
    for day, windows in zip(schedule["days_of_week"], schedule["periods"], strict=True):
        for window in windows:
            begin, end = (_minute_of(window[k]) for k in ("begin_at", "end_at"))
            covered |= _minutes_walked(day, begin, end)
    return covered


def _minute_of(clock: str) -> int:
    """``hh:mm:ss`` as minutes after midnight (the property uses whole minutes only)."""
    return int(clock[:2]) * 60 + int(clock[3:5])


@st.composite
def _window_text(draw: st.DrawFn) -> tuple[tuple[str, str], tuple[int, int]]:
    """A window as a sheet writes it, and its begin and end minute (end 1440 is midnight)."""
    begin, end = draw(st.integers(0, DAY_MINUTES - 1)), draw(st.integers(0, DAY_MINUTES))
    texts = [_clock_written(begin, draw), _clock_written(end, draw)]
    if end == DAY_MINUTES:
        texts[1] = draw(st.sampled_from(["24:00", "24:00:00", "23:59:59", "12am"]))
        end = 0 if texts[1] == "12am" else end
    return (texts[0], texts[1]), (begin, end)


def _clock_written(minute: int, draw: st.DrawFn) -> str:
    """One minute of the day in one of the ways people write it."""
    hour, rest = divmod(minute, 60)
    twelve = f"{hour % 12 or 12}:{rest:02d}{'pm' if hour >= 12 else 'am'}"
    return draw(st.sampled_from([f"{hour:02d}:{rest:02d}", f"{hour}:{rest:02d}:00", twelve]))


_RULES = st.lists(
    st.tuples(
        st.sets(st.integers(1, 7), min_size=1), st.lists(_window_text(), min_size=1, max_size=4)
    ),
    min_size=1,
    max_size=3,
)


# Precisely: the minutes of the week the input walks (begin to end on the clock, across midnight
# and from Sunday to Monday) equal the minutes the body's windows cover, once each day's 23:59 is
# set aside, because the documented 23:59:00 end is the end-of-day marker (a window ending there
# runs on to midnight). An input window holding no other minute is refused instead.
@given(_RULES)
def test_any_rules_give_the_documented_body_covering_the_same_minutes(
    rules: list[tuple[set[int], list[tuple[tuple[str, str], tuple[int, int]]]]],
) -> None:
    """Random days and windows (crossing midnight too) give a valid body asking for the same time."""
    asked = [
        _without_marker(_minutes_walked(day, *minutes))
        for days, windows in rules
        for day in days
        for _, minutes in windows
    ]
    texts = [(sorted(days), [text for text, _ in windows]) for days, windows in rules]
    if not all(asked):
        with pytest.raises(ScheduleError):
            weekly_schedule_from_rules(texts, "+08:00")
        return

    built = weekly_schedule_from_rules(texts, "+08:00")

    assert validate_documented(built) == []
    assert (len(built["periods"]), "24:00:00" in json.dumps(built)) == (7, False)
    assert _without_marker(_output_minutes(built)) == set().union(*asked)
    for windows in built["periods"]:
        for first, second in pairwise(windows):
            assert first["end_at"] < second["begin_at"], "touching windows were not merged"
    assert parse_description(describe(built)) == built


@given(st.sets(st.integers(1, 7), min_size=1), _window_text())
def test_text_and_values_give_the_same_body(
    days: set[int], window: tuple[tuple[str, str], tuple[int, int]]
) -> None:
    """Windows read from cell text build the same body as the same times given directly."""
    text, minutes = window
    if not _without_marker(_minutes_walked(1, *minutes)):
        return
    day_text = ",".join(str(d) for d in sorted(days, reverse=True))

    assert weekly_schedule(
        parse_days(day_text), parse_windows("-".join(text)), "+08:00"
    ) == weekly_schedule(sorted(days), [text], "+08:00")


@given(
    st.integers(-12 * 60, 14 * 60),
    st.sampled_from(["{s}{h}:{m:02d}", "UTC{s}{h:02d}{m:02d}", "GMT {s}{h:02d}:{m:02d}"]),
)
def test_any_offset_in_range_reads_back(minutes: int, spelling: str) -> None:
    """Every offset from -12:00 to +14:00, however spelled, reads as its documented text."""
    sign, (hours, rest) = ("-" if minutes < 0 else "+"), divmod(abs(minutes), 60)
    text = spelling.format(s=sign, h=hours, m=rest)
    expected = f"{sign if minutes else '+'}{hours:02d}:{rest:02d}"

    result = normalize_offset(text, on=JAN)

    assert (
        result.offset,
        result.warning,
        validate_documented(body({1: OFFICE}, result.offset)),
    ) == (
        expected,
        None,
        [],
    )
