"""
A run's context: its directory, journal, inventory, plan, ledger verdicts and state,
built fresh for a new run or rebuilt from the journal for resume and reconcile; and
its conclusion: ledger entries, results workbook and summary. [I/O]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loader import output
from loader.delta import Delta, camera_key, partition
from loader.errors import ConfigError
from loader.events import BatchPlanned, Event, RunStarted
from loader.guard import MB, Limits
from loader.journal import Journal
from loader.ledger import Ledger, LedgerEntry
from loader.pipeline import Loaded, load
from loader.plan import Plan, plan
from loader.results import Outcomes, build, outcomes
from loader.runstate import BatchStatus, RunState, fold
from loader.secrecy import Scrubber, resolve
from loader.settings import Settings, limits_of
from loader.validate import RowStatus
from loader.workbook import write_results

RUNS_DIR = Path("runs")
JOURNAL = "journal.sqlite"
LEDGER = "ledger.sqlite"
RESULTS = "results.xlsx"


@dataclass
class RunContext:
    """Everything a run works with."""

    run_dir: Path
    journal: Journal
    scrubber: Scrubber
    started: RunStarted
    loaded: Loaded
    planned: Plan
    delta: Delta
    state: RunState

    @property
    def ledger_path(self) -> Path:
        return Path(self.started.options["ledger"])


def new_context(sheet: Path, settings: Settings) -> RunContext:
    """Load, consult the ledger, plan, and open a new run directory with its journal."""
    endpoint, project_id = settings.api_target()
    loaded = load_sheet(sheet, settings)
    run_dir = _new_run_dir(settings, sheet)
    ledger_path = settings.ledger or run_dir.parent / LEDGER
    delta = _delta(
        loaded, ledger_path, endpoint, project_id, settings.force, settings.retry_failed, ""
    )
    planned = plan(
        delta.send, loaded.checked.settings, max_payload_bytes=settings.max_payload_bytes
    )
    for batch in planned.batches:
        resolve(batch.content(), settings.environment)  # an unset ${VAR} stops here
    run_dir.mkdir(parents=True, exist_ok=True)
    files = output.write_plan(run_dir / "payloads", planned)
    scrubber = Scrubber()
    journal = Journal(run_dir / JOURNAL, scrubber)
    started = RunStarted(
        run_id=run_dir.name,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        input_file=str(sheet.resolve()),
        input_sha256=sha256_of(sheet),
        mapping=loaded.mapping.source or loaded.mapping.name,
        mapping_sha256=sha256_of(Path(loaded.mapping.source)) if loaded.mapping.source else "",
        endpoint=endpoint,
        project_id=project_id,
        batches=len(planned.batches),
        cameras=planned.camera_count,
        rejected_rows=loaded.checked.count(RowStatus.REJECTED),
        options={**_options(settings), "ledger": str(ledger_path)},
    )
    planned_events: list[Event] = [
        BatchPlanned(
            batch=b.name, file=f, groups=len({e.group for e in b.entries}), cameras=b.camera_count
        )
        for b, f in zip(planned.batches, files, strict=True)
    ]
    journal.append_many([started, *planned_events])
    return RunContext(
        run_dir, journal, scrubber, started, loaded, planned, delta, fold(journal.events())
    )


def load_sheet(sheet: Path, settings: Settings) -> Loaded:
    """Read, map and check ``sheet`` as ``settings`` say (mapping, engine, limits, --only)."""
    return load(
        sheet,
        settings.mapping,
        engine=settings.engine,
        encoding=settings.encoding,
        only=settings.only,
        limits=limits_of(settings),
    )


def rebuild_context(run_dir: Path) -> RunContext:
    """A run's context from its journal; a changed input or mapping is refused."""
    if not (run_dir / JOURNAL).is_file():
        raise ConfigError(
            f"{run_dir} holds no {JOURNAL}", hint="give a run directory a run printed"
        )
    scrubber = Scrubber()
    journal = Journal(run_dir / JOURNAL, scrubber)
    state = fold(journal.events())
    started = state.started
    if started is None:
        raise ConfigError(
            f"the journal in {run_dir} has no RunStarted event", hint="start a new run"
        )
    _check_unchanged(Path(started.input_file), started.input_sha256, "input file")
    if started.mapping_sha256:
        _check_unchanged(Path(started.mapping), started.mapping_sha256, "mapping")
    options = started.options
    only = options.get("only")
    loaded = load(
        Path(started.input_file),
        started.mapping,
        engine=options.get("engine", "calamine"),
        encoding=options.get("encoding"),
        only=frozenset(only) if only else None,
        limits=Limits(max_bytes=int(options.get("max_input_mb", 64)) * MB),
    )
    delta = _delta(
        loaded,
        Path(options["ledger"]),
        started.endpoint,
        started.project_id,
        bool(options.get("force")),
        bool(options.get("retry_failed")),
        started.run_id,
    )
    planned = plan(
        delta.send, loaded.checked.settings, max_payload_bytes=options.get("max_payload_bytes")
    )
    if [b.name for b in planned.batches] != list(state.batches):
        raise ConfigError(
            "planning the input again gives other batches than the journal records",
            hint="the loader version changed; start a new run (the ledger skips what was loaded)",
        )
    return RunContext(run_dir, journal, scrubber, started, loaded, planned, delta, state)


