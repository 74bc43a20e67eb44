"""
Reading inventory files into grids of text, one per sheet.

xlsx, xlsm, xls and ods are read by pandas with the python-calamine engine (openpyxl on
request); CSV by pandas' C parser after the encoding and delimiter are found. A grid keeps
every row from the sheet's first: index 0 is Excel row 1 (line 1 of a CSV), so problems can
name the row a person sees. Every cell is text, trimmed, ``""`` when empty; numbers that
Excel stored as whole floats come back without ``.0``.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain, zip_longest
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd

from loader.errors import InputError
from loader.read.guard import DEFAULT_LIMITS, Limits, check_file
from loader.read.trim import cell_text, trimmed

ExcelReader = Literal["calamine", "openpyxl"]
ZIP_MAGIC: Final = b"PK\x03\x04"
OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
DELIMITERS: Final = (",", ";", "\t", "|")
_SNIFF_BYTES: Final = 256 * 1024
_SNIFF_RECORDS: Final = 200
_UTF8_BOM: Final = b"\xef\xbb\xbf"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
_MARKS: Final = (_UTF8_BOM, *_UTF16_BOMS)  # an encoding the file's first bytes name


@dataclass(frozen=True)
class InputBook:
    """The sheets of one input file as raw text grids (no header chosen yet)."""

    path: Path
    kind: str
    sheets: dict[str, pd.DataFrame]
    encoding: str | None = None
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def file(self) -> str:
        """The file name problems are reported against."""
        return self.path.name


def read_workbook(
    path: Path,
    *,
    engine: ExcelReader = "calamine",
    encoding: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> InputBook:
    """Read every sheet of ``path`` as text; any failure is an InputError saying why.

    ``guard.check_file`` runs first: no parser sees a file that is too big, a zip bomb, or
    XML with entity declarations.
    """
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file", path=str(path))
    check_file(path, limits)
    with path.open("rb") as stream:
        head = stream.read(8)
    if not head:
        raise InputError(f"{path.name} is empty", path=str(path), hint="export the sheet again")
    if head.startswith((ZIP_MAGIC, OLE_MAGIC)):
        return _read_excel(path, engine)
    if path.suffix.lower() in {".xlsx", ".xlsm", ".xls", ".ods"}:
        raise InputError(
            f"{path.name} is named like a spreadsheet but is not one (no xlsx/xls signature)",
            path=str(path),
            hint="open it in Excel and save it as .xlsx, or rename it if it is a CSV",
        )
    return _read_csv(path, encoding)


def _read_excel(path: Path, engine: ExcelReader) -> InputBook:
    """All sheets of a workbook: calamine's cells taken column by column, or through pandas
    (openpyxl)."""
    try:
        if engine == "calamine":
            sheets = {name: _tidy_columns(cells, _excel_text) for name, cells in _calamine(path)}
            return InputBook(path, "xls" if path.suffix.lower() == ".xls" else "xlsx", sheets)
        frames = pd.read_excel(
            path, sheet_name=None, header=None, dtype=str, keep_default_na=False, engine=engine
        )
    except Exception as exc:
        raise InputError(
            f"cannot read {path.name} as a spreadsheet: {_short(exc)}",
            path=str(path),
            hint="check the file opens in Excel; save it again as .xlsx",
        ) from exc
    sheets = {str(name): _tidy(frame) for name, frame in frames.items()}
    return InputBook(path, "xls" if path.suffix.lower() == ".xls" else "xlsx", sheets)


def _read_csv(path: Path, encoding: str | None) -> InputBook:
    """A CSV file as one sheet named after the file.

    Without an encoding named or marked, a file whose head is UTF-8 is first read as
    UTF-8, strictly: the parser decodes every cell, so a read that succeeds proves the
    file UTF-8 and a scan of it beforehand is saved (0.08 s of CPU for the 1M-row CSV);
    any failure reads it again as before, the encoding found by ``detect_encoding``, with
    that one's errors. (A head that is not UTF-8 goes there at once: no parse wasted.)
    """
    with path.open("rb") as stream:
        sample = stream.read(_SNIFF_BYTES)
    if encoding is None and not sample.startswith(_MARKS) and _utf8_head(sample):
        try:
            return _read_csv_as(path, sample, "utf-8")
        except (InputError, UnicodeDecodeError):
            pass  # not UTF-8, or not readable in any encoding: the exact path says which
    return _read_csv_as(path, sample, encoding or detect_encoding(path, sample))


def _read_csv_as(path: Path, sample: bytes, encoding: str) -> InputBook:
    """A CSV file read in ``encoding`` (``sample``: its head)."""
    try:
        text = sample.decode(encoding, errors="ignore")
    except LookupError as exc:
        raise InputError(f"unknown encoding {encoding!r}", hint="name one like cp1252") from exc
    if "\x00" in text:
        raise InputError(
            f"{path.name} is binary, not a CSV or spreadsheet",
            path=str(path),
            hint="give an .xlsx, .xls or .csv export of the inventory",
        )
    whole = len(sample) < _SNIFF_BYTES
    delimiter = sniff_delimiter(text, whole=whole)
    width = max(map(len, records(text, delimiter, whole=whole)), default=1)
    frame = _parse_csv(path, encoding, delimiter, width)
    return InputBook(path, "csv", {path.stem: _tidy(frame)}, encoding, delimiter)


def _parse_csv(path: Path, encoding: str, delimiter: str, width: int) -> pd.DataFrame:
    """The C parser, widened when a later line has more fields than the sample showed.

    ``index_col=False``: given fewer names than a record's fields, pandas would otherwise
    make the extra leading fields the row index, and a sheet's first column would vanish
    without a word; here that case is an error that widens the read.
    """
    for _ in range(4):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return pd.read_csv(
                    path,
                    sep=delimiter,
                    header=None,
                    names=range(width),
                    index_col=False,
                    dtype=str,
                    keep_default_na=False,
                    skip_blank_lines=False,
                    encoding=encoding,
                    encoding_errors="strict",
                    engine="c",
                )
        except pd.errors.ParserWarning:
            width = _widest(path, encoding, delimiter)
        except pd.errors.ParserError as exc:
            wider = re.search(r"saw (\d+)", str(exc))
            if not wider:
                raise InputError(
                    f"cannot parse {path.name} as CSV: {_short(exc)}", path=str(path)
                ) from exc
            width = int(wider.group(1))
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path.name} is not valid {encoding} text: {_short(exc)}",
                path=str(path),
                hint="name the encoding with --encoding (for example cp1252 or gb18030)",
            ) from exc
        except pd.errors.EmptyDataError as exc:
            raise InputError(f"{path.name} has no rows", path=str(path)) from exc
    raise InputError(f"cannot parse {path.name}: the rows keep growing wider", path=str(path))


def detect_encoding(path: Path, sample: bytes) -> str:
    """UTF-8 (with or without BOM) and UTF-16 by their marks, else the best guess."""
    if sample.startswith(_UTF8_BOM):
        return "utf-8-sig"
    if sample.startswith(_UTF16_BOMS):
        return "utf-16"
    if _is_utf8(path):
        return "utf-8"
    from charset_normalizer import from_bytes  # 0.02 s to import: only for text not UTF-8

    best = from_bytes(sample).best()
    return best.encoding if best is not None else "cp1252"


def _utf8_head(sample: bytes) -> bool:
    """Whether the head of a file decodes as UTF-8 (a character cut at its end allowed)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample)
    except UnicodeDecodeError:
        return False
    return True


