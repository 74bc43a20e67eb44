"""
Named transforms that turn a cell's text into the API's form, one value at a time.

Every transform takes and returns text, so mapped columns stay plain strings; structured
values are carried in a canonical text form that ``task_settings.py`` reads back:
days ``"1,2,3,4,5"``, periods ``"08:00:00-12:00:00,13:00:00-18:00:00"``, ROI and config
as compact JSON, booleans ``"true"``/``"false"``. A value a transform cannot read raises
``TransformError`` with what was wrong and how to write it instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Final

from loader.model.problems import shown
from loader.model.vias import MAX_ROI_CHARS, roi_problem
from loader.read.names import loose_key

Transform = Callable[[str], str]


class TransformError(ValueError):
    """A cell value a transform cannot read; ``fix`` says how to write it."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


_DAY_WORDS: Final = {
    **{
        w: d
        for d, names in enumerate(
            (
                ("mon", "monday", "mo", "周一", "星期一", "礼拜一"),
                ("tue", "tues", "tuesday", "tu", "周二", "星期二", "礼拜二"),
                ("wed", "wednesday", "we", "周三", "星期三", "礼拜三"),
                ("thu", "thur", "thurs", "thursday", "th", "周四", "星期四", "礼拜四"),
                ("fri", "friday", "fr", "周五", "星期五", "礼拜五"),
                ("sat", "saturday", "sa", "周六", "星期六", "礼拜六"),
                ("sun", "sunday", "su", "周日", "周天", "星期日", "星期天", "礼拜日", "礼拜天"),
            ),
            start=1,
        )
        for w in names
    },
    **{str(d): d for d in range(1, 8)},
}
_DAY_SETS: Final = {
    **dict.fromkeys(
        ("daily", "everyday", "every day", "all", "all days", "每天", "每日"), (1, 2, 3, 4, 5, 6, 7)
    ),
    **dict.fromkeys(("weekdays", "workdays", "工作日"), (1, 2, 3, 4, 5)),
    **dict.fromkeys(("weekends", "weekend", "周末"), (6, 7)),
}
_DAYS_FIX: Final = "write days as Mon-Fri, Mon,Wed,Fri, 1-5, weekdays, weekends or daily"
_RANGE = re.compile(r"\s*(?:-|~|–|—|\bto\b|至|到)\s*")
_LIST = re.compile(r"\s*[,;/、，；\s]\s*")


def days(text: str) -> str:
    """Days of the week (``Mon-Fri``, ``1,3,5``, ``周一至周五``, ``weekdays``) as ``1,...,7``."""
    found: set[int] = set()
    lowered = text.strip().lower()
    if lowered in _DAY_SETS:
        return ",".join(map(str, _DAY_SETS[lowered]))
    for part in _LIST.split(_RANGE.sub("-", lowered)):
        if part:
            found.update(_day_part(part, text))
    if not found:
        raise TransformError(f"no days in {shown(text)}", _DAYS_FIX)
    return ",".join(map(str, sorted(found)))


def _day_part(part: str, text: str) -> range | tuple[int, ...]:
    """One list item of a day list: a day, a day range (wrapping past Sunday) or a set."""
    if part in _DAY_SETS:
        return _DAY_SETS[part]
    ends = part.split("-")
    numbers = [_DAY_WORDS.get(end) for end in ends]
    if len(ends) > 2 or None in numbers:
        unknown = next((e for e, n in zip(ends, numbers, strict=True) if n is None), part)
        raise TransformError(
            f"{shown(unknown)} in {shown(text)} is not a day of the week", _DAYS_FIX
        )
    first, last = (n or 0 for n in (numbers[0], numbers[-1]))
    if first <= last:
        return range(first, last + 1)
    return tuple(range(first, 8)) + tuple(range(1, last + 1))


_ALL_DAY = ("00:00:00", "23:59:59")
_ALL_DAY_WORDS: Final = frozenset({"all day", "allday", "24h", "24/7", "24x7", "全天", "always"})
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*(am|pm)?$")
_PERIODS_FIX: Final = "write windows as 08:00-18:00, several as 08:00-12:00,13:00-18:00"


def periods(text: str) -> str:
    """Time windows (``08:00-18:00``, ``8am-6pm``, ``all day``) as ``hh:mm:ss-hh:mm:ss,...``."""
    lowered = text.strip().lower()
    if lowered in _ALL_DAY_WORDS:
        return "-".join(_ALL_DAY)
    windows = []
    for part in re.split(r"\s*[,;，；\n]\s*|\s+(?=\d{1,2}:\d{2}\s*[-~])", lowered):
        if not part:
            continue
        ends = _RANGE.split(part)
        if len(ends) != 2:
            raise TransformError(
                f"{shown(part)} in {shown(text)} is not a time window", _PERIODS_FIX
            )
        windows.append(f"{_clock(ends[0], text)}-{_clock(ends[1], text, end=True)}")
    if not windows:
        raise TransformError(f"no time windows in {shown(text)}", _PERIODS_FIX)
    return ",".join(windows)


