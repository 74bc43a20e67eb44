"""
The body rows of a big table sheet as SpreadsheetML text, spliced into the package
xlsxwriter wrote. xlsxwriter spends about 8 µs on each cell (a call, checks, a cell
object, then XML at close); a results workbook of 60,000 cameras holds a million cells.
Rendered here column by column with string operations, the same rows cost well under
1 µs a cell, so a run ends seconds sooner. xlsxwriter still writes everything else: the
header row, formats, conditional formats, filters, frozen panes, the chart.

Cells are written as xlsxwriter writes them in constant-memory mode: text as inline
strings (``t="inlineStr"``) escaped the same way, numbers as ``<v>``; an empty cell is an
element without a value (``<c r="C5"/>``). Each distinct value of a column is rendered once,
and rows are joined from fragments: no string is made per cell.
Text that a spreadsheet would read as a formula gets a leading ``'`` (OWASP).
"""

from __future__ import annotations

import contextlib
import math
import queue
import re
import shutil
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path
from typing import IO, Any, Final

import pandas as pd
from isal import isal_zlib

from loader.report.deflated import DEFLATE_LEVEL, Piece, deflate_piece, write_member, writes_members

ROWS_PER_CHUNK: Final = 2000  # rows joined into one text: a short hold of the interpreter lock
# Rendered rows handed to the writing thread in pieces of this many bytes at least. The
# writer takes the interpreter lock back a few times a piece (after crc32, after each of
# deflate's output blocks, after the write), each time waiting up to the switch interval
# (5 ms) while the render thread runs: 8 MB pieces (95 at 600,000 cameras) keep those
# waits well under the deflating; four pieces alive at most, 32 MB. 4 and 16 MB measured
# the same on the shared machine (no free core there: no overlap measured at all).
PIECE_BYTES: Final = 8 << 20
CHUNKS_AHEAD: Final = 2  # pieces waiting to be written: memory stays flat
RENDER_THREAD: Final = "bulkload-workbook-render"
_ESCAPES: Final = re.compile(r"[&<>\x00-\x08\x0b-\x1f]|_x[0-9a-fA-F]{4}_")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f]")
_LITERAL_ESCAPE: Final = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_DIMENSION: Final = re.compile(rb'<dimension ref="[^"]*"/>')
_SPACES: Final = (" ", "\t", "\n", "\r")
_SPACE_CHARACTERS: Final = "".join(_SPACES)
DANGEROUS_START: Final = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_UNSAFE_FIRST: Final = "".join(DANGEROUS_START) + _SPACE_CHARACTERS
EMPTY: Final = '"/>'  # the tail of an empty cell: <c r="C5"/>


def neutralise(text: str) -> str:
    """Text that a spreadsheet would read as a formula, made inert (OWASP)."""
    return "'" + text if text.startswith(DANGEROUS_START) else text


def column_letter(index: int) -> str:
    """Excel's letters for a 0-based column (A, B, ..., Z, AA)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def escape(text: str) -> str:
    """Text as SpreadsheetML holds it: XML escapes, control characters as _xHHHH_."""
    if not _ESCAPES.search(text):
        return text
    text = _LITERAL_ESCAPE.sub(r"_x005F\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def _text_body(value: object) -> str:
    """A text cell's ``<is>`` element, or "" for an empty cell."""
    text = _text_of(value)
    if not text:
        return ""
    text = neutralise(text)
    keep = text.startswith(_SPACES) or text.endswith(_SPACES)
    space = ' xml:space="preserve"' if keep else ""
    return f"<is><t{space}>{escape(text)}</t></is>"


def _text_of(value: object) -> str:
    """A cell value as text: "" for None and NaN."""
    if type(value) is str:
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _number_body(value: object) -> str:
    """A number cell's ``<v>`` element, or "" for an empty cell."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    number = int(value) if isinstance(value, float) and value.is_integer() else value
    return f"<v>{number}</v>"


def _text_tails(distinct: Iterable[object]) -> dict[object, str]:
    """Each distinct value's cell after its reference: ``" t="inlineStr"><is>...</c>``.

    Most texts need no escape, no formula guard and no preserved space: one search over
    the whole column tells, and such a text is used as it is (``_text_body`` is the rule).
    """
    texts = {value: value if type(value) is str else _text_of(value) for value in distinct}
    if _ESCAPES.search("\n".join(texts.values())) is not None:
        return {value: _text_tail(text) for value, text in texts.items()}
    return {
        value: f'" t="inlineStr"><is><t>{text}</t></is></c>'
        if text and text[0] not in _PLAIN_UNSAFE_FIRST and text[-1] not in _SPACE_CHARACTERS
        else _text_tail(text)
        for value, text in texts.items()
    }


def _text_tail(text: str) -> str:
    """A text's cell after its reference, by the rule (``_text_body``)."""
    return f'" t="inlineStr">{body}</c>' if (body := _text_body(text)) else EMPTY


