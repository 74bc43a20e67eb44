"""
``bulkload plan``'s work: load the sheet, learn the project first (``--refresh``), plan
through ``run.plan``, ask the API for drift when the endpoint and project are known, and
write the payload files (``--out``); the ``PlanReport`` it builds once is what the
terminal, ``--json`` and plan.json render and what the exit code is decided from.
Imported only when ``bulkload plan`` runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from loader.bulk import bulk
from loader.commands.terminal import escape
from loader.planning.batches import name_prefix
from loader.report import files
from loader.report.changes import diff_data, format_diff
from loader.report.console import show_drift, show_plan, show_validation
from loader.report.summaries import format_plan, format_validation
from loader.run.options import RunOptions
from loader.run.plan import PlanReport, plan_sheet
from loader.run.sheet import load_sheet

if TYPE_CHECKING:
    from rich.console import Console


def report_plan(sheet: Path, options: RunOptions, *, refresh: bool) -> PlanReport:
    """Load, diff against the ledger (when the endpoint and project are known; ``refresh``:
    read the project from the API into it first), plan the creates and ask for drift;
    with ``options.out``, write the payload files."""
    loaded = load_sheet(sheet, options, keep_cells=False)  # no results workbook: cells go
    if refresh:  # the sheet's batch name prefixes are the ones it manages
        from loader.commands.refresh import learn_project  # the send stack: only to refresh

        classes = loaded.checked.settings_classes
        prefixes = sorted({name_prefix(c.name_prefix) for c in classes})
        learn_project(options, again=False, prefixes=prefixes, as_json=options.json, quiet=True)
    scope = options.ledger_scope()
    registration = drift = None
    if scope is not None:  # the API is asked: its client is imported only then
        from loader.run.registration import as_planned

        loaded, registration = as_planned(loaded, options)
    planned = plan_sheet(loaded, options.plan_choices, scope)
    if scope is not None:
        from loader.run import drift as run_drift  # through its module: tests wire it

        drift = run_drift.check_drift(loaded, options, planned.delta)
    written: list[str] = []
    if options.out:  # the payloads, and the registration's bodies (an old one removed)
        written = files.write_plan(options.out, planned.plan)
        files.write_registration(options.out, registration)
    return PlanReport(planned, drift, tuple(written), registration)


@bulk  # the collector, left on, walks the million cameras again for nothing
def plan_summary(report: PlanReport, *, creates: bool, detailed: bool) -> dict[str, Any]:
    """The report as ``--json`` prints it and plan.json holds it (``creates``: every
    camera to create listed, as ``--json`` lists them)."""
    planned = report.planned
    checked = report.checked
    scope = planned.scope
    if scope is not None:
        against = f"the ledger {scope.ledger} ({scope.endpoint}, project {scope.project})"
    else:
        against = "an empty project (no --endpoint/--project-id: every camera is new)"
    diff = diff_data(
        planned.delta, checked.cameras, planned.rows, planned.inventory, creates=creates
    )
    return {
        "validation": format_validation(checked, mapping_chosen=planned.loaded.chosen),
        "plan": format_plan(
            planned.plan, checked, list(report.written), registration=report.registration
        ),
        "diff": {"against": against, **diff},
        "drift": report.drift.as_data() if report.drift is not None else None,
        "pending": report.pending,  # what plan.json and --json both say is pending
        "changes_pending": bool(report.pending),
        "exit_code": report.exit_code(detailed=detailed),
    }


@bulk  # the same: the rows of every batch are lists of a million ints
def write_plan_json(out: Path, report: PlanReport, summary: dict[str, Any]) -> None:
    """plan.json beside the payload files ``--out`` wrote."""
    planned = report.planned
    files.write_plan_summary(
        out / "plan.json", summary, planned.plan, list(report.written), planned.delta.replaces
    )


@bulk  # rich makes objects by the thousand: the collector, on, walked every camera (0.8 s)
def show_plan_report(
    console: Console,
    report: PlanReport,
    summary: dict[str, Any],
    *,
    out: Path | None,
    prune: str,
    restart_failed: bool,
    detailed: bool,
) -> None:
    """The report on the terminal: the checks, the plan, the changes against the ledger,
    the drift, and with ``--detailed-exitcode`` the exit code and why."""
    show_validation(console, report.planned.loaded, summary["validation"])
    show_plan(console, report.planned.plan, summary["plan"], out)
    diff = summary["diff"]
    console.print(f"[bold]changes[/] against {escape(diff['against'])}:", highlight=False)
    changes = format_diff(diff, prune=prune, restart_failed=restart_failed)
    console.print(escape(changes), highlight=False, soft_wrap=True)
    show_drift(console, summary.get("drift"))
    if detailed:
        line = exit_line(report.exit_code(detailed=True), report.pending)
        console.print(escape(line), highlight=False, soft_wrap=True)


def exit_line(code: int, pending: dict[str, int]) -> str:
    """The last line of ``plan --detailed-exitcode``: its exit code and why."""
    if code == 1:
        return "exit 1: an error (rows rejected, or drift not known): see above"
    if code == 2:
        what = ", ".join(f"{kind} {count:,}" for kind, count in pending.items())
        return f"exit 2: changes pending ({what})"
    return "exit 0: no changes; the project matches the sheet"
