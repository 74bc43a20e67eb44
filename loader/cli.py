"""
The ``bulkload`` command line, declarations and rendering only: each command names its
flags (``commands.flags``), builds the RunOptions, calls one function, renders the
result and maps errors to exit codes (0 all rows fine, 1 some rows rejected or failed, 2 usage,
config or input error: nothing sent, 3 interrupted or unsettled: ``resume`` finishes it).
Human output goes to stderr, ``--json`` to stdout.

What a command does beyond that (the plan's work, the prune prompt, the demo, the parsing
of a bare ``--prune``, the fast exit after a run) is in ``loader.commands``. Each command
imports the stages it needs when it runs: ``bulkload --help`` and the commands that read
no sheet never pay for pandas, the simulator or the workbook writer.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from loader.bulk import kept, kept_to_exit
from loader.commands import flags, parsing
from loader.commands.fast_exit import finished, run_app
from loader.commands.logging_import import import_structlog_without_rich
from loader.commands.parsing import BulkloadCommand
from loader.commands.simulate import simulate
from loader.commands.terminal import err, escape, guarded, print_json, run_progress
from loader.run.options import (
    DEFAULT_CANARY_WAIT,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_INPUT_MB,
    DEFAULT_RATE,
    DEFAULT_SETTLE,
    DEFAULT_TIMEOUT,
    RunOptions,
    environment,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from loader.check.load import Loaded
    from loader.report.summaries import RunReport
    from loader.run.plan import PlanReport

# httpx imports its own command line (click, rich.progress, pygments: 0.05 s of a run's
# start) when click is installed, and falls back to a stub when that import fails; no
# bulkload command calls it. None in sys.modules makes the import fail. Set before any
# command imports httpx: nothing above does.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

app = typer.Typer(
    name="bulkload",
    help="Camera inventories in spreadsheets -> Huawei Cloud VIAS batch tasks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's help renderer alone costs 0.2 s at start
)


@app.callback()
def _root(version: flags.VersionOpt = False) -> None:
    pass


def main() -> None:
    """Console-script entry point (a finished run ends the process at once: ``fast_exit``)."""
    run_app(app)


@app.command()
def validate(
    sheet: flags.SheetArg,
    mapping: flags.MappingOpt = None,
    as_json: flags.JsonOpt = False,
    engine: flags.EngineOpt = "calamine",
    encoding: flags.EncodingOpt = None,
    report: flags.ReportOpt = None,
    only: flags.OnlyOpt = None,
    max_input_mb: flags.MaxInputOpt = DEFAULT_MAX_INPUT_MB,
) -> None:
    """Read, map and check an inventory; list every problem."""
    from loader.report.console import show_validation
    from loader.report.summaries import format_validation
    from loader.run.sheet import load_sheet

    def work() -> tuple[Loaded, dict[str, Any]]:
        options = RunOptions.of(
            mapping=mapping,
            engine=parsing.engine(engine),
            encoding=encoding,
            json=as_json,
            only=parsing.statuses(only),
            max_input_mb=max_input_mb,
        ).checked()
        loaded = load_sheet(sheet, options)
        return loaded, format_validation(loaded.checked, mapping_chosen=loaded.chosen)

    loaded, summary = guarded(work, json_error=as_json)  # exit 2 prints JSON too
    _write_problems(report, loaded)
    show_validation(err(), loaded, summary)
    if as_json:
        print_json(summary)
    raise typer.Exit(summary["exit_code"])


@app.command(name="plan", cls=BulkloadCommand)
def plan_command(
    sheet: flags.SheetArg,
    mapping: flags.MappingOpt = None,
    out: flags.PlanOutOpt = None,
    max_payload_bytes: flags.PlanPayloadCapOpt = None,
    as_json: flags.JsonOpt = False,
    engine: flags.EngineOpt = "calamine",
    encoding: flags.EncodingOpt = None,
    report: flags.ReportOpt = None,
    only: flags.OnlyOpt = None,
    max_input_mb: flags.MaxInputOpt = DEFAULT_MAX_INPUT_MB,
    endpoint: flags.EndpointOpt = None,
    project_id: flags.ProjectOpt = None,
    ledger: flags.LedgerOpt = None,
    refresh: flags.RefreshFirstOpt = False,
    prune: flags.PruneOpt = None,
    restart_failed: flags.RestartOpt = False,
    retry_failed: flags.RetryOpt = False,
    detailed_exitcode: flags.DetailedExitcodeOpt = False,
) -> None:
    """Dry run: validate, diff against the ledger, show (and with --out write) every change;
    with an endpoint, the API's counts of the sheet's batches show tasks not running."""
    from loader.commands.plan import plan_summary, report_plan, show_plan_report, write_plan_json

    @kept_to_exit  # the inventory and plan live until exit: no collection walks them
    def work() -> tuple[PlanReport, dict[str, Any]]:
        options = RunOptions.of(
            environment=environment(),
            mapping=mapping,
            engine=parsing.engine(engine),
            encoding=encoding,
            max_payload_bytes=max_payload_bytes,
            out=out,
            json=as_json,
            only=parsing.statuses(only),
            max_input_mb=max_input_mb,
            endpoint=endpoint,
            project_id=project_id,
            ledger=ledger,
            prune=parsing.prune_mode(prune),
            restart_failed=restart_failed,
            retry_failed=retry_failed,
        ).checked()
        plan_report = report_plan(sheet, options, refresh=refresh)
        summary = plan_summary(plan_report, creates=as_json, detailed=detailed_exitcode)
        if out:
            write_plan_json(out, plan_report, summary)
        return plan_report, summary

    plan_report, summary = guarded(
        work, exit_code=1 if detailed_exitcode else None, json_error=as_json
    )
    _write_problems(report, plan_report.planned.loaded, exit_code=1 if detailed_exitcode else None)
    show_plan_report(
        err(),
        plan_report,
        summary,
        out=out,
        prune=parsing.prune_mode(prune),
        restart_failed=restart_failed,
        detailed=detailed_exitcode,
    )
    if as_json:
        print_json(summary)
    finished()  # freeing a million cameras one by one took a second more (1M-row CSV)
    raise typer.Exit(plan_report.exit_code(detailed=detailed_exitcode))


@app.command()
def template(
    out: flags.TemplateOutOpt = Path("bulkload-template.xlsx"),
) -> None:
    """Write a blank input workbook for the default mapping (dropdowns, help, an example)."""
    from loader.check.mapping import find_mapping
    from loader.report.template import write_template

    guarded(lambda: write_template(out, find_mapping("default")))
    err().print(f"template written: [bold]{out}[/]  (then: bulkload validate {out})")


@app.command()
def mappings(
    name: flags.MappingNameArg = None,
    init: flags.StarterFromOpt = None,
    out: flags.StarterOutOpt = None,
) -> None:
    """List the bundled mappings, show one with its columns, or start one (--init FILE)."""
    from loader.check.mapping import bundled, bundled_dir, find_mapping
    from loader.report.console import show_mapping, show_mappings

    if init is not None:  # the logic is loader/check/starter.py
        from loader.commands.starter import write_starter

        err().print(escape(guarded(lambda: write_starter(init, out))))
    elif name is None:
        show_mappings(err(), guarded(bundled), bundled_dir())
    else:
        show_mapping(err(), guarded(lambda: find_mapping(name)))


@app.command(cls=BulkloadCommand)
def run(
    sheet: flags.SheetArg,
    mapping: flags.MappingOpt = None,
    endpoint: flags.EndpointOpt = None,
    project_id: flags.ProjectOpt = None,
    run_dir: flags.RunDirOpt = None,
    rate: flags.RateOpt = DEFAULT_RATE,
    concurrency: flags.ConcurrencyOpt = DEFAULT_CONCURRENCY,
    timeout: flags.TimeoutOpt = DEFAULT_TIMEOUT,
    max_attempts: flags.MaxAttemptsOpt = DEFAULT_MAX_ATTEMPTS,
    max_payload_bytes: flags.RunPayloadCapOpt = None,
    ledger: flags.RunLedgerOpt = None,
    force: flags.ForceOpt = False,
    retry_failed: flags.RetryOpt = False,
    prune: flags.PruneOpt = None,
    restart_failed: flags.RestartOpt = False,
    delete_sources: flags.DeleteSourcesOpt = False,
    yes: flags.YesOpt = False,
    task_ids: flags.TaskIdsOpt = False,
    settle: flags.SettleOpt = DEFAULT_SETTLE,
    canary: flags.CanaryOpt = None,
    canary_wait: flags.CanaryWaitOpt = DEFAULT_CANARY_WAIT,
    as_json: flags.JsonOpt = False,
    engine: flags.EngineOpt = "calamine",
    encoding: flags.EncodingOpt = None,
    only: flags.OnlyOpt = None,
    max_input_mb: flags.MaxInputOpt = DEFAULT_MAX_INPUT_MB,
) -> None:
    """Validate, plan and send an inventory; settle every batch exactly once."""
    with kept():  # modules live to the exit: no collection walks them (``loader.bulk``)
        import_structlog_without_rich()  # before the runner imports it
        from loader.commands.prune import confirm_prune
        from loader.run.runner import start_run

    def options() -> RunOptions:
        return RunOptions.of(
            environment=environment(),
            mapping=mapping,
            engine=parsing.engine(engine),
            encoding=encoding,
            json=as_json,
            max_payload_bytes=max_payload_bytes,
            endpoint=endpoint,
            project_id=project_id,
            run_dir=run_dir,
            rate=rate,
            concurrency=concurrency,
            timeout=timeout,
            max_attempts=max_attempts,
            settle=settle,
            ledger=ledger,
            retry_failed=retry_failed,
            prune=parsing.prune_mode(prune),
            restart_failed=restart_failed,
            delete_sources=delete_sources,
            task_ids=task_ids,
            canary=canary,
            canary_wait=canary_wait,
            only=parsing.statuses(only),
            max_input_mb=max_input_mb,
        ).checked()

    chosen = guarded(options, json_error=as_json)
    confirm = None if yes or not chosen.prune else confirm_prune(chosen.prune)
    with run_progress(as_json) as progress:
        report = guarded(
            lambda: start_run(sheet, chosen, progress, confirm=confirm), json_error=as_json
        )
    _finish_run(report, as_json)


@app.command()
def refresh(
    endpoint: flags.EndpointOpt = None,
    project_id: flags.ProjectOpt = None,
    ledger: flags.LedgerOpt = None,
    prefix: flags.PrefixOpt = None,
    again: flags.AgainOpt = False,
    rate: flags.RateOpt = DEFAULT_RATE,
    as_json: flags.JsonOpt = False,
) -> None:
    """Learn the project from the API into the ledger: every batch bulkload made, its tasks."""
    from loader.commands.refresh import bundled_prefixes, learn_project

    def work() -> dict[str, Any]:
        options = RunOptions.of(
            environment=environment(),
            endpoint=endpoint,
            project_id=project_id,
            ledger=ledger,
            rate=rate,
            json=as_json,
        ).checked()
        prefixes = [*(prefix or []), *bundled_prefixes()]
        return learn_project(options, again=again, prefixes=prefixes, as_json=as_json)

    summary = guarded(work)
    if as_json:
        print_json(summary)
    raise typer.Exit(summary["exit_code"])


@app.command()
def resume(
    run_dir: flags.RunDirArg,
    as_json: flags.JsonOpt = False,
) -> None:
    """Finish an interrupted run: never resends an accepted batch."""
    with kept():  # as ``run``'s imports
        import_structlog_without_rich()
        from loader.run.runner import resume_run

    _continue_run(resume_run, run_dir, as_json)


@app.command()
def reconcile(
    run_dir: flags.RunDirArg,
    as_json: flags.JsonOpt = False,
) -> None:
    """Ask the API what became of each batch's cameras; rewrite results.xlsx."""
    with kept():  # as ``run``'s imports
        import_structlog_without_rich()
        from loader.run.runner import reconcile_run

    _continue_run(reconcile_run, run_dir, as_json)


