"""
Opening a run: new (``open_run``: load, diff against the ledger, plan, confirm, write the
run directory, open its journal and ledger), or rebuilt from its journal for resume and
reconcile (``reopen_run``, refusing a changed input or mapping); and what a pass of it
sends (``for_pass``: the batches left to create, secrets resolved). [I/O: files, SQLite]
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from loader.bulk import bulk
from loader.check.load import Loaded
from loader.errors import ConfigError, StorageError
from loader.model.cameras import RowStatus
from loader.planning.delta import Delta, from_data, to_data
from loader.report import files
from loader.run.options import RUNS_DIR, LedgerScope, PlanChoices, RunOptions
from loader.run.plan import SheetPlan, batches_of, diff_sheet, plan_sheet
from loader.run.run import Run
from loader.run.sheet import load_sheet
from loader.send.engine import Job
from loader.send.secrecy import Scrubber, resolve
from loader.state import registered
from loader.state.events import BatchPlanned, Event, IdsFilled, RunStarted
from loader.state.follow import LedgerFollower, taken_since
from loader.state.found import FoundTasks
from loader.state.journal import Journal
from loader.state.registered import Registration
from loader.state.rundir import DIFF, JOURNAL, PAYLOADS
from loader.state.runstate import replay

if TYPE_CHECKING:  # a sheet of ids (most runs) never imports registration
    from loader.run.registration import Found


@bulk
def open_run(
    sheet: Path,
    options: RunOptions,
    *,
    now: datetime,
    confirm: Callable[[Delta], None] | None = None,
    api: tuple[str, str] | None = None,
    find: Callable[[Loaded], Found | None] | None = None,
) -> Run:
    """Load, diff against the ledger, plan, and open a new run directory with its journal.

    ``confirm`` sees the diff before anything is written or sent; it raises to stop.
    ``api``: the (endpoint, project id) the run's connection was made for, else the options'.
    ``find``: how a sheet of names is found in the project (``run.register``); then
    ``confirm`` sees the diff with the ids to register as placeholders, and the run
    registers before it plans its batches.
    """
    endpoint, project_id = api or options.api_target()
    input_sha256 = _hash_ahead(sheet)
    loaded = load_sheet(sheet, options, on=now.astimezone(UTC).date())
    found = find(loaded) if find is not None else None
    run_dir = _new_run_dir(options, sheet, now)
    scope = LedgerScope(endpoint, project_id, options.ledger)
    planned = _plan(_as_diffed(loaded, found), options, scope)
    if confirm is not None:
        confirm(planned.delta)
    previewed_plan = planned  # what RunStarted counts: the batches to come
    if found is not None:  # registration first: the batches name ids not known yet
        planned = unplanned(loaded, scope)
    for batch in planned.plan.batches:
        resolve(batch.content(), options.environment)  # an unset ${VAR} stops here
    _make_dir(run_dir)
    # What a resume relies on is on disk before the first create: the diff as made (a
    # resume applies it as is) and the journal's plan. The payload files, bytes a resume
    # makes again from the sheet, are written while the first batches go (``runner``).
    if found is None:
        files.write_json(run_dir / DIFF, to_data(planned.delta), compact=True)  # never rewritten
    scrubber = Scrubber()
    journal = Journal(run_dir / JOURNAL, scrubber)
    api = (endpoint, project_id)
    started = _started(
        sheet, run_dir, previewed_plan, options, now=now, api=api, sha256=input_sha256.result()
    )
    payload_files = files.payload_names(planned.plan)
    journal.append_many([started, *_planned_events(planned, payload_files)])
    run = _run(run_dir, journal, scrubber, started, planned, options)
    return run if found is None else replace(run, registering=True, names_found=found)


def _as_diffed(loaded: Loaded, found: Found | None) -> Loaded:
    """The sheet its diff is made from: a sheet of names as ``plan`` shows it."""
    if found is None:
        return loaded
    from loader.run.registration import previewed  # a sheet of names only: see TYPE_CHECKING

    return previewed(loaded, found)


def _plan(loaded: Loaded, options: RunOptions, scope: LedgerScope) -> SheetPlan:
    """``plan_sheet``; a ledger that cannot be read is a ConfigError (nothing sent, exit 2)."""
    try:
        return plan_sheet(loaded, options.plan_choices, scope)
    except StorageError as exc:
        raise ConfigError(exc.message, hint=exc.hint) from exc


def unplanned(loaded: Loaded, scope: LedgerScope) -> SheetPlan:
    """A sheet of names before its registration: the sheet whole (registration fills its
    ids), no camera diffed or planned yet."""
    empty = replace(loaded, checked=replace(loaded.checked, cameras=loaded.checked.cameras[:0]))
    delta = diff_sheet(empty, PlanChoices(), None)
    return SheetPlan(loaded, delta, batches_of(empty, delta, PlanChoices()), scope)


def plan_registered(run: Run, loaded: Loaded, filled: IdsFilled) -> Run:
    """The run once its registration is over: ``loaded`` (ids filled) diffed and batched,
    the ids and the batches journaled (``IdsFilled`` first: a resume plans the same), and
    the run rebuilt over its journal for the rest of the pass."""
    scope = run.planned.scope
    assert scope is not None  # a run always diffs against its project
    planned = _plan(loaded, run.options, scope)
    for batch in planned.plan.batches:
        resolve(batch.content(), run.options.environment)
    files.write_json(run.run_dir / DIFF, to_data(planned.delta), compact=True)
    payload_files = files.write_plan(run.run_dir / PAYLOADS, planned.plan)
    run.journal.append_many([filled, *_planned_events(planned, payload_files)])
    run.ledger.close()
    return for_pass(_run(run.run_dir, run.journal, run.scrubber, run.started, planned, run.options))


def _started(
    sheet: Path,
    run_dir: Path,
    planned: SheetPlan,
    options: RunOptions,
    *,
    now: datetime,
    api: tuple[str, str],
    sha256: str,
) -> RunStarted:
    """The new run's first event: what it reads (``sha256``: the sheet's), where it
    sends, with which options."""
    mapping = planned.loaded.mapping
    return RunStarted(
        run_id=run_dir.name,
        started_at=now.astimezone(UTC).isoformat(timespec="seconds"),
        input_file=str(sheet.resolve()),
        input_sha256=sha256,
        mapping=mapping.source or mapping.name,
        mapping_sha256=sha256_of(Path(mapping.source)) if mapping.source else "",
        endpoint=api[0],
        project_id=api[1],
        batches=len(planned.plan.batches),
        cameras=planned.plan.camera_count,
        rejected_rows=planned.loaded.checked.count(RowStatus.REJECTED),
        options=options.journaled(),
    )


def _planned_events(planned: SheetPlan, payload_files: list[str]) -> list[Event]:
    """One BatchPlanned per batch, naming its payload file."""
    plan = planned.plan
    return [
        BatchPlanned(
            batch=b.name,
            file=f,
            groups=b.group_count,
            cameras=b.camera_count,
            canary=b.name == plan.canary,
        )
        for b, f in zip(plan.batches, payload_files, strict=True)
    ]


def _run(
    run_dir: Path,
    journal: Journal,
    scrubber: Scrubber,
    started: RunStarted,
    planned: SheetPlan,
    options: RunOptions,
    events: list[Event] | None = None,
) -> Run:
    """The run over its journal's folds (``events``: the journal's, when already read),
    with its ledger following them."""
    events = list(journal.events()) if events is None else events
    state, found = replay(events), FoundTasks(events)
    ledger = LedgerFollower(
        options.ledger, started, planned.loaded, planned.plan, planned.delta, state
    )
    return Run(
        registration=registered.fold(events),
        run_dir=run_dir,
        started=started,
        planned=planned,
        options=options,
        journal=journal,
        ledger=ledger,
        scrubber=scrubber,
        state=state,
        found=found,
    )


@bulk
def reopen_run(run_dir: Path, base: RunOptions) -> Run:
    """A run from its journal, with the run's own options over ``base``.

    A changed input or mapping is refused; so is a plan that no longer gives the
    journal's batches.
    """
    if not (run_dir / JOURNAL).is_file():
        raise ConfigError(
            f"{run_dir} holds no {JOURNAL}", hint="give a run directory a run printed"
        )
    scrubber = Scrubber()
    journal = Journal(run_dir / JOURNAL, scrubber)
    events = list(journal.events())  # read once: the folds below and the run's share them
    started = next((e for e in events if isinstance(e, RunStarted)), None)  # the first
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
    registration = registered.fold(events)
    planned = _planned_again(run_dir, started, options, registration)
    run = _run(run_dir, journal, scrubber, started, planned, options, events)
    if planned.loaded.checked.registration is not None and registration.filled is None:
        run = replace(run, registering=True)  # registration unfinished: it goes on first
    if [b.name for b in planned.plan.batches] != list(run.state.batches):
        raise ConfigError(
            "planning the input again gives other batches than the journal records",
            hint="the loader version changed; start a new run (the ledger skips what was loaded)",
        )
    return run


def _planned_again(
    run_dir: Path, started: RunStarted, options: RunOptions, registration: Registration
) -> SheetPlan:
    """The run's plan made again: its sheet as of its date (a sheet of names with the ids
    its registration journaled; none yet: no camera planned), the diff as the run made it
    (``diff.json``; runs before it kept none are diffed again), batched again."""
    planned_on = datetime.fromisoformat(started.started_at).date() if started.started_at else None
    loaded = load_sheet(Path(started.input_file), options, on=planned_on)
    target = LedgerScope(started.endpoint, started.project_id, options.ledger)
    if loaded.checked.registration is not None:
        from loader.run.registration import filled  # a sheet of names only: see TYPE_CHECKING

        ids = registration.filled
        if ids is None:
            return unplanned(loaded, target)
        loaded = filled(loaded, None, ids.sources, ids.groups, rejected=set(ids.rejected))
    delta = diff_sheet(loaded, options.plan_choices, target, excluding_run=started.run_id)
    if (run_dir / DIFF).is_file():
        delta = from_data(files.read_json(run_dir / DIFF), loaded.checked.cameras, delta.earlier)
    return SheetPlan(loaded, delta, batches_of(loaded, delta, options.plan_choices), target)


@bulk  # a walk of every batch: no full collection of the inventory's objects in it
def for_pass(run: Run) -> Run:
    """The run with what this pass creates: its batches not settled (secrets resolved and
    added to the scrubber), less those another run has taken since it was planned."""
    taken = taken_since(run.plan, run.state, run.delta)
    jobs = []
    for batch in run.plan.batches:
        batch_state = run.state.batches[batch.name]
        if not batch_state.settled and batch.name not in taken:
            content, used = resolve(batch.content(), run.options.environment)
            run.scrubber.add(used)
            jobs.append(Job(batch.name, content, batch_state))
    return replace(run, to_create=tuple(jobs), taken=taken)


def _hash_ahead(sheet: Path) -> Future[str]:
    """``sha256_of(sheet)`` on a thread from now: hashing and reading let go of the
    interpreter's lock, so a run hashes its sheet while it reads it (0.07 s for 13 MB)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulkload-hash")
    try:
        return pool.submit(sha256_of, sheet)
    finally:
        pool.shutdown(wait=False)  # the hash goes on; the pool takes no more


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
