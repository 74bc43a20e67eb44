"""The Cameras sheet in segments deflated apart: the pieces laid end to end are the one
stream of the whole (contents and CRC), a member so written reads back as zipfile's own
(zip64 too), and a segment made from outcomes that changed since is rendered again."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loader.report import segments as segments_module
from loader.report import sheet_xml
from loader.report.deflated import Piece, combined, deflate_piece, write_member, writes_members
from loader.report.results import ResultTables
from loader.report.segments import (
    OUTCOME_COLUMNS,
    Segment,
    SheetSegments,
    bounds,
    segment_rows,
)
from loader.report.workbook import numeric_columns, write_results

TEXTS = ["plain", "a & b < c", "  padded  ", "=1+1", "bell\x07", "中文", ""]


def laid_end_to_end(contents: list[bytes]) -> list[Piece]:
    """Each content deflated as a piece of its own, then the stream's closing piece."""
    return [*(deflate_piece([content]) for content in contents), deflate_piece([], last=True)]


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=5000) | st.text(max_size=2000).map(str.encode),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=8),
)
def test_any_split_into_pieces_is_the_one_piece_stream(data: bytes, cuts: list[int]) -> None:
    """Rows split anywhere, each part deflated apart and the CRCs combined: the stream
    inflates to the whole, with the whole's CRC and length."""
    at = sorted({min(cut, len(data)) for cut in cuts})
    parts = [data[start:stop] for start, stop in zip([0, *at], [*at, len(data)], strict=True)]
    pieces = laid_end_to_end(parts)

    stream = b"".join(piece.deflated for piece in pieces)

    assert zlib.decompress(stream, -zlib.MAX_WBITS) == data
    assert combined(pieces) == (zlib.crc32(data), len(data))


def members_written(path: Path, contents: dict[str, list[bytes]]) -> None:
    """A package of members, each written from pieces, beside one zipfile deflated itself."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("first.xml", b"<a/>" * 100)
        for name, parts in contents.items():
            write_member(package, name, laid_end_to_end(parts))
        package.writestr("last.xml", b"<b/>")


@pytest.mark.parametrize("zip64_limit", [zipfile.ZIP64_LIMIT, 1000], ids=["zip32", "zip64"])
def test_a_member_from_pieces_reads_back_with_its_crc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zip64_limit: int
) -> None:
    """Members laid down from pieces among zipfile's own: testzip finds every CRC right,
    each reads back whole; over the zip64 limit (here made 1,000 bytes) they carry zip64
    sizes, as zipfile writes them."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", zip64_limit)
    contents = {"sheet.xml": [b"<row>1</row>" * 200, b"", "中文".encode() * 300], "one.xml": [b"x"]}
    path = tmp_path / "package.zip"

    members_written(path, contents)

    with zipfile.ZipFile(path) as package:
        assert package.testzip() is None
        read = {name: package.read(name) for name in package.namelist()}
        large = package.getinfo("sheet.xml").file_size > zip64_limit
        headers = path.read_bytes().count(b"\x01\x00\x10\x00")  # zip64 extra fields (local)
    assert read == {
        "first.xml": b"<a/>" * 100,
        **{name: b"".join(parts) for name, parts in contents.items()},
        "last.xml": b"<b/>",
    }
    assert (large, headers >= 1) == ((True, True) if zip64_limit == 1000 else (False, False))


def results(cameras: int, message: dict[int, str] | None = None) -> ResultTables:
    """Results whose Cameras sheet has the outcome columns (tricky texts and numbers)."""
    changed = message or {}
    frame = pd.DataFrame(
        {
            "Camera": [f"cam-{n:05d}" for n in range(cameras)],
            "Count": [float(n) if n % 5 else float("nan") for n in range(cameras)],
            "Status": ["loaded" if n % 3 else "failed" for n in range(cameras)],
            "Batch": [f"b{n // 4}" for n in range(cameras)],
            "Batch ID": [f"id-{n // 4}" for n in range(cameras)],
            "Task State": ["" for _ in range(cameras)],
            "Message": [changed.get(n, TEXTS[n % len(TEXTS)]) for n in range(cameras)],
        }
    )
    empty = pd.DataFrame()
    return ResultTables([("Run", "r1")], {"loaded": 1}, frame, frame.head(3), empty, empty, empty)


def made_ahead(frame: pd.DataFrame, compared: tuple[str, ...] = OUTCOME_COLUMNS) -> SheetSegments:
    """Every segment of ``frame``'s rows made as a run makes it, keeping the values of
    its ``compared`` columns."""
    numeric = numeric_columns(frame)
    made = SheetSegments(len(frame), numeric, compared)
    for index in range(made.count()):
        texts = [text.encode() for text in segment_rows(frame, numeric, index)]
        start, stop = bounds(index, len(frame))
        values = tuple(frame[name].to_numpy()[start:stop].copy() for name in compared)
        made.made[index] = Segment(deflate_piece(texts), values)
    return made


