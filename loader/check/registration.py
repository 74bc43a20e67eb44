"""
The rules a camera must meet before bulkload registers it (``shared/reference/
vias-sources-groups.md``), checked before anything is sent and reported all at once, in the
sheet's words: the characters at fault and the mapping transform that fixes them.

- a video source name: 1-100 of Chinese, letters, digits, space and ``. - _ ( ) （ ）``, no
  space at either end (CreateVideoSourceDto);
- a group name: 1-20 of Chinese, letters and digits (CreateVideoGroupDto; the update's rule
  adds ``-`` and ``_``, so the create's is the one both take);
- a stream address that parses: rtsp, rtsps, rtmp, http or https, with a host and no spaces
  (the schemes are ours: the reference names none, section 15.2), at most what fits the
  1,024 characters of ``type_config``;
- coordinates as text in -90..90 and -180..180, at most five decimals;
- at most 4 tags of 1-10 Chinese, letters, digits, ``-`` and ``_``;
- one camera name with two different stream addresses;
- a group of more sources than UpdateVideoGroup can hold (50: the only documented bound,
  and growing a group later sends its whole membership): split into numbered groups, or
  refused, as the mapping says.

Pure: values in, typed ``Problem`` values out (``place`` and ``column`` say where).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from loader.model.choices import GroupSplit
from loader.model.problems import Place, Problem, Severity, shown
from loader.model.sources import MAX_GROUP_MEMBERS, MAX_TAGS

MAX_SOURCE_NAME: Final = 100
MAX_GROUP_NAME: Final = 20
MAX_ADDRESS: Final = 900  # leaves the XML around it within type_config's 1,024 characters
SCHEMES: Final = ("rtsp", "rtsps", "rtmp", "http", "https")
_CHINESE = "\u4e00-\u9fa5"
_SOURCE_CHAR = re.compile(rf"[{_CHINESE}A-Za-z0-9 .\-_()（）]")
_GROUP_CHAR = re.compile(rf"[{_CHINESE}A-Za-z0-9]")
_TAG = re.compile(rf"[{_CHINESE}A-Za-z0-9_-]{{1,10}}")
_DEGREES = re.compile(r"[-+]?\d{1,3}(\.\d+)?")
# What a character at fault becomes, in words a person reads in a camera name.
WORDS: Final = {"@": "at", "&": "and", "+": "plus", "#": "No", "%": "pct", "=": "-"}
SEPARATORS: Final = frozenset("/\\|:;,")


class NameKind(StrEnum):
    """Which name rule applies."""

    SOURCE = "source"
    GROUP = "group"


@dataclass(frozen=True)
class NameFault:
    """Why a name breaks its rule, and the transforms that mend the characters at fault."""

    kind: NameKind
    name: str
    characters: tuple[str, ...]  # in the order they first appear
    replacements: tuple[tuple[str, str], ...]  # (character, what it becomes)
    too_long: bool = False
    outer_space: bool = False

    @property
    def transforms(self) -> list[str]:
        """Each fix as a mapping transform, TOML text: ``{ replace = "@", with = "at" }``."""
        found = [
            f'{{ replace = "{_toml(re.escape(c))}", with = "{_toml(w)}" }}'
            for c, w in self.replacements
        ]
        if self.outer_space:
            found.append('"strip"')
        return found

    @property
    def fixed(self) -> str:
        """The name once the transforms ran (may still be too long)."""
        text = self.name
        for character, word in self.replacements:
            text = text.replace(character, word)
        return text.strip() if self.outer_space else text


def name_fault(name: str, kind: NameKind) -> NameFault | None:
    """What breaks a source or group name's documented rule; None when it follows it."""
    allowed, limit = (
        (_SOURCE_CHAR, MAX_SOURCE_NAME)
        if kind is NameKind.SOURCE
        else (_GROUP_CHAR, MAX_GROUP_NAME)
    )
    characters = tuple(dict.fromkeys(c for c in name if not allowed.fullmatch(c)))
    outer = kind is NameKind.SOURCE and name != name.strip(" ")
    if kind is NameKind.SOURCE and name.strip(" ") != name.strip():
        outer = True  # other white space at an end is both a bad character and outer
    too_long = len(name) > limit
    if not characters and not outer and not too_long and name:
        return None
    replacements = tuple((c, _replacement(c, kind)) for c in characters)
    mended = name
    for character, word in replacements:
        mended = mended.replace(character, word)
    outer = outer or (kind is NameKind.SOURCE and mended != mended.strip())
    return NameFault(kind, name, characters, replacements, too_long, outer)


