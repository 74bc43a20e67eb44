"""Hostile inputs: each a clear message and exit 2 (or its bad rows, exit 1), no traceback,
under 300 MB, refused before any parser reads the bytes where the bytes are the attack."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import openpyxl.xml
import pytest

from loader.errors import InputError
from loader.read.guard import check_file
from tests.conftest import FLAT_MAPPING

# Runs a command and prints its exit code and peak memory (KB): a process this small
# leaves the command nothing of its own size to inherit.
MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

MB = 1 << 20
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets>&lol3;</sheets></workbook>"""


def valid_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Video Source ID", "Group ID"])
    sheet.append(["cam-0001", "grp-1"])
    book.save(path)
    return path


def replace_part(source: Path, target: Path, part: str, content: bytes) -> Path:
    """A copy of an xlsx with one part's content replaced."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for entry in old.infolist():
            new.writestr(entry, content if entry.filename == part else old.read(entry))
    return target


def zip_bomb(folder: Path) -> Path:
    """A well-formed xlsx whose sheet unpacks to 80 MB of blanks (ratio ~1000)."""
    path = valid_xlsx(folder / "seed.xlsx")
    target = folder / "bomb.xlsx"
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for entry in old.infolist():
            if entry.filename == "xl/worksheets/sheet1.xml":
                with new.open(entry.filename, "w") as stream:
                    stream.write(old.read(entry)[: -len(b"</worksheet>")])
                    for _ in range(80):
                        stream.write(b" " * MB)
                    stream.write(b"</worksheet>")
            else:
                new.writestr(entry, old.read(entry))
    return target


def entity_expansion(folder: Path) -> Path:
    return replace_part(
        valid_xlsx(folder / "seed.xlsx"), folder / "laughs.xlsx", "xl/workbook.xml", LAUGHS
    )


def entity_in_sheet(folder: Path) -> Path:
    sheet = LAUGHS.replace(b"<workbook", b"<worksheet").replace(b"</workbook>", b"</worksheet>")
    return replace_part(
        valid_xlsx(folder / "seed.xlsx"),
        folder / "sheet-laughs.xlsx",
        "xl/worksheets/sheet1.xml",
        sheet,
    )


def truncated(folder: Path) -> Path:
    content = valid_xlsx(folder / "seed.xlsx").read_bytes()
    path = folder / "truncated.xlsx"
    path.write_bytes(content[: len(content) // 2])
    return path


def not_a_spreadsheet(folder: Path) -> Path:
    path = folder / "report.xlsx"
    path.write_text("<html><body>Session expired</body></html>")
    return path


def empty_csv(folder: Path) -> Path:
    path = folder / "empty.csv"
    path.write_bytes(b"")
    return path


def garbage(folder: Path) -> Path:
    path = folder / "garbage.csv"
    path.write_bytes(os.urandom(2 * MB))
    return path


def huge_cell(folder: Path) -> Path:
    path = folder / "huge-cell.csv"
    path.write_text(
        "Camera,Group,Algorithm\ncam-0001,grp-1,c-smoke\ncam-0002,grp-1," + "x" * (5 * MB) + "\n"
    )
    return path


def hundred_mb(folder: Path) -> Path:
    path = folder / "big.csv"
    with path.open("wb") as stream:
        stream.write(b"Camera,Group,Algorithm\n")
        stream.truncate(100 * MB)
    return path


@pytest.mark.parametrize(
    ("make", "code", "message"),
    [
        pytest.param(zip_bomb, 2, "unpacks 1", id="zip-bomb"),
        pytest.param(
            entity_expansion, 2, "declares XML entities or a DTD", id="entity-expansion-workbook"
        ),
        pytest.param(
            entity_in_sheet, 2, "declares XML entities or a DTD", id="entity-expansion-sheet"
        ),
        pytest.param(
            not_a_spreadsheet,
            2,
            "is named like a spreadsheet but is not one",
            id="not-a-spreadsheet",
        ),
        pytest.param(truncated, 2, "damaged or truncated", id="truncated-xlsx"),
        pytest.param(empty_csv, 2, "is empty", id="empty-csv"),
        pytest.param(garbage, 2, "is binary", id="binary-garbage"),
        pytest.param(huge_cell, 1, "", id="5-mb-cell"),
        pytest.param(hundred_mb, 2, "is 100 MB; the limit is 64 MB", id="100-mb-file"),
    ],
)
@pytest.mark.slow
def test_hostile_file(
    tmp_path: Path, make: Callable[[Path], Path], code: int, message: str
) -> None:
    """Exit 1 or 2 with the reason on stderr, no traceback, peak memory under 300 MB."""
    path = make(tmp_path)
    (tmp_path / "h.toml").write_text(FLAT_MAPPING)
    command = [
        sys.executable,
        "-m",
        "loader",
        "validate",
        str(path),
        "-m",
        str(tmp_path / "h.toml"),
    ]
    # A child's peak memory counts what it was forked from (the high-water mark survives
    # exec): this test process may be large by now, so a small process starts bulkload
    # and reports its child's peak and exit code.
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True
    )
    returncode, peak_kb = (int(n) for n in measured.stdout.split())

    text = " ".join(measured.stderr.split())
    assert (returncode, message in text, "Traceback" in text) == (code, True, False), text[-500:]
    assert peak_kb / 1024 < 300


def test_defusedxml_is_what_reads_xml() -> None:
    """openpyxl found defusedxml, and the guard's XML check refuses entity declarations."""
    from loader.read.guard import _check_xml

    with pytest.raises(InputError, match="declares XML entities"):
        _check_xml(Path("x.xlsx"), "xl/workbook.xml", LAUGHS)
    assert openpyxl.xml.DEFUSEDXML is True


def test_guard_runs_before_the_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip bomb never reaches pandas: the guard refuses it first."""
    import pandas as pd

    calls: list[str] = []
    monkeypatch.setattr(pd, "read_excel", lambda *a, **k: calls.append("read_excel"))
    from loader.read.sheets import read_workbook

    with pytest.raises(InputError, match="zip bomb"):
        read_workbook(zip_bomb(tmp_path))
    assert calls == []


def test_ordinary_xlsx_passes_the_guard(tmp_path: Path) -> None:
    """A normal workbook is not refused."""
    check_file(valid_xlsx(tmp_path / "ok.xlsx"))


def test_too_many_entries(tmp_path: Path) -> None:
    """A zip with more entries than any spreadsheet has is refused."""
    path = tmp_path / "many.xlsx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for number in range(10_001):
            package.writestr(f"x/{number}.bin", b"")
    path.write_bytes(buffer.getvalue())

    with pytest.raises(InputError, match="holds 10001 files"):
        check_file(path)
