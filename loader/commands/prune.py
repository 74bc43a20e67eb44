"""
The prune prompt: before a run stops or deletes the tasks of cameras that left the sheet,
a person says yes; with nobody at the terminal the run refuses to guess (``--yes``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from loader.commands.terminal import err
from loader.errors import ConfigError
from loader.planning.delta import Delta


def confirm_prune(mode: str) -> Callable[[Delta], None]:
    """Ask before tasks are stopped or deleted; refuse to guess when nobody can answer."""

    def confirm(delta: Delta) -> None:
        count = len(delta.removes)
        if not count:
            return
        verb = "delete" if mode == "delete" else "stop"
        counts = delta.counts()
        err().print(
            f"plan: create {counts['create']:,}, update {counts['update']:,}, replace"
            f" {counts['replace']:,}, {verb} {count:,}, restart {counts['restart']:,},"
            f" unchanged {counts['unchanged']:,} (bulkload plan lists each one)",
            highlight=False,
        )
        if not sys.stdin.isatty():
            raise ConfigError(
                f"--prune would {verb} {count:,} tasks, and nobody is here to confirm it",
                hint="run `bulkload plan` to see them, then add --yes",
            )
        answer = err().input(
            f"{verb.capitalize()} {count:,} tasks of cameras that left the sheet? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            raise ConfigError("nothing was sent: pruning was not confirmed", hint="")

    return confirm