def _replacement(character: str, kind: NameKind) -> str:
    """A fitting stand-in: its word, its letter without accents, a dash, or nothing."""
    if character in WORDS:
        return WORDS[character] if kind is NameKind.SOURCE or WORDS[character].isalpha() else ""
    plain = unicodedata.normalize("NFKD", character)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    allowed = _SOURCE_CHAR if kind is NameKind.SOURCE else _GROUP_CHAR
    if plain.strip() and all(allowed.fullmatch(c) for c in plain):
        return plain
    if kind is NameKind.SOURCE and character.isspace():
        return " "
    if kind is NameKind.SOURCE and (character in SEPARATORS or plain in SEPARATORS):
        return "-"
    return ""


def _toml(text: str) -> str:
    """Text inside a TOML basic string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def name_problem(fault: NameFault, place: Place | None = None, column: str = "") -> Problem:
    """A name fault in the sheet's words, with the fix."""
    what = "camera name" if fault.kind is NameKind.SOURCE else "group name"
    rule = (
        "letters, digits, Chinese, space and . - _ ( ) （ ）, 1 to 100, no space at either end"
        if fault.kind is NameKind.SOURCE
        else "letters, digits and Chinese only, 1 to 20"
    )
    faults = []
    if fault.characters:
        faults.append("may not hold " + ", ".join(repr(c) for c in fault.characters))
    if fault.outer_space:
        faults.append("may not start or end with a space")
    if fault.too_long:
        faults.append(f"is {len(fault.name)} characters long")
    if not fault.name:
        faults.append("is empty")
    fixes = fault.transforms
    fix = f"add to the column's transforms: {', '.join(fixes)}" if fixes else ""
    if fault.too_long:
        limit = MAX_SOURCE_NAME if fault.kind is NameKind.SOURCE else MAX_GROUP_NAME
        fix = "; ".join(filter(None, [fix, f"shorten it to {limit} characters"]))
    if not fault.name:
        fix = f"fill in the {what}"
    message = f"{what} {shown(fault.name)} {' and '.join(faults)} (VIAS takes {rule})"
    code = f"{fault.kind}-name"
    return Problem.at(
        place, Severity.ERROR, code, message, fix=fix, column=column, value=fault.name
    )


def stream_url_problem(address: str) -> str | None:
    """Why a stream address cannot be registered as a ``url`` source; None when it can."""
    if address != address.strip() or any(c.isspace() for c in address):
        return f"stream address {shown(address)} holds spaces"
    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError as exc:
        return f"stream address {shown(address)} does not parse ({exc})"
    if parts.scheme.lower() not in SCHEMES:
        starts = ", ".join(f"{scheme}://" for scheme in SCHEMES)
        return f"stream address {shown(address)} must start with one of {starts}"
    if not parts.hostname:
        return f"stream address {shown(address)} names no host"
    if len(address) > MAX_ADDRESS:
        return f"stream address is {len(address):,} characters; VIAS stores at most {MAX_ADDRESS}"
    return None


