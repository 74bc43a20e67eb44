"""
The ``bulkload`` command: parse flags, build the RunOptions, call one function, render the
result, map errors to exit codes (0 all rows fine, 1 some rows rejected or failed, 2 usage,
config or input error: nothing sent, 3 interrupted or unsettled: ``resume`` finishes it).
Human output goes to stderr, ``--json`` to stdout.

Each command imports the stages it needs when it runs: ``bulkload --help`` and the
commands that read no sheet never pay for pandas, the simulator or the workbook writer.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand
from typer.exceptions import TyperException

from loader.errors import ConfigError, LoaderError
from loader.model.cameras import STATUSES
from loader.run.options import (
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
    from rich.console import Console

    from loader.check.load import Loaded
    from loader.planning.batches import Plan
    from loader.planning.delta import Delta
    from loader.read.sheets import ExcelReader
    from loader.report.summaries import RunReport

app = typer.Typer(
    name="bulkload",
    help="Camera inventories in spreadsheets -> Huawei Cloud VIAS batch tasks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's help renderer alone costs 0.2 s at start
)
SAMPLES = Path(__file__).resolve().parent.parent / "sample_sheets"
DEMO_SAMPLES = ("site_rollout.xlsx", "legacy_vms_export.xlsx")
SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")
T = TypeVar("T")
_RUN_FINISHED = False  # main() may end the process at once (see there)

SheetArg = Annotated[Path, typer.Argument(help="The inventory: .xlsx, .xls or .csv")]
MappingOpt = Annotated[
    str | None,
    typer.Option("-m", "--mapping", help="Mapping name or .toml path; default: best match"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout")]
EngineOpt = Annotated[str, typer.Option("--engine", help="Excel reader: calamine or openpyxl")]
EncodingOpt = Annotated[
    str | None, typer.Option("--encoding", help="CSV encoding (default: detected)")
]
OnlyOpt = Annotated[
    str | None,
    typer.Option("--only", help="Keep rows whose Status is one of these (results workbooks)"),
]
MaxInputOpt = Annotated[
    int, typer.Option("--max-input-mb", min=1, help="Refuse larger input files (default 64)")
]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Write every problem to this CSV")]
EndpointOpt = Annotated[str | None, typer.Option(help="API endpoint (BULKLOAD_ENDPOINT)")]
ProjectOpt = Annotated[str | None, typer.Option(help="Project id (BULKLOAD_PROJECT_ID)")]
LedgerOpt = Annotated[
    Path | None, typer.Option(help="Ledger of earlier runs; default runs/ledger.sqlite")
]
PruneOpt = Annotated[
    str | None,
    typer.Option(
        metavar="[stop|delete]",
        help="Tasks of cameras that left the sheet: --prune (or --prune=stop) stops them,"
        " --prune=delete deletes them (default: only list them)",
    ),
]
RestartOpt = Annotated[
    bool, typer.Option(help="Start tasks the sheet wants that failed or were stopped")
]
RetryOpt = Annotated[bool, typer.Option(help="Send cameras that failed in an earlier run again")]


class _Command(TyperCommand):
    """The parsing of plan and run: a bare ``--prune`` (last, or before another option or
    the sheet) means ``--prune=stop``, as bulkload's own messages spell it; with plan's
    ``--detailed-exitcode`` a usage error exits 1 (2 means changes pending there)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's private Context
        detailed = "--detailed-exitcode" in args and any(
            p.name == "detailed_exitcode" for p in self.params
        )
        try:
            return super().parse_args(ctx, _bare_prune(args))
        except TyperException as exc:
            if detailed and exc.exit_code == 2:
                exc.exit_code = 1
            raise


def _bare_prune(args: list[str]) -> list[str]:
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


def _version(value: bool) -> None:
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


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            is_eager=True,
            callback=_version,
            help="Print bulkload's version and exit",
        ),
    ] = False,
) -> None:
    pass


