"""Schedules and time zones from sheet cells to the exact bytes sent, the plan and the results."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from loader.check.load import Loaded, load
from loader.check.validate import Checked, check
from loader.errors import ConfigError
from loader.planning.batches import plan
from loader.report import results as results_module
from loader.report.console import show_plan
from loader.report.summaries import format_plan
from loader.state.runstate import replay
from tests.conftest import TWO_SHEET_MAPPING, XlsxWriter

JUL = date(2026, 7, 15)
JAN = date(2026, 1, 15)
SCHEDULED_MAPPING = """
name = "scheduled"
[cameras]
sheet = "Cameras"
[cameras.columns]
video_source_id = { column = "Camera", required = true }
group = { column = "Group", required = true }
[groups]
sheet = "Groups"
[groups.columns]
group = { column = "Group", required = true }
days_of_week = "Days"
periods = "Hours"
timezone = "Timezone"
[task]
name_prefix = "night"
service_name = "c-smoke"
service_version = "3.0"
event_center = true
"""
GROUPS_HEADER = ["Group", "Days", "Hours", "Timezone"]
CAMERAS_HEADER = ["Camera", "Group"]
BERLIN_SUMMER = (
    "Europe/Berlin observes daylight saving (standard time +01:00, daylight saving time +02:00);"
    " the schedule uses +02:00, its offset on 2026-07-15. A schedule holds one fixed offset and"
    " cannot follow daylight saving: while +01:00 applies, the task runs 1 hour off local clock"
    " time."
)


@pytest.fixture
def inventory(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> Callable[..., Loaded]:
    """Load a Groups + Cameras workbook of (group, days, hours, zone) rows, a camera per row."""

    def build(groups: list[list[str]], mapping: str = SCHEDULED_MAPPING) -> Loaded:
        cameras = [[f"cam-{n:04d}", row[0]] for n, row in enumerate(groups, start=1)]
        sheet = write_xlsx(
            {"Cameras": [CAMERAS_HEADER, *cameras], "Groups": [GROUPS_HEADER, *groups]}
        )
        return load(sheet, str(write_mapping(mapping)))

    return build


def _checked_on(loaded: Loaded, on: date) -> Checked:
    """The loaded sheets checked again with zone names resolved on ``on``."""
    return check(loaded.mapping, loaded.cameras, loaded.groups, on=on)


def test_groups_schedules_are_sent_as_documented_byte_for_byte(
    inventory: Callable[..., Loaded],
) -> None:
    """Friday 22:00-06:00 ends on Saturday, Sunday's night wraps to Monday; GMT+08:00 is +08:00."""
    loaded = inventory(
        [
            ["g-night", "Fri", "22:00-06:00", "UTC+8"],
            ["g-sunday", "Sun", "23:00-01:30", "GMT+08:00"],
        ]
    )

    payloads = [
        b.content() for b in plan(loaded.checked.cameras, loaded.checked.settings_classes).batches
    ]

    assert payloads == [
        b'{"name":"night-fb532a51a5eb","service_name":"c-smoke","service_version":"3.0",'
        b'"schedule":{"type":"weekly","timezone":"+08:00","days_of_week":[1,2,3,4,5,6,7],'
        b'"periods":[[],[],[],[],[{"begin_at":"22:00:00","end_at":"23:59:00"}],'
        b'[{"begin_at":"00:00:00","end_at":"06:00:00"}],[]]},"output":{"event_center":true},'
        b'"batch_input":{"video_source_group":[{"video_source_group_id":"g-night",'
        b'"video_source_list":[{"video_source_id":"cam-0001"}]}]}}',
        b'{"name":"night-3ff7a47f6efe","service_name":"c-smoke","service_version":"3.0",'
        b'"schedule":{"type":"weekly","timezone":"+08:00","days_of_week":[1,2,3,4,5,6,7],'
        b'"periods":[[{"begin_at":"00:00:00","end_at":"01:30:00"}],[],[],[],[],[],'
        b'[{"begin_at":"23:00:00","end_at":"23:59:00"}]]},"output":{"event_center":true},'
        b'"batch_input":{"video_source_group":[{"video_source_group_id":"g-sunday",'
        b'"video_source_list":[{"video_source_id":"cam-0002"}]}]}}',
    ]


