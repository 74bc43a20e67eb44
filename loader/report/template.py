"""
``bulkload template``: a blank input workbook for the default mapping, with an
Instructions sheet, a comment on every header, dropdowns for enumerated values (time zones
in the documented ``+08:00`` form), schedule columns kept as text, and an example row (its
first cell starts with ``#``, so it is skipped). Headers come from
``mappings/default.toml`` itself, so the template and the mapping cannot drift. [I/O]
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import xlsxwriter

from loader.check.mapping import Mapping, SheetSpec
from loader.model.vias import KNOWN_SERVICES

VALIDATED_ROWS: Final = 10_000
DAYS: Final = ("daily", "weekdays", "weekends", "Mon-Fri", "Mon-Sat", "Sat-Sun")
HOURS: Final = ("all day", "08:00-18:00", "07:00-19:00", "19:00-07:00", "08:00-12:00,13:00-18:00")
# The documented form (+08:00), China's first; then every whole hour, west to east.
TIMEZONES: Final = ("+08:00", *(f"{h:+03d}:00" for h in range(-12, 15) if h != 8))
YES_NO: Final = ("yes", "no")
# Columns kept as text, so Excel does not read +08:00 as a time or 1-5 as a date.
TEXT_FIELDS: Final = frozenset({"days_of_week", "periods", "timezone"})

HELP: Final = {
    "video_source_id": "The camera's video source id in VIAS (required). Case is folded to lower.",
    "group": "The video source group id in VIAS (required); Groups has one row per group.",
    "camera_name": "The camera's name; reconciliation matches tasks to cameras by it.",
    "target_roi": "Region of interest: x,y;x,y;x,y (polygons apart with |) or the API's JSON.",
    "description": "Task description, at most 500 characters.",
    "group_name": "A readable name for the group (shown in results only).",
    "service_name": "The algorithm's API id, e.g. c-smoke-and-fire-cloud (letters, digits, - _).",
    "service_version": "Algorithm version: a-z, 0-9 and dots, 3 to 32 characters, e.g. 3.0.",
    "resource_order_id": "Only for commercial algorithms: the resource order id.",
    "days_of_week": "Days the task runs: daily, weekdays, Mon-Fri, Mon,Wed,Fri, 1-5 ...",
    "periods": (
        "Hours the task runs: 08:00-18:00, several as 08:00-12:00,13:00-18:00, 22:00-06:00"
        " across midnight, or all day."
    ),
    "timezone": (
        "Time zone of the schedule: an offset such as +08:00 (the form VIAS takes; +05:30 and"
        " UTC+8 work too) or a zone such as Asia/Shanghai, sent as its offset on the day of the"
        " plan."
    ),
    "event_center": "Send results to the Event Center: yes or no.",
    "obs_bucket": "OBS bucket for results (with OBS Path).",
    "obs_path": "OBS path for results, e.g. vias/site-a (no leading /).",
    "dis_stream": "DIS stream name for results.",
    "config_common": 'Algorithm settings as a JSON object, e.g. {"render_result_sw": 1}.',
}
DROPDOWNS: Final = {
    "service_name": (KNOWN_SERVICES, "warning"),
    "days_of_week": (DAYS, "warning"),
    "periods": (HOURS, "warning"),
    "timezone": (TIMEZONES, "warning"),
    "event_center": (YES_NO, "stop"),
}
EXAMPLES: Final = {
    "video_source_id": "#example-3f2a1b0c9d8e4f7a",
    "group": "0a1b2c3d4e5f40718293a4b5c6d7e8f9",
    "camera_name": "SZ lobby east",
    "target_roi": "100,80;900,80;900,600;100,600",
    "group_name": "深圳总部-大堂",
    "service_name": "c-smoke-and-fire-cloud",
    "service_version": "3.0",
    "days_of_week": "daily",
    "periods": "all day",
    "timezone": "+08:00",
    "event_center": "yes",
}
INSTRUCTIONS: Final = (
    "How to fill this workbook",
    "",
    "1. Groups: one row per video source group, with the algorithm and schedule its cameras get.",
    "2. Cameras: one row per camera, with the Group ID of its group.",
    "3. Empty Groups cells take the defaults of mappings/default.toml ([task]).",
    "4. Rows whose first cell starts with # are notes and are skipped (like the example rows).",
    "5. Time zones are sent as a fixed offset such as +08:00. A zone name (Europe/Berlin) is"
    " sent as its offset on the day of the plan, with a warning if it observes daylight saving.",
    "6. Check:  bulkload validate this.xlsx     Dry run:  bulkload plan this.xlsx --out plan/",
    "7. Send:   bulkload run this.xlsx           (credentials from BULKLOAD_* variables)",
    "",
    "Every problem is reported with its sheet, row, column, value and how to fix it.",
)


def write_template(path: Path, mapping: Mapping) -> None:
    """Write the template for ``mapping`` (the default layout) to ``path``."""
    if mapping.groups is None:
        raise ValueError("the template is for a mapping with a Groups sheet")
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_numbers": False}
    )
    header = book.add_format(
        {"bold": True, "bg_color": "#305496", "font_color": "#FFFFFF", "border": 1}
    )
    example = book.add_format({"italic": True, "font_color": "#7F7F7F"})
    text = book.add_format({"num_format": "@"})
    notes = book.add_worksheet("Instructions")
    notes.set_column(0, 0, 110)
    for row, line in enumerate(INSTRUCTIONS):
        notes.write_string(row, 0, line, header if row == 0 else None)
    lists = _list_ranges()
    for title, spec in (("Cameras", mapping.cameras), ("Groups", mapping.groups)):
        _sheet(book, title, spec, header, example, text, lists)
    _write_lists(book)
    book.close()


def _list_ranges() -> dict[str, str]:
    """Where each dropdown's choices stand on the hidden Lists sheet."""
    ranges = {}
    for column, (field, (choices, _)) in enumerate(DROPDOWNS.items()):
        letter = chr(ord("A") + column)
        ranges[field] = f"=Lists!${letter}$1:${letter}${len(choices)}"
    return ranges


