"""
Secret cell values (a password column the mapping marks ``secret = true``, or a password
written inside a stream address), kept out of everything that is written or shown.

When a sheet is mapped, each distinct secret value is replaced in the rows by a reference,
``${BULKLOAD_SHEET_SECRET_<n>}`` (n counts distinct values in the order they first appear),
and the value is kept only in this in-memory table. From then on rows, problems, payload
files, the journal, results and messages hold the reference, exactly like a ``${VAR}`` the
user wrote. The sender resolves references at send time only: its environment is the
process's variables with these values over them (``run.registration.environment``), handed
to ``loader.send.registry.SourceRegistry``, whose ``resolve`` fills every ``${...}`` of a
``type_config`` and notes the values for the run's scrubber. A resume reads the same sheet
again, so the same values get the same numbers.
"""

from __future__ import annotations

import re
from bisect import bisect_right, insort
from collections.abc import Collection, Iterator, Mapping
from itertools import groupby
from os.path import commonprefix
from typing import Final

PREFIX: Final = "BULKLOAD_SHEET_SECRET_"
SHEET_REFERENCE: Final = re.compile(r"\$\{" + PREFIX + r"\d+\}")
# A table's values are looked up in a text's slices (one per place and value length:
# nothing to make first, but some 0.2 us each) until that has cost about what compiling
# one pattern of them costs (re compiles some 40 us a value), then found by that pattern
# (a few us a text): a table of a few values is compiled after a few texts, one of
# 600,000 (a sheet of per-camera passwords: some 25 s to compile) only for many problems.
_SLICES_PER_VALUE: Final = 200
# The pattern's depth in nested groups: re's parser recurses per group and overflows the
# stack near 500 (a chain of values each the prefix of the next); below it, a plain list.
_MAX_NESTING: Final = 50


class SecretTable(Mapping[str, str]):
    """Secret values by the variable name their reference uses (a Mapping for ``resolve``).

    ``repr`` and ``str`` never show a value: a table that lands in a log shows its size.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, str] = {}
        self._by_value: dict[str, str] = {}
        self._finder: _Finder | None = None  # made by the first ``hides``, dropped by a new value

    def refer(self, value: str) -> str:
        """The ``${...}`` reference standing for ``value`` ("" stays "": nothing to hide)."""
        if not value:
            return value
        name = self._by_value.get(value)
        if name is None:
            name = f"{PREFIX}{len(self._by_name) + 1}"
            self._by_value[value] = name
            self._by_name[name] = value
            self._finder = None
        return f"${{{name}}}"

    def hides(self, text: str) -> str:
        """``text`` with every secret value in it replaced by its reference: the longest
        value first (of equal lengths, the first referred), each where it occurs left to
        right, except where it would overlap a reference (put in, or there already)."""
        if not self._by_value:  # nothing to hide (and no pattern to make of nothing)
            return text
        if self._finder is None:
            self._finder = _Finder(self._by_value)
        found = self._finder.found(text)
        if not found:
            return text
        ordered = sorted(found, key=self._order)
        return _replaced(text, [(value, f"${{{self._by_value[value]}}}") for value in ordered])

    def _order(self, value: str) -> tuple[int, int]:
        """Hiding's order: the longest first; of equal lengths, the first referred."""
        return -len(value), int(self._by_value[value].removeprefix(PREFIX))

    def __getitem__(self, name: str) -> str:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        return f"<SecretTable of {len(self)} values>"

    __str__ = __repr__


class _Finder:
    """The values of a table that a text holds, found at a cost that follows the text's
    length, not the table's size (see ``_SLICES_PER_VALUE``)."""

    def __init__(self, values: Collection[str]) -> None:
        self.values = values
        self.lengths = sorted({len(value) for value in values})
        self.budget = _SLICES_PER_VALUE * len(values)  # slices to look up before compiling
        self.pattern: re.Pattern[str] | None = None
        self.starting: dict[str, list[str]] = {}

    def found(self, text: str) -> set[str]:
        """The values ``text`` holds."""
        if self.pattern is None:
            if self.budget > 0:
                self.budget -= len(text) * len(self.lengths)
                return self._sliced(text)
            self.pattern = re.compile(_trie(sorted(self.values)))
        return self._matched(text, self.pattern)

    def _sliced(self, text: str) -> set[str]:
        """The values among the text's slices of the values' lengths."""
        size = len(text)
        return {
            value
            for length in self.lengths
            if length <= size
            for start in range(size - length + 1)
            if (value := text[start : start + length]) in self.values
        }

    def _matched(self, text: str, pattern: re.Pattern[str]) -> set[str]:
        """The values the pattern finds, tried from each next character (a value may start
        inside another), with the shorter values each starts with."""
        found: set[str] = set()
        match = pattern.search(text)
        while match is not None:
            found.update(self._starting(match[0]))
            match = pattern.search(text, match.start() + 1)
        return found

    def _starting(self, longest: str) -> list[str]:
        """The values ``longest`` starts with, itself among them: the pattern names only
        the longest value at each place, and a shorter one may be hidden there too."""
        values = self.starting.get(longest)
        if values is None:
            prefixes = (longest[:n] for n in self.lengths if n <= len(longest))
            values = self.starting[longest] = [p for p in prefixes if p in self.values]
        return values


def _replaced(text: str, replacements: list[tuple[str, str]]) -> str:
    """``text`` with each (value, reference) in turn (the values it holds, in hiding's
    order) put in: left to right, where it overlaps no reference put in or already there."""
    taken = [match.span() for match in SHEET_REFERENCE.finditer(text)]
    put: dict[int, tuple[int, str]] = {}  # start -> (end, reference)
    for value, reference in replacements:
        start = text.find(value)
        while start >= 0:
            end = start + len(value)
            blocked = _overlapped(taken, start, end)
            if blocked is None:
                insort(taken, (start, end))
                put[start] = (end, reference)
            start = text.find(value, end if blocked is None else blocked)
    pieces: list[str] = []
    at = 0
    for start in sorted(put):
        end, reference = put[start]
        pieces += (text[at:start], reference)
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def _overlapped(taken: list[tuple[int, int]], start: int, end: int) -> int | None:
    """Where the first span of ``taken`` (sorted, apart) that ``start:end`` overlaps
    ends; ``None`` if it overlaps none. A later match of the same value overlaps it too
    until that end: it is where to look again."""
    after = bisect_right(taken, (start, end))
    if after and taken[after - 1][1] > start:
        return taken[after - 1][1]
    if after < len(taken) and taken[after][0] < end:
        return taken[after][1]
    return None


def _trie(values: list[str], nesting: int = 0) -> str:
    """A pattern matching the longest of ``values`` (sorted, distinct, not empty) that
    starts where it is tried: common prefixes written once, one branch per next
    character, so trying it reads the characters, not the whole list."""
    if nesting == _MAX_NESTING:
        return "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    branches = []
    for _, same_first in groupby(values, key=lambda value: value[0]):
        group = list(same_first)
        prefix = commonprefix(group)  # noqa: RUF071 - characters, not paths, are wanted
        rests = [value[len(prefix) :] for value in group if len(value) > len(prefix)]
        branch = re.escape(prefix)
        if rests:  # "?" when the prefix is a value itself: greedy, the longer tried first
            optional = "?" if len(rests) < len(group) else ""
            branch += f"(?:{_trie(rests, nesting + 1)}){optional}"
        branches.append(branch)
    return "|".join(branches)