def _number_tails(distinct: Iterable[object]) -> dict[object, str]:
    """Each distinct number's cell after its reference: ``"><v>3</v></c>``."""
    tails = {}
    for value in distinct:
        body = _number_body(value)
        tails[value] = f'">{body}</c>' if body else EMPTY
    return tails


def render_column(values: list[object], *, numeric: bool) -> list[str]:
    """One column's cells after their references, each distinct value rendered once, as
    ``rows_xml`` joins them (and takes them made ahead: ``rendered``)."""
    tails = (_number_tails if numeric else _text_tails)(dict.fromkeys(values))
    return [tails[value] for value in values]


def rows_xml(
    frame: pd.DataFrame,
    numeric: Mapping[str, bool],
    first_row: int = 2,
    rendered: Mapping[str, list[str]] | None = None,
) -> Iterator[str]:
    """The frame's rows as ``<row>`` elements, in chunks of text, from Excel row ``first_row``
    (``rendered``: columns ``render_column`` made already, by name).

    An empty value is an empty cell (``<c r="C5"/>``), as Excel writes a formatted one.
    A chunk is one join of fragments in row order (the fixed text around each reference,
    the row number, each cell's tail), interleaved by ``zip``: no string is made per cell.
    """
    rows = [str(row) for row in range(first_row, first_row + len(frame))]
    made = rendered or {}
    columns = [
        made[str(name)]
        if str(name) in made and len(made[str(name)]) == len(rows)
        else render_column(frame[name].tolist(), numeric=numeric[str(name)])
        for name in frame.columns
    ]
    letters = [column_letter(at) for at in range(len(columns))]
    for start in range(0, len(rows), ROWS_PER_CHUNK):
        end = start + ROWS_PER_CHUNK
        numbers = rows[start:end]
        fragments: list[Iterable[str]] = [repeat('<row r="'), numbers]
        opening = '">'  # what the row element needs before its first cell
        for letter, column in zip(letters, columns, strict=True):
            fragments += [repeat(f'{opening}<c r="{letter}'), numbers, column[start:end]]
            opening = ""
        fragments.append(repeat(f"{opening}</row>"))
        # the repeats are endless: zip stops with the chunk's rows
        yield "".join(chain.from_iterable(zip(*fragments, strict=False)))


@dataclass(frozen=True, eq=False)  # a workbook gathers its bodies in a set: by identity
class Segmented:
    """A body of rows in segments (``report.segments``), in row order: each a piece
    deflated ahead, or rows to render now; ``whole``: every row, should this Python's
    zipfile take no deflated member (``deflated.writes_members``)."""

    dimension: str
    segments: list[Piece | Iterator[str]]
    whole: Iterator[str]


Body = tuple[str, Iterator[str]] | Segmented  # (dimension, rows) or a body in segments


def splice(package: Path, bodies: Mapping[str, Body]) -> None:
    """Put row bodies into worksheets of an xlsx package xlsxwriter closed, in place.

    ``bodies`` maps a worksheet part (``xl/worksheets/sheet2.xml``) to its full dimension
    (``A1:M60001``) and its body rows, or to a body in segments; the part holds only its
    header row so far. The rows are rendered by a thread of their own (``RenderedAhead``)
    while this one deflates and writes the rows before them: the package is written here
    as it always was, through zipfile's own streams but for a body in segments (whose
    pieces made ahead are laid down as they are), and a failed write (disk full) is raised
    here as it always was.
    """
    spliced = package.with_suffix(".splice.xlsx")
    with (
        zipfile.ZipFile(package) as source,
        zipfile.ZipFile(spliced, "w", zipfile.ZIP_DEFLATED, compresslevel=DEFLATE_LEVEL) as target,
    ):
        items = source.infolist()
        bodies = _writable(bodies, writes_members(target))
        with RenderedAhead(_render_order(items, bodies)) as ahead:
            for item in items:
                body = bodies.get(item.filename)
                if body is None:
                    with source.open(item) as read, deflating(target, item) as write:
                        shutil.copyfileobj(read, write)
                    continue
                head, _, tail = source.read(item).partition(b"</sheetData>")
                head = _DIMENSION.sub(
                    f'<dimension ref="{_dimension(body)}"/>'.encode(), head, count=1
                )
                if isinstance(body, Segmented):
                    _write_segmented(target, item.filename, (head, tail), body, ahead)
                    continue
                with deflating(target, item.filename) as write:
                    write.write(head)
                    for piece in ahead.body():
                        write.write(piece)
                    write.write(b"</sheetData>" + tail)
    spliced.replace(package)


def _writable(bodies: Mapping[str, Body], segmented: bool) -> dict[str, Body]:
    """``bodies``, those in segments as whole bodies unless they can be written so."""
    return {
        part: (body.dimension, body.whole)
        if isinstance(body, Segmented) and not segmented
        else body
        for part, body in bodies.items()
    }