def test_a_daylight_saving_zone_takes_its_offset_on_the_plan_date_and_warns_its_rows(
    inventory: Callable[..., Loaded],
) -> None:
    """Europe/Berlin on 2026-07-15 is +02:00; its camera row is warned, naming the group column."""
    loaded = inventory(
        [
            ["g-berlin", "Mon-Fri", "08:00-18:00", "Europe/Berlin"],
            ["g-sh", "daily", "all day", "+8"],
        ]
    )

    checked = _checked_on(loaded, JUL)

    schedules = [c.task_settings.schedule for c in checked.settings_classes]
    assert [s.timezone for s in schedules if s] == ["+02:00", "+08:00"]
    assert [
        (p.severity.value, p.code, p.sheet, p.row, p.column, p.value, p.message)
        for p in checked.problems
    ] == [
        (
            "warning",
            "daylight-saving",
            "Cameras",
            2,
            "Timezone",
            "Europe/Berlin",
            BERLIN_SUMMER + " (from column 'Timezone' of sheet 'Groups')",
        )
    ]
    assert [c.video_source_id for c in checked.cameras] == ["cam-0001", "cam-0002"]


def test_the_date_passed_in_decides_a_zone_names_offset(inventory: Callable[..., Loaded]) -> None:
    """The same sheet planned in January sends +01:00 for Europe/Berlin: the date is a parameter."""
    loaded = inventory([["g-berlin", "Mon-Fri", "08:00-18:00", "europe/berlin"]])

    found = []
    for on in (JAN, JUL):
        checked = _checked_on(loaded, on)
        schedule = checked.settings_classes[0].task_settings.schedule
        found.append((schedule.timezone if schedule else None, checked.problems[0].message))

    assert [
        (offset, f"its offset on {on}" in message)
        for (offset, message), on in zip(found, (JAN, JUL), strict=True)
    ] == [
        ("+01:00", True),
        ("+02:00", True),
    ]


def test_a_zone_without_daylight_saving_is_its_offset_with_no_warning(
    inventory: Callable[..., Loaded],
) -> None:
    """Asia/Shanghai is +08:00 all year: no problem at all."""
    loaded = inventory([["g-sh", "Mon-Fri", "08:00-18:00", "Asia/Shanghai"]])

    checked = _checked_on(loaded, JUL)

    schedule = checked.settings_classes[0].task_settings.schedule
    assert (schedule.timezone if schedule else None, checked.problems) == ("+08:00", [])


def test_a_bad_time_zone_rejects_its_rows_with_the_fix(inventory: Callable[..., Loaded]) -> None:
    """A zone that is neither an offset nor a name is a row error saying how to write one."""
    loaded = inventory(
        [["g-x", "Mon-Fri", "08:00-18:00", "Mars/Base"], ["g-y", "Mon", "all day", "+8"]]
    )

    checked = loaded.checked

    assert [
        (p.sheet, p.row, p.code, p.column, p.value, p.message, p.fix) for p in checked.problems
    ] == [
        (
            "Cameras",
            2,
            "unknown-group",
            "Group",
            "g-x",
            "group 'g-x' has errors at sheet 'Groups' row 2",
            "fix the group's row",
        ),
        (
            "Groups",
            2,
            "bad-timezone",
            "Timezone",
            "Mars/Base",
            "'Mars/Base' is neither a UTC offset nor a time zone name",
            "write an offset such as +08:00, UTC+8, GMT-05:30 or +0800, or a zone such as"
            " Asia/Shanghai",
        ),
    ]