def main() -> None:
    """Console-script entry point.

    After a run, resume or reconcile the process ends without freeing its heap object by
    object (half a second for a 60,000-camera run): every file is closed and every stream
    flushed by then, and nothing registered at exit is left to do.
    """
    try:
        app()
    except SystemExit as stop:
        if not _RUN_FINISHED:
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(stop.code if isinstance(stop.code, int) else 1)


@app.command()
def validate(
    sheet: SheetArg,
    mapping: MappingOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = "calamine",
    encoding: EncodingOpt = None,
    report: ReportOpt = None,
    only: OnlyOpt = None,
    max_input_mb: MaxInputOpt = DEFAULT_MAX_INPUT_MB,
) -> None:
    """Read, map and check an inventory; list every problem."""
    from loader.report import files
    from loader.report.console import show_validation
    from loader.report.summaries import format_validation

    def work() -> tuple[Loaded, dict[str, Any]]:
        options = RunOptions.of(
            mapping=mapping,
            engine=_engine(engine),
            encoding=encoding,
            json=as_json,
            only=_only(only),
            max_input_mb=max_input_mb,
        )
        loaded = _load(sheet, options)
        return loaded, format_validation(loaded.checked, mapping_chosen=loaded.chosen)

    loaded, summary = _guarded(work, json_error=as_json)  # issue 25: exit 2 prints JSON too
    if report is not None:  # issue 25: written first, whatever happens to the printing
        _guarded(lambda: files.write_problems_csv(report, loaded.checked.problems))
    show_validation(_err(), loaded, summary)
    if as_json:
        _print_json(summary)
    raise typer.Exit(summary["exit_code"])


@app.command(name="plan", cls=_Command)
def plan_command(
    sheet: SheetArg,
    mapping: MappingOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write payload files here")] = None,
    max_payload_bytes: Annotated[
        int | None, typer.Option("--max-payload-bytes", min=1024, help="Byte cap per payload")
    ] = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = "calamine",
    encoding: EncodingOpt = None,
    report: ReportOpt = None,
    only: OnlyOpt = None,
    max_input_mb: MaxInputOpt = DEFAULT_MAX_INPUT_MB,
    endpoint: EndpointOpt = None,
    project_id: ProjectOpt = None,
    ledger: LedgerOpt = None,
    refresh: Annotated[
        bool, typer.Option(help="Read the project from the API first (bulkload refresh)")
    ] = False,
    prune: PruneOpt = None,
    restart_failed: RestartOpt = False,
    retry_failed: RetryOpt = False,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="Exit 0 when nothing differs from the sheet, 2 when changes are pending,"
            " 1 on an error (terraform's convention; --json carries the same)",
        ),
    ] = False,
) -> None:
    """Dry run: validate, diff against the ledger, show (and with --out write) every change;
    with an endpoint, the API's counts of the sheet's batches show tasks not running."""
    from loader.report import files
    from loader.report.changes import format_diff
    from loader.report.console import show_drift, show_plan, show_validation

    def work() -> tuple[Loaded, Plan, dict[str, Any]]:
        options = RunOptions.from_env(
            environment(),
            mapping=mapping,
            engine=_engine(engine),
            encoding=encoding,
            max_payload_bytes=max_payload_bytes,
            out=out,
            json=as_json,
            only=_only(only),
            max_input_mb=max_input_mb,
            endpoint=endpoint,
            project_id=project_id,
            ledger=ledger,
            prune=_prune(prune),
            restart_failed=restart_failed,
            retry_failed=retry_failed,
        )
        return _plan(sheet, options, refresh=refresh, detailed=detailed_exitcode)

    loaded, planned, summary = _guarded(
        work, exit_code=1 if detailed_exitcode else None, json_error=as_json
    )
    if report is not None:  # issue 25: written first, whatever happens to the printing
        _guarded(
            lambda: files.write_problems_csv(report, loaded.checked.problems),
            exit_code=1 if detailed_exitcode else None,
        )
    show_validation(_err(), loaded, summary["validation"])
    show_plan(_err(), planned, summary["plan"], out)
    diff = summary["diff"]
    _err().print(f"[bold]changes[/] against {_escape(diff['against'])}:", highlight=False)
    _err().print(
        _escape(format_diff(diff, prune=_prune(prune), restart_failed=restart_failed)),
        highlight=False,
        soft_wrap=True,
    )
    show_drift(_err(), summary.get("drift"))
    pending, code = summary["pending"], summary["exit_code"]
    if detailed_exitcode:
        _err().print(_escape(_pending_line(code, pending)), highlight=False, soft_wrap=True)
    if as_json:
        _print_json(summary)
    raise typer.Exit(code)


