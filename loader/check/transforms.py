"""
Named transforms that turn a cell's text into the API's form, one value at a time.

Every transform takes and returns text, so mapped columns stay plain strings; structured
values are carried in a canonical text form that ``task_settings.py`` reads back:
days ``"1,2,3,4,5"``, periods ``"08:00:00-12:00:00,22:00:00-06:00:00"``, time zones
``"+08:00"`` or a zone name, ROI and config as compact JSON, booleans ``"true"``/``"false"``.
Days, windows and zones are read by ``schedule.py``, which owns the documented schedule.
A value a transform cannot read raises ``TransformError`` with what was wrong and how to
write it instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Final, TypeVar

from loader.check import schedule
from loader.model.problems import shown
from loader.model.vias import MAX_ROI_CHARS, roi_problem
from loader.read.names import loose_key

Transform = Callable[[str], str]
T = TypeVar("T")


class TransformError(ValueError):
    """A cell value a transform cannot read; ``fix`` says how to write it."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


def days(text: str) -> str:
    """Days of the week (``Mon-Fri``, ``1,3,5``, ``周一至周五``, ``weekdays``) as ``1,...,7``."""
    return ",".join(map(str, _read_schedule(schedule.parse_days, text)))


def periods(text: str) -> str:
    """Time windows (``08:00-18:00``, ``8am-6pm``, ``all day``) as ``hh:mm:ss-hh:mm:ss,...``.

    The end of the day is ``23:59:00``; a window crossing midnight stays one pair, begin after
    end, until ``schedule.weekly_schedule`` puts its second part on the next day.
    """
    return ",".join(f"{b}-{e}" for b, e in _read_schedule(schedule.parse_windows, text))


def _read_schedule(parse: Callable[[str], T], text: str) -> T:
    """A ``schedule`` parser's result, its ScheduleError as a TransformError with the same fix."""
    try:
        return parse(text)
    except schedule.ScheduleError as exc:
        raise TransformError(str(exc), exc.fix) from exc


_ROI_FIX: Final = (
    "write points as x,y;x,y;x,y (polygons apart with |), as [[x,y],...], or as the"
    ' API\'s JSON {"polygons":[{"data":[[x,y],...]}]}'
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# One shape of whole points as people type it most (``x,y;x,y;x,y``, no zeros in front):
# its JSON is the text itself between OPENING and CLOSING, ";" as "],[" (``columnwise``
# makes a column of them at once).
PLAIN_POINTS: Final = re.compile(
    r"(?:0|[1-9]\d*),(?:0|[1-9]\d*)(?:;(?:0|[1-9]\d*),(?:0|[1-9]\d*))+"
)
OPENING: Final = '{{"{kind}":[{{"data":[['  # str.format: kind is "lines" or "polygons"
CLOSING: Final = "]]}]}"


def roi(text: str) -> str:
    """A region of interest as the API's compact JSON string, checked against its rules.

    Takes the API's own JSON, a JSON point list (one polygon, or a list of polygons), or
    ``x,y;x,y;...`` point text with polygons apart by ``|`` or new lines. A two-point
    shape is a line (a crossing line for counting), three or more a polygon. What comes
    out always satisfies ``payload.roi_problem``: a bad ROI fails here, on its cell.
    """
    stripped = text.strip()
    if PLAIN_POINTS.fullmatch(stripped):
        kind = "lines" if stripped.count(";") == 1 else "polygons"
        plain = OPENING.format(kind=kind) + stripped.replace(";", "],[") + CLOSING
        if len(plain) <= MAX_ROI_CHARS:
            return plain
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


_SPELLING_DAY: Final = date(2026, 1, 15)  # any date: a zone's name does not depend on it


def timezone(text: str) -> str:
    """A time zone as the mapping carries it until the plan's date is known.

    Offsets (``+8``, ``UTC+8``, ``GMT+08:00``, ``+0800``) become the documented ``+08:00``; a
    zone name becomes its IANA spelling (``Asia/Shanghai``), turned into an offset by
    ``task_settings`` on the date the plan is made; a word whose reading comes with a warning
    (``CST``) is kept, so that warning reaches its rows. Unreadable text is refused here.
    """
    from loader.check import zones  # a mapping with a time zone only (most have none)

    found = _read_schedule(lambda t: zones.normalize_offset(t, on=_SPELLING_DAY), text)
    if found.zone is not None:
        return found.zone
    return text.strip() if found.warning else found.offset


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


# Compiled on first use (``re``'s cache): only a tags column reads it, and its full-width
# characters made compiling it 0.5 ms of every run's start.
_TAG_SEPARATORS: Final = r"[,;|，；、]"


def tags(text: str) -> str:
    """A cell of tags separated by , ; | (or their Chinese forms) as ``a,b``, spaces trimmed."""
    return ",".join(t.strip() for t in re.split(_TAG_SEPARATORS, text) if t.strip())


def access_type(text: str) -> str:
    """``cloud`` or ``edge``, in any case."""
    lowered = text.strip().lower()
    if lowered in ("cloud", "edge"):
        return lowered
    raise TransformError(f"access type {shown(text)} is not cloud or edge", "write cloud or edge")


def number_text(text: str) -> str:
    """A number cell with its outer spaces gone (its range is checked with its row)."""
    return text.strip()


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


class Lookup:
    """Replace a key by its value from another sheet or file (legacy id -> source id).

    A class, not a closure: ``columnwise`` reads its table to look a whole column up at
    once (a million legacy ids are as many distinct keys).
    """

    def __init__(self, table: Mapping[str, str], *, source: str) -> None:
        self.table = table
        self.source = source

    def __call__(self, text: str) -> str:
        found = self.table.get(text)
        if found is None:
            raise TransformError(
                f"{shown(text)} is not in {self.source}",
                f"add {shown(text)} to {self.source} or fix the value",
            )
        return found


def zfill(width: int) -> Transform:
    """Restore leading zeros that Excel dropped from numeric ids (``123`` -> ``000123``)."""
    return lambda text: text.zfill(width) if text else text


def affix(prefix: str = "", suffix: str = "") -> Transform:
    """Add fixed text before and after a non-empty value."""
    return lambda text: f"{prefix}{text}{suffix}" if text else text


def replace(pattern: str, replacement: str, *, must_match: bool = False) -> Transform:
    """Regular-expression replacement (Python ``re.sub`` syntax); with ``must_match`` a
    value the pattern does not find is refused rather than passed on unchanged."""
    compiled = re.compile(pattern)
    if not must_match:
        return lambda text: compiled.sub(replacement, text)

    def required(text: str) -> str:
        """The replacement, or a refusal naming the pattern."""
        replaced, count = compiled.subn(replacement, text)
        if not count:
            raise _no_match(text, pattern)
        return replaced

    return required


def extract(pattern: str) -> Transform:
    """The part of a value the pattern finds (its first group, else the whole match); a
    value it does not find is refused, never passed on as it was."""
    compiled = re.compile(pattern)

    def found(text: str) -> str:
        """The match, or a refusal naming the pattern."""
        match = compiled.search(text)
        if match is None:
            raise _no_match(text, pattern)
        return match.group(1) if compiled.groups else match.group(0)

    return found


def _no_match(text: str, pattern: str) -> TransformError:
    """The error of a value a required pattern does not find."""
    return TransformError(
        f"{shown(text)} does not match the pattern {pattern!r}",
        "correct the value in the sheet, or widen the pattern in the mapping",
    )
