"""Files without a header row: mapped by letter or position, and warned about when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from loader.check.load import load
from loader.read.layout import column_letter

ROWS = "cam-0001,g-one,rtsp://10.0.0.1/a\ncam-0002,g-one,rtsp://10.0.0.2/a\ncam-0003,,\n"
TASK = '[task]\nservice_name = "c-smoke"\nservice_version = "3.0"\nevent_center = true\n'


def _files(tmp_path: Path, columns: str, header: str = "header = false\n") -> tuple[Path, str]:
    """The headerless CSV and a mapping with ``columns`` under [cameras.columns]."""
    sheet = tmp_path / "cameras.csv"
    sheet.write_text(ROWS, encoding="utf-8")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        f'name = "headerless"\n[cameras]\n{header}[cameras.columns]\n{columns}{TASK}',
        encoding="utf-8",
    )
    return sheet, str(mapping)


@pytest.mark.parametrize(
    "columns",
    [
        pytest.param(
            'video_source_id = "A"\ngroup = { column = "B", default = "g-one" }\n', id="letters"
        ),
        pytest.param(
            'video_source_id = "1"\ngroup = { column = "2", default = "g-one" }\n', id="positions"
        ),
    ],
)
def test_header_false_reads_every_row_from_row_1(tmp_path: Path, columns: str) -> None:
    """``header = false``: row 1 is a camera; columns by letter or by position."""
    sheet, mapping = _files(tmp_path, columns)

    checked = load(sheet, mapping).checked

    assert ([(c.row, c.video_source_id, c.group) for c in checked.cameras], checked.problems) == (
        [(1, "cam-0001", "g-one"), (2, "cam-0002", "g-one"), (3, "cam-0003", "g-one")],
        [],
    )


def test_a_header_row_that_looks_like_data_is_warned_about(tmp_path: Path) -> None:
    """Mapped by the first camera's values, the file loses row 1: a warning says how to map it."""
    columns = 'video_source_id = "cam-0001"\ngroup = { column = "g-one", default = "g-one" }\n'
    sheet, mapping = _files(tmp_path, columns, header="ignore = ['rtsp*']\n")

    checked = load(sheet, mapping).checked

    assert [(p.severity.value, p.code, p.row, p.message, p.fix) for p in checked.problems] == [
        (
            "warning",
            "header-looks-like-data",
            1,
            "the header row (row 1) looks like data ('cam-0001',"
            " 'rtsp://10.0.0.1/a'); if the file has no header row, its first row is lost",
            'set header = false in the mapping and name columns by letter (video_source_id = "A")'
            ' or position ("1")',
        )
    ]


def test_column_letters_go_on_past_z() -> None:
    """Positions 0, 25, 26 and 701 are A, Z, AA and ZZ, as Excel names them."""
    assert [column_letter(n) for n in (0, 25, 26, 701)] == ["A", "Z", "AA", "ZZ"]
