"""Body rows rendered as SpreadsheetML and spliced into xlsxwriter's package read back exactly."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from loader.check.load import load
from loader.planning.batches import plan
from loader.planning.delta import partition
from loader.report import results as results_module
from loader.report.results import ResultTables, build, camera_columns, camera_columns_in_steps
from loader.report.sheet_xml import _text_body, column_letter, escape, rows_xml
from loader.report.workbook import render_ahead, write_results
from loader.state.events import RunStarted
from loader.state.outcomes import outcomes
from loader.state.runstate import replay

NAN = float("nan")
MAPPING = """
name = "ahead"
[cameras.columns]
video_source_id = { column = "Camera", required = true }
group = { column = "Group", required = true }
camera_name = "Name"
[task]
service_name = "c-smoke-and-fire-cloud"
service_version = "3.0"
event_center = true
"""
TRICKY = [
    "plain",
    "a & b < c > d",
    "  leading and trailing  ",
    "tab\there",
    "bell\x07and nul\x00",
    "_x0041_ stays literal",
    '=HYPERLINK("http://x")',
    "中文 摄像机",
    "",
]


@pytest.mark.parametrize(
    ("index", "letters"),
    [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")],
    ids=["A", "Z", "AA", "ZZ", "AAA"],
)
def test_column_letters(index: int, letters: str) -> None:
    """Excel's column letters, past Z and ZZ."""
    assert column_letter(index) == letters


def test_escape_follows_excel() -> None:
    """XML specials escaped, control characters as _xHHHH_, a literal _xHHHH_ protected."""
    assert escape("a&b<c>\x07_x0041_") == "a&amp;b&lt;c&gt;_x0007__x005F_x0041_"


def test_rows_leave_empty_cells_empty_and_write_numbers_as_numbers() -> None:
    """An empty text and a NaN are cells without a value; whole floats lose their .0."""
    frame = pd.DataFrame({"t": ["x", ""], "n": [3.0, float("nan")]})

    assert "".join(rows_xml(frame, {"t": False, "n": True})) == (
        '<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c><c r="B2"><v>3</v></c></row>'
        '<row r="3"><c r="A3"/><c r="B3"/></row>'
    )


def _results(cameras: pd.DataFrame) -> ResultTables:
    """Results with one Cameras table and every other table empty."""
    empty = pd.DataFrame()
    return ResultTables([("Run", "r1")], {}, cameras, empty, empty, empty, empty)


def test_a_workbook_reads_back_the_same_in_openpyxl_and_calamine(tmp_path: Path) -> None:
    """Every tricky text and number comes back as written (formulas neutralised)."""
    cameras = pd.DataFrame({"Text": TRICKY, "Count": list(range(len(TRICKY)))})
    path = tmp_path / "results.xlsx"

    write_results(path, _results(cameras))

    book = openpyxl.load_workbook(path, read_only=True)
    rows = [list(r) for r in book["Cameras"].iter_rows(values_only=True)]
    book.close()
    calamine = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Cameras").to_python()
    expected = [
        "plain",
        "a & b < c > d",
        "  leading and trailing  ",
        "tab\there",
        "bell\x07and nul\x00",
        "_x0041_ stays literal",
        '\'=HYPERLINK("http://x")',
        "中文 摄像机",
        "",
    ]
    assert [row[0] for row in calamine[1:]] == expected  # calamine decodes as Excel does
    # openpyxl shows _xHHHH_ escapes undecoded, as it does for xlsxwriter's own inline strings
    raw = ["bell_x0007_and nul_x0000_", "_x005F_x0041_ stays literal"]
    assert rows == [
        ["Text", "Count"],
        *(
            [t or None, n]
            for t, n in zip([*expected[:4], *raw, *expected[6:]], range(9), strict=True)
        ),
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.text(), st.sampled_from(TRICKY), st.none(), st.just(NAN), st.integers()))
)
def test_a_column_renders_each_value_as_the_rule_says(values: list[object]) -> None:
    """The shortcut for plain texts gives what _text_body gives, in a column of any mix."""
    frame = pd.DataFrame({"t": pd.Series(values, dtype=object)})

    xml = "".join(rows_xml(frame, {"t": False}))

    expected = "".join(
        f'<row r="{row}"><c r="A{row}" t="inlineStr">{body}</c></row>'
        if (body := _text_body(value))
        else f'<row r="{row}"><c r="A{row}"/></row>'
        for row, value in enumerate(values, start=2)
    )
    assert xml == expected