def coordinate_problems(latitude: str, longitude: str) -> list[str]:
    """Why the coordinates cannot be sent; a lone one is refused too (a point needs both)."""
    found = []
    for name, text, bound in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        if text and (_DEGREES.fullmatch(text) is None or abs(float(text)) > bound):
            found.append(f"{name} {shown(text)} must be a number from -{bound} to {bound}")
    if bool(latitude) != bool(longitude):
        found.append("give both latitude and longitude, or neither")
    return found


def degrees(text: str) -> str:
    """A coordinate as the API takes it: text with at most five decimals."""
    return f"{float(text):.5f}".rstrip("0").rstrip(".")


def tag_problems(tags: Sequence[str]) -> list[str]:
    """Why the tags cannot be sent: more than 4, or one outside its rule."""
    found = []
    if len(tags) > MAX_TAGS:
        found.append(f"{len(tags)} tags; VIAS takes at most {MAX_TAGS}")
    for tag in tags:
        if _TAG.fullmatch(tag) is None:
            found.append(f"tag {shown(tag)} must be 1 to 10 of letters, digits, Chinese, - and _")
    return found


@dataclass(frozen=True)
class Addressed:
    """A camera name, its stream address and where the row stands."""

    name: str
    address: str
    place: Place | None = None


def address_conflicts(rows: Iterable[Addressed], column: str = "") -> list[Problem]:
    """Each row naming a camera already seen with another stream address."""
    first: dict[str, Addressed] = {}
    problems = []
    for row in rows:
        seen = first.setdefault(row.name, row)
        if seen.address == row.address:
            continue
        where = f" (row {seen.place.row})" if seen.place else ""
        problems.append(
            Problem.at(
                row.place,
                Severity.ERROR,
                "address-conflict",
                f"camera {shown(row.name)} has stream address {shown(row.address)} here and"
                f" {shown(seen.address)} earlier{where}",
                fix="give each camera one address, or the cameras different names",
                column=column,
                value=row.address,
            )
        )
    return problems


@dataclass(frozen=True)
class GroupPart:
    """One registered group a sheet group becomes, and its members' names."""

    name: str
    members: tuple[str, ...]


def split_group(
    name: str, members: Sequence[str], *, limit: int = MAX_GROUP_MEMBERS
) -> list[GroupPart]:
    """The group as parts of at most ``limit`` members, numbered from the second on."""
    parts = [tuple(members[n : n + limit]) for n in range(0, max(len(members), 1), limit)]
    return [
        GroupPart(name if n == 0 else _numbered(name, n + 1), part) for n, part in enumerate(parts)
    ]


def _numbered(name: str, number: int) -> str:
    """``name`` with ``number`` appended, cut so that it stays within 20 characters."""
    suffix = str(number)
    return name[: MAX_GROUP_NAME - len(suffix)] + suffix


def group_size_problems(
    groups: dict[str, Sequence[str]],
    policy: GroupSplit,
    *,
    limit: int = MAX_GROUP_MEMBERS,
) -> list[Problem]:
    """Groups too large: refused, or split (noted) unless a part's name is taken."""
    problems = []
    for name, members in groups.items():
        if len(members) <= limit:
            continue
        if policy is GroupSplit.REFUSE:
            problems.append(
                Problem.at(
                    None,
                    Severity.ERROR,
                    "group-too-large",
                    f"group {shown(name)} has {len(members):,} cameras; a VIAS group holds"
                    f" at most {limit}",
                    fix='split it in the sheet, or set large_groups = "split" under [registration]',
                    value=name,
                )
            )
            continue
        parts = split_group(name, members, limit=limit)
        taken = [p.name for p in parts[1:] if p.name in groups]
        severity = Severity.ERROR if taken else Severity.INFO
        names = ", ".join(p.name for p in parts)
        message = f"group {shown(name)} has {len(members):,} cameras: registered as {names}"
        if taken:
            message += f"; {', '.join(taken)} is a group of the sheet already"
        fix = "rename the sheet's group" if taken else ""
        problems.append(Problem.at(None, severity, "group-split", message, fix=fix, value=name))
    return problems