def _is_utf8(path: Path) -> bool:
    """Whether the whole file decodes as UTF-8 (read in chunks, cut safely)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 22):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def records(text: str, delimiter: str, *, whole: bool = True) -> list[list[str]]:
    """The first ``_SNIFF_RECORDS`` records of ``text`` as the CSV reader splits them.

    Records, not lines: a quoted cell may hold line breaks (Excel writes wrapped cells so),
    and counting fields line by line then sees a record as two narrower ones. ``whole``
    is false when ``text`` is the head of a longer file: its last record may be cut short.
    """
    found: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            found.append(record)
            if len(found) > _SNIFF_RECORDS:
                break
    except csv.Error:  # a cell over the reader's size limit: the lines are all we have
        return [line.split(delimiter) for line in text.splitlines()[:_SNIFF_RECORDS]]
    if not whole and len(found) <= _SNIFF_RECORDS:
        found = found[:-1]
    return found[:_SNIFF_RECORDS]


def _widest(path: Path, encoding: str, delimiter: str) -> int:
    """The most fields any record of the whole file holds (when the head was not enough)."""
    try:
        with path.open(encoding=encoding, newline="") as stream:
            return max((len(r) for r in csv.reader(stream, delimiter=delimiter)), default=1)
    except csv.Error as exc:
        raise InputError(f"cannot parse {path.name} as CSV: {exc}", path=str(path)) from exc


def sniff_delimiter(text: str, *, whole: bool = True) -> str:
    """The delimiter that splits the largest share of records into one number of fields.

    A share, not a count: a wrong delimiter inside quoted cells may cut one record into
    several alike, and so win on a count of records while leaving the header whole.
    """
    best, best_score = ",", (0.0, 0, 0)
    for candidate in DELIMITERS:
        found = [r for r in records(text, candidate, whole=whole) if any(c.strip() for c in r)]
        counts = Counter(len(r) - 1 for r in found)
        counts.pop(0, None)
        if not counts:
            continue
        width, rows = counts.most_common(1)[0]
        score = (rows / len(found), rows, width)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _calamine(path: Path) -> Iterator[tuple[str, list[np.ndarray]]]:
    """Each worksheet's columns of cells as calamine reads them, in the text pandas makes of
    them (``read_excel(dtype=str)``): the same grid without pandas' Python step per cell
    (its cell conversion, its parser, then its text conversion): the floor of a plan."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum  # an xlsx only: not for a CSV

    book = CalamineWorkbook.from_path(str(path))
    try:
        for sheet in book.sheets_metadata:
            if sheet.typ != SheetTypeEnum.WorkSheet:  # as pandas: chart sheets are not read
                continue
            rows = book.get_sheet_by_name(sheet.name).to_python(skip_empty_area=False)
            yield sheet.name, _columns(rows)
    finally:
        book.close()


