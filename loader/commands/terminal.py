"""
The terminal every command writes to: human output on stderr (``err``), one JSON object
on stdout (``print_json``), a LoaderError turned into its message, hint and exit
code, never a traceback (``guarded``), and a run's bars (``run_progress``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from loader.errors import LoaderError

if TYPE_CHECKING:
    from rich.console import Console

    from loader.report.progress import RunProgress

T = TypeVar("T")


@cache
def err() -> Console:
    """The console on stderr, made on first use: importing rich costs 0.1 s at start."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def escape(text: str) -> str:
    """Text shown as written, never read as rich markup."""
    return text.replace("[", "\\[")


def print_json(summary: dict[str, Any]) -> None:
    """One JSON object on stdout."""
    sys.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")


def guarded(
    action: Callable[[], T], *, exit_code: int | None = None, json_error: bool = False
) -> T:
    """Run ``action``; a LoaderError becomes a message and its exit code (or ``exit_code``),
    never a traceback; ``json_error``: also as a JSON object on stdout."""
    try:
        result = action()
    except LoaderError as exc:
        err().print(f"[red bold]error[/]: {escape(exc.message)}")
        if exc.hint:
            err().print(f"  [bold]how to fix[/]: {escape(exc.hint)}")
        code = exc.exit_code if exit_code is None else exit_code
        if json_error:
            print_json({"error": exc.message, "hint": exc.hint, "exit_code": code})
        raise typer.Exit(code) from None
    return result


def show_version(value: bool) -> None:
    """``--version``: the installed package's version, from its metadata."""
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("bulkload")
    except PackageNotFoundError:
        found = "unknown (not installed: uv sync installs it)"
    sys.stdout.write(f"bulkload {found}\n")
    raise typer.Exit(0)


@contextmanager
def run_progress(as_json: bool) -> Iterator[RunProgress | None]:
    """A run's bars on stderr while it goes; with ``--json`` none, and no observer: the
    bars would not show, and rich's bars (0.05 s to import) and a tally of every event
    would still be paid for before the first request."""
    if as_json:
        yield None
        return
    from loader.report.progress import RunProgress

    with RunProgress(err()) as progress:
        yield progress
