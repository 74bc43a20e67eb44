"""Problems found in input rows: values, not exceptions, so that all are reported at once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

SHOWN_CHARS: Final = 40  # a longer cell value is cut in messages (the Problem keeps it whole)


class Severity(StrEnum):
    """How a problem affects its row."""

    ERROR = "error"  # the row is rejected: never sent
    WARNING = "warning"  # the row is sent; the user should look
    INFO = "info"  # the row (or a skipped non-data row) is noted


@dataclass(frozen=True, slots=True)
class Place:
    """Where a row stands, as a person finds it in Excel: file, sheet, 1-based row."""

    file: str
    sheet: str
    row: int


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about one cell or row, with how to fix it."""

    severity: Severity
    code: str
    message: str
    fix: str = ""
    file: str = ""
    sheet: str = ""
    row: int | None = None
    column: str = ""
    value: str = ""

    @classmethod
    def at(
        cls,
        place: Place | None,
        severity: Severity,
        code: str,
        message: str,
        *,
        fix: str = "",
        column: str = "",
        value: str = "",
    ) -> Problem:
        """Build a problem located at ``place`` (or at no row, for whole-file findings)."""
        if place is None:
            return cls(severity, code, message, fix, column=column, value=value)
        return cls(severity, code, message, fix, place.file, place.sheet, place.row, column, value)

    def as_dict(self) -> dict[str, object]:
        """The problem as a JSON-ready mapping (the --json contract)."""
        return {
            "severity": str(self.severity),
            "code": self.code,
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
            "fix": self.fix,
        }


def shown(text: str) -> str:
    """A cell value as a message quotes it: whole when short, else its start and its length."""
    if len(text) <= SHOWN_CHARS:
        return repr(text)
    return f"{text[:SHOWN_CHARS]!r}… ({len(text):,} characters)"