def test_cells_rendered_ahead_write_the_same_sheets(tmp_path: Path) -> None:
    """A run renders the Cameras sheet's inventory columns while it sends: the workbook
    holds exactly the sheets it would hold had they been made at the end."""
    sheet = tmp_path / "cameras.csv"
    sheet.write_text(
        "Camera,Group,Name\ncam-1,grp-1,  padded \ncam-2,grp-1,=1+1\nbad id,grp-2,x\n",
        encoding="utf-8",
    )
    (tmp_path / "m.toml").write_text(MAPPING, encoding="utf-8")
    loaded = load(sheet, str(tmp_path / "m.toml"))
    delta = partition(loaded.checked.cameras, loaded.checked.settings_classes, {})
    planned = plan(delta.send, loaded.checked.settings_classes)
    state = replay([RunStarted()])
    result = outcomes(loaded, planned, delta, state)
    columns = camera_columns(loaded)
    ahead = columns.named()

    rendered: dict[str, dict[str, list[str]]] = {}
    steps = sum(1 for _ in render_ahead("Cameras", ahead, rendered))

    write_results(tmp_path / "end.xlsx", build(loaded, planned, state, result, []))
    write_results(
        tmp_path / "ahead.xlsx", build(loaded, planned, state, result, [], static=columns), rendered
    )

    def parts(path: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(path) as package:
            return {n: package.read(n) for n in package.namelist() if "docProps" not in n}

    assert list(ahead) == [
        "Camera",
        "Group",
        "Name",
        "Source Row",
        *(f"api.{f}" for f in ("video_source_id", "group", "target_roi", "camera_name")),
        "api.settings",
    ]
    assert steps == 18  # per column of three rows: its type, then its cells (RENDER_STEP)
    assert parts(tmp_path / "ahead.xlsx") == parts(tmp_path / "end.xlsx")


def test_inventory_columns_made_in_steps_are_those_made_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sheets of a site each, made two rows a step (as a run makes them between its
    calls): the same columns, cell for cell, as in one step, and a step per two rows of
    each sheet, the join, per column's gaps filled, then per two rows of the sources."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for site, count in (("North", 5), ("South", 2)):
        sheet = book.create_sheet(site)
        sheet.append(["Camera", "Group", "Name", "Notes"])
        for n in range(count):
            sheet.append([f"{site.lower()}-{n}", f"grp-{n % 2}", f" cam {n} ", None if n else "x"])
    book.save(tmp_path / "sites.xlsx")
    (tmp_path / "m.toml").write_text(
        MAPPING.replace(
            "[cameras.columns]", '[cameras]\nsheet = "*"\nignore = ["Notes"]\n[cameras.columns]'
        ),
        encoding="utf-8",
    )
    loaded = load(tmp_path / "sites.xlsx", str(tmp_path / "m.toml"))
    whole = camera_columns(loaded)
    monkeypatch.setattr(results_module, "COLUMN_STEP_ROWS", 2)

    steps = camera_columns_in_steps(loaded)
    taken = 0
    while True:
        try:
            next(steps)
        except StopIteration as made:
            stepped = made.value
            break
        taken += 1

    assert [t.sheet for t in loaded.cameras.tables] == ["North", "South"]
    # North's 5 rows, South's 2, the join, each of 4 columns' gaps filled, 7 sources
    assert taken == 3 + 1 + 1 + 4 + 4
    pd.testing.assert_frame_equal(stepped.original, whole.original)
    assert stepped.original["Name"].tolist()[:2] == ["cam 0", "cam 1"]
    assert stepped.trailing.keys() == whole.trailing.keys()
    for name, values in whole.trailing.items():
        assert list(stepped.trailing[name]) == list(values), name
    assert stepped.trailing["Source Row"] == [
        *(f"North!{r}" for r in range(2, 7)),
        "South!2",
        "South!3",
    ]