@app.command()
def doctor(
    endpoint: flags.EndpointOpt = None,
    project_id: flags.ProjectOpt = None,
    mapping: flags.MappingOpt = None,
    as_json: flags.JsonOpt = False,
) -> None:
    """Check, creating nothing, that a run can work: endpoint, TLS, credentials, clock, project."""
    from loader.run.doctor import diagnose, show_doctor

    options = RunOptions.of(
        environment=environment(),
        mapping=mapping,
        json=as_json,
        endpoint=endpoint,
        project_id=project_id,
    )
    diagnosis = guarded(lambda: diagnose(options))
    show_doctor(err(), diagnosis)
    if as_json:
        print_json(diagnosis.as_json())
    raise typer.Exit(diagnosis.exit_code)


app.command()(simulate)  # its flags and work: commands/simulate.py


@app.command()
def serve(
    host: flags.HostOpt = None,
    port: flags.PagePortOpt = 8770,
    runs: flags.RunsOpt = Path("runs"),
    max_upload_mb: flags.MaxUploadOpt = DEFAULT_MAX_INPUT_MB,
) -> None:
    """A local web page: load a sheet, see every problem, send, watch it live, get the results."""
    from loader.web.options import serve_options
    from loader.web.server import serve as serve_page

    chosen = guarded(
        lambda: serve_options(
            host=host,
            port=port,
            runs_dir=runs,
            max_upload_mb=max_upload_mb,
            environment=environment(),
        )
    )

    def announce(url: str) -> None:
        err().print(f"bulkload serve: open {escape(url)}  (Ctrl-C stops)", soft_wrap=True)

    guarded(lambda: serve_page(chosen, announce))


@app.command()
def demo(
    out: flags.DemoRunsOpt = Path("runs"),
) -> None:
    """End to end on the bundled samples against the simulator started here on loopback."""
    from loader.commands.demo import run_demo

    run_demo(out)


def _write_problems(report: Path | None, loaded: Loaded, *, exit_code: int | None = None) -> None:
    """``--report``: every problem to a CSV, written before anything is printed."""
    from loader.report import files

    if report is not None:
        guarded(
            lambda: files.write_problems_csv(report, loaded.checked.problems), exit_code=exit_code
        )


def _continue_run(
    action: Callable[[Path, RunOptions, Any], RunReport], run_dir: Path, as_json: bool
) -> None:
    """resume or reconcile a run directory: the run's own options, credentials from env."""
    options = RunOptions.of(environment=environment(), json=as_json)
    with run_progress(as_json) as progress:
        report = guarded(lambda: action(run_dir, options, progress))
    _finish_run(report, as_json)


def _finish_run(report: RunReport, as_json: bool) -> None:
    """Show a finished run and exit with its code."""
    from loader.report.console import show_run
    from loader.report.summaries import format_run

    show_run(err(), report)
    if as_json:
        print_json(format_run(report))
    finished()
    raise typer.Exit(report.exit_code)