def _dimension(body: Body) -> str:
    """A body's full dimension (``A1:M60001``)."""
    return body.dimension if isinstance(body, Segmented) else body[0]


def _render_order(items: list[zipfile.ZipInfo], bodies: Mapping[str, Body]) -> list[Iterator[str]]:
    """What the render thread renders, in the order the package's members are written:
    each body's rows, or each segment a body in segments has to render."""
    order: list[Iterator[str]] = []
    for item in items:
        body = bodies.get(item.filename)
        if isinstance(body, Segmented):
            order += [rows for rows in body.segments if not isinstance(rows, Piece)]
        elif body is not None:
            order.append(body[1])
    return order


def _write_segmented(
    target: zipfile.ZipFile,
    part: str,
    head_and_tail: tuple[bytes, bytes],
    body: Segmented,
    ahead: RenderedAhead,
) -> None:
    """A worksheet of a body in segments: its head, each segment (deflated ahead, else
    the render thread's rows deflated here), its tail closing the stream."""
    head, tail = head_and_tail
    pieces = [deflate_piece([head])]
    for segment in body.segments:
        pieces.append(segment if isinstance(segment, Piece) else deflate_piece(ahead.body()))
    pieces.append(deflate_piece([b"</sheetData>" + tail], last=True))
    write_member(target, part, pieces)


def deflating(target: zipfile.ZipFile, member: str | zipfile.ZipInfo) -> IO[bytes]:
    """``member`` of ``target`` opened for writing, its bytes deflated by ISA-L if it is
    deflated (a ``ZipInfo`` keeps its own method; a name takes ``target``'s).

    zipfile deflates with zlib and takes no other compressor, so the member's writer has
    its compressor replaced before its first byte: both write raw deflate, and the CRC,
    sizes and headers stay zipfile's own. Should a Python's zipfile name it otherwise, the
    member is deflated by zlib at the same level: slower, as valid (a test fails then).
    """
    method = member.compress_type if isinstance(member, zipfile.ZipInfo) else target.compression
    write = target.open(member, "w")
    if method == zipfile.ZIP_DEFLATED and hasattr(write, "_compressor"):
        opened: Any = write  # zipfile's _ZipWriteFile: not typed beyond IO[bytes]
        opened._compressor = isal_zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return write


class _EndOfBody:
    """The mark after a body's last piece."""


class _RenderFailed:
    """What the render thread raised, for the writing thread to raise again."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class RenderedAhead:
    """Bodies of rows rendered and encoded by a thread of their own, in order, at most
    ``CHUNKS_AHEAD`` pieces ahead of the thread that writes them (``body``): rendering holds
    the interpreter lock, while zlib's deflate and crc32 and the file's write let go of it,
    so on two cores the two overlap (the end of a 600,000-camera run), the next sheet's
    columns included. Writing stays on the caller's thread: its errors are raised there as
    they were. Leaving the block stops the thread (whatever ended it) and joins it.
    """

    def __init__(self, bodies: list[Iterator[str]]) -> None:
        self._pieces: queue.Queue[bytes | _EndOfBody | _RenderFailed] = queue.Queue(CHUNKS_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._render, args=(bodies,), name=RENDER_THREAD, daemon=True
        )

    def __enter__(self) -> RenderedAhead:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        # Emptied once, the queue has room for the one put the thread may have begun
        # before it saw the stop: nothing it does then waits on this thread.
        with contextlib.suppress(queue.Empty):
            while True:
                self._pieces.get_nowait()
        self._thread.join()

    def body(self) -> Iterator[bytes]:
        """The next body's pieces, as the thread rendered them (its error, if it failed)."""
        while not isinstance(piece := self._pieces.get(), _EndOfBody):
            if isinstance(piece, _RenderFailed):
                raise piece.error
            yield piece

    def _render(self, bodies: list[Iterator[str]]) -> None:
        """Each body's pieces then its end mark, until the last or until told to stop."""
        try:
            for rows in bodies:
                for piece in _pieces(rows):
                    if not self._hand(piece):
                        return
                if not self._hand(_EndOfBody()):
                    return
        except Exception as exc:  # noqa: BLE001  # raised again in the writing thread
            self._hand(_RenderFailed(exc))

    def _hand(self, piece: bytes | _EndOfBody | _RenderFailed) -> bool:
        """Queue ``piece`` (waiting while the writer is behind); False once told to stop."""
        if self._stop.is_set():
            return False
        self._pieces.put(piece)
        return True


def _pieces(rows: Iterator[str]) -> Iterator[bytes]:
    """The rows' chunks encoded and gathered into pieces of ``PIECE_BYTES`` or more (the
    last one smaller): the same bytes in the same order."""
    gathered: list[bytes] = []
    size = 0
    for text in rows:
        gathered.append(text.encode("utf-8"))
        size += len(gathered[-1])
        if size >= PIECE_BYTES:
            yield b"".join(gathered)
            gathered, size = [], 0
    if gathered:
        yield b"".join(gathered)
