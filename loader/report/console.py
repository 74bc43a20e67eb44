"""
How the command line shows things on stderr: thin ``show_*`` functions over the data
``report/summaries.py`` builds. [I/O: the console]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from loader.check.load import Loaded
from loader.check.mapping import Mapping
from loader.planning.batches import Plan
from loader.report.summaries import (
    RunReport,
    drift_lines,
    format_validation,
    more_batches_line,
    problem_rows,
    registration_lines,
)
from loader.state.events import CanaryPassed

PROBLEMS_SHOWN: Final = 40
# Batches in the plan's table: as many as changes listed per kind (``report.changes.SHOWN``);
# at 80 columns a row wraps to three or four lines, so twenty fill a screen or two.
BATCHES_SHOWN: Final = 20
STYLES: Final = {"error": "red", "warning": "yellow", "info": "dim"}


def show_validation(console: Console, loaded: Loaded, summary: dict[str, Any]) -> None:
    """The validation summary and the first problems, on stderr."""
    rows = summary["rows"]
    console.print(
        f"[bold]{summary['file']}[/] sheet {summary['sheet']!r},"
        f" mapping [bold]{summary['mapping']}[/] ({summary['mapping_chosen']})"
    )
    console.print(
        f"rows: {rows['total']}  valid [green]{rows['valid']}[/]"
        f"  rejected [red]{rows['rejected']}[/]  duplicate [yellow]{rows['duplicate']}[/]"
        f"  skipped (blank/title/footer) {summary['skipped_rows']}"
    )
    problems = loaded.checked.problems
    if not problems:
        return
    console.print("[bold]problems[/]")
    for severity, where, column, value, message, fix in problem_rows(problems[:PROBLEMS_SHOWN]):
        style = STYLES.get(severity, "")
        cell = f" [bold]{escape(column)}[/]" if column else ""
        shown = f" = {escape(repr(value))}" if value else ""
        console.print(f"[{style}]{severity:<7}[/] {escape(where)}{cell}{shown}")
        console.print(f"        {escape(message)}" + (f"  [dim]→ {escape(fix)}[/]" if fix else ""))
    if len(problems) > PROBLEMS_SHOWN:
        console.print(
            f"... and {len(problems) - PROBLEMS_SHOWN} more: use --report FILE.csv or --json"
        )


def show_plan(console: Console, planned: Plan, summary: dict[str, Any], out: Path | None) -> None:
    """What registration sends first (a sheet known by name), then the first batches that
    would be sent and what the rest hold, on stderr.

    A million cameras make some 200 batches: as rows of an 80-column table, 700 lines no
    one reads, and 0.3 s of rich's layout. The first ``BATCHES_SHOWN`` show what a batch
    looks like; the totals below count every batch, and plan.json and ``--json`` list them.
    """
    for line in registration_lines(summary.get("registration")):
        console.print(escape(line), highlight=False, soft_wrap=True)
    batches = summary["batches"]
    if not batches:  # an empty table's header says nothing a person needs
        console.print("nothing to create: no batch would be sent")
        return
    table = Table(
        "#",
        "name",
        "service",
        "version",
        "schedule",
        "groups",
        "entries",
        "cameras",
        "bytes",
        title="batches",
    )
    for batch in batches[:BATCHES_SHOWN]:
        table.add_row(
            str(batch["number"]),
            batch["name"],
            batch["service_name"],
            batch["service_version"],
            escape(batch["schedule"]),
            str(batch["groups"]),
            str(batch["entries"]),
            str(batch["cameras"]),
            str(batch["bytes"]),
        )
    console.print(table)
    more = more_batches_line(batches, BATCHES_SHOWN)
    if more:
        console.print(escape(more), highlight=False, soft_wrap=True)
    console.print(
        f"{summary['batch_count']} batches (minimum {summary['minimum_batches']}) for"
        f" {summary['cameras']} cameras in {summary['entries']} group entries"
        + (f"; payload files in {out}/" if out else "")
    )


def show_drift(console: Console, drift: dict[str, Any] | None) -> None:
    """The plan's drift check (nothing without an endpoint), on stderr."""
    for line in drift_lines(drift):
        console.print(escape(line), highlight=False, soft_wrap=True)


