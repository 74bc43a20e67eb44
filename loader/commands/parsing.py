"""
Flag values as the stages take them, checked with a message that says how to fix them
(``--only``, ``--engine``, ``--prune``, ``--fault``), and the parsing of ``plan`` and
``run`` that typer's parser leaves out: a bare ``--prune`` means ``--prune=stop``, and
with ``--detailed-exitcode`` a usage error exits 1 (``BulkloadCommand``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from typer.core import TyperCommand
from typer.exceptions import TyperException

from loader.errors import ConfigError
from loader.model.cameras import STATUSES

if TYPE_CHECKING:
    from loader.read.sheets import ExcelReader

SHEET_SUFFIXES: Final = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")


class BulkloadCommand(TyperCommand):
    """The parsing of plan and run: a bare ``--prune`` (last, or before another option or
    the sheet) means ``--prune=stop``, as bulkload's own messages spell it; with plan's
    ``--detailed-exitcode`` a usage error exits 1 (2 means changes pending there)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's private Context
        detailed = "--detailed-exitcode" in args and any(
            p.name == "detailed_exitcode" for p in self.params
        )
        try:
            return super().parse_args(ctx, bare_prune(args))
        except TyperException as exc:
            if detailed and exc.exit_code == 2:
                exc.exit_code = 1
            raise


def bare_prune(args: list[str]) -> list[str]:
    """``--prune`` with no value after it as ``--prune=stop`` (click's optional values are
    not in typer's parser): last, or before another option or the sheet (a file name with
    a sheet's suffix, or one that exists); ``--prune stop``, ``--prune=delete`` pass as
    they are, and any other word stays its value (refused with a message)."""
    spelled = list(args)
    for at, arg in enumerate(spelled):
        if arg == "--":
            break
        if arg == "--prune" and (at + 1 == len(spelled) or _not_a_value(spelled[at + 1])):
            spelled[at] = "--prune=stop"
    return spelled


def _not_a_value(word: str) -> bool:
    """Whether the word after a bare ``--prune`` is an option or the sheet, not its value."""
    if word.startswith("-"):
        return True
    if word in ("stop", "delete"):
        return False
    return Path(word).suffix.lower() in SHEET_SUFFIXES or Path(word).is_file()


def prune_mode(value: str | None) -> str:
    """--prune's value: "stop" or "delete" ("" when not given; a bare --prune is "stop")."""
    if value is None:
        return ""
    if value not in ("stop", "delete"):
        raise ConfigError(
            f"--prune {value!r} is not a way to remove tasks",
            hint="use --prune (it stops them), --prune=stop or --prune=delete",
        )
    return value


def statuses(text: str | None) -> frozenset[str] | None:
    """``--only failed,rejected`` as a set of statuses, checked."""
    if not text:
        return None
    wanted = frozenset(s.strip().lower() for s in text.split(",") if s.strip())
    unknown = sorted(wanted - set(STATUSES))
    if unknown:
        raise ConfigError(
            f"--only: unknown status {', '.join(unknown)}", hint=f"use {', '.join(STATUSES)}"
        )
    return wanted


def engine(name: str) -> ExcelReader:
    """The --engine value, checked."""
    if name not in ("calamine", "openpyxl"):
        raise ConfigError(f"--engine must be calamine or openpyxl, not {name!r}")
    return "calamine" if name == "calamine" else "openpyxl"


def faults(items: list[str]) -> dict[str, float]:
    """``KIND=P`` pairs, checked against the simulator's fault kinds."""
    from loader.sim import FAULTS

    found = {}
    for item in items:
        kind, _, value = item.partition("=")
        if kind not in FAULTS:
            raise ConfigError(f"unknown fault {kind!r}", hint=f"kinds: {', '.join(FAULTS)}")
        try:
            found[kind] = float(value or "1")
        except ValueError:
            raise ConfigError(f"fault {item!r}: the probability must be a number") from None
    return found
