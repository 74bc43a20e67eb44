"""
A run's context: its directory, journal, inventory, plan, ledger verdicts and state,
built fresh for a new run or rebuilt from the journal for resume and reconcile; and
its conclusion: ledger entries, results workbook and summary. [I/O]
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import anyio

from loader.bulk import bulk
from loader.check.load import Loaded, load
from loader.errors import ConfigError, StorageError
from loader.model.cameras import RowStatus
from loader.planning.batches import Plan, name_prefix
from loader.planning.delta import (
    Delta,
    batch_prefix,
    camera_key,
    from_data,
    to_data,
)
from loader.report import files
from loader.report.changes import changes_table
from loader.report.results import CameraColumns, build, camera_columns
from loader.report.workbook import Rendered, render_ahead, write_results
from loader.run.options import RUNS_DIR, LedgerScope, RunOptions
from loader.run.plan import SheetPlan, batches_of, diff_sheet, plan_sheet
from loader.send.observe import SourceNames
from loader.send.secrecy import Scrubber, resolve
from loader.state.events import BatchPlanned, Event, RunStarted
from loader.state.follow import LedgerFollower, change_entries
from loader.state.journal import Journal
from loader.state.outcomes import Outcomes, needing_attention, outcomes, overlay
from loader.state.rundir import DIFF, JOURNAL, PAYLOADS, RESULTS
from loader.state.runstate import RunState, replay

PREPARE_PAUSE = 0.002  # seconds between two steps of prepare_results: requests go first


@dataclass
class RunContext:
    """What a run's drivers work with: its directory, journal and options, the plan step's
    result, the fold of its events and the ledger that follows them."""

    run_dir: Path
    journal: Journal
    scrubber: Scrubber
    started: RunStarted
    step: SheetPlan  # the sheet, its diff against the ledger and the batches of its creates
    state: RunState
    options: RunOptions
    ledger: LedgerFollower  # open: the runner closes it with the journal
    prepared: PreparedResults | None = None  # made while the run sends (``prepare_results``)
    # The video source names the run's steps learned (task lists are matched by them).
    sources: SourceNames = field(default_factory=SourceNames)

    @property
    def loaded(self) -> Loaded:
        return self.step.loaded

    @property
    def planned(self) -> Plan:
        return self.step.plan

    @property
    def delta(self) -> Delta:
        return self.step.delta

    @property
    def ledger_path(self) -> Path:
        return self.options.ledger


@dataclass(frozen=True)
class PreparedResults:
    """What the results workbook holds that no outcome changes, made and rendered ahead."""

    columns: CameraColumns
    rendered: Rendered


async def prepare_results(context: RunContext) -> None:
    """Make the Cameras sheet's inventory columns and render their cells, so that the end
    of the run only adds what the outcomes decide. A run awaits it while it waits on the
    network: it yields to the event loop every few thousand cells (a thread would hold
    the interpreter's lock from the requests), and reads only the loaded inventory."""
    columns = camera_columns(context.loaded)
    rendered: dict[str, dict[str, list[str]]] = {}
    for _ in render_ahead("Cameras", columns.named(), rendered):
        await anyio.sleep(PREPARE_PAUSE)
    context.prepared = PreparedResults(columns, rendered)


@bulk
def new_context(
    sheet: Path,
    options: RunOptions,
    *,
    now: datetime,
    confirm: Callable[[Delta], None] | None = None,
    api: tuple[str, str] | None = None,
) -> RunContext:
    """Load, diff against the ledger, plan, and open a new run directory with its journal.

    ``confirm`` sees the diff before anything is written or sent; it raises to stop.
    ``api``: the (endpoint, project id) the run's connection was made for, else the options'.
    """
    endpoint, project_id = api or options.api_target()
    loaded = load_sheet(sheet, options, on=now.astimezone(UTC).date())
    run_dir = _new_run_dir(options, sheet, now)
    ledger_file = options.ledger
    try:
        step = plan_sheet(
            loaded, options.plan_choices, LedgerScope(endpoint, project_id, ledger_file)
        )
    except StorageError as exc:  # nothing is sent yet: a configuration problem, exit 2
        raise ConfigError(exc.message, hint=exc.hint) from exc
    if confirm is not None:
        confirm(step.delta)
    loaded, delta, planned = step.loaded, step.delta, step.plan
    for batch in planned.batches:
        resolve(batch.content(), options.environment)  # an unset ${VAR} stops here
    _make_dir(run_dir)
    files.write_json(run_dir / DIFF, to_data(delta), compact=True)  # a resume applies it as is
    payload_files = files.write_plan(run_dir / PAYLOADS, planned)
    scrubber = Scrubber()
    journal = Journal(run_dir / JOURNAL, scrubber)
    started = RunStarted(
        run_id=run_dir.name,
        started_at=now.astimezone(UTC).isoformat(timespec="seconds"),
        input_file=str(sheet.resolve()),
        input_sha256=sha256_of(sheet),
        mapping=loaded.mapping.source or loaded.mapping.name,
        mapping_sha256=sha256_of(Path(loaded.mapping.source)) if loaded.mapping.source else "",
        endpoint=endpoint,
        project_id=project_id,
        batches=len(planned.batches),
        cameras=planned.camera_count,
        rejected_rows=loaded.checked.count(RowStatus.REJECTED),
        options=options.journaled(),
    )
    planned_events: list[Event] = [
        BatchPlanned(
            batch=b.name,
            file=f,
            groups=len({e.group for e in b.entries}),
            cameras=b.camera_count,
            canary=b.name == planned.canary,
        )
        for b, f in zip(planned.batches, payload_files, strict=True)
    ]
    journal.append_many([started, *planned_events])
    state = replay(journal.events())
    ledger = LedgerFollower(ledger_file, started, loaded, planned, delta, state)
    return RunContext(run_dir, journal, scrubber, started, step, state, options, ledger)


def load_sheet(sheet: Path, options: RunOptions, *, on: date | None = None) -> Loaded:
    """Read, map and check ``sheet`` as the options say (mapping, engine, limits, --only).

    ``on`` is the plan's date (zone names take their offset on it): a resume passes its
    run's, so that a clock change since does not change what it plans.
    """
    return load(
        sheet,
        options.reading.mapping,
        engine=options.reading.engine,
        encoding=options.reading.encoding,
        only=options.reading.only,
        limits=options.reading.limits,
        on=on,
    )


@bulk
def rebuild_context(run_dir: Path, base: RunOptions) -> RunContext:
    """A run's context from its journal, with the run's own options over ``base``.

    A changed input or mapping is refused.
    """
    if not (run_dir / JOURNAL).is_file():
        raise ConfigError(
            f"{run_dir} holds no {JOURNAL}", hint="give a run directory a run printed"
        )
    scrubber = Scrubber()
    journal = Journal(run_dir / JOURNAL, scrubber)
    state = replay(journal.events())
    started = state.started
    if started is None:
        raise ConfigError(
            f"the journal in {run_dir} has no RunStarted event", hint="start a new run"
        )
    _check_unchanged(Path(started.input_file), started.input_sha256, "input file")
    if started.mapping_sha256:
        _check_unchanged(Path(started.mapping), started.mapping_sha256, "mapping")
    options = base.resumed_from(
        started.options, endpoint=started.endpoint, project_id=started.project_id
    )
    options = options.with_mapping(started.mapping)
    planned_on = datetime.fromisoformat(started.started_at).date() if started.started_at else None
    loaded = load_sheet(Path(started.input_file), options, on=planned_on)
    target = LedgerScope(started.endpoint, started.project_id, options.ledger)
    delta = diff_sheet(loaded, options.plan_choices, target, excluding_run=started.run_id)
    if (run_dir / DIFF).is_file():  # the diff as the run made it (runs before kept none)
        delta = from_data(files.read_json(run_dir / DIFF), loaded.checked.cameras, delta.earlier)
    planned = batches_of(loaded, delta, options.plan_choices)
    if [b.name for b in planned.batches] != list(state.batches):
        raise ConfigError(
            "planning the input again gives other batches than the journal records",
            hint="the loader version changed; start a new run (the ledger skips what was loaded)",
        )
    step = SheetPlan(loaded, delta, planned, target)
    ledger = LedgerFollower(target.ledger, started, loaded, planned, delta, state)
    return RunContext(run_dir, journal, scrubber, started, step, state, options, ledger)


@bulk
def conclude(context: RunContext, facts: list[tuple[str, str]]) -> Outcomes:
    """The run's outcomes, computed once: recorded in the ledger, then written to results.xlsx.

    A ledger that cannot be written ends the run with its StorageError, after the results
    are on disk. Cameras no longer in the sheet come from the ledger as the run read it.
    """
    delta, state = context.delta, context.state
    result = outcomes(context.loaded, context.planned, delta, state)
    overlay(result.status, result.message, result.task_state, delta, state)
    started = context.started
    changed = change_entries(
        delta,
        state.changes,
        delta.send,
        context.loaded.checked.settings_classes,
        run=started.run_id,
        inventory=Path(started.input_file).name,
    )
    entries = context.ledger.entries(result, delta.send) + changed
    failure: StorageError | None = None
    try:
        context.ledger.conclude(entries, delta.send)
    except StorageError as exc:
        failure = exc
    classes = context.loaded.checked.settings_classes
    keys = {camera_key(c, classes) for c in context.loaded.checked.cameras}
    inventory = Path(started.input_file).name
    prefixes = {name_prefix(c.name_prefix) for c in classes}
    absent = [  # the sheet's own camera tasks, as --prune scopes them (by prefix or file)
        e
        for k, e in context.delta.earlier.items()
        if k not in keys and (e.inventory == inventory or batch_prefix(e.batch) in prefixes)
    ]
    rows = context.step.rows
    changes = changes_table(delta, state, result.status, result.message, rows)
    counts = ", ".join(f"{k} {v:,}" for k, v in delta.counts().items() if v)
    facts = [*facts, ("Changes planned", counts or "none")]
    prepared = context.prepared
    static = prepared.columns if prepared is not None else None
    results = build(context.loaded, context.planned, state, result, facts, absent, changes, static)
    write_results(context.run_dir / RESULTS, results, prepared.rendered if prepared else None)
    context.journal.keep_results(needing_attention(context.loaded, result))  # for its page
    if failure is not None:
        raise failure
    return result


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


def _new_run_dir(options: RunOptions, sheet: Path, now: datetime) -> Path:
    """``runs/<UTC time>-<sheet name>/``, or --run-dir (not made yet; never one with a journal)."""
    if options.run_dir is not None:
        run_dir = options.run_dir
    else:
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        run_dir = RUNS_DIR / f"{stamp}-{sheet.stem}"
    if (run_dir / JOURNAL).exists():
        raise ConfigError(
            f"{run_dir} already holds a run", hint=f"resume it: bulkload resume {run_dir}"
        )
    return run_dir


def _make_dir(run_dir: Path) -> None:
    """Create the run directory; an OS refusal is a ConfigError (nothing was sent yet)."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the run directory {run_dir}: {exc.strerror or exc}",
            hint="choose another --run-dir, or check the folder's permissions and free space",
        ) from exc