def _pending_line(code: int, pending: dict[str, int]) -> str:
    """The last line of ``plan --detailed-exitcode``: its exit code and why."""
    if code == 1:
        return "exit 1: an error (rows rejected, or drift not known): see above"
    if code == 2:
        what = ", ".join(f"{kind} {count:,}" for kind, count in pending.items())
        return f"exit 2: changes pending ({what})"
    return "exit 0: no changes; the project matches the sheet"


@app.command()
def template(
    out: Annotated[Path, typer.Option("--out", help="Where to write the workbook")] = Path(
        "bulkload-template.xlsx"
    ),
) -> None:
    """Write a blank input workbook for the default mapping (dropdowns, help, an example)."""
    from loader.check.mapping import find_mapping
    from loader.report.template import write_template

    _guarded(lambda: write_template(out, find_mapping("default")))
    _err().print(f"template written: [bold]{out}[/]  (then: bulkload validate {out})")


@app.command()
def mappings(
    name: Annotated[str | None, typer.Argument(help="Show this mapping's columns")] = None,
    init: Annotated[
        Path | None, typer.Option("--init", help="Write a starter mapping from FILE's headers")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where --init writes")] = None,
) -> None:
    """List the bundled mappings, show one with its columns, or start one (--init FILE)."""
    from loader.check.mapping import bundled, bundled_dir, find_mapping
    from loader.report.console import show_mapping, show_mappings

    if init is not None:  # issue 25: the logic is loader/check/starter.py
        from loader.check.starter import write_starter

        _err().print(_escape(_guarded(lambda: write_starter(init, out, sys.stdout))))
    elif name is None:
        show_mappings(_err(), _guarded(bundled), bundled_dir())
    else:
        show_mapping(_err(), _guarded(lambda: find_mapping(name)))


@app.command(cls=_Command)
def run(
    sheet: SheetArg,
    mapping: MappingOpt = None,
    endpoint: Annotated[str | None, typer.Option(help="API endpoint (BULKLOAD_ENDPOINT)")] = None,
    project_id: Annotated[str | None, typer.Option(help="Project id (BULKLOAD_PROJECT_ID)")] = None,
    run_dir: Annotated[
        Path | None, typer.Option(help="Run directory; default runs/<time>-<sheet>")
    ] = None,
    rate: Annotated[
        float, typer.Option(min=0.01, help="Requests per second, all workers")
    ] = DEFAULT_RATE,
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, help="Most requests in flight")
    ] = DEFAULT_CONCURRENCY,
    timeout: Annotated[
        float,
        typer.Option(min=1, help="Seconds to wait for an answer (lookups of a lost one span this)"),
    ] = DEFAULT_TIMEOUT,
    max_attempts: Annotated[
        int, typer.Option(min=1, help="Sends per batch at most")
    ] = DEFAULT_MAX_ATTEMPTS,
    max_payload_bytes: Annotated[
        int | None,
        typer.Option(
            min=1024,
            help="Lower the byte cap per payload (default 10 MiB; the gateway takes 12 MB)",
        ),
    ] = None,
    ledger: Annotated[
        Path | None, typer.Option(help="Ledger of earlier runs; default beside the run directory")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(hidden=True, help="No effect: changed cameras are updated in place"),
    ] = False,
    retry_failed: RetryOpt = False,
    prune: PruneOpt = None,
    restart_failed: RestartOpt = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Prune without asking (needed when not interactive)")
    ] = False,
    task_ids: Annotated[
        bool,
        typer.Option(
            help="Record every task's id now (a request per 1,000 cameras and per batch);"
            " by default a later change finds the ids it needs"
        ),
    ] = False,
    settle: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Seconds before looking up an in-doubt batch (then 2x, 4x, ... for --timeout)",
        ),
    ] = DEFAULT_SETTLE,
    canary: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Send a first batch of at most N cameras alone; the rest only once its tasks run",
        ),
    ] = None,
    canary_wait: Annotated[
        float,
        typer.Option(
            min=0.0, help="Seconds the canary's tasks have to reach RUNNING, else it failed"
        ),
    ] = RunOptions.canary_wait,
    as_json: JsonOpt = False,
    engine: EngineOpt = "calamine",
    encoding: EncodingOpt = None,
    only: OnlyOpt = None,
    max_input_mb: MaxInputOpt = DEFAULT_MAX_INPUT_MB,
) -> None:
    """Validate, plan and send an inventory; settle every batch exactly once."""
    from loader.report.progress import RunProgress
    from loader.run.runner import start_run

    def options() -> RunOptions:
        _check_payload_cap(max_payload_bytes)
        return RunOptions.from_env(
            environment(),
            mapping=mapping,
            engine=_engine(engine),
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
            prune=_prune(prune),
            restart_failed=restart_failed,
            task_ids=task_ids,
            canary=canary,
            canary_wait=canary_wait,
            only=_only(only),
            max_input_mb=max_input_mb,
        )

    chosen = _guarded(options, json_error=as_json)
    confirm = None if yes or not chosen.prune else _confirm_prune(chosen.prune)
    with RunProgress(_err(), enabled=not as_json) as progress:
        report = _guarded(
            lambda: start_run(sheet, chosen, progress, confirm=confirm), json_error=as_json
        )
    _finish_run(report, as_json)