def contents(path: Path) -> dict[str, bytes]:
    """Each part's contents (xlsxwriter's dated docProps left out), after a CRC check."""
    with zipfile.ZipFile(path) as package:
        assert package.testzip() is None
        return {
            item.filename: package.read(item)
            for item in package.infolist()
            if not item.filename.startswith("docProps/")
        }


@pytest.mark.parametrize("cameras", [1, 20, 23], ids=["one-row", "whole-segments", "a-short-last"])
def test_segments_made_ahead_write_the_parts_written_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cameras: int
) -> None:
    """Every segment made ahead and still right: the workbook's parts are those of the
    workbook written wholly at the end, and openpyxl reads its rows."""
    monkeypatch.setattr(segments_module, "SEGMENT_ROWS", 5)
    made = made_ahead(results(cameras).cameras)
    write_results(tmp_path / "end.xlsx", results(cameras))

    write_results(tmp_path / "ahead.xlsx", results(cameras), segments={"Cameras": made})

    assert contents(tmp_path / "ahead.xlsx") == contents(tmp_path / "end.xlsx")
    assert len(made.reusable(results(cameras).cameras, made.numeric)) == made.count()
    rows = list(openpyxl.load_workbook(tmp_path / "ahead.xlsx")["Cameras"].values)
    assert [row[0] for row in rows] == ["Camera", *(f"cam-{n:05d}" for n in range(cameras))]


def test_a_segment_made_from_outcomes_changed_since_is_rendered_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 12's message changed after its segment was made: that segment (rows 10 to 14)
    is rendered again, the others reused, and the sheet shows the final message."""
    monkeypatch.setattr(segments_module, "SEGMENT_ROWS", 5)
    made = made_ahead(results(23).cameras)
    final = results(23, message={12: "refused: <later>"})
    write_results(tmp_path / "end.xlsx", final)

    write_results(tmp_path / "ahead.xlsx", final, segments={"Cameras": made})

    assert sorted(made.reusable(final.cameras, made.numeric)) == [0, 1, 3, 4]
    assert contents(tmp_path / "ahead.xlsx") == contents(tmp_path / "end.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "ahead.xlsx")["Cameras"]
    at = [cell.value for cell in sheet[1]].index("Message") + 1
    assert sheet.cell(row=14, column=at).value == "refused: <later>"


@pytest.mark.parametrize(
    "change",
    ["rows", "types"],
    ids=["another-row-count", "another-column-type"],
)
def test_segments_of_another_sheet_are_never_reused(change: str) -> None:
    """Segments made for as many rows, or columns of the same types, only."""
    frame = results(10).cameras
    made = made_ahead(frame)
    numeric = dict(made.numeric)
    if change == "rows":
        frame = results(11).cameras
    else:
        numeric["Count"] = False

    assert made.reusable(frame, numeric) == {}
    assert tuple(frame.columns[2:]) == OUTCOME_COLUMNS


def test_a_zipfile_that_takes_no_deflated_member_gets_the_whole_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a Python's zipfile lack what a member from pieces needs, the Cameras sheet
    is rendered and deflated whole at the end, as before: the same parts."""
    monkeypatch.setattr(segments_module, "SEGMENT_ROWS", 5)
    monkeypatch.setattr(sheet_xml, "writes_members", lambda target: False)
    made = made_ahead(results(23).cameras)
    write_results(tmp_path / "end.xlsx", results(23))

    write_results(tmp_path / "ahead.xlsx", results(23), segments={"Cameras": made})

    assert contents(tmp_path / "ahead.xlsx") == contents(tmp_path / "end.xlsx")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as package:  # this Python's does
        assert writes_members(package) is True


def test_a_groups_segment_whose_counts_changed_is_rendered_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Groups segments compare every column: a group whose count of failed cameras
    changed since has its segment rendered again, the sheet shows the final count."""
    monkeypatch.setattr(segments_module, "SEGMENT_ROWS", 5)
    early = results(23)
    early.groups = pd.DataFrame(
        {"Group ID": [f"grp-{n:03d}" for n in range(23)], "Cameras": 2, "failed": 0}
    )
    made = made_ahead(early.groups, ("Group ID", "Cameras", "failed"))
    final = results(23)
    final.groups = early.groups.assign(failed=[1 if n == 17 else 0 for n in range(23)])
    write_results(tmp_path / "end.xlsx", final)

    write_results(tmp_path / "ahead.xlsx", final, segments={"Groups": made})

    assert sorted(made.reusable(final.groups, made.numeric)) == [0, 1, 2, 4]
    assert contents(tmp_path / "ahead.xlsx") == contents(tmp_path / "end.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "ahead.xlsx")["Groups"]
    assert [cell.value for cell in sheet[19]] == ["grp-017", 2, 1]
