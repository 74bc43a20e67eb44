"""``fill_down``: a value carried across rows that are not data, or over more rows than any
run above it, is a warning naming the rows (a merged group cell lost at the top of its
range would otherwise plan its cameras under another group without a word)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from loader.check.load import load
from loader.model.problems import Severity
from tests.conftest import FLAT_MAPPING, XlsxWriter

FILLED = FLAT_MAPPING.replace(
    'group = { column = "Group", required = true }',
    'group = { column = "Group", required = true, fill_down = true }',
)
HEADER = ["Group", "Camera", "Algorithm"]


def _rows(groups: list[tuple[str | None, int]]) -> list[list[str | None]]:
    """A sheet's rows: each group named once above its cameras (None: a blank group cell;
    0 cameras: a blank row)."""
    rows: list[list[str | None]] = [HEADER]
    number = 0
    for group, cameras in groups:
        if not cameras:
            rows.append([None, None, None])
            continue
        for at in range(cameras):
            number += 1
            rows.append([group if at == 0 else None, f"cam-{number:04d}", "c-smoke"])
    return rows


def _warnings(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path], rows: list[list[str | None]]
) -> list[tuple[int | None, str, str]]:
    checked = load(write_xlsx({"S": rows}), str(write_mapping(FILLED))).checked
    return [
        (p.row, p.value, p.message)
        for p in checked.problems
        if p.severity == Severity.WARNING and p.code == "filled-down"
    ]


def test_groups_named_once_above_their_cameras_fill_down_without_a_word(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """Runs no longer than the longest above, with no break in them: no warning."""
    rows = _rows([("g1", 5), ("g2", 3), ("g3", 5), ("g4", 1), ("g5", 4)])

    assert _warnings(write_xlsx, write_mapping, rows) == []


def test_a_group_cell_lost_at_the_top_of_its_range_is_a_warning_naming_the_rows(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """g2's cell is blank: g1 fills 4 + 6 rows, more than g0's 4 above it; rows 7-15 named."""
    rows = _rows([("g0", 4), ("g1", 4), (None, 6), ("g3", 2)])

    assert _warnings(write_xlsx, write_mapping, rows) == [
        (
            7,
            "g1",
            "group 'g1' of row 6 was filled down to rows 7-15: 10 rows in all, more than"
            " any group above it (4 at most)",
        )
    ]


def test_a_value_carried_across_a_blank_row_is_a_warning_naming_the_rows(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """A blank row between g1's cameras and cameras with no group cell: g1 crosses it."""
    rows = _rows([("g0", 5), ("g1", 2), ("", 0), (None, 2)])

    assert _warnings(write_xlsx, write_mapping, rows) == [
        (
            8,
            "g1",
            "group 'g1' of row 7 was filled down to rows 8-11 across row 9, which is not"
            " data (blank, a comment...)",
        )
    ]


def test_the_carried_rows_are_still_sent_under_the_value_above(
    write_xlsx: XlsxWriter, write_mapping: Callable[[str], Path]
) -> None:
    """A warning, not an error: the rows keep the value filled down (and can be sent)."""
    checked = load(
        write_xlsx({"S": _rows([("g0", 2), ("g1", 1), (None, 3)])}), str(write_mapping(FILLED))
    ).checked

    assert [c.group for c in checked.cameras] == ["g0", "g0", "g1", "g1", "g1", "g1"]