@app.command()
def refresh(
    endpoint: EndpointOpt = None,
    project_id: ProjectOpt = None,
    ledger: LedgerOpt = None,
    prefix: Annotated[
        list[str] | None,
        typer.Option(help="Batch name prefix bulkload manages (repeatable; default: the ledger's)"),
    ] = None,
    again: Annotated[
        bool, typer.Option(help="Start over instead of resuming a refresh that stopped")
    ] = False,
    rate: Annotated[
        float, typer.Option(min=0.01, help="Requests per second, all workers")
    ] = DEFAULT_RATE,
    as_json: JsonOpt = False,
) -> None:
    """Learn the project from the API into the ledger: every batch bulkload made, its tasks."""

    def work() -> dict[str, Any]:
        options = RunOptions.from_env(
            environment(),
            endpoint=endpoint,
            project_id=project_id,
            ledger=ledger,
            rate=rate,
            json=as_json,
        )
        prefixes = [*(prefix or []), *_bundled_prefixes()]
        return _refresh(options, again=again, prefixes=prefixes, as_json=as_json)

    summary = _guarded(work)
    if as_json:
        _print_json(summary)
    raise typer.Exit(summary["exit_code"])


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="The run directory a run printed")],
    as_json: JsonOpt = False,
) -> None:
    """Finish an interrupted run: never resends an accepted batch."""
    from loader.run.runner import resume_run

    _continue_run(resume_run, run_dir, as_json)


@app.command()
def reconcile(
    run_dir: Annotated[Path, typer.Argument(help="The run directory a run printed")],
    as_json: JsonOpt = False,
) -> None:
    """Ask the API what became of each batch's cameras; rewrite results.xlsx."""
    from loader.run.runner import reconcile_run

    _continue_run(reconcile_run, run_dir, as_json)


