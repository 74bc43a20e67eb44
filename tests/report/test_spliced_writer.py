"""The workbook's body rows rendered by a thread ahead of their writing: the same package
bytes as one thread wrote them, and a failed write reaches the user as it did."""

from __future__ import annotations

import errno
import shutil
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pytest

from loader.errors import StorageError
from loader.report import sheet_xml, workbook
from loader.report.results import ResultTables
from loader.report.sheet_xml import CHUNKS_AHEAD, RENDER_THREAD, RenderedAhead
from loader.report.workbook import write_results

TEXTS = ["plain", "a & b < c", "  padded  ", "=1+1", "bell\x07", "中文", ""]


def splice_on_one_thread(package: Path, bodies: Mapping[str, tuple[str, Iterator[str]]]) -> None:
    """The reference: ``splice`` as it was, every chunk deflated and written in turn (by the
    same deflater: what it compares is the threads, not the compressor)."""
    spliced = package.with_suffix(".splice.xlsx")
    with (
        zipfile.ZipFile(package) as source,
        zipfile.ZipFile(spliced, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target,
    ):
        for item in source.infolist():
            if item.filename not in bodies:
                with source.open(item) as read, sheet_xml.deflating(target, item) as write:
                    shutil.copyfileobj(read, write)
                continue
            dimension, rows = bodies[item.filename]
            head, _, tail = source.read(item).partition(b"</sheetData>")
            head = sheet_xml._DIMENSION.sub(
                f'<dimension ref="{dimension}"/>'.encode(), head, count=1
            )
            with sheet_xml.deflating(target, item.filename) as write:
                write.write(head)
                for text in rows:
                    write.write(text.encode("utf-8"))
                write.write(b"</sheetData>" + tail)
    spliced.replace(package)


def results(cameras: int) -> ResultTables:
    """Results with a Cameras and a Groups sheet of tricky texts and numbers."""
    frame = pd.DataFrame(
        {
            "Camera": [f"cam-{n:05d}" for n in range(cameras)],
            "Text": [TEXTS[n % len(TEXTS)] for n in range(cameras)],
            "Count": [float(n) if n % 5 else float("nan") for n in range(cameras)],
            "Status": ["loaded" if n % 3 else "failed" for n in range(cameras)],
        }
    )
    groups = pd.DataFrame({"Group ID": [f"grp-{n:05d}" for n in range(cameras // 2)], "Cameras": 2})
    empty = pd.DataFrame()
    return ResultTables([("Run", "r1")], {"loaded": 1}, frame, groups, empty, empty, empty)


def stored_parts(path: Path) -> dict[str, tuple[int, int, str, bytes]]:
    """Each part's CRC, size, method and content as the package stores them (xlsxwriter's
    dated docProps left out; a part's date is the second it was written)."""
    with zipfile.ZipFile(path) as package:
        return {
            item.filename: (item.CRC, item.file_size, str(item.compress_type), package.read(item))
            for item in package.infolist()
            if not item.filename.startswith("docProps/")
        }


def deflated(path: Path, part: str) -> bytes:
    """``part``'s deflated bytes as they lie in the package at ``path``."""
    with zipfile.ZipFile(path) as package, path.open("rb") as raw:
        item = package.getinfo(part)
        raw.seek(item.header_offset + 26)
        name, extra = struct.unpack("<HH", raw.read(4))
        raw.seek(item.header_offset + 30 + name + extra)
        return raw.read(item.compress_size)


@pytest.mark.parametrize("cameras", [1, 2999, 4000], ids=["one-row", "odd-rows", "even-rows"])
def test_the_package_holds_the_parts_one_thread_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cameras: int
) -> None:
    """Rows in chunks of 250 rendered ahead and written in pieces of 20,000 bytes, against
    the old splice's chunks of 2,000 on one thread: every part holds the same bytes, by the
    same method. (ISA-L's deflate cuts its blocks where its writes were cut, so the deflated
    bytes of the two differ: the same rows make the same file, ``test_the_same_results_...``.)"""
    monkeypatch.setattr(sheet_xml, "ROWS_PER_CHUNK", 2000)
    monkeypatch.setattr(workbook, "splice", splice_on_one_thread)
    write_results(tmp_path / "one-thread.xlsx", results(cameras))
    monkeypatch.undo()
    monkeypatch.setattr(sheet_xml, "ROWS_PER_CHUNK", 250)
    monkeypatch.setattr(sheet_xml, "PIECE_BYTES", 20_000)

    write_results(tmp_path / "behind.xlsx", results(cameras))

    expected = stored_parts(tmp_path / "one-thread.xlsx")
    assert stored_parts(tmp_path / "behind.xlsx") == expected
    assert len(expected["xl/worksheets/sheet2.xml"][3]) > 0


def test_the_same_results_write_the_same_deflated_bytes_by_isa_l(tmp_path: Path) -> None:
    """A package written twice from the same results deflates every part to the same bytes,
    and its Cameras sheet is ISA-L's deflate of the rows, not zlib's."""
    write_results(tmp_path / "first.xlsx", results(3000))
    write_results(tmp_path / "second.xlsx", results(3000))

    with zipfile.ZipFile(tmp_path / "first.xlsx") as package:
        parts = [item.filename for item in package.infolist() if "docProps" not in item.filename]
        cameras = package.read("xl/worksheets/sheet2.xml")
    for part in parts:
        assert deflated(tmp_path / "second.xlsx", part) == deflated(tmp_path / "first.xlsx", part)
    by_zlib = zlib.compressobj(sheet_xml.DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    stored = deflated(tmp_path / "first.xlsx", "xl/worksheets/sheet2.xml")
    assert zlib.decompress(stored, -zlib.MAX_WBITS) == cameras
    assert stored != by_zlib.compress(cameras) + by_zlib.flush()


def test_a_full_disk_while_rows_render_ahead_is_todays_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while the body rows are written (the render thread working ahead):
    the same StorageError as before (message, hint, cause), and no thread is left behind."""
    written: list[str] = []
    full = OSError(errno.ENOSPC, "No space left on device")
    original = zipfile._ZipWriteFile.write

    def write(stream: zipfile._ZipWriteFile, data: bytes) -> int:
        if stream._zinfo.filename == "xl/worksheets/sheet2.xml":
            written.append(threading.current_thread().name)
            if len(written) == 4:  # the head, then the third chunk of rows
                raise full
        return original(stream, data)

    monkeypatch.setattr(zipfile._ZipWriteFile, "write", write)
    monkeypatch.setattr(sheet_xml, "ROWS_PER_CHUNK", 100)
    monkeypatch.setattr(sheet_xml, "PIECE_BYTES", 1)  # a piece a chunk
    path = tmp_path / "run" / "results.xlsx"

    with pytest.raises(StorageError) as error:
        write_results(path, results(2000))

    assert (error.value.message, error.value.exit_code) == (
        f"cannot write {path}: No space left on device",
        3,
    )
    assert error.value.hint == (
        "free disk space (or close the file in Excel), then"
        f" `bulkload reconcile {path.parent}` writes it again"
    )
    assert error.value.__cause__ is full
    assert written == [threading.main_thread().name] * 4  # written where it always was
    assert RENDER_THREAD not in [thread.name for thread in threading.enumerate()]
    assert not path.exists()


def chunks(texts: list[str], rendered: list[str] | None = None) -> Iterator[str]:
    """A body's chunks, each noted in ``rendered`` (by the thread) as it is made."""
    for text in texts:
        if rendered is not None:
            rendered.append(threading.current_thread().name)
        yield text


@pytest.mark.parametrize(
    ("piece_bytes", "expected"),
    [
        (1, [[b"a", b"bc", b"d"], [], ["中".encode()]]),
        (3, [[b"abc", b"d"], [], ["中".encode()]]),
        (100, [[b"abcd"], [], ["中".encode()]]),
    ],
    ids=["a-piece-a-chunk", "pieces-of-three-bytes", "one-piece-a-body"],
)
def test_each_body_comes_in_order_by_the_render_thread(
    monkeypatch: pytest.MonkeyPatch, piece_bytes: int, expected: list[list[bytes]]
) -> None:
    """Bodies one after the other, chunks encoded and gathered into pieces of at least
    PIECE_BYTES (a body's last one smaller), an empty body empty; the chunks were made by
    the render thread."""
    monkeypatch.setattr(sheet_xml, "PIECE_BYTES", piece_bytes)
    rendered: list[str] = []
    bodies = [chunks(["a", "bc", "d"], rendered), chunks([]), chunks(["中"], rendered)]

    with RenderedAhead(bodies) as ahead:
        received = [list(ahead.body()) for _ in range(3)]

    assert received == expected
    assert rendered == [RENDER_THREAD] * 4


def test_a_render_error_is_raised_where_the_body_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while rendering reaches the writing thread after the pieces before it."""
    monkeypatch.setattr(sheet_xml, "PIECE_BYTES", 1)  # a piece a chunk
    failure = ValueError("cannot render")

    def failing() -> Iterator[str]:
        yield "first"
        raise failure

    received: list[bytes] = []

    def read() -> None:
        with RenderedAhead([failing()]) as ahead:
            received.extend(ahead.body())

    with pytest.raises(ValueError, match="cannot render") as error:
        read()

    assert (error.value, received) == (failure, [b"first"])


def test_leaving_early_stops_the_render_thread_waiting_on_a_full_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write that fails after the first piece: the thread, blocked a few pieces ahead,
    stops without rendering the rest, and is joined."""
    monkeypatch.setattr(sheet_xml, "PIECE_BYTES", 1)  # a piece a chunk
    rendered: list[str] = []

    def write_one() -> None:
        with RenderedAhead([chunks(["row"] * 1000, rendered)]) as ahead:
            next(ahead.body())
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_one()

    assert RENDER_THREAD not in [thread.name for thread in threading.enumerate()]
    assert len(rendered) <= 1 + CHUNKS_AHEAD + 2  # taken, queued, one put begun, one more
