"""
A problem list as the Check page shows it: filtered (severity, sheet, Excel row or rows,
column, text), sorted by any column (errors first unless asked otherwise), one page at a
time, so a list of 10,000 renders as fast as one of 100; each message in the sheet's words
(``in_words``); and the whole list as CSV, the bytes ``--report`` writes. Pure.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final
from urllib.parse import urlencode

from loader.check.mapping import FIELDS
from loader.check.task_settings import fields_of
from loader.model.problems import Problem, Severity
from loader.report.files import PROBLEM_COLUMNS

SORTS: Final = ("severity", "sheet", "row", "column", "value", "message", "code")
DEFAULT_SORT: Final = "severity"  # errors first (by row), then warnings, then notes
PAGE_SIZES: Final = (50, 100, 200, 500)
PAGE_SIZE: Final = 100
_RANK: Final = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_FIELD_FIRST: Final = re.compile(r"([a-z_]+(?:\.[a-z_0-9]+)*)(?=[ :;])")


@dataclass(frozen=True)
class TableQuery:
    """A long table's query from the URL (Check's problems, a run's cameras needing
    attention), which its links repeat with a field or two changed."""

    def pairs(self) -> dict[str, str]:
        """The query's URL parameters, "" for a default (left out of a link)."""
        raise NotImplementedError

    def params(self, **changes: Any) -> str:
        """This query with some fields changed, as a URL query string (defaults left out)."""
        pairs = replace(self, **changes).pairs()
        return urlencode({k: v for k, v in pairs.items() if v})


@dataclass(frozen=True, kw_only=True)
class ProblemQuery(TableQuery):
    """What the person asked to see; every field comes from the URL, checked leniently."""

    severity: str = ""
    sheet: str = ""
    column: str = ""
    row: str = ""  # "129" or "120-140"
    text: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = False
    page: int = 1
    size: int = PAGE_SIZE

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ProblemQuery:
        """A query from URL parameters; unknown values fall back to the defaults."""
        severity = params.get("severity", "")
        sort = params.get("sort", DEFAULT_SORT)
        sheet, row, text = table_filters(params)
        page, size = paging(params)
        return cls(
            severity=severity if severity in {s.value for s in Severity} else "",
            sheet=sheet,
            column=params.get("column", "")[:200],
            row=row,
            text=text,
            sort=sort if sort in SORTS else DEFAULT_SORT,
            descending=params.get("order") == "desc",
            page=page,
            size=size,
        )

    def pairs(self) -> dict[str, str]:
        """The query's URL parameters, "" for a default."""
        return {
            "severity": self.severity,
            "sheet": self.sheet,
            "column": self.column,
            "row": self.row,
            "q": self.text,
            "sort": "" if self.sort == DEFAULT_SORT else self.sort,
            "order": "desc" if self.descending else "",
            **paging_params(self.page, self.size),
        }

    def sorted_by(self, column: str) -> str:
        """The link of a column header: sort by it, or flip the order when it already is."""
        flip = self.sort == column and not self.descending
        return self.params(sort=column, descending=flip, page=1)


@dataclass(frozen=True)
class ProblemPage:
    """One page of the matching problems and where it stands."""

    rows: list[Problem]
    matched: int
    page: int
    pages: int
    first: int  # 1-based position of the first row shown (0 when none match)


def in_words(problem: Problem) -> str:
    """The message as the sheet says it: an API field that opens it (``video_source_id is
    empty``, ``output.obs.bucket: ...``) named by the problem's column (``Device UUID is
    empty``). The CSV and the CLI keep the message as it is."""
    found = _FIELD_FIRST.match(problem.message)
    if not found or not problem.column or problem.column == found[1]:
        return problem.message
    name = found[1]
    if name not in FIELDS and not fields_of(name):
        return problem.message
    return problem.column + problem.message[len(name) :]


def select(problems: Sequence[Problem], query: ProblemQuery) -> ProblemPage:
    """Filter, sort and cut one page; a page past the end shows the last one."""
    rows = _within(query.row)
    text = query.text.casefold()
    kept = [
        p
        for p in problems
        if (not query.severity or p.severity == query.severity)
        and (not query.sheet or p.sheet == query.sheet)
        and (not query.column or p.column == query.column)
        and (rows is None or (p.row is not None and rows[0] <= p.row <= rows[1]))
        and (
            not text
            or text in f"{p.value}\n{p.message}\n{in_words(p)}\n{p.fix}\n{p.code}".casefold()
        )
    ]
    kept.sort(key=_sort_key(query.sort), reverse=query.descending)
    pages = max(1, math.ceil(len(kept) / query.size))
    page = min(query.page, pages)
    start = (page - 1) * query.size
    return ProblemPage(
        kept[start : start + query.size], len(kept), page, pages, start + 1 if kept else 0
    )


def _sort_key(column: str) -> Any:
    """The key of a sort column (rows missing a number sort first)."""
    if column == "severity":
        return lambda p: (_RANK.get(p.severity, 3), p.sheet, p.row if p.row is not None else -1)
    if column == "row":
        return lambda p: (p.sheet, p.row if p.row is not None else -1)
    return lambda p: (getattr(p, column).casefold(), p.row if p.row is not None else -1)


def _within(text: str) -> tuple[int, int] | None:
    """``129`` -> (129, 129); ``120-140`` -> (120, 140); anything else: no row filter."""
    low, _, high = text.partition("-")
    if not low.strip().isdigit() or (high and not high.strip().isdigit()):
        return None
    first = int(low)
    return (first, int(high) if high else first)


def table_filters(params: Mapping[str, str]) -> tuple[str, str, str]:
    """The sheet, Excel row or rows and text a table is filtered by, as the URL gives them
    (Check's problems and a run's cameras alike), cut to a sane length."""
    sheet = params.get("sheet", "")[:200]
    return sheet, params.get("row", "").strip()[:40], params.get("q", "").strip()[:200]


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    """The page and page size the URL asks for: page 1 and ``PAGE_SIZE`` unless it names
    a page and one of ``PAGE_SIZES``."""
    size = _number(params.get("size"), PAGE_SIZE)
    return max(1, _number(params.get("page"), 1)), size if size in PAGE_SIZES else PAGE_SIZE


def paging_params(page: int, size: int) -> dict[str, str]:
    """The page and page size as URL parameters ("" for a default, which is left out)."""
    return {"page": "" if page == 1 else str(page), "size": "" if size == PAGE_SIZE else str(size)}


def _number(text: str | None, default: int) -> int:
    """A whole number from the URL, or the default."""
    return int(text) if text and text.isdigit() and len(text) < 9 else default


def problems_csv(problems: Sequence[Problem]) -> bytes:
    """Every problem as ``--report FILE.csv`` writes them: same columns, UTF-8 with BOM."""
    stream = io.StringIO(newline="")
    writer = csv.DictWriter(stream, fieldnames=PROBLEM_COLUMNS)
    writer.writeheader()
    for problem in problems:
        writer.writerow(problem.as_dict())
    return stream.getvalue().encode("utf-8-sig")
