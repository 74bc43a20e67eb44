"""
The ``bulkload`` command: parse flags, build Settings, call one function, render the
result, map errors to exit codes (0 all rows fine, 1 some rows rejected, 2 usage, config
or input error: nothing sent). Human output goes to stderr, ``--json`` to stdout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from loader import output
from loader.errors import LoaderError
from loader.mapping import bundled, bundled_dir, find_mapping
from loader.pipeline import Loaded, load
from loader.plan import Plan, plan
from loader.report import exit_code, format_plan, format_validation, problem_rows
from loader.settings import Settings
from loader.sheets import Engine

app = typer.Typer(
    name="bulkload",
    help="Camera inventories in spreadsheets -> Huawei Cloud VIAS batch tasks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)
SAMPLES = Path(__file__).resolve().parent.parent / "sample_sheets"
PROBLEMS_SHOWN = 40
T = TypeVar("T")

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
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Write every problem to this CSV")]


def main() -> None:
    """Console-script entry point."""
    app()


@app.command()
def validate(
    sheet: SheetArg,
    mapping: MappingOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = "calamine",
    encoding: EncodingOpt = None,
    report: ReportOpt = None,
) -> None:
    """Read, map and check an inventory; list every problem."""
    settings = Settings(mapping=mapping, engine=_engine(engine), encoding=encoding, json=as_json)
    loaded = _guarded(lambda: _load(sheet, settings))
    summary = format_validation(loaded.checked, mapping_chosen=loaded.chosen)
    _show_validation(loaded, summary)
    if report is not None:
        output.write_problems_csv(report, loaded.checked.problems)
    if as_json:
        _print_json(summary)
    raise typer.Exit(summary["exit_code"])


@app.command(name="plan")
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
) -> None:
    """Dry run: validate, then show (and with --out write) exactly what would be sent."""
    settings = Settings(
        mapping=mapping,
        engine=_engine(engine),
        encoding=encoding,
        max_payload_bytes=max_payload_bytes,
        out=out,
        json=as_json,
    )
    loaded, planned, summary = _guarded(lambda: _plan(sheet, settings))
    _show_validation(loaded, summary["validation"])
    _show_plan(planned, summary["plan"], out)
    if report is not None:
        output.write_problems_csv(report, loaded.checked.problems)
    if as_json:
        _print_json(summary)
    raise typer.Exit(exit_code(loaded.checked))


@app.command()
def mappings(
    name: Annotated[str | None, typer.Argument(help="Show this mapping's columns")] = None,
) -> None:
    """List the bundled mappings, or show one with its columns."""
    if name is None:
        table = Table("mapping", "description", "sheets", title=f"mappings in {bundled_dir()}")
        for found in _guarded(bundled):
            sheets = [str(found.cameras.sheet or "(first)")]
            if found.groups:
                sheets.append(str(found.groups.sheet))
            table.add_row(found.name, found.description, " + ".join(sheets))
        err.print(table)
        return
    chosen = _guarded(lambda: find_mapping(name))
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
    err.print(table)
    defaults = chosen.task.as_text()
    err.print("[bold]task defaults[/]: " + ", ".join(f"{k}={v}" for k, v in defaults.items()))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Where the demo writes its plans")] = Path(
        "runs/demo"
    ),
) -> None:
    """Validate and plan every bundled sample sheet and show what would be sent."""
    samples = sorted(
        p for p in SAMPLES.glob("*") if p.suffix in {".xlsx", ".csv"} and "id_map" not in p.name
    )
    for sample in samples:
        err.rule(f"[bold]{sample.name}")
        settings = Settings(out=out / sample.stem)
        loaded, planned, summary = _guarded(partial(_plan, sample, settings))
        _show_validation(loaded, summary["validation"])
        _show_plan(planned, summary["plan"], settings.out)
    err.print(f"\n[bold green]demo done[/]: payload files under {out}/ (nothing was sent)")


def _load(sheet: Path, settings: Settings) -> Loaded:
    """Read, map and check one sheet."""
    return load(sheet, settings.mapping, engine=settings.engine, encoding=settings.encoding)


def _plan(sheet: Path, settings: Settings) -> tuple[Loaded, Plan, dict[str, Any]]:
    """Load and plan; with ``settings.out``, write the payload files and plan.json."""
    loaded = _load(sheet, settings)
    planned = plan(
        loaded.checked.cameras,
        loaded.checked.settings,
        max_payload_bytes=settings.max_payload_bytes,
    )
    files = output.write_plan(settings.out, planned) if settings.out else []
    summary = {
        "validation": format_validation(loaded.checked, mapping_chosen=loaded.chosen),
        "plan": format_plan(planned, loaded.checked, files),
    }
    if settings.out:
        output.write_json(settings.out / "plan.json", summary)
    return loaded, planned, summary


def _show_validation(loaded: Loaded, summary: dict[str, Any]) -> None:
    """The validation summary and the first problems, on stderr."""
    rows = summary["rows"]
    err.print(
        f"[bold]{summary['file']}[/] sheet {summary['sheet']!r},"
        f" mapping [bold]{summary['mapping']}[/] ({summary['mapping_chosen']})"
    )
    err.print(
        f"rows: {rows['total']}  valid [green]{rows['valid']}[/]"
        f"  rejected [red]{rows['rejected']}[/]  duplicate [yellow]{rows['duplicate']}[/]"
        f"  skipped (blank/title/footer) {summary['skipped_rows']}"
    )
    problems = loaded.checked.problems
    if not problems:
        return
    table = Table(title="problems")
    for header in ("severity", "where", "column", "value", "problem", "how to fix"):
        table.add_column(header, no_wrap=header in {"severity", "where"})
    styles = {"error": "red", "warning": "yellow", "info": "dim"}
    for row in problem_rows(problems[:PROBLEMS_SHOWN]):
        table.add_row(*(escape(cell) for cell in row), style=styles.get(row[0], ""))
    err.print(table)
    if len(problems) > PROBLEMS_SHOWN:
        err.print(f"... and {len(problems) - PROBLEMS_SHOWN} more: use --report FILE.csv or --json")


def _show_plan(planned: Plan, summary: dict[str, Any], out: Path | None) -> None:
    """The batches that would be sent, on stderr."""
    table = Table(
        "#", "name", "service", "version", "groups", "entries", "cameras", "bytes", title="batches"
    )
    for batch in summary["batches"]:
        table.add_row(
            str(batch["number"]),
            batch["name"],
            batch["service_name"],
            batch["service_version"],
            str(batch["groups"]),
            str(batch["entries"]),
            str(batch["cameras"]),
            str(batch["bytes"]),
        )
    err.print(table)
    err.print(
        f"{summary['batch_count']} batches (minimum {summary['minimum_batches']}) for"
        f" {summary['cameras']} cameras in {summary['entries']} group entries"
        + (f"; payload files in {out}/" if out else "")
    )


def _engine(name: str) -> Engine:
    """The --engine value, checked."""
    if name not in ("calamine", "openpyxl"):
        err.print(f"[red]error[/]: --engine must be calamine or openpyxl, not {name!r}")
        raise typer.Exit(2)
    return "calamine" if name == "calamine" else "openpyxl"


def _guarded(action: Callable[[], T]) -> T:
    """Run ``action``; a LoaderError becomes a message and exit code 2, never a traceback."""
    try:
        result = action()
    except LoaderError as exc:
        err.print(f"[red bold]error[/]: {exc.message}")
        if exc.hint:
            err.print(f"  [bold]how to fix[/]: {exc.hint}")
        raise typer.Exit(2) from None
    return result


def _print_json(summary: dict[str, Any]) -> None:
    """One JSON object on stdout."""
    sys.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