def _write_lists(book: xlsxwriter.Workbook) -> None:
    """Dropdown choices on a hidden sheet (a list typed in the rule is capped at 255 chars)."""
    sheet = book.add_worksheet("Lists")
    for column, (choices, _) in enumerate(DROPDOWNS.values()):
        for row, choice in enumerate(choices):
            sheet.write_string(row, column, choice)
    sheet.hide()


def _sheet(
    book: xlsxwriter.Workbook,
    title: str,
    spec: SheetSpec,
    header: object,
    example: object,
    text: object,
    lists: dict[str, str],
) -> None:
    """One input sheet: headers with comments, an example row, dropdowns below it."""
    sheet = book.add_worksheet(title)
    fields = [(f, c.names[0]) for f, c in spec.columns.items() if c.names]
    if "notes" not in {h.lower() for _, h in fields}:
        fields.append(("", "Notes"))
    for column, (field, name) in enumerate(fields):
        sheet.write_string(0, column, name, header)
        sheet.write_comment(
            0,
            column,
            HELP.get(field, "Free text; not sent to the API."),
            {"x_scale": 2.5, "y_scale": 1.5},
        )
        sheet.set_column(
            column, column, max(14, len(name) + 4), text if field in TEXT_FIELDS else None
        )
        value = EXAMPLES.get(field, "")
        if field == spec_key(spec) and title == "Groups":
            value = "#" + EXAMPLES["group"]
        if value:
            sheet.write_string(1, column, value, example)
        if field in DROPDOWNS:
            _, style = DROPDOWNS[field]
            sheet.data_validation(
                1,
                column,
                VALIDATED_ROWS,
                column,
                {
                    "validate": "list",
                    "source": lists[field],
                    "error_type": style,
                    "input_title": name,
                    "input_message": HELP.get(field, "")[:250],
                },
            )
    sheet.freeze_panes(1, 0)


def spec_key(spec: SheetSpec) -> str:
    """The field a sheet is keyed on (group for Groups, video_source_id for Cameras)."""
    return "group" if "video_source_id" not in spec.columns else "video_source_id"
