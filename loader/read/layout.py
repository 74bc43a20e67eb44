"""
Finding the table inside a sheet: the header row below any title rows, and the data rows
between it and any footer, with blank rows, repeated headers and footers set aside and
reported. Pure: works on the text grid ``read/sheets.py`` reads.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Final, Protocol

import numpy as np
import pandas as pd

from loader.errors import InputError
from loader.model.problems import Place, Problem, Severity
from loader.read.distinct import by_object, first_rows
from loader.read.names import header_key, may_fold_to

HEADER_SCAN_ROWS: Final = 50


class TableHints(Protocol):
    """What a mapping says about where a sheet's table is (its SheetSpec fits)."""

    @property
    def header(self) -> bool: ...

    @property
    def header_row(self) -> int | None: ...

    @property
    def comment_marker(self) -> str | None: ...

    @property
    def footer_markers(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class Table:
    """The data rows of one sheet under their header."""

    file: str
    sheet: str
    header_row: int  # Excel row of the header
    headers: list[str]  # one per grid column; "" where the header cell is empty
    body: pd.DataFrame  # data rows only, columns = grid positions
    rows: np.ndarray  # Excel row number of each body row
    skipped: list[Problem]

    def place(self, row: int) -> Place:
        """Where Excel row ``row`` of this sheet is."""
        return Place(self.file, self.sheet, row)


def locate(
    grid: pd.DataFrame,
    spec: TableHints,
    known: Collection[str],
    *,
    keys: Collection[str],
    file: str,
    sheet: str,
    mapped: Collection[str] = (),
) -> Table:
    """Cut ``grid`` to its header and data rows, reporting the rows left out.

    ``known`` are the header names the mapping knows (they find the header row); ``keys``
    the names of the columns the key is read from (a value there is data, never a footer
    note); ``mapped`` the names of every column a field reads (a footer holding a value
    in one of them, with no marker, is warned about: it may be a camera without a key).
    """
    header_index, headers = _header(grid, spec, known)
    body = grid.iloc[header_index + 1 :]
    keep = _holding(body)
    sheet_place = Place(file, sheet, 0)  # the sheet's rows are placed from it
    skipped = _title_rows(grid.iloc[: max(header_index, 0)], file, sheet)
    if spec.header:
        skipped += _header_like_data(headers, Place(file, sheet, header_index + 1))
    skipped += _blank_runs(body.index.to_numpy(), keep, file, sheet)
    folded_header = [header_key(h) for h in headers]
    repeated = _repeated_headers(body, keep, folded_header if spec.header else [])
    keep &= ~repeated
    skipped += _left_out(
        body,
        repeated,
        sheet_place,
        "repeated-header",
        "the header row is repeated here (a page break of the export); skipped",
    )
    key_folded = {_folded(k, spec.header) for k in keys}
    key_positions = {i for i, h in enumerate(folded_header) if h and h in key_folded}
    if spec.comment_marker:
        comments = _comments(body, keep, spec.comment_marker)
        keep &= ~comments
        note = f"starts with {spec.comment_marker!r}: a note, skipped"
        skipped += _left_out(body, comments, sheet_place, "comment-row", note)
    footer = _footer(body, keep, spec.footer_markers, key_positions)
    keep &= ~footer
    note = "footer row below the data; skipped"
    skipped += _left_out(body, footer, sheet_place, "footer", note, with_values=True)
    mapped_folded = {_folded(m, spec.header) for m in mapped}
    mapped_positions = [i for i, h in enumerate(folded_header) if h and h in mapped_folded]
    skipped += _unmarked_footers(
        body, footer, spec.footer_markers, mapped_positions, headers, sheet_place
    )
    kept = body if keep.all() else body[keep]  # most sheets keep every row: no copy
    return Table(file, sheet, header_index + 1, headers, kept, kept.index.to_numpy() + 1, skipped)


def _header(grid: pd.DataFrame, spec: TableHints, known: Collection[str]) -> tuple[int, list[str]]:
    """The header row's index in ``grid`` and its names; with no header row (-1), the
    columns are named by letter (A, B, ...) and data starts at row 1."""
    if not spec.header:
        return -1, [column_letter(n) for n in range(grid.shape[1])]
    header_index = (spec.header_row - 1) if spec.header_row else find_header(grid, known)
    if header_index >= len(grid):
        header_index = max(len(grid) - 1, 0)
    return header_index, list(grid.iloc[header_index]) if len(grid) else []


def _left_out(
    body: pd.DataFrame,
    rows: np.ndarray,
    where: Place,
    code: str,
    message: str,
    *,
    with_values: bool = False,
) -> list[Problem]:
    """A note at each row of ``body`` that ``rows`` marks (``where``: its file and sheet):
    left out, and why; ``with_values``: what the row holds, as the person may miss it."""
    return [
        Problem.at(
            replace(where, row=int(i) + 1),
            Severity.INFO,
            code,
            message,
            value=" ".join(v for v in body.loc[i] if v)[:200] if with_values else "",
        )
        for i in body.index[rows]
    ]


def select(table: Table, column: str, allowed: frozenset[str]) -> Table:
    """Only the rows whose ``column`` holds one of ``allowed`` (``--only failed,rejected``)."""
    folded = [header_key(h) for h in table.headers]
    if header_key(column) not in folded:
        raise InputError(
            f"--only needs a {column!r} column; sheet {table.sheet!r} of {table.file} has none",
            path=table.file,
            hint="give the Cameras sheet of a results workbook, or leave --only out",
        )
    values = table.body.iloc[:, folded.index(header_key(column))].str.strip().str.lower()
    chosen = values.isin(allowed).to_numpy()
    dropped = int((~chosen).sum())
    note = Problem.at(
        Place(table.file, table.sheet, table.header_row),
        Severity.INFO,
        "not-selected",
        f"{dropped} rows skipped: their {column} is not {' or '.join(sorted(allowed))} (--only)",
    )
    return replace(
        table,
        body=table.body[chosen],
        rows=table.rows[chosen],
        skipped=[*table.skipped, *([note] if dropped else [])],
    )


def find_header(grid: pd.DataFrame, known: Collection[str]) -> int:
    """The grid index of the header: the row naming most known columns, else the first full row."""
    scan = grid.iloc[:HEADER_SCAN_ROWS]
    if scan.empty:
        return 0
    known_folded = {header_key(k) for k in known}
    matches = [
        sum(header_key(v) in known_folded for v in row if v) for row in scan.itertuples(index=False)
    ]
    if max(matches) > 0:
        return int(np.argmax(matches))
    filled = (scan != "").sum(axis=1).to_numpy()
    return int(np.argmax(filled >= max(2, filled.max() // 2)))


def _holding(body: pd.DataFrame) -> np.ndarray:
    """Which rows hold any text: the first column read whole, each next one only at the
    rows still empty (a sheet's first column is rarely blank: one pass, not one a column)."""
    if not body.shape[1]:
        return np.zeros(len(body), dtype=bool)
    holding: np.ndarray = body.iloc[:, 0].to_numpy(dtype=object) != ""
    empty = np.flatnonzero(~holding)
    for column in range(1, body.shape[1]):
        if not len(empty):
            break
        found = body.iloc[:, column].to_numpy(dtype=object)[empty] != ""
        holding[empty[found]] = True
        empty = empty[~found]
    return holding


def _title_rows(above: pd.DataFrame, file: str, sheet: str) -> list[Problem]:
    """One INFO problem for the rows above the header that hold text (titles, notes)."""
    texts = [" ".join(v for v in row if v) for row in above.itertuples(index=False)]
    if not any(texts):
        return []
    return [
        Problem.at(
            Place(file, sheet, 1),
            Severity.INFO,
            "title-rows",
            f"rows 1-{len(texts)} above the header (titles, notes); skipped",
            value=" | ".join(t for t in texts if t)[:200],
        )
    ]


def _blank_runs(index: np.ndarray, keep: np.ndarray, file: str, sheet: str) -> list[Problem]:
    """One INFO problem per run of blank rows (not after the last data row)."""
    if not keep.any():
        return []
    blank = np.concatenate(([False], ~keep[: np.flatnonzero(keep)[-1]], [False]))
    edges = np.diff(blank.view(np.int8))
    problems = []
    for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        first_row, last_row = int(index[start]) + 1, int(index[end - 1]) + 1
        span = (
            f"row {first_row} is" if first_row == last_row else f"rows {first_row}-{last_row} are"
        )
        problems.append(
            Problem.at(
                Place(file, sheet, first_row), Severity.INFO, "blank-rows", f"{span} blank; skipped"
            )
        )
    return problems


def _repeated_headers(body: pd.DataFrame, keep: np.ndarray, header: list[str]) -> np.ndarray:
    """Rows that repeat the header text (exports that print it on every page)."""
    named = [i for i, h in enumerate(header) if h]
    if len(named) < 2:
        return np.zeros(len(body), dtype=bool)
    # A repeated header repeats every named cell: one column finds the candidates, the one
    # with the fewest distinct values in a sample (an algorithm, not an id).
    sampled = {i: _sample(body.iloc[:, i].to_numpy(dtype=object)) for i in named}
    distinct = {i: len(set(sample)) for i, sample in sampled.items()}
    column = min(named, key=distinct.__getitem__)
    values = body.iloc[:, column].to_numpy(dtype=object)
    repeating = 2 * distinct[column] <= len(sampled[column])
    candidates = _folding_to(values, header[column], keep, by_objects=repeating)
    repeated = np.zeros(len(body), dtype=bool)
    for position in candidates:
        row = body.iloc[position]
        repeated[position] = all(header_key(row.iloc[i]) == header[i] for i in named)
    return repeated


def _sample(values: np.ndarray, size: int = 1_000) -> list[object]:
    """``size`` of ``values`` spread over the column (all of a shorter one)."""
    sample: list[object] = values[:: max(len(values) // size, 1)].tolist()
    return sample


def _folding_to(values: np.ndarray, key: str, keep: np.ndarray, *, by_objects: bool) -> np.ndarray:
    """Positions of the kept ``values`` whose ``header_key`` is ``key``; only the texts
    whose characters could fold to it are folded (``may_fold_to`` counts them all at once,
    no Python step per text). ``by_objects``: a column of repeating values, each counted
    and folded once per object (the readers hand a repeated cell as one object: a million
    cells of three analytics are 90 objects; counting each cell's characters took 0.3 to
    0.6 s of the 1,000,000-row CSV's plan), else once per cell (a column of distinct values
    is as many objects: numbering them costs 20 to 30 ms at 600,000 cells, and hashing its
    values to fold each once took 0.4 s of a 600,000-camera run's start)."""
    objects = by_object(values) if by_objects else None
    texts = values if objects is None else values[first_rows(objects)]
    maybe = np.flatnonzero(may_fold_to(texts, key))
    folded = np.zeros(len(texts), dtype=bool)
    folded[maybe] = [header_key(str(v)) == key for v in texts[maybe]]
    found: np.ndarray = np.flatnonzero((folded if objects is None else folded[objects]) & keep)
    return found


def _comments(body: pd.DataFrame, keep: np.ndarray, marker: str) -> np.ndarray:
    """Rows whose first value starts with the comment marker (example rows, notes)."""
    first = np.full(len(body), "", dtype=object)
    for column in range(body.shape[1]):
        empty = first == ""
        if not empty.any():
            break
        first[empty] = body.iloc[:, column].to_numpy(dtype=object)[empty]
    marked = np.fromiter((str(v).startswith(marker) for v in first), dtype=bool, count=len(first))
    result: np.ndarray = marked & keep
    return result


def _footer(
    body: pd.DataFrame,
    keep: np.ndarray,
    markers: Sequence[str],
    keys: set[int],
) -> np.ndarray:
    """Trailing rows that are totals or export notes rather than data.

    A trailing row is a footer when its first text starts with a marker ("Total", "合计",
    "Exported ..."), or when it holds a single value outside the key column. A row with a
    value in the key column is never a footer: a camera is never mistaken for a note.
    """
    footer = np.zeros(len(body), dtype=bool)
    lowered = [m.lower() for m in markers]
    for position in np.flatnonzero(keep)[::-1]:
        cells = list(body.iloc[position])
        filled = sum(1 for v in cells if v)
        if any(cells[k] for k in keys if k < len(cells)) and filled > 1:
            break
        first_text = next((v for v in cells if v), "").lower()
        lone_note = filled == 1 and not any(cells[k] for k in keys if k < len(cells))
        if not (lone_note or any(first_text.startswith(m) for m in lowered)):
            break
        footer[position] = True
    return footer


def _unmarked_footers(
    body: pd.DataFrame,
    footer: np.ndarray,
    markers: Sequence[str],
    mapped: list[int],
    headers: list[str],
    where: Place,
) -> list[Problem]:
    """One warning naming the footer rows that start with no footer marker but hold a
    value in a mapped column: a person may have left a camera's key empty."""
    lowered = tuple(m.lower() for m in markers)
    rows: list[int] = []
    columns: set[str] = set()
    for i in body.index[footer]:
        cells = list(body.loc[i])
        first_text = next((v for v in cells if v), "").lower()
        holding = [headers[k] for k in mapped if k < len(cells) and cells[k]]
        if holding and not first_text.startswith(lowered):
            rows.append(int(i) + 1)
            columns.update(holding)
    if not rows:
        return []
    return [
        Problem.at(
            replace(where, row=rows[0]),
            Severity.WARNING,
            "footer-with-data",
            f"{_row_list(rows)} below the last row with a key hold values in mapped columns"
            f" ({', '.join(sorted(columns))}) and were skipped as footers",
            fix="fill in their key if they are cameras; else start them with a footer marker",
            value=", ".join(str(r) for r in rows)[:200],
        )
    ]


def _row_list(rows: list[int]) -> str:
    """``row 7`` or ``rows 7, 9-11``: Excel rows as a person reads them."""
    spans: list[tuple[int, int]] = []
    for row in rows:
        if spans and spans[-1][1] == row - 1:
            spans[-1] = (spans[-1][0], row)
        else:
            spans.append((row, row))
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
    return f"row {text}" if len(rows) == 1 else f"rows {text}"


def _folded(name: str, header: bool) -> str:
    """A column name as compared with the headers; without a header row, a position
    ("3") names the column of that letter ("C")."""
    folded = header_key(name)
    return (
        header_key(column_letter(int(folded) - 1))
        if not header and folded.isdigit() and int(folded)
        else folded
    )


def column_letter(position: int) -> str:
    """Excel's name of the column at 0-based ``position``: A, B, ..., Z, AA, AB, ..."""
    name = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


# What header cells never look like and data cells often do: numbers and coordinates,
# addresses (URLs, IPs), and ids (letters and digits joined without spaces: cam-0001).
_DATA_LIKE = re.compile(
    r"-?\d+([.,]\d+)?([,; ]+-?\d+([.,]\d+)?)*"  # numbers, coordinates
    r"|[a-z][a-z0-9+.-]*://\S+"  # URLs (rtsp://, https://)
    r"|\d{1,3}(\.\d{1,3}){3}(:\d+)?"  # IPv4 addresses
    r"|[^\s\d]*\d[^\s]*[-_/.:][^\s]*\d[^\s]*|[^\s]+[-_][^\s]*\d+",  # ids with digits
    re.IGNORECASE,
)


def looks_like_data(headers: list[str]) -> list[str]:
    """The cells of a header row that look like data, when at least two and half do (a
    header of names with one "Camera 1" among them is still a header)."""
    named = [h for h in headers if h]
    like = [h for h in named if _DATA_LIKE.fullmatch(h)]
    return like if len(like) >= 2 and 2 * len(like) >= len(named) else []


def _header_like_data(headers: list[str], where: Place) -> list[Problem]:
    """A warning when most cells of the header row look like data: a file without a header
    row would otherwise lose its first row to the header, without a word."""
    like = looks_like_data(headers)
    if not like:
        return []
    named = [h for h in headers if h]
    return [
        Problem.at(
            where,
            Severity.WARNING,
            "header-looks-like-data",
            f"the header row (row {where.row}) looks like data ({', '.join(map(repr, like[:3]))});"
            " if the file has no header row, its first row is lost",
            fix="set header = false in the mapping and name columns by letter (video_source_id"
            ' = "A") or position ("1")',
            value=" | ".join(named)[:200],
        )
    ]