def conclude(context: RunContext, facts: list[tuple[str, str]]) -> Outcomes:
    """Record settled cameras in the ledger and write results.xlsx; returns the outcomes."""
    result = outcomes(context.loaded, context.planned, context.delta, context.state)
    entries = _ledger_entries(context, result)
    ledger = Ledger(context.ledger_path)
    try:
        ledger.record(context.started.endpoint, context.started.project_id, entries)
        keys = {
            camera_key(c, context.loaded.checked.settings) for c in context.loaded.checked.cameras
        }
        known = ledger.entries(context.started.endpoint, context.started.project_id)
    finally:
        ledger.close()
    inventory = Path(context.started.input_file).name
    absent = [e for k, e in known.items() if k not in keys and e.inventory == inventory]
    results = build(context.loaded, context.planned, context.delta, context.state, facts, absent)
    write_results(context.run_dir / RESULTS, results)
    return result


def _ledger_entries(context: RunContext, result: Outcomes) -> list[LedgerEntry]:
    """Sent cameras with their fingerprint: loaded, failed, or unknown but maybe created.

    "unknown" is recorded when its batch was created or may have been (in doubt): a later
    run must not send it again and risk a second task; ``resume`` or ``reconcile`` of this
    run settles it. Cameras of batches provably never created are left out: send anew.
    """
    settings = context.loaded.checked.settings
    entries = []
    for camera in context.delta.send:
        status = result.status[camera.position]
        batch = context.state.batches.get(str(result.batch[camera.position]))
        maybe_created = batch is not None and batch.status in (
            BatchStatus.ACCEPTED,
            BatchStatus.IN_DOUBT,
        )
        if status not in ("loaded", "failed") and not (status == "unknown" and maybe_created):
            continue
        group, source, service = camera_key(camera, settings)
        entries.append(
            LedgerEntry(
                group,
                source,
                service,
                context.delta.fingerprints[camera.position],
                str(status),
                context.started.run_id,
                str(result.batch[camera.position]),
                str(result.batch_id[camera.position]),
                str(result.message[camera.position]),
                inventory=Path(context.started.input_file).name,
            )
        )
    return entries


def _delta(
    loaded: Loaded,
    ledger_path: Path,
    endpoint: str,
    project: str,
    force: bool,
    retry_failed: bool,
    excluding_run: str,
) -> Delta:
    """The ledger's verdict on each valid camera (this run's own entries left out)."""
    ledger = Ledger(ledger_path)
    try:
        known = ledger.entries(endpoint, project, excluding_run=excluding_run)
    finally:
        ledger.close()
    checked = loaded.checked
    return partition(
        checked.cameras, checked.settings, known, force=force, retry_failed=retry_failed
    )


def sha256_of(path: Path) -> str:
    """The file's SHA-256 (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _check_unchanged(path: Path, expected: str, what: str) -> None:
    """Refuse to go on when a file the run read has changed or gone."""
    if not path.is_file():
        raise ConfigError(
            f"the run's {what} {path} is gone", hint="put it back, or start a new run"
        )
    if sha256_of(path) != expected:
        raise ConfigError(
            f"the run's {what} {path} changed since the run started",
            hint="restore it to resume this run, or start a new run with the new file",
        )


def _new_run_dir(settings: Settings, sheet: Path) -> Path:
    """``runs/<UTC time>-<sheet name>/``, or --run-dir (not made yet; never one with a journal)."""
    if settings.run_dir is not None:
        run_dir = settings.run_dir
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        run_dir = RUNS_DIR / f"{stamp}-{sheet.stem}"
    if (run_dir / JOURNAL).exists():
        raise ConfigError(
            f"{run_dir} already holds a run", hint=f"resume it: bulkload resume {run_dir}"
        )
    return run_dir


def _options(settings: Settings) -> dict[str, Any]:
    """What a resume must repeat (no secrets)."""
    return {
        "engine": settings.engine,
        "encoding": settings.encoding,
        "max_payload_bytes": settings.max_payload_bytes,
        "rate": settings.rate,
        "concurrency": settings.concurrency,
        "timeout": settings.timeout,
        "max_attempts": settings.max_attempts,
        "settle": settings.settle,
        "force": settings.force,
        "retry_failed": settings.retry_failed,
        "only": sorted(settings.only) if settings.only else None,
        "max_input_mb": settings.max_input_mb,
    }
