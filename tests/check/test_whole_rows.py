"""Every data row is read: keys from templates, columns filled only partly, footers warned."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader.check.load import load
from loader.check.validate import STATUS

TEMPLATE_KEY = """
name = "template-key"
[cameras]
ignore = ["note"]
[cameras.columns]
video_source_id = { template = "x-{cam_id}", required = true }
group = { column = "grp", default = "g-one" }
camera_name = "name"
[task]
service_name = "c-smoke"
service_version = "3.0"
event_center = true
"""


def _write(tmp_path: Path, rows: list[list[str]], name: str = "sheet.csv") -> Path:
    """Rows as a CSV file in tmp_path."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _mapping(tmp_path: Path, text: str) -> str:
    """A mapping file in tmp_path; its path as ``-m`` takes it."""
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_rows_with_only_a_template_key_are_cameras_not_footers(tmp_path: Path) -> None:
    """The issue's six lines: rows 5-7 hold only cam_id, which the key's template reads."""
    rows = [["cam_id", "grp", "name"]]
    rows += [[f"cam-000{n}", "g-one", "ABC"[n - 1]] for n in (1, 2, 3)]
    rows += [[f"cam-000{n}", "", ""] for n in (4, 5, 6)]
    sheet = _write(tmp_path, rows)

    checked = load(sheet, _mapping(tmp_path, TEMPLATE_KEY)).checked

    assert ([c.video_source_id for c in checked.cameras], checked.problems) == (
        [f"x-cam-000{n}" for n in range(1, 7)],
        [],
    )


def test_a_trailing_row_with_a_value_in_a_mapped_column_is_a_warning(tmp_path: Path) -> None:
    """A lone value under a mapped column after the last key is skipped, and a warning names it."""
    rows = [["cam_id", "grp", "name"], ["cam-0001", "g-one", "A"], ["", "", "B"], ["", "", "C"]]
    sheet = _write(tmp_path, rows)

    problems = load(sheet, _mapping(tmp_path, TEMPLATE_KEY)).checked.problems

    assert [(p.severity.value, p.code, p.row, p.message) for p in problems] == [
        ("info", "footer", 3, "footer row below the data; skipped"),
        (
            "warning",
            "footer-with-data",
            3,
            "rows 3-4 below the last row with a key hold values in mapped columns (name)"
            " and were skipped as footers",
        ),
        ("info", "footer", 4, "footer row below the data; skipped"),
    ]


def test_a_marked_footer_stays_a_note(tmp_path: Path) -> None:
    """``Total ...`` under a mapped column is a documented footer: an info, no warning."""
    rows = [["cam_id", "grp", "name"], ["cam-0001", "g-one", "A"], ["Total: 1", "", ""]]
    sheet = _write(tmp_path, rows)

    problems = load(sheet, _mapping(tmp_path, TEMPLATE_KEY)).checked.problems

    assert [(p.severity.value, p.code, p.row) for p in problems] == [("info", "footer", 3)]


@st.composite
def _partly_filled(draw: st.DrawFn) -> list[list[str]]:
    """A header, then rows whose key is always there and other cells only sometimes."""
    count = draw(st.integers(min_value=1, max_value=25))
    rows = [["cam_id", "grp", "name", "note"]]
    for n in range(count):
        if draw(st.booleans()):  # only the key: the rows once taken for footers
            rows.append([f"cam-{n:04d}", "", "", ""])
            continue
        group = draw(st.sampled_from(["", "g-two", "g-one"]))
        name = draw(st.sampled_from(["", "Lobby", "Gate\nEast"]))
        note = draw(st.sampled_from(["", "x"]))
        rows.append([f"cam-{n:04d}", group, name, note])
    return rows


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_partly_filled(), template=st.booleans())
def test_generated_partly_filled_sheets_read_every_row(
    tmp_path: Path, rows: list[list[str]], template: bool
) -> None:
    """Whether the key is a column or a template, every row with a key is a camera."""
    mapping = TEMPLATE_KEY
    if not template:
        mapping = mapping.replace('{ template = "x-{cam_id}", required = true }', '"cam_id"')
    sheet = _write(tmp_path, rows)

    checked = load(sheet, _mapping(tmp_path, mapping)).checked

    prefix = "x-" if template else ""
    assert (list(checked.rows[STATUS]), [c.video_source_id for c in checked.cameras]) == (
        ["valid"] * (len(rows) - 1),
        [prefix + row[0] for row in rows[1:]],
    )
