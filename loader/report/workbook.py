"""
The results workbook (``results.xlsx``): Summary with a chart, Cameras (every input row),
Groups, Batches, Problems and Not in sheet. Written with xlsxwriter in constant-memory
mode, row by row. [I/O]

Every text from the input or the API is written as a string, never a formula; text that
starts with ``=``, ``+``, ``-``, ``@``, tab, CR or LF gets a leading ``'`` as OWASP advises
against CSV/formula injection (the results mapping strips it again on re-import).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Final

import pandas as pd
import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.worksheet import Worksheet

from loader.bulk import bulk
from loader.errors import storage_error
from loader.model.cameras import STATUS_INFO, STATUSES, CameraStatus
from loader.report.results import RESULT_COLUMNS, ResultTables
from loader.report.segments import SheetSegments, segment_rows
from loader.report.sheet_xml import (
    Body,
    Segmented,
    column_letter,
    neutralise,
    render_column,
    rows_xml,
    splice,
)

MAX_WIDTH: Final = 60
WIDTH_SAMPLE: Final = 2000


Rendered = Mapping[str, Mapping[str, list[str]]]  # sheet -> column -> its cells, made ahead


RENDER_STEP: Final = 2000  # cells rendered ahead between two looks at the event loop


def render_ahead(
    sheet: str, columns: Mapping[str, object], into: dict[str, dict[str, list[str]]]
) -> Generator[None, None, None]:
    """Render cells of a table sheet's columns before its other columns are known (a run
    renders the inventory's while it waits on the network), into ``into`` for
    ``write_results``; a step per ``RENDER_STEP`` cells, so the caller can pause between."""
    cells = into.setdefault(sheet, {})
    for name, values in columns.items():
        series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
        numeric = _writer(series)
        yield  # a column's type, then its cells: some 20 ms each at 600,000 cameras
        listed = series.tolist()
        rendered: list[str] = []
        for start in range(0, len(listed), RENDER_STEP):
            rendered += render_column(listed[start : start + RENDER_STEP], numeric=numeric)
            yield
        cells[name] = rendered


@bulk
def write_results(
    path: Path,
    results: ResultTables,
    rendered: Rendered | None = None,
    segments: Mapping[str, SheetSegments] | None = None,
) -> None:
    """Write ``results`` to ``path`` (replaced atomically: a reader never sees half a file).

    ``rendered`` holds cells ``render_ahead`` made already, ``segments`` the segments of
    table sheets made ahead, by sheet (each used only where the final rows render the
    same). A file that cannot be written (disk full, no permission) is a StorageError.
    """
    try:
        _write(path, results, rendered or {}, segments or {})
    except (OSError, XlsxWriterException) as exc:
        raise storage_error(
            "write",
            path,
            exc,
            hint="free disk space (or close the file in Excel), then"
            f" `bulkload reconcile {path.parent}` writes it again",
        ) from exc


def _write(
    path: Path, results: ResultTables, rendered: Rendered, segments: Mapping[str, SheetSegments]
) -> None:
    """The workbook, written beside ``path`` and then moved over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.xlsx")
    book = xlsxwriter.Workbook(
        str(partial),
        {
            "constant_memory": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    styles = _Styles(book)
    _summary(book, styles, results)
    bodies = {
        _table(
            book,
            styles,
            "Cameras",
            results.cameras,
            status_column="Status",
            rendered=rendered,
            segments=segments.get("Cameras"),
        ),
        _table(book, styles, "Groups", results.groups, segments=segments.get("Groups")),
        _table(book, styles, "Batches", results.batches, status_column="Status"),
        _table(book, styles, "Problems", results.problems),
        _table(book, styles, "Not in sheet", results.not_in_sheet),
        _table(book, styles, "Changes", results.changes, status_column="Status"),
    }
    if not results.registered.empty:  # a sheet of names: what its registration did
        bodies.add(_table(book, styles, "Registered", results.registered))
    book.close()
    splice(partial, dict(body for body in bodies if body is not None))
    partial.replace(path)


class _Styles:
    """The few formats the workbook uses."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.header = book.add_format(
            {
                "bold": True,
                "bg_color": "#305496",
                "font_color": "#FFFFFF",
                "border": 1,
                "text_wrap": True,
                "valign": "top",
            }
        )
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.key = book.add_format({"bold": True})
        self.status = {
            str(s): book.add_format({"bg_color": i.colour}) for s, i in STATUS_INFO.items()
        }


def _summary(book: xlsxwriter.Workbook, styles: _Styles, results: ResultTables) -> None:
    """Run facts, counts by status, and a chart of them."""
    sheet = book.add_worksheet("Summary")
    sheet.write_string(0, 0, "bulkload results", styles.title)
    row = 2
    for key, value in results.facts:
        sheet.write_string(row, 0, key, styles.key)
        sheet.write_string(row, 1, neutralise(value))
        row += 1
    row += 1
    sheet.write_string(row, 0, "Status", styles.header)
    sheet.write_string(row, 1, "Camera rows", styles.header)
    first = row + 1
    for status in STATUSES:
        row += 1
        sheet.write_string(row, 0, status, styles.status[status])
        sheet.write_number(row, 1, results.counts.get(status, 0))
    row += 1
    sheet.write_string(row, 0, "total", styles.key)
    sheet.write_number(row, 1, sum(results.counts.values()))
    chart = book.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": "Camera rows by status",
            "categories": ["Summary", first, 0, first + len(STATUSES) - 1, 0],
            "values": ["Summary", first, 1, first + len(STATUSES) - 1, 1],
            "points": [
                {
                    "fill": {"color": STATUS_INFO[CameraStatus(s)].colour},
                    "border": {"color": "#7F7F7F"},
                }
                for s in STATUSES
            ],
        }
    )
    chart.set_title({"name": "Camera rows by status"})
    chart.set_legend({"none": True})
    sheet.insert_chart(2, 3, chart, {"x_scale": 1.3, "y_scale": 1.2})
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 60)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 1)


def _table(
    book: xlsxwriter.Workbook,
    styles: _Styles,
    name: str,
    frame: pd.DataFrame,
    *,
    status_column: str | None = None,
    rendered: Rendered | None = None,
    segments: SheetSegments | None = None,
) -> tuple[str, Body] | None:
    """One table sheet: frozen header, autofilter, sensible widths, statuses coloured.

    xlsxwriter writes the header and the sheet's features; the body rows are returned
    (worksheet part, dimension, rows; or the body in segments, some made ahead) to be
    spliced in after it closes.
    """
    sheet = book.add_worksheet(name)
    part = f"xl/worksheets/sheet{len(book.worksheets())}.xml"
    columns = [str(c) for c in frame.columns]
    _widths(sheet, columns, frame)
    for column, header in enumerate(columns):
        sheet.write_string(0, column, neutralise(header), styles.header)
    sheet.freeze_panes(1, 0)
    sheet.set_landscape()
    sheet.repeat_rows(0)
    sheet.fit_to_pages(1, 0)
    rows = len(frame)
    sheet.autofilter(0, 0, max(rows, 1), max(len(columns) - 1, 0))
    if status_column in columns and rows:
        at = columns.index(status_column)
        for status, style in styles.status.items():
            sheet.conditional_format(
                1,
                at,
                rows,
                at,
                {"type": "cell", "criteria": "==", "value": f'"{status}"', "format": style},
            )
    if not rows or not columns:
        return None
    numeric = numeric_columns(frame)
    dimension = f"A1:{column_letter(len(columns) - 1)}{rows + 1}"
    made = (rendered or {}).get(name)
    whole = rows_xml(frame, numeric, rendered=made)
    reused = segments.reusable(frame, numeric) if segments is not None else {}
    if segments is None or not reused:  # none made ahead, or none still right
        return part, (dimension, whole)
    made_now = [
        reused.get(index) or segment_rows(frame, numeric, index, made)
        for index in range(segments.count())
    ]
    return part, Segmented(dimension, made_now, whole)


def numeric_columns(frame: pd.DataFrame) -> dict[str, bool]:
    """Whether each of a table's columns is written as numbers (else as text), by name."""
    return {str(name): _writer(frame[name]) for name in frame.columns}


def _writer(series: pd.Series) -> bool:
    """Whether a column holds numbers (written as numbers), else text."""
    return bool(pd.api.types.is_numeric_dtype(series.dtype)) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def _widths(sheet: Worksheet, columns: list[str], frame: pd.DataFrame) -> None:
    """Column widths from the header and a sample of values, capped."""
    sample = frame.head(WIDTH_SAMPLE)
    for position, header in enumerate(columns):
        values = (
            sample.iloc[:, position].astype(str).fillna("")
            if len(sample)
            else pd.Series([], dtype=str)
        )
        longest = max([len(header), *(len(v) for v in values.tolist())], default=8)
        width = min(max(longest + 2, 8), MAX_WIDTH)
        if header in RESULT_COLUMNS and header == "Message":
            width = MAX_WIDTH
        sheet.set_column(position, position, width)
