"""Ids checked as the API checks them: a row whose id VIAS would refuse is rejected here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from loader.check import ids
from loader.check.codes import ColumnCodes
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


# Ids near the documented form and far from it: its characters, upper case, spaces and
# control characters, the separator the column is joined with, letters beyond ASCII.
_ID = st.one_of(
    st.text(alphabet=st.sampled_from(list("ab09-_Z \t\n\x00\x7f/é부\u3000")), max_size=40),
    st.from_regex(r"[a-z0-9_-]{0,40}", fullmatch=True),
    st.text(max_size=8),
)


def _one_by_one(values: list[str]) -> tuple[list[bool], list[bool], list[bool]]:
    """The definition of ``_id_checks``: each id searched alone."""
    return (
        [ids._BAD_ID.search(v) is not None for v in values],
        [v != "" and ids._GOOD_ID.search(v) is None for v in values],
        [ids._ID_CHARACTERS.fullmatch(v) is None for v in values],
    )


@settings(max_examples=400)
@given(
    st.lists(_ID, max_size=30).flatmap(
        lambda distinct: (
            st.lists(st.sampled_from(distinct), max_size=50) if distinct else st.just([])
        )
    )
    | st.lists(_ID, max_size=50)
)
@example(["ab cd", "abcd"])
@example(["abc\t", "abcd", "abcd\n", "ABCD"])
@example(["a" * 37, "a" * 36, "abc", "", "x\x00yz", "é123", "nw/ne"])
def test_id_checks_of_a_column_are_each_id_searched_alone(values: list[str]) -> None:
    """A column's ids, repeated or distinct, are found spaced, odd and outside the form
    exactly as each id searched alone is."""
    column = np.empty(len(values), dtype=object)
    column[:] = values

    found = ids._id_checks(column)

    assert tuple(mask.tolist() for mask in found) == _one_by_one(values)


def test_a_column_of_distinct_ids_with_odd_ones_finds_them_on_their_rows() -> None:
    """A column of distinct ids (searched without a table of distinct values) finds the
    odd ones where they are."""
    values = [f"cam-{n:06d}" for n in range(20_000)]
    values[7], values[19_999] = "CAM 7", "cam/x"
    column = np.empty(len(values), dtype=object)
    column[:] = values

    found = ids._id_checks(column)

    assert tuple(mask.tolist() for mask in found) == _one_by_one(values)


@settings(max_examples=400)
@given(st.lists(_ID | st.text(alphabet=st.sampled_from(list("ab-\ud800\udfff\x00é")), max_size=6)))
@example(["abcd", "a\ud800cd", "abc"])
def test_usual_ids_are_those_of_the_pattern(values: list[str]) -> None:
    """``_usual``, told by bytes between separators, is the pattern's fullmatch of each
    value: lone surrogates, the separator and letters beyond ASCII included."""
    expected = [ids._USUAL_ID.fullmatch(v) is not None for v in values]

    assert ids._usual(values).tolist() == expected


@given(
    st.lists(_ID, max_size=10).flatmap(
        lambda distinct: (
            st.lists(st.sampled_from(distinct), max_size=40) if distinct else st.just([])
        )
    ),
    st.booleans(),
)
def test_id_checks_from_a_columns_codes_are_each_id_searched_alone(
    values: list[str], shared: bool
) -> None:
    """A column whose codes are known is told on its distinct ids, with the same findings
    on the same rows as each id searched alone."""
    column = np.empty(len(values), dtype=object)
    column[:] = values
    codes = ColumnCodes()
    if shared:
        codes.of(column)

    found = ids._known_id_checks(column, codes)

    assert tuple(mask.tolist() for mask in found) == _one_by_one(values)