def show_run(console: Console, report: RunReport) -> None:
    """Validation problems, then how the run ended, on stderr."""
    show_validation(
        console,
        report.loaded,
        format_validation(report.loaded.checked, mapping_chosen=report.loaded.chosen),
    )
    counts = report.counts
    held = f"  held [bright_black]{counts['held']}[/]" if counts.get("held") else ""
    console.print(
        f"batches: {counts['batches']}  accepted [green]{counts['accepted']}[/]"
        f"  refused [red]{counts['rejected']}[/]  not settled [yellow]{counts['unsettled']}[/]"
        f"{held}  retries {report.retries}  lookups {report.lookups}  ({report.seconds:.1f} s)"
    )
    if report.registered:
        done = "  ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in report.registered.items())
        console.print(f"registered in the project: {done}")
    console.print("camera rows: " + "  ".join(f"{s} {n}" for s, n in report.statuses.items() if n))
    if report.removed:
        removed = "  ".join(f"{s} {n}" for s, n in report.removed.items() if n)
        console.print(f"removed from the sheet: {removed}")
    canary_failed = _show_canary(console, report)
    if report.stop_reason and not canary_failed:  # a failed canary's reason is shown above
        console.print(f"[yellow]stopped[/]: {escape(report.stop_reason)}")
    console.print(f"results: [bold]{report.results}[/]")
    if report.counts.get("unsettled"):
        console.print(f"to finish it: [bold]bulkload resume {report.run_dir}[/]")
    elif report.statuses.get("unknown"):
        console.print(
            f"to settle the unknown cameras: [bold]bulkload reconcile {report.run_dir}[/]"
        )


def _show_canary(console: Console, report: RunReport) -> bool:
    """The canary's verdict; after a failure, what was held back and what sends it.

    True when the canary failed.
    """
    state = report.state
    canary = state.canary
    if canary is None:
        return False
    verdict = state.verdict
    head = f"canary: {canary.cameras} cameras in {canary.name}"
    if isinstance(verdict, CanaryPassed):
        console.print(f"{head}: [green]passed[/] ({verdict.tasks} tasks running)")
        return False
    if verdict is None:
        console.print(f"{head}: [yellow]no verdict yet[/]; the rest waits for it")
        return False
    console.print(f"[red bold]canary failed[/]: {escape(verdict.reason)}")
    held = report.statuses.get("held", 0)
    console.print(f"  not sent (held): {held} cameras in {len(state.held())} batches")
    if verdict.final:
        console.print(
            "  fix that, then run the sheet again (--retry-failed resends the canary's cameras)"
        )
    else:
        console.print(
            f"  once the canary's tasks run: [bold]bulkload resume {report.run_dir}[/]"
            " (it checks them first)"
        )
    sheet = state.started.input_file if state.started else "SHEET"
    console.print(
        f"  to send the rest anyway: bulkload run {escape(sheet)} (same options, no --canary)"
    )
    return True


def show_mappings(console: Console, found: list[Mapping], folder: Path) -> None:
    """The bundled mappings, one line each."""
    table = Table("mapping", "description", "sheets", title=f"mappings in {folder}")
    for mapping in found:
        sheets = [str(mapping.cameras.sheet or "(first)")]
        if mapping.groups:
            sheets.append(str(mapping.groups.sheet))
        table.add_row(mapping.name, mapping.description, " + ".join(sheets))
    console.print(table)


def show_mapping(console: Console, chosen: Mapping) -> None:
    """One mapping's columns, transforms and task defaults."""
    table = Table("sheet", "field", "column (aliases)", "transforms", "required", title=chosen.name)
    for role, spec in (("cameras", chosen.cameras), ("groups", chosen.groups)):
        if spec is None:
            continue
        for field, column in spec.columns.items():
            names = column.template or " / ".join(column.names) or f"default {column.default!r}"
            transforms = ", ".join(
                t if isinstance(t, str) else type(t).__name__ for t in column.transforms
            )
            table.add_row(role, field, names, transforms, "yes" if column.required else "")
    console.print(table)
    defaults = chosen.task.as_text()
    console.print("[bold]task defaults[/]: " + ", ".join(f"{k}={v}" for k, v in defaults.items()))
