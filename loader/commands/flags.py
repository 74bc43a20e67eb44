"""
The flags the commands declare, each written once (its type, its spelling, its help);
``cli.py`` names them in the commands' signatures. Values are checked where options are
built (``RunOptions.checked``, ``parsing``), so the CLI and the page refuse alike.
"""

from __future__ import annotations

from enum import StrEnum
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
RunDirArg = Annotated[Path, typer.Argument(help="The run directory a run printed")]
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
PlanOutOpt = Annotated[Path | None, typer.Option("--out", help="Write payload files here")]
PlanPayloadCapOpt = Annotated[
    int | None, typer.Option("--max-payload-bytes", help="Byte cap per payload")
]
RefreshFirstOpt = Annotated[
    bool, typer.Option(help="Read the project from the API first (bulkload refresh)")
]
DetailedExitcodeOpt = Annotated[
    bool,
    typer.Option(
        "--detailed-exitcode",
        help="Exit 0 when nothing differs from the sheet, 2 when changes are pending,"
        " 1 on an error (terraform's convention; --json carries the same)",
    ),
]
PrefixOpt = Annotated[
    list[str] | None,
    typer.Option(help="Batch name prefix bulkload manages (repeatable; default: the ledger's)"),
]
AgainOpt = Annotated[
    bool, typer.Option(help="Start over instead of resuming a refresh that stopped")
]
RateOpt = Annotated[float, typer.Option(help="Requests per second, all workers")]
TemplateOutOpt = Annotated[Path, typer.Option("--out", help="Where to write the workbook")]
MappingNameArg = Annotated[str | None, typer.Argument(help="Show this mapping's columns")]
StarterFromOpt = Annotated[
    Path | None, typer.Option("--init", help="Write a starter mapping from FILE's headers")
]
StarterOutOpt = Annotated[Path | None, typer.Option("--out", help="Where --init writes")]
SimPortOpt = Annotated[int, typer.Option(help="Loopback port")]
SimRateOpt = Annotated[float | None, typer.Option(help="Requests/s before 429 APIG.0308")]
SimLatencyOpt = Annotated[float, typer.Option(help="Seconds every answer takes")]
SimFaultOpt = Annotated[list[str] | None, typer.Option(help="KIND=PROBABILITY, e.g. 5xx-after=0.1")]
SimLagOpt = Annotated[float, typer.Option(help="Seconds before a new batch shows in lists")]
SimSeedOpt = Annotated[int, typer.Option(help="Seed of the fault draws")]
HostOpt = Annotated[
    str | None,
    typer.Option(help="Address to listen on (default 127.0.0.1; others need BULKLOAD_UI_TOKEN)"),
]
PagePortOpt = Annotated[int, typer.Option(min=0, max=65535, help="Port (0: a free one)")]
RunsOpt = Annotated[Path, typer.Option("--runs", help="Where uploads and run directories go")]
MaxUploadOpt = Annotated[
    int, typer.Option("--max-upload-mb", min=1, help="Refuse larger uploads (default 64)")
]
DemoRunsOpt = Annotated[Path, typer.Option("--runs", help="Where the demo's run directories go")]
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


class TypeConfigFormat(StrEnum):
    """The ``type_config`` XML formats the simulator takes: the SDK's, the newest Chinese
    pages', or both (the reference shows two that differ)."""

    SDK = "sdk"
    ZH = "zh"
    BOTH = "both"


RegisteredOnlyOpt = Annotated[
    bool, typer.Option(help="Refuse a batch task whose source is not registered in its group")
]
SourceQuotaOpt = Annotated[
    int | None, typer.Option(min=0, help="Video sources the project may hold (default 5000)")
]
GroupQuotaOpt = Annotated[
    int | None, typer.Option(min=0, help="Video groups the project may hold (default 1000)")
]
UniqueGroupNamesOpt = Annotated[
    bool, typer.Option(help="Refuse a group name already used (undocumented; off by default)")
]
TypeConfigFormatOpt = Annotated[
    TypeConfigFormat, typer.Option(help="type_config XML taken: sdk, zh or both")
]
