"""
The flags the commands declare, each written once (its type, its spelling, its help);
``cli.py`` names them in the commands' signatures. Values are checked where options are
built (``RunOptions.checked``, ``parsing``), so the CLI and the page refuse alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loader.commands.terminal import show_version

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
    int, typer.Option("--max-input-mb", help="Refuse larger input files (default 64)")
]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Write every problem to this CSV")]
EndpointOpt = Annotated[str | None, typer.Option(help="API endpoint (BULKLOAD_ENDPOINT)")]
ProjectOpt = Annotated[str | None, typer.Option(help="Project id (BULKLOAD_PROJECT_ID)")]
LedgerOpt = Annotated[
    Path | None, typer.Option(help="Ledger of earlier runs; default runs/ledger.sqlite")
]
DeleteSourcesOpt = Annotated[
    bool,
    typer.Option(
        "--delete-sources",
        help="Delete the video sources bulkload registered for cameras that left the sheet"
        " (after --prune removed their tasks)",
    ),
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
RunDirOpt = Annotated[Path | None, typer.Option(help="Run directory; default runs/<time>-<sheet>")]
ConcurrencyOpt = Annotated[int, typer.Option(help="Most requests in flight")]
TimeoutOpt = Annotated[
    float, typer.Option(help="Seconds to wait for an answer (lookups of a lost one span this)")
]
MaxAttemptsOpt = Annotated[int, typer.Option(help="Sends per batch at most")]
RunPayloadCapOpt = Annotated[
    int | None,
    typer.Option(help="Lower the byte cap per payload (default 10 MiB; the gateway takes 12 MB)"),
]
RunLedgerOpt = Annotated[
    Path | None, typer.Option(help="Ledger of earlier runs; default beside the run directory")
]
ForceOpt = Annotated[
    bool, typer.Option(hidden=True, help="No effect: changed cameras are updated in place")
]
YesOpt = Annotated[
    bool, typer.Option("--yes", help="Prune without asking (needed when not interactive)")
]
TaskIdsOpt = Annotated[
    bool,
    typer.Option(
        help="Record every task's id now (a request per 1,000 cameras and per batch);"
        " by default a later change finds the ids it needs"
    ),
]
SettleOpt = Annotated[
    float,
    typer.Option(
        help="Seconds before looking up an in-doubt batch (then 2x, 4x, ... for --timeout)"
    ),
]
CanaryOpt = Annotated[
    int | None,
    typer.Option(
        help="Send a first batch of at most N cameras alone; the rest only once its tasks run"
    ),
]
CanaryWaitOpt = Annotated[
    float, typer.Option(help="Seconds the canary's tasks have to reach RUNNING, else it failed")
]
RateOpt = Annotated[float, typer.Option(help="Requests per second, all workers")]
VersionOpt = Annotated[
    bool,
    typer.Option(
        "--version",
        "-V",
        is_eager=True,
        callback=show_version,
        help="Print bulkload's version and exit",
    ),
]
