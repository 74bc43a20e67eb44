"""
Learning the project into the ledger from a command (``bulkload refresh``, ``plan
--refresh``), with a progress bar; and the batch name prefixes bulkload makes by default.
"""

from __future__ import annotations

from typing import Any

from loader.check.mapping import bundled_dir, load_mapping
from loader.commands.terminal import err, escape
from loader.planning.batches import name_prefix
from loader.report.progress import RefreshBar
from loader.report.summaries import format_refresh
from loader.run import refresh as run_refresh  # called through its module: tests wire it
from loader.run.options import RunOptions


def learn_project(
    options: RunOptions, *, again: bool, prefixes: list[str], as_json: bool, quiet: bool = False
) -> dict[str, Any]:
    """Learn the project into the ledger, with a progress bar; its summary."""
    with RefreshBar(err(), enabled=not as_json) as progress:
        report = run_refresh.refresh_ledger(
            options, prefixes=prefixes, again=again, observer=progress
        )
    summary = report.summary()
    if not as_json and not quiet:
        err().print(escape(format_refresh(summary)), highlight=False)
    return summary


def bundled_prefixes() -> list[str]:
    """The batch name prefixes of the bundled mappings: batches bulkload made by default."""
    return sorted(
        {name_prefix(load_mapping(p).task.name_prefix) for p in bundled_dir().glob("*.toml")}
    )
