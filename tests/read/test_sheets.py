"""Reading xlsx, xls and CSV into text grids: ids stay text, rows keep Excel numbers."""

from __future__ import annotations

import datetime
from pathlib import Path

import pandas as pd
import pytest

from loader.errors import InputError
from loader.read.sheets import read_workbook, sniff_delimiter
from tests.conftest import DATA, XlsxWriter


def test_xlsx_cells_are_trimmed_text_and_rows_start_at_excel_row_1(write_xlsx: XlsxWriter) -> None:
    """Whole numbers lose no zeros and gain no .0; text ids keep their zeros; times stay times."""
    path = write_xlsx(
        {
            "Cameras": [
                ["Inventory"],
                [],
                ["ID", "Code", "Time", "When", "Flag", "Ratio"],
                [
                    "  00123 ",
                    42,
                    datetime.time(8, 30),
                    datetime.datetime(2026, 1, 2, 3, 4),
                    True,
                    1.5,
                ],
            ]
        }
    )

    grid = read_workbook(path).sheets["Cameras"]

    assert grid.iloc[0, 0] == "Inventory"
    assert list(grid.iloc[3]) == ["00123", "42", "08:30:00", "2026-01-02 03:04:00", "True", "1.5"]


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_both_engines_read_the_same_text(write_xlsx: XlsxWriter, engine: str) -> None:
    """The openpyxl fallback gives the same grid as calamine."""
    path = write_xlsx({"S": [["a", "b"], ["x", 7], [None, "y"]]})

    grid = read_workbook(path, engine=engine).sheets["S"]  # type: ignore[arg-type]

    assert grid.to_numpy().tolist() == [["a", "b"], ["x", "7"], ["", "y"]]


def test_calamine_cells_read_as_pandas_reads_them(write_xlsx: XlsxWriter) -> None:
    """Calamine's cells taken directly give the text pandas' read_excel(dtype=str) gave."""
    path = write_xlsx(
        {
            "S": [
                [
                    "a",
                    1,
                    1.5,
                    True,
                    datetime.datetime(2024, 1, 2, 3, 4, 5),
                    datetime.date(2024, 1, 2),
                ],
                [],
                [
                    datetime.time(10, 30),
                    datetime.timedelta(days=1, hours=2),
                    None,
                    1e20,
                    -0.0,
                    " x ",
                ],
            ]
        }
    )

    grid = read_workbook(path).sheets["S"]
    frames = pd.read_excel(
        path, sheet_name=None, header=None, dtype=str, keep_default_na=False, engine="calamine"
    )
    by_pandas = frames["S"].fillna("").to_numpy().tolist()

    assert grid.to_numpy().tolist() == [
        ["a", "1", "1.5", "True", "2024-01-02 03:04:05", "2024-01-02 00:00:00"],
        ["", "", "", "", "", ""],
        ["10:30:00", "1 day, 2:00:00", "", "100000000000000000000", "0", "x"],
    ]
    assert grid.to_numpy().tolist() == [[c.strip() for c in row] for row in by_pandas]


def test_xls_is_read() -> None:
    """Old binary .xls exports are read through the same path."""
    book = read_workbook(DATA / "legacy_export.xls")

    grid = book.sheets["Camera Export"]
    assert (book.kind, grid.iloc[0, 0], grid.iloc[4, 2]) == ("xls", "Old VMS export (xls)", "42")


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        pytest.param("utf-8", "Café,深圳", id="utf-8"),
        pytest.param("utf-8-sig", "Café,深圳", id="utf-8-bom"),
        pytest.param("utf-16", "Café,深圳", id="utf-16"),
        pytest.param("gb18030", "摄像机,深圳总部大堂", id="gb18030"),
        pytest.param("cp1252", "Café,Zürich", id="cp1252"),
    ],
)
def test_csv_encodings_are_detected(tmp_path: Path, encoding: str, text: str) -> None:
    """UTF-8 with or without BOM, UTF-16 and common legacy code pages decode right."""
    path = tmp_path / "cams.csv"
    lines = ["name,site"] + [text] * 40
    path.write_bytes("\r\n".join(lines).encode(encoding))

    grid = read_workbook(path).sheets["cams"]

    assert grid.iloc[1].tolist() == text.split(",")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    """Comma, semicolon, tab and pipe exports all split into the same columns."""
    path = tmp_path / "cams.csv"
    rows = [["id", "group", "roi"], ["c1", "g1", "1,2;3,4;5,6"], ["c2", "g1", ""]]
    quoted = [[f'"{v}"' if "," in v or ";" in v else v for v in row] for row in rows]
    path.write_text("\n".join(delimiter.join(r) for r in quoted), encoding="utf-8")

    grid = read_workbook(path).sheets["cams"]

    assert grid.to_numpy().tolist() == rows


def test_csv_with_title_lines_and_a_wider_late_row(tmp_path: Path) -> None:
    """Title lines with fewer fields and a later row with more do not break parsing."""
    path = tmp_path / "export.csv"
    lines = ["Camera export", "", "id;group"] + ["c;g"] * 300 + ["c9;g;extra;more"]
    path.write_text("\n".join(lines), encoding="utf-8")

    grid = read_workbook(path).sheets["export"]

    assert (grid.shape, grid.iloc[0, 0], grid.iloc[303].tolist()) == (
        (304, 4),
        "Camera export",
        ["c9", "g", "extra", "more"],
    )


def test_named_encoding_overrides_detection(tmp_path: Path) -> None:
    """--encoding wins over detection."""
    path = tmp_path / "x.csv"
    path.write_bytes("a,b\nä,ö\n".encode("latin-1"))

    grid = read_workbook(path, encoding="latin-1").sheets["x"]

    assert grid.iloc[1].tolist() == ["ä", "ö"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(
            "fake.xlsx",
            b"id,group\nc1,g1\n",
            "is named like a spreadsheet but is not one",
            id="csv-named-xlsx",
        ),
        pytest.param("empty.csv", b"", "is empty", id="empty"),
        pytest.param("garbage.bin", bytes(range(256)) * 4, "is binary", id="binary"),
        pytest.param(
            "truncated.xlsx",
            b"PK\x03\x04" + b"\x00" * 64,
            "truncated.xlsx is a damaged or truncated spreadsheet",
            id="truncated-zip",
        ),
    ],
)
def test_unreadable_files_are_input_errors(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    """A file that is not an inventory gives an InputError naming it, never a traceback."""
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(InputError) as caught:
        read_workbook(path)

    assert message in caught.value.message


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    """A path that does not exist is reported as such."""
    with pytest.raises(InputError, match="does not exist"):
        read_workbook(tmp_path / "nope.xlsx")


def test_sniff_prefers_the_consistent_delimiter() -> None:
    """Commas inside a semicolon file's values do not fool the sniffer."""
    text = "a;b;c\n1,5;2;3\n4;5,5;6\n"

    assert sniff_delimiter(text) == ";"