@app.command()
def doctor(
    endpoint: Annotated[str | None, typer.Option(help="API endpoint (BULKLOAD_ENDPOINT)")] = None,
    project_id: Annotated[str | None, typer.Option(help="Project id (BULKLOAD_PROJECT_ID)")] = None,
    mapping: MappingOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check, creating nothing, that a run can work: endpoint, TLS, credentials, clock, project."""
    from loader.run.doctor import diagnose, show_doctor

    options = RunOptions.from_env(
        environment(), mapping=mapping, json=as_json, endpoint=endpoint, project_id=project_id
    )
    diagnosis = _guarded(lambda: diagnose(options))
    show_doctor(_err(), diagnosis)
    if as_json:
        _print_json(diagnosis.as_json())
    raise typer.Exit(diagnosis.exit_code)


@app.command()
def simulate(
    port: Annotated[int, typer.Option(help="Loopback port")] = 8080,
    rate: Annotated[float | None, typer.Option(help="Requests/s before 429 APIG.0308")] = None,
    latency: Annotated[float, typer.Option(help="Seconds every answer takes")] = 0.0,
    fault: Annotated[
        list[str] | None, typer.Option(help="KIND=PROBABILITY, e.g. 5xx-after=0.1")
    ] = None,
    lag: Annotated[float, typer.Option(help="Seconds before a new batch shows in lists")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the fault draws")] = 0,
) -> None:
    """Serve the simulated VIAS API on 127.0.0.1 (token: sim-token; IAM: sim-user/sim-password)."""
    from loader.sim import SimConfig, serve_forever

    faults = _guarded(lambda: _parse_faults(fault or []))
    config = SimConfig(rate=rate, latency=latency, faults=faults, list_lag=lag, seed=seed)
    _err().print(
        f"simulated VIAS on http://127.0.0.1:{port}  project {config.project_id}  (Ctrl-C stops)"
    )
    serve_forever(config, port)


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on (default 127.0.0.1; others need BULKLOAD_UI_TOKEN)"
        ),
    ] = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: a free one)")] = 8770,
    runs: Annotated[
        Path, typer.Option("--runs", help="Where uploads and run directories go")
    ] = Path("runs"),
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", min=1, help="Refuse larger uploads (default 64)")
    ] = DEFAULT_MAX_INPUT_MB,
) -> None:
    """A local web page: load a sheet, see every problem, send, watch it live, get the results."""
    from loader.web.options import serve_options
    from loader.web.server import serve as serve_page

    chosen = _guarded(
        lambda: serve_options(
            host=host,
            port=port,
            runs_dir=runs,
            max_upload_mb=max_upload_mb,
            environment=environment(),
        )
    )

    def announce(url: str) -> None:
        _err().print(f"bulkload serve: open {_escape(url)}  (Ctrl-C stops)", soft_wrap=True)

    _guarded(lambda: serve_page(chosen, announce))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--runs", help="Where the demo's run directories go")] = Path(
        "runs"
    ),
) -> None:
    """End to end on the bundled samples against the simulator started here on loopback."""
    from loader.report.console import show_run
    from loader.report.progress import RunProgress
    from loader.run.runner import start_run
    from loader.send.credentials import Credentials
    from loader.sim import SimConfig, running_simulator

    config = SimConfig(
        rate=20,
        latency=0.02,
        faults={"5xx-after": 0.1, "reset-before": 0.1, "429": 0.05},
        seed=3,
    )
    with running_simulator(config) as sim:
        _err().print(f"simulated VIAS on {sim.url} (rate 20/s, 25% of creates hit a fault)")
        for name in DEMO_SAMPLES:
            _err().rule(f"[bold]{name}")
            options = RunOptions.of(
                endpoint=sim.url,
                project_id=config.project_id,
                rate=15,
                run_dir=out / f"demo-{Path(name).stem}-{_stamp()}",
                credentials=Credentials(
                    iam_url=sim.url,
                    iam_user=config.iam_user,
                    iam_password=config.iam_password,
                    iam_domain=config.iam_domain,
                ),
            )
            with RunProgress(_err()) as progress:
                report = _guarded(partial(start_run, SAMPLES / name, options, progress))
            show_run(_err(), report)
            counts = sim.state.task_counts()
            _err().print(
                f"simulator: {sum(counts.values())} tasks so far, cameras with two tasks: "
                f"{sum(1 for n in counts.values() if n > 1)}"
            )
            if report.exit_code not in (0, 1):
                raise typer.Exit(report.exit_code)
    _err().print(
        "\n[bold green]demo done[/]: each run directory above holds results.xlsx, journal.sqlite,"
        " log.jsonl, payloads/, diff.json (the plan against the ledger) and summary.json"
    )


def _check_payload_cap(value: int | None) -> None:
    """--max-payload-bytes may only lower the default cap, which keeps bodies under 12 MB."""
    from loader.planning.batches import DEFAULT_MAX_PAYLOAD_BYTES

    if value is not None and value > DEFAULT_MAX_PAYLOAD_BYTES:
        raise ConfigError(
            f"--max-payload-bytes {value} is above the default cap of"
            f" {DEFAULT_MAX_PAYLOAD_BYTES} bytes",
            hint="the gateway refuses bodies over 12 MB (413 APIG.0201): leave it out or lower it",
        )


def _continue_run(
    action: Callable[[Path, RunOptions, Any], RunReport], run_dir: Path, as_json: bool
) -> None:
    """resume or reconcile a run directory: the run's own options, credentials from env."""
    from loader.report.progress import RunProgress

    options = RunOptions.from_env(environment(), json=as_json)
    with RunProgress(_err(), enabled=not as_json) as progress:
        report = _guarded(lambda: action(run_dir, options, progress))
    _finish_run(report, as_json)


def _finish_run(report: RunReport, as_json: bool) -> None:
    """Show a finished run and exit with its code."""
    from loader.report.console import show_run
    from loader.report.summaries import format_run

    global _RUN_FINISHED
    show_run(_err(), report)
    if as_json:
        _print_json(format_run(report))
    _RUN_FINISHED = True
    raise typer.Exit(report.exit_code)


@cache
def _err() -> Console:
    """The console on stderr, made on first use: importing rich costs 0.1 s at start."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _parse_faults(items: list[str]) -> dict[str, float]:
    """``KIND=P`` pairs, checked against the simulator's fault kinds."""
    from loader.sim import FAULTS

    faults = {}
    for item in items:
        kind, _, value = item.partition("=")
        if kind not in FAULTS:
            raise ConfigError(f"unknown fault {kind!r}", hint=f"kinds: {', '.join(FAULTS)}")
        try:
            faults[kind] = float(value or "1")
        except ValueError:
            raise ConfigError(f"fault {item!r}: the probability must be a number") from None
    return faults


def _only(text: str | None) -> frozenset[str] | None:
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


def _engine(name: str) -> ExcelReader:
    """The --engine value, checked."""
    if name not in ("calamine", "openpyxl"):
        raise ConfigError(f"--engine must be calamine or openpyxl, not {name!r}")
    return "calamine" if name == "calamine" else "openpyxl"


def _stamp() -> str:
    """A UTC time stamp for run directory names."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _load(sheet: Path, options: RunOptions) -> Loaded:
    """Read, map and check one sheet."""
    from loader.run.context import load_sheet

    return load_sheet(sheet, options)


def _plan(
    sheet: Path, options: RunOptions, *, refresh: bool = False, detailed: bool = False
) -> tuple[Loaded, Plan, dict[str, Any]]:
    """Load, diff against the ledger (when the endpoint and project are known; ``refresh``:
    read the project from the API into it first) and plan the creates; with
    ``options.out``, write the payload files and plan.json."""
    from loader.planning.batches import name_prefix
    from loader.report import files
    from loader.report.changes import diff_data
    from loader.report.summaries import (
        format_plan,
        format_validation,
        pending_changes,
        plan_exit_code,
    )
    from loader.run.drift import check_drift
    from loader.run.plan import plan_sheet, target_of

    loaded = _load(sheet, options)
    checked = loaded.checked
    if refresh:  # the sheet's batch name prefixes are the ones it manages
        prefixes = sorted({name_prefix(c.name_prefix) for c in checked.settings_classes})
        _refresh(options, again=False, prefixes=prefixes, as_json=options.json, quiet=True)
    target = target_of(options)
    step = plan_sheet(loaded, options, target)
    drift = None
    if target is not None:
        against = f"the ledger {target.ledger} ({target.endpoint}, project {target.project})"
        drift = check_drift(loaded, options, step.delta)  # the API's counts per batch
    else:
        against = "an empty project (no --endpoint/--project-id: every camera is new)"
    written = files.write_plan(options.out, step.plan) if options.out else []
    summary: dict[str, Any] = {
        "validation": format_validation(checked, mapping_chosen=loaded.chosen),
        "plan": format_plan(step.plan, checked, written),
        "diff": {
            "against": against,
            **diff_data(
                step.delta, checked.cameras, step.rows, step.inventory, creates=options.json
            ),
        },
        "drift": drift.as_data() if drift is not None else None,
    }
    pending = pending_changes(step.delta, drift)  # what plan.json and --json both say
    code = plan_exit_code(checked, pending, drift, detailed=detailed)
    summary |= {"pending": pending, "changes_pending": bool(pending), "exit_code": code}
    if options.out:
        files.write_plan_summary(
            options.out / "plan.json", summary, step.plan, written, step.delta.replaces
        )
    return loaded, step.plan, summary


def _bundled_prefixes() -> list[str]:
    """The batch name prefixes of the bundled mappings: batches bulkload made by default."""
    from loader.check.mapping import bundled_dir, load_mapping
    from loader.planning.batches import name_prefix

    return sorted(
        {name_prefix(load_mapping(p).task.name_prefix) for p in bundled_dir().glob("*.toml")}
    )


def _prune(value: str | None) -> str:
    """--prune's value: "stop" or "delete" ("" when not given; a bare --prune is "stop")."""
    if value is None:
        return ""
    if value not in ("stop", "delete"):
        raise ConfigError(
            f"--prune {value!r} is not a way to remove tasks",
            hint="use --prune (it stops them), --prune=stop or --prune=delete",
        )
    return value


def _confirm_prune(mode: str) -> Callable[[Delta], None]:
    """Ask before tasks are stopped or deleted; refuse to guess when nobody can answer."""

    def confirm(delta: Delta) -> None:
        count = len(delta.removes)
        if not count:
            return
        verb = "delete" if mode == "delete" else "stop"
        counts = delta.counts()
        _err().print(
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
        answer = _err().input(
            f"{verb.capitalize()} {count:,} tasks of cameras that left the sheet? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            raise ConfigError("nothing was sent: pruning was not confirmed", hint="")

    return confirm


def _refresh(
    options: RunOptions, *, again: bool, prefixes: list[str], as_json: bool, quiet: bool = False
) -> dict[str, Any]:
    """Learn the project into the ledger, with a progress bar; its summary."""
    from loader.report.progress import RefreshBar
    from loader.report.summaries import format_refresh
    from loader.run.refresh import refresh_ledger

    with RefreshBar(_err(), enabled=not as_json) as progress:
        report = refresh_ledger(options, prefixes=prefixes, again=again, observer=progress)
    summary = report.summary()
    if not as_json and not quiet:
        _err().print(_escape(format_refresh(summary)), highlight=False)
    return summary


def _guarded(
    action: Callable[[], T], *, exit_code: int | None = None, json_error: bool = False
) -> T:
    """Run ``action``; a LoaderError becomes a message and its exit code (or ``exit_code``),
    never a traceback; ``json_error``: also as a JSON object on stdout."""
    try:
        result = action()
    except LoaderError as exc:
        _err().print(f"[red bold]error[/]: {_escape(exc.message)}")
        if exc.hint:
            _err().print(f"  [bold]how to fix[/]: {_escape(exc.hint)}")
        code = exc.exit_code if exit_code is None else exit_code
        if json_error:
            _print_json({"error": exc.message, "hint": exc.hint, "exit_code": code})
        raise typer.Exit(code) from None
    return result


def _escape(text: str) -> str:
    """Text shown as written, never read as rich markup."""
    return text.replace("[", "\\[")


def _print_json(summary: dict[str, Any]) -> None:
    """One JSON object on stdout."""
    sys.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
