"""
Time zones as the VIAS schedule takes them: a fixed UTC offset written ``+08:00``
(reference, section "TaskSchedule"). Sheets may say ``+8``, ``UTC+8``, ``GMT+08:00``,
``+0800``, ``北京时间`` or an IANA zone (``Asia/Shanghai``); a zone becomes its offset at noon
on a given date, and a zone with daylight saving gets a warning naming both offsets and
that date, since one fixed offset cannot follow the clock change. Pure.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Final

from loader.check.schedule import OFFSET_RANGE, ScheduleError, fold
from loader.model.problems import shown

_OFFSET_FIX: Final = (
    "write an offset such as +08:00, UTC+8, GMT-05:30 or +0800, or a zone such as Asia/Shanghai"
)


@dataclass(frozen=True)
class ZoneResult:
    """A time zone as the documented offset, with a warning when the offset loses something."""

    offset: str
    warning: str | None = None
    zone: str | None = None


_CHINA: Final = 8 * 60
_ZONE_WORDS: Final = {
    **dict.fromkeys(("utc", "gmt", "z"), 0),
    **dict.fromkeys(
        ("北京时间", "中国标准时间", "东八区", "beijing time", "china standard time", "cst"), _CHINA
    ),
}
_ZONE_WORD_WARNINGS: Final = {
    "cst": (
        "CST is read as China Standard Time (+08:00), but it also names US Central Standard"
        " Time (-06:00) and Cuba Standard Time (-05:00); write +08:00 to be sure"
    )
}
_OFFSET_TEXT: Final = re.compile(r"(?:utc|gmt)?\s*([+-])?\s*(\d{1,2})(?::?(\d{2}))?")
_NOT_ZONES: Final = frozenset({"factory", "localtime", "posixrules"})


def normalize_offset(text: str, *, on: date) -> ZoneResult:
    """A sheet's time zone as the documented fixed offset; a zone name takes its offset ``on``."""
    folded = fold(text)
    if not folded:
        raise ScheduleError("no time zone given", _OFFSET_FIX)
    if folded in _ZONE_WORDS:
        return ZoneResult(_offset_text(_ZONE_WORDS[folded]), _ZONE_WORD_WARNINGS.get(folded))
    match = _OFFSET_TEXT.fullmatch(folded)
    if match:
        return ZoneResult(_offset_text(_offset_minutes(match, text)))
    zone = _zone_names().get(folded)
    if zone is None:
        raise ScheduleError(
            f"{shown(text)} is neither a UTC offset nor a time zone name", _OFFSET_FIX
        )
    return _zone_result(zone, on)


def _offset_minutes(match: re.Match[str], text: str) -> int:
    """The minutes east of UTC of a matched offset, checked against -12:00..+14:00."""
    sign, hours, minutes = match[1], int(match[2]), int(match[3] or 0)
    if sign is None and hours + minutes:
        raise ScheduleError(
            f"{text!r} has no sign, so it could be east or west of UTC",
            f"write +{hours:02d}:{minutes:02d} east of UTC (China is +08:00) or"
            f" -{hours:02d}:{minutes:02d} west of it",
        )
    if minutes > 59:
        raise ScheduleError(f"{text!r} has {minutes} minutes; an hour has 60", _OFFSET_FIX)
    total = (hours * 60 + minutes) * (-1 if sign == "-" else 1)
    if not OFFSET_RANGE[0] <= total <= OFFSET_RANGE[1]:
        raise ScheduleError(f"{text!r} is not a UTC offset between -12:00 and +14:00", _OFFSET_FIX)
    return total


def _offset_text(minutes: int) -> str:
    """Minutes east of UTC as the documented ``+08:00``; UTC is ``+00:00``."""
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@cache
def _zone_names() -> Mapping[str, str]:
    """IANA zone names by their lower-case spelling, so ``asia/shanghai`` finds its zone."""
    names = zoneinfo.available_timezones()
    return {name.lower(): name for name in names if name.lower() not in _NOT_ZONES}


def _zone_result(zone: str, on: date) -> ZoneResult:
    """A zone's offset at noon on ``on``, warning when the zone's offset changes in the year."""
    used = _offset_on(zone, on)
    if not OFFSET_RANGE[0] <= used <= OFFSET_RANGE[1]:
        raise ScheduleError(f"{zone} is {_offset_text(used)} on {on}, out of range", _OFFSET_FIX)
    offsets = _year_offsets(zone, on.year)
    warning = _daylight_warning(zone, used, offsets, on) if len(offsets) > 1 else None
    if zone.lower().startswith("etc/gmt") and used:
        warning = (
            f"{zone} is {_offset_text(used)}: Etc/GMT names count the other way round"
            f" (Etc/GMT+8 is 8 hours behind UTC); write {_offset_text(used)} to be sure"
        )
    return ZoneResult(_offset_text(used), warning, zone)


def _offset_on(zone: str, day: date) -> int:
    """The zone's offset in minutes at local noon of ``day`` (clear of the small-hours switch)."""
    offset = datetime.combine(day, time(12), zoneinfo.ZoneInfo(zone)).utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    if seconds % 60:
        raise ScheduleError(f"{zone} has no whole-minute offset on {day}", _OFFSET_FIX)
    return seconds // 60


@cache
def _year_offsets(zone: str, year: int) -> tuple[int, ...]:
    """Every offset the zone uses at noon during ``year``, smallest first."""
    first = date(year, 1, 1)
    days = (first + timedelta(n) for n in range(366))
    return tuple(sorted({_offset_on(zone, d) for d in days if d.year == year}))


def _daylight_warning(zone: str, used: int, offsets: tuple[int, ...], on: date) -> str:
    """Why one fixed offset is wrong part of the year for a zone with daylight saving."""
    named = ", ".join(_offset_text(o) for o in offsets)
    if len(offsets) == 2:
        named = (
            f"standard time {_offset_text(offsets[0])}, daylight saving time"
            f" {_offset_text(offsets[1])}"
        )
    other = next(o for o in offsets if o != used)
    return (
        f"{zone} observes daylight saving ({named}); the schedule uses {_offset_text(used)},"
        f" its offset on {on.isoformat()}. A schedule holds one fixed offset and cannot follow"
        f" daylight saving: while {_offset_text(other)} applies, the task runs"
        f" {_duration(abs(other - used))} off local clock time."
    )


def _duration(minutes: int) -> str:
    """Minutes as ``1 hour``, ``30 minutes`` or ``1 hour 30 minutes``."""
    hours, rest = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' * (hours > 1)}"] * bool(hours)
    parts += [f"{rest} minute{'s' * (rest > 1)}"] * bool(rest)
    return " ".join(parts)
