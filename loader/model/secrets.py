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
from typing import Final

import ahocorasick

PREFIX: Final = "BULKLOAD_SHEET_SECRET_"
SHEET_REFERENCE: Final = re.compile(r"\$\{" + PREFIX + r"\d+\}")
# A table's values are looked up in a text's slices (one per place and value length:
# nothing to make first, but some 0.2 us each) until that has cost about what building an
# Aho-Corasick automaton of them costs (some 5 us a value), then found by it in one pass
# over the text: a table of a few values is built after a few texts, one of 600,000 (a
# sheet of per-camera passwords: some 3 s to build) only for many problems.
_SLICES_PER_VALUE: Final = 25


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
        if not self._by_value:  # nothing to hide (and no automaton to make of nothing)
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
        self.budget = _SLICES_PER_VALUE * len(values)  # slices to look up before building
        self.automaton: ahocorasick.Automaton | None = None

    def found(self, text: str) -> set[str]:
        """The values ``text`` holds, wherever they start and however they overlap."""
        if self.automaton is None:
            if self.budget > 0:
                self.budget -= len(text) * len(self.lengths)
                return self._sliced(text)
            self.automaton = _automaton(self.values)
        return {value for _, value in self.automaton.iter(text)}

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


def _automaton(values: Collection[str]) -> ahocorasick.Automaton:
    """An Aho-Corasick automaton of ``values`` (not empty), each its own payload: one pass
    over a text reports every value in it, nested and overlapping ones too."""
    automaton = ahocorasick.Automaton()
    for value in values:
        automaton.add_word(value, value)
    automaton.make_automaton()
    return automaton


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
