"""
The verdicts of ``bulkload doctor``'s checks, as data: ``run/doctor`` makes them, the CLI
prints their lines on stderr (each status's mark coloured) or ``as_json`` on stdout. Pure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

CheckStatus = Literal["pass", "fail", "warn", "skip"]
CHECK_STATUSES: Final[tuple[CheckStatus, ...]] = ("pass", "warn", "skip", "fail")
MARKS: Final[dict[CheckStatus, str]] = {
    "pass": "PASS",
    "warn": "WARN",
    "skip": "SKIP",
    "fail": "FAIL",
}
STYLES: Final[dict[CheckStatus, str]] = {
    "pass": "green",
    "warn": "yellow",
    "skip": "dim",
    "fail": "red bold",
}
FIX_INDENT: Final = " " * 18  # under the detail: mark (4), 2 spaces, name (11), a space


@dataclass(frozen=True, kw_only=True)
class Check:
    """One check's verdict: a line for a person, and what to do unless it simply passed."""

    name: str
    status: CheckStatus
    detail: str
    fix: str = ""
    request_id: str = ""  # of the API answer the verdict rests on (support asks for it)

    def lines(self) -> list[str]:
        """As a person reads it: the mark, name and detail (and request id), then the fix."""
        request = f" (request id {self.request_id})" if self.request_id else ""
        lines = [f"{MARKS[self.status]}  {self.name:<11} {self.detail}{request}"]
        if self.fix:
            lines.append(f"{FIX_INDENT}how to fix: {self.fix}")
        return lines


@dataclass(frozen=True)
class Diagnosis:
    """Every check, in order: exit 0 when none failed (warnings and skips included), else 2."""

    checks: tuple[Check, ...]

    @property
    def exit_code(self) -> int:
        """2 when a check failed, else 0."""
        return 2 if any(c.status == "fail" for c in self.checks) else 0

    def counts(self) -> dict[CheckStatus, int]:
        """How many checks ended with each status."""
        return {s: sum(1 for c in self.checks if c.status == s) for s in CHECK_STATUSES}

    def verdict(self) -> str:
        """The last line: counts by status, and whether a run can start."""
        counts = self.counts()
        tally = (
            f"{counts['pass']} passed, {counts['warn']} warned, {counts['skip']} skipped,"
            f" {counts['fail']} failed"
        )
        if self.exit_code:
            return f"doctor: {tally}: fix the FAIL lines, then run bulkload doctor again"
        return f"doctor: {tally}: a run can start"

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` object: ``{"checks": [...], "exit_code": N}``."""
        return {"checks": [asdict(c) for c in self.checks], "exit_code": self.exit_code}