def _clock(value: str, text: str, *, end: bool = False) -> str:
    """One time of day as ``hh:mm:ss``; ``24:00`` as a window's end is ``23:59:59``."""
    match = _TIME.match(value.strip())
    if not match:
        raise TransformError(f"{shown(value)} in {shown(text)} is not a time of day", _PERIODS_FIX)
    hour, minute, second = (int(g or 0) for g in match.group(1, 2, 3))
    if match.group(4) == "pm" and hour < 12:
        hour += 12
    elif match.group(4) == "am" and hour == 12:
        hour = 0
    if end and (hour, minute, second) == (24, 0, 0):
        return _ALL_DAY[1]
    if hour > 23 or minute > 59 or second > 59:
        raise TransformError(f"{shown(value)} in {shown(text)} is not a time of day", _PERIODS_FIX)
    return f"{hour:02d}:{minute:02d}:{second:02d}"


_ROI_FIX: Final = (
    "write points as x,y;x,y;x,y (polygons apart with |), as [[x,y],...], or as the"
    ' API\'s JSON {"polygons":[{"data":[[x,y],...]}]}'
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def roi(text: str) -> str:
    """A region of interest as the API's compact JSON string, checked against its rules.

    Takes the API's own JSON, a JSON point list (one polygon, or a list of polygons), or
    ``x,y;x,y;...`` point text with polygons apart by ``|`` or new lines. A two-point
    shape is a line (a crossing line for counting), three or more a polygon. What comes
    out always satisfies ``payload.roi_problem``: a bad ROI fails here, on its cell.
    """
    stripped = text.strip()
    if not stripped.startswith("{"):
        shapes = _json_shapes(stripped) if stripped.startswith("[") else _text_shapes(stripped)
        result = _roi_json(shapes, text)  # well formed by construction; only length to check
        if len(result) > MAX_ROI_CHARS:
            raise TransformError(
                f"ROI is {len(result)} characters as JSON; the API takes at most {MAX_ROI_CHARS}",
                "use fewer points",
            )
        return result
    try:
        result = json.dumps(json.loads(stripped), separators=(",", ":"), ensure_ascii=False)
    except ValueError as exc:
        raise TransformError(f"ROI JSON does not parse: {exc}", _ROI_FIX) from exc
    problem = roi_problem(result)
    if problem:
        raise TransformError(problem, _ROI_FIX)
    return result


def _roi_json(shapes: list[list[tuple[int, int]]], text: str) -> str:
    """Shapes as ``{"lines":[...],"polygons":[...]}`` text, written directly (hot path)."""
    kinds: dict[str, list[str]] = {}
    for shape in shapes:
        if len(shape) < 2:
            raise TransformError(f"ROI shape {shape} has fewer than 2 points", _ROI_FIX)
        data = ",".join(f"[{x},{y}]" for x, y in shape)
        kinds.setdefault("lines" if len(shape) == 2 else "polygons", []).append(
            f'{{"data":[{data}]}}'
        )
    if not kinds:
        raise TransformError(f"no ROI points in {shown(text)}", _ROI_FIX)
    return "{" + ",".join(f'"{k}":[{",".join(v)}]' for k, v in kinds.items()) + "}"


def _json_shapes(text: str) -> list[list[tuple[int, int]]]:
    """Shapes from ``[[x,y],...]`` (one) or ``[[[x,y],...],...]`` (several)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise TransformError(f"ROI point list does not parse: {exc}", _ROI_FIX) from exc
    nested = bool(value) and isinstance(value[0], list) and bool(value[0])
    shapes = value if nested and isinstance(value[0][0], list) else [value]
    return [[_point(p, text) for p in shape] for shape in shapes]


def _text_shapes(text: str) -> list[list[tuple[int, int]]]:
    """Shapes from ``x,y;x,y`` or ``(x,y) (x,y)`` text, several apart by ``|`` or lines."""
    shapes = []
    for chunk in re.split(r"\s*[|\n]\s*", text):
        numbers = _NUMBER.findall(chunk)
        if not numbers:
            continue
        if len(numbers) % 2:
            raise TransformError(f"ROI {shown(chunk)} has an odd count of numbers", _ROI_FIX)
        if all(n.isdigit() for n in numbers):
            shapes.append(
                [(int(x), int(y)) for x, y in zip(numbers[::2], numbers[1::2], strict=True)]
            )
            continue
        pairs = zip(numbers[::2], numbers[1::2], strict=True)
        shapes.append([_point([float(x), float(y)], text) for x, y in pairs])
    return shapes


def _point(value: object, text: str) -> tuple[int, int]:
    """A point as whole non-negative pixels (``204.0`` is ``204``)."""
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(c, int | float) and not isinstance(c, bool) for c in value)
        and all(c >= 0 and float(c).is_integer() for c in value)
    ):
        return (int(value[0]), int(value[1]))
    raise TransformError(
        f"ROI point {value} in {shown(text)} is not whole non-negative pixels", _ROI_FIX
    )


_OFFSET = re.compile(r"^(?:gmt|utc)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")
_TIMEZONE_WORDS: Final = {
    "北京时间": "GMT+08:00",
    "cst": "GMT+08:00",
    "utc": "GMT+00:00",
    "gmt": "GMT+00:00",
    "z": "GMT+00:00",
}


def timezone(text: str) -> str:
    """UTC offsets (``UTC+8``, ``+0800``, ``GMT+08:00``) as ``GMT+08:00``; zone names as given."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in _TIMEZONE_WORDS:
        return _TIMEZONE_WORDS[lowered]
    match = _OFFSET.match(lowered)
    if not match:
        return stripped
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes > 59:
        raise TransformError(f"{shown(text)} is not a UTC offset", "write an offset like GMT+08:00")
    return f"GMT{sign}{hours:02d}:{minutes:02d}"


_TRUE: Final = frozenset({"true", "yes", "y", "1", "on", "x", "✓", "是", "开", "启用", "t"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "off", "", "否", "关", "停用", "f", "-"})


def boolean(text: str) -> str:
    """Yes/no words (``yes``, ``Y``, ``1``, ``是``...) as ``true`` or ``false``."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return "true"
    if lowered in _FALSE:
        return "false"
    raise TransformError(f"{shown(text)} is not yes or no", "write yes/no, true/false or 1/0")


def integer(text: str) -> str:
    """A whole number written as Excel stores it (``12.0``, ``1,200``) as plain digits."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    try:
        number = float(cleaned)
    except ValueError:
        raise TransformError(f"{shown(text)} is not a number", "write digits only") from None
    if not number.is_integer():
        raise TransformError(f"{shown(text)} is not a whole number", "write digits only")
    return str(int(number))


def json_object(text: str) -> str:
    """A JSON object cell, compacted; anything else is refused."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise TransformError(f"not JSON: {exc}", 'write a JSON object such as {"key": 1}') from exc
    if not isinstance(value, dict):
        raise TransformError("not a JSON object", 'write a JSON object such as {"key": 1}')
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


SIMPLE: Final[Mapping[str, Transform]] = {
    "strip": str.strip,
    "upper": str.upper,
    "lower": str.lower,
    "collapse_spaces": lambda text: " ".join(text.split()),
    "int": integer,
    "bool": boolean,
    "days": days,
    "periods": periods,
    "roi": roi,
    "json": json_object,
    "timezone": timezone,
}


def value_map(table: Mapping[str, str], *, strict: bool) -> Transform:
    """Replace values by a table (keys matched ignoring case and spaces)."""
    folded = {loose_key(key): value for key, value in table.items()}

    def apply(text: str) -> str:
        found = folded.get(loose_key(text))
        if found is not None:
            return found
        if strict:
            choices = ", ".join(sorted(table))
            raise TransformError(
                f"{shown(text)} is not one of the known values", f"use one of: {choices}"
            )
        return text

    return apply


def lookup(table: Mapping[str, str], *, source: str) -> Transform:
    """Replace a key by its value from another sheet or file (legacy id -> source id)."""

    def apply(text: str) -> str:
        found = table.get(text)
        if found is None:
            raise TransformError(
                f"{shown(text)} is not in {source}",
                f"add {shown(text)} to {source} or fix the value",
            )
        return found

    return apply


def zfill(width: int) -> Transform:
    """Restore leading zeros that Excel dropped from numeric ids (``123`` -> ``000123``)."""
    return lambda text: text.zfill(width) if text else text


def affix(prefix: str = "", suffix: str = "") -> Transform:
    """Add fixed text before and after a non-empty value."""
    return lambda text: f"{prefix}{text}{suffix}" if text else text


def replace(pattern: str, replacement: str) -> Transform:
    """Regular-expression replacement (Python ``re.sub`` syntax)."""
    compiled = re.compile(pattern)
    return lambda text: compiled.sub(replacement, text)