def _columns(rows: Sequence[Sequence[object]]) -> list[np.ndarray]:
    """A sheet's rows of cells as its columns: the cells laid in one array and cut by
    column (3x faster than transposing the rows' tuples); ragged rows padded with ``""``."""
    if len(set(map(len, rows))) > 1:
        return [np.array(c, dtype=object) for c in zip_longest(*rows, fillvalue="")]
    width = len(rows[0]) if rows else 0
    grid = np.array(list(chain.from_iterable(rows)), dtype=object).reshape(len(rows), width)
    return [grid[:, n].copy() for n in range(width)]


def _excel_text(value: object) -> str:
    """One non-text cell as ``read_excel(dtype=str, keep_default_na=False)`` gives it,
    trimmed: whole floats without ``.0``, dates as midnight datetimes, anything else
    through ``str``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date) and not isinstance(value, datetime):
        return str(datetime(value.year, value.month, value.day))
    return str(value).strip()


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as trimmed text; positional column labels 0..n-1; index = Excel row - 1."""
    return _tidy_columns([frame.iloc[:, n].to_numpy(dtype=object) for n in range(frame.shape[1])])


def _tidy_columns(raw: list[np.ndarray], text: Callable[[object], str] = cell_text) -> pd.DataFrame:
    """Columns of cells as a grid of trimmed text (see ``_tidy``); ``text`` makes the text
    of a cell that is not text.

    Columns right of the last one holding any text are dropped (formatting residue in
    Excel, delimiter guesses in CSV).
    """
    raw = list(raw)
    while len(raw) > 1 and not (raw[-1] != "").any():  # empty as read: nothing to trim
        raw.pop()
    columns = [trimmed(values, text) for values in raw]
    width = len(columns)
    while width > 1 and not any(columns[width - 1]):
        width -= 1
    return pd.DataFrame(dict(enumerate(columns[:width])), dtype=object, copy=False)


def _short(exc: BaseException) -> str:
    """An exception's first line, for a one-line message."""
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
