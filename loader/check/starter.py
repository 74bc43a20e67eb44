"""
A starter mapping written from an input's own headers (``bulkload mappings --init FILE``),
and the words that describe what was found in a file no bundled mapping fits: its headers,
encoding and delimiter. A new layout then starts from a file that loads, not a blank page.
Pure: works on a read ``InputBook``.
"""

from __future__ import annotations

import json
import re
from typing import Final

import pandas as pd

from loader.read.layout import column_letter, find_header, looks_like_data
from loader.read.sheets import InputBook

# Header words that suggest a field, most telling first (folded: no case, no spaces).
GUESSES: Final = (
    (
        "video_source_id",
        re.compile(r"uuid|sourceid|videosource|cam(era)?(id|no|code|#)|deviceid|^id$"),
    ),
    ("group", re.compile(r"group|grupp|grupo|分组")),
    ("camera_name", re.compile(r"name|名称|lieu|place|location")),
    ("target_roi", re.compile(r"roi|zone|points|区域")),
    ("stream_url", re.compile(r"rtsp|streamurl|url|地址")),
    ("latitude", re.compile(r"^lat|纬度")),
    ("longitude", re.compile(r"^lon|^lng|经度")),
)
HEADERS_SHOWN: Final = 12


def found_words(workbook: InputBook) -> str:
    """``headers A, B, C (row 1 of sheet 'S'); encoding utf-8; delimiter ','``."""
    name, grid = _first_sheet(workbook)
    row, headers = _headers(grid)
    shown = ", ".join(repr(h) for h in headers[:HEADERS_SHOWN])
    more = f" and {len(headers) - HEADERS_SHOWN} more" if len(headers) > HEADERS_SHOWN else ""
    words = [f"headers {shown or '(none)'}{more} (row {row + 1} of sheet {name!r})"]
    if workbook.encoding:
        words.append(f"encoding {workbook.encoding}")
    if workbook.delimiter:
        words.append(f"delimiter {workbook.delimiter!r}")
    return "; ".join(words)


def starter_mapping(workbook: InputBook) -> str:
    """TOML text of a mapping for ``workbook``'s first sheet, its columns guessed from the
    headers and every other header listed under ``ignore`` to be mapped or left."""
    name, grid = _first_sheet(workbook)
    row, headers = _headers(grid)
    headerless = len(looks_like_data(headers)) > 0
    if headerless:
        headers = [column_letter(n) for n in range(grid.shape[1])]
    fields = _guess(headers) if not headerless else {}
    by_name = "video_source_id" not in fields and "camera_name" in fields
    if by_name and "group" in fields:  # no ids at all: the group is found by name too
        fields["group_name"] = fields.pop("group")
    if not by_name:
        fields.setdefault("video_source_id", headers[0] if headers else "A")
    used = set(fields.values())
    lines = [
        f"# Starter mapping for {workbook.file}, written from its headers by"
        f" `bulkload mappings --init`. Check each line, then:",
        f"#   bulkload validate {workbook.file} -m THIS_FILE.toml",
        f"name = {_quoted(workbook.path.stem)}",
        "",
        "[cameras]",
    ]
    if workbook.kind != "csv":
        lines.append(f"sheet = {_quoted(name)}")
    if headerless:
        lines.append("header = false  # row 1 looked like data: columns are named by letter")
    else:
        lines.append(f"header_row = {row + 1}")
    ignore = [h for h in headers if h not in used]
    lines.append(f"ignore = [{', '.join(_quoted(h) for h in ignore)}]  # map these, or leave them")
    lines += ["", "[cameras.columns]"]
    for field, header in fields.items():
        keys = ("video_source_id", "group", "camera_name" if by_name else "")
        required = ", required = true" if field in keys else ""
        lines.append(f"{field} = {{ column = {_quoted(header)}{required} }}")
    if by_name and "group_name" not in fields:
        lines.append('group_name = { default = "cameras" }  # found by name, or registered')
    elif not by_name and "group" not in fields:
        lines.append('# group = { column = "...", required = true }  # or default = "group-id"')
    lines += [
        "",
        "[task]",
        '# service_name = "c-smoke-and-fire-cloud"  # the algorithm\'s API id',
        '# service_version = "3.0"',
        "# event_center = true",
    ]
    return "\n".join(lines) + "\n"


def _first_sheet(workbook: InputBook) -> tuple[str, pd.DataFrame]:
    """The sheet a starter is written for: the first one holding rows."""
    for name, grid in workbook.sheets.items():
        if len(grid):
            return name, grid
    return next(iter(workbook.sheets.items()), ("", pd.DataFrame()))


def _headers(grid: pd.DataFrame) -> tuple[int, list[str]]:
    """The detected header row's index and its non-empty cells."""
    if not len(grid):
        return 0, []
    row = find_header(grid, [])
    return row, [str(h) for h in grid.iloc[row] if h]


def _guess(headers: list[str]) -> dict[str, str]:
    """Field -> the first header whose words suggest it (each header used once)."""
    fields: dict[str, str] = {}
    for field, pattern in GUESSES:
        for header in headers:
            folded = "".join(header.split()).casefold()
            if header not in fields.values() and pattern.search(folded):
                fields[field] = header
                break
    return fields


def _quoted(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)