def test_task_defaults_accept_the_old_gmt_spelling_and_send_the_offset(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """``[task] timezone = "GMT+08:00"`` (the old spelling) still loads and is sent as +08:00."""
    sheet = write_xlsx(
        {
            "Cameras": [["Camera", "Group"], ["cam-0001", "g1"]],
            "Groups": [["Group", "Algorithm", "Days"], ["g1", "c-smoke", "Sat-Mon"]],
        }
    )

    checked = load(sheet, str(write_mapping(TWO_SHEET_MAPPING))).checked

    schedule = checked.settings_classes[0].task_settings.schedule
    assert schedule is not None
    assert (schedule.timezone, schedule.days_of_week, [len(d) for d in schedule.periods]) == (
        "+08:00",
        [1, 2, 3, 4, 5, 6, 7],
        [1, 0, 0, 0, 0, 1, 1],
    )


def test_a_daylight_saving_task_default_warns_once_naming_task(
    inventory: Callable[..., Loaded],
) -> None:
    """A zone in ``[task]`` (no column) is one warning for all its rows, naming ``[task]``."""
    mapping = (
        SCHEDULED_MAPPING.replace('timezone = "Timezone"\n', "") + 'timezone = "Europe/Berlin"\n'
    )
    loaded = inventory([["g1", "daily", "all day", ""], ["g2", "daily", "all day", ""]], mapping)

    checked = _checked_on(loaded, JUL)

    assert [
        (p.sheet, p.row, p.code, p.column, p.value, p.message.endswith(suffix))
        for p, suffix in zip(
            checked.problems, ["(from [task] timezone; 2 rows have it)", ""], strict=True
        )
    ] == [
        ("Cameras", 2, "daylight-saving", "timezone", "Europe/Berlin", True),
        ("Groups", 1, "unused-column", "Timezone", "", True),  # the sheet's own column is unread
    ]


def test_a_bad_time_zone_default_stops_before_any_row(inventory: Callable[..., Loaded]) -> None:
    """``[task] timezone`` that cannot be read is a ConfigError carrying the fix."""
    mapping = SCHEDULED_MAPPING.replace('timezone = "Timezone"\n', "") + 'timezone = "UTC8"\n'

    with pytest.raises(ConfigError) as caught:
        inventory([["g1", "daily", "all day", ""]], mapping)

    assert (caught.value.message.endswith("could be east or west of UTC"), caught.value.hint) == (
        True,
        "write +08:00 east of UTC (China is +08:00) or -08:00 west of it",
    )


def test_plan_summary_console_and_results_show_each_schedule(
    inventory: Callable[..., Loaded],
) -> None:
    """format_plan's "schedule", the plan table and the Batches sheet read like a person writes."""
    loaded = inventory(
        [
            ["g-night", "Fri", "22:00-06:00", "UTC+8"],
            ["g-office", "Mon-Fri", "08:00-12:00,13:00-18:00", "-05:30"],
        ]
    )
    planned = plan(loaded.checked.cameras, loaded.checked.settings_classes)
    summary = format_plan(planned, loaded.checked)
    console = Console(file=io.StringIO(), width=250)

    show_plan(console, planned, summary, None)

    expected = [
        "Fri 22:00-23:59; Sat 00:00-06:00 (UTC+08:00)",
        "Mon-Fri 08:00-12:00, 13:00-18:00 (UTC-05:30)",
    ]
    assert [b["schedule"] for b in summary["batches"]] == expected
    assert all(text in console.file.getvalue() for text in expected)  # type: ignore[attr-defined]
    assert results_module._batches(planned, replay([]))["Schedule"].tolist() == expected


def test_settings_without_a_schedule_show_an_empty_schedule(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """No schedule fields at all: no schedule sent, and an empty schedule in the summaries."""
    sheet = write_xlsx({"S": [["Camera", "Group"], ["cam-0001", "g1"]]})
    mapping = SCHEDULED_MAPPING.split("[groups]")[0].replace('sheet = "Cameras"\n', "")
    mapping += '[task]\nservice_name = "c-smoke"\nservice_version = "3.0"\nevent_center = true\n'
    checked = load(sheet, str(write_mapping(mapping))).checked
    planned = plan(checked.cameras, checked.settings_classes)

    summary = format_plan(planned, checked)

    assert ("schedule" in planned.batches[0].body, summary["batches"][0]["schedule"]) == (False, "")
    assert results_module._batches(planned, replay([]))["Schedule"].tolist() == [""]
