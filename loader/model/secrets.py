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
from collections.abc import Iterator, Mapping
from typing import Final

PREFIX: Final = "BULKLOAD_SHEET_SECRET_"
SHEET_REFERENCE: Final = re.compile(r"\$\{" + PREFIX + r"\d+\}")


class SecretTable(Mapping[str, str]):
    """Secret values by the variable name their reference uses (a Mapping for ``resolve``).

    ``repr`` and ``str`` never show a value: a table that lands in a log shows its size.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, str] = {}
        self._by_value: dict[str, str] = {}

    def refer(self, value: str) -> str:
        """The ``${...}`` reference standing for ``value`` ("" stays "": nothing to hide)."""
        if not value:
            return value
        name = self._by_value.get(value)
        if name is None:
            name = f"{PREFIX}{len(self._by_name) + 1}"
            self._by_value[value] = name
            self._by_name[name] = value
        return f"${{{name}}}"

    def hides(self, text: str) -> str:
        """``text`` with every secret value in it replaced by its reference."""
        for value, name in sorted(self._by_value.items(), key=lambda p: -len(p[0])):
            text = text.replace(value, f"${{{name}}}")
        return text

    def __getitem__(self, name: str) -> str:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        return f"<SecretTable of {len(self)} values>"

    __str__ = __repr__
