"""Ids checked as the API checks them: a row whose id VIAS would refuse is rejected here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from loader.check.load import load
from tests.conftest import FLAT_MAPPING, XlsxWriter

HEADER = ["Camera", "Group", "Algorithm"]


def _problems(sheet: Path, mapping: Path) -> list[tuple[str, str, int | None, str, str, str]]:
    """(severity, code, row, column, value, message) of every problem of a load."""
    checked = load(sheet, str(mapping)).checked
    return [
        (p.severity.value, p.code, p.row, p.column, p.value, p.message) for p in checked.problems
    ]


def test_ids_outside_the_documented_form_reject_their_rows(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """A Hangul or upper-case source id and a group id with a slash are errors in the sheet's words."""
    sheet = write_xlsx(
        {
            "Cameras": [
                HEADER,
                ["부산-2-서구-0015", "g-one", "c-smoke"],
                ["CAM-0002", "g-one", "c-smoke"],
                ["cam-0003", "nw/ne", "c-smoke"],
                ["cam-0004", "g1", "c-smoke"],
            ]
        }
    )

    problems = _problems(sheet, write_mapping(FLAT_MAPPING))

    source = "Camera is not a VIAS video source id (4 to 36 of a-z, 0-9, - and _)"
    assert problems == [
        ("error", "bad-video_source_id", 2, "Camera", "부산-2-서구-0015", source),
        ("error", "bad-video_source_id", 3, "Camera", "CAM-0002", source),
        (
            "error",
            "bad-group",
            4,
            "Group",
            "nw/ne",
            "Group is not a VIAS group id (only a-z, 0-9, - and _)",
        ),
    ]


def test_a_replace_that_must_match_refuses_what_it_does_not_find(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """``must_match = true``: the replacement, or a rejection; never the raw value."""
    mapping = FLAT_MAPPING.replace(
        'video_source_id = { column = "Camera", required = true }',
        'video_source_id = { column = "Camera", required = true, transforms = ['
        '{ replace = "^CH(\\\\d+)$", with = "ch-\\\\1", must_match = true }] }',
    )
    sheet = write_xlsx(
        {"Cameras": [HEADER, ["CH0001", "g-one", "c-smoke"], ["부산-2", "g-one", "c-smoke"]]}
    )

    checked = load(sheet, str(write_mapping(mapping))).checked

    assert (
        [c.video_source_id for c in checked.cameras],
        [(p.code, p.row, p.value, p.message) for p in checked.problems],
    ) == (
        ["ch-0001"],
        [
            (
                "bad-video_source_id",
                3,
                "부산-2",
                "'부산-2' does not match the pattern '^CH(\\\\d+)$'",
            )
        ],
    )


def test_extract_keeps_the_match_or_rejects(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """``{ extract = ... }`` keeps the first group of the match; a value without one is refused."""
    mapping = FLAT_MAPPING.replace(
        'video_source_id = { column = "Camera", required = true }',
        'video_source_id = { column = "Camera", required = true, transforms = ['
        '{ extract = "id=([a-z0-9-]+)" }] }',
    )
    sheet = write_xlsx(
        {
            "Cameras": [
                HEADER,
                ["rtsp://h/x?id=cam-0001", "g-one", "c-smoke"],
                ["rtsp://h/y", "g-one", "c-smoke"],
            ]
        }
    )

    checked = load(sheet, str(write_mapping(mapping))).checked

    assert (
        [c.video_source_id for c in checked.cameras],
        [(p.code, p.row) for p in checked.problems],
    ) == (["cam-0001"], [("bad-video_source_id", 3)])


def test_a_column_of_ids_is_checked_whole_as_value_by_value() -> None:
    """The joined-column check of the documented form agrees with the pattern on each id,
    line breaks, lengths and characters outside the form included."""
    from loader.check.ids import _USUAL_ID, _usual

    values = ["cam-0001", "abc", "a" * 36, "a" * 37, "ab\ncd", "", "CAM-1", "x_y-z", "é123"]
    for column in (values, values[:4], [v for v in values if "\n" not in v and v.islower()]):
        assert _usual(column).tolist() == [_USUAL_ID.fullmatch(v) is not None for v in column]
