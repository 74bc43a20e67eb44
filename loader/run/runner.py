"""
A run end to end (``start_run``), its continuation (``resume_run``) and its
reconciliation with the API (``reconcile_run``): each opens the run (``open``), drives
one pass of named steps (``steps.START``, ``steps.RECONCILE``) with one client and one
``Sender``, then concludes once (``conclude``): outcomes -> ledger -> results workbook ->
summary -> exit code. [I/O: files, HTTP, signals]

Time reaches everything through one ``Clock`` (pacing, backoff, lookups, durations), and
the HTTP transport can be given: tests run whole runs on a fake clock.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import httpx
import structlog

from loader.bulk import FREEZE_EVERY, bulk, freeze_survivors, frozen_heap
from loader.errors import LoaderError, StorageError
from loader.planning.delta import Delta
from loader.report import files
from loader.run import logs
from loader.run.ahead import GAP_PATIENCE, STEP_SECONDS, Quiet, make_segments, prepare_results
from loader.run.apply import wanted
from loader.run.open import for_pass, open_run, reopen_run
from loader.run.options import RunOptions
from loader.run.recorder import Recorder
from loader.run.register import calls, find_for_run, register_first
from loader.run.run import Run
from loader.run.steps import RECONCILE, START, Activity, Step
from loader.send.connect import Connection, tls_ahead
from loader.send.control import RunControl, Sender, SubmitOptions
from loader.send.pacing import Clock, SystemClock
from loader.state.events import RunStarted
from loader.state.rundir import LOG, PAYLOADS

if TYPE_CHECKING:  # the summaries are the end's (``END``), imported once the run sends
    from loader.report.summaries import Observer, RunReport

STOP_POLL = 0.1  # seconds between looks at Wiring.stop
# The end of a pass (outcomes, results workbook, summary): imported only once the run
# sends (0.05 s: xlsxwriter, the results' tables), never before its first request.
END = "loader.run.conclude"


@dataclass(frozen=True, kw_only=True)
class Wiring:
    """What a run is plugged into: the clocks, (in tests) the HTTP transport, a stop event."""

    clock: Clock = field(default_factory=SystemClock)  # monotonic time and sleeping
    transport: httpx.AsyncBaseTransport | None = None
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # run names, dates
    # Set from another thread (the web page's Stop button) to stop as the first Ctrl-C
    # does: signals reach only the main thread, and a page runs the run in its own.
    stop: threading.Event | None = None


@bulk  # opened with the collector off, frozen before it is on again (``loader.bulk``)
def start_run(
    sheet: Path,
    options: RunOptions,
    observer: Observer | None = None,
    *,
    wiring: Wiring = Wiring(),
    confirm: Callable[[Delta], None] | None = None,
) -> RunReport:
    """Load, diff and plan ``sheet``, then apply the plan from a new run directory.

    ``confirm`` sees the diff before anything is written or sent, and raises to stop.
    """
    connection = options.connection()  # no credentials: stop before making a run directory
    if wiring.transport is None:  # the TLS context is made while the sheet is read
        connection = replace(connection, tls=tls_ahead())
    api = (connection.endpoint, connection.project_id)
    find = find_for_run(connection, wiring.clock, wiring.transport)
    opened = open_run(sheet, options, now=wiring.wall(), confirm=confirm, api=api, find=find)
    run = for_pass(opened)
    if observer is not None:
        observer(run.started, run.state)
    return _drive(run, connection, START, Recorder(run, observer), wiring)


@bulk
def resume_run(
    run_dir: Path,
    options: RunOptions,
    observer: Observer | None = None,
    *,
    wiring: Wiring = Wiring(),
) -> RunReport:
    """Finish what an interrupted run left, refusing a changed input or mapping."""
    tls = tls_ahead() if wiring.transport is None else None  # made while the sheet is read
    run = reopen_run(run_dir, options)
    connection = replace(_connection_of(run), tls=tls)
    resumed = RunStarted(**{**run.started.payload(), "resumed": True})
    run.journal.append(resumed)
    run.found.apply(resumed)  # a resumed pass lists the batches it needs again
    run = for_pass(run)
    if observer is not None:
        observer(resumed, run.state)
    return _drive(run, connection, START, Recorder(run, observer), wiring)


@bulk
def reconcile_run(
    run_dir: Path,
    options: RunOptions,
    observer: Observer | None = None,
    *,
    wiring: Wiring = Wiring(),
) -> RunReport:
    """Ask the API what became of every accepted batch; rewrite the results."""
    run = reopen_run(run_dir, options)
    connection = _connection_of(run)
    return _drive(run, connection, RECONCILE, Recorder(run, observer), wiring, watched=False)


def _connection_of(run: Run) -> Connection:
    """A resumed or reconciled run's connection: its journaled target, these credentials."""
    started = run.started
    return run.options.connection(started.endpoint, started.project_id)


def _drive(
    run: Run,
    connection: Connection,
    steps: Sequence[Step],
    recorder: Recorder,
    wiring: Wiring,
    *,
    watched: bool = True,
) -> RunReport:
    """One pass of ``steps`` with one client, then the ledger, results and summary.

    ``watched``: a pass that sends heeds Ctrl-C and the page's Stop, and makes the
    results ahead while it waits on the network.
    """
    run.scrubber.sources.append(connection.auth.secrets)
    log_file = logs.configure(run.run_dir / LOG, run.scrubber)
    began = wiring.clock.now()
    try:
        with frozen_heap():  # no pause of the collector walks the inventory and the plan
            activity = anyio.run(_pass, run, connection, steps, recorder, wiring, watched)
        from loader.run.conclude import finish  # imported ahead while the run sent (END)

        return finish(recorder.run, activity, wiring.clock.now() - began)
    except BaseExceptionGroup as group:
        raise _loader_error_in(group) from None
    finally:
        log_file.close()
        run.journal.close()
        run.ledger.close()
        if recorder.run.ledger is not run.ledger:  # the run its registration planned
            recorder.run.ledger.close()


def _loader_error_in(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first LoaderError a task group collected (a journal that cannot be written),
    else the group itself: the CLI shows the former as a message, never a traceback."""
    found: BaseException | None = group.subgroup(lambda exc: isinstance(exc, LoaderError))
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found if found is not None else group


async def _pass(
    run: Run,
    connection: Connection,
    steps: Sequence[Step],
    recorder: Recorder,
    wiring: Wiring,
    watched: bool,
) -> Activity:
    """The steps in turn, with one HTTP client, one pacer and one ``Sender``; Ctrl-C (or
    the page's Stop) reaches every step: the creates, the lists, the changes."""
    async with connection.open(wiring.clock, wiring.transport) as client:
        # The retry budget covers the creates and every change, its task known or not yet.
        jobs = len(run.to_create) + len(wanted(run)) + calls(run)
        options = submit_options(run.options)
        sender = Sender.of(client, recorder, wiring.clock, options, jobs=jobs)
        if not watched:
            for step in steps:
                await step(run, sender)
            return Activity(stop_reason=client.refusal)
        async with anyio.create_task_group() as group:
            written = anyio.Event()
            group.start_soon(_write_payloads, run, written)
            # Its waits on real time, as the freeze's: a fake clock's would move the run's.
            quiet = partial(client.limiter.gap, STEP_SECONDS, GAP_PATIENCE, anyio.sleep)
            group.start_soon(_prepare_results, run, recorder.answered, quiet)
            group.start_soon(_freeze_as_it_grows)
            if threading.current_thread() is threading.main_thread():
                group.start_soon(_watch_signals, sender.control, group.cancel_scope)
            if wiring.stop is not None:
                group.start_soon(_watch_stop, sender.control, wiring.stop)
            run = recorder.run = await register_first(run, sender)
            for step in steps:
                await step(run, sender)
            await written.wait()
            group.cancel_scope.cancel()
        control = sender.control
        stop_reason = control.stop_reason or client.refusal or run.canary_failed()
        return Activity(stop_reason=stop_reason, retries=control.retries, lookups=control.lookups)


async def _write_payloads(run: Run, written: anyio.Event) -> None:
    """Every batch's payload file, written on a worker thread while the first batches go.

    The journal named them before anything was sent; their bytes are the plan's, which a
    resume makes again from the unchanged sheet, so a resume writes them all again (a run
    killed before they were all written leaves none torn: each is renamed into place).
    A file that cannot be written is logged; the run goes on, the journal is its record.
    """
    names = [run.state.batches[b.name].file for b in run.plan.batches]
    try:
        await anyio.to_thread.run_sync(
            files.write_payloads, run.run_dir / PAYLOADS, run.plan, names
        )
    except StorageError as exc:
        structlog.get_logger().warning("bulkload.payloads_not_written", reason=exc.message)
    finally:
        written.set()


async def _prepare_results(run: Run, answered: anyio.Event, quiet: Quiet) -> None:
    """The end's modules, the results' inventory columns and the groups' codes, then the
    Cameras and Groups sheets' segments as their batches settle (until the pass ends),
    made while the run waits on the network, each step at a ``quiet`` moment (no call
    due within it).

    It starts once the first answer came, not to slow the first requests; a run that ends
    before (nothing sent) leaves them to the end. It only saves time: should it fail, the
    end makes them. The modules are imported on a worker thread: the event loop keeps
    its turns meanwhile, where an import on it would hold every request up.
    """
    await answered.wait()
    try:
        await anyio.to_thread.run_sync(import_module, END)
        await prepare_results(run.loaded, run.ahead, quiet)
        if run.ahead.prepared is not None and not run.registering:  # registering: no plan yet
            await make_segments(run, run.ahead.prepared, quiet)
    except Exception as exc:  # noqa: BLE001 - the conclusion builds them itself
        structlog.get_logger().warning("bulkload.results_not_prepared", reason=str(exc))


async def _freeze_as_it_grows() -> None:
    """What the run keeps as it sends, frozen out of the collector's reach every
    ``FREEZE_EVERY`` seconds of real time (``loader.bulk``); a fake clock's sleeps would
    return at once."""
    while True:
        await anyio.sleep(FREEZE_EVERY)
        freeze_survivors()


async def _watch_signals(control: RunControl, scope: anyio.CancelScope) -> None:
    """Ctrl-C once: finish what is in flight, start nothing new. Twice: stop now."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if control.stopping:
                scope.cancel()
                return
            control.stop("interrupted")


async def _watch_stop(control: RunControl, stop: threading.Event) -> None:
    """``Wiring.stop`` set: finish what is in flight, start nothing new (the first Ctrl-C).

    Polled on real time, not the wiring clock: a fake clock's sleeps return at once. An
    anyio.Event cannot be set from a thread outside the run's loop, hence the poll.
    """
    while not stop.is_set():  # noqa: ASYNC110 (a threading.Event: see above)
        await anyio.sleep(STOP_POLL)
    control.stop("interrupted")


def submit_options(options: RunOptions) -> SubmitOptions:
    """How hard and how long a pass tries: an in-doubt batch is looked up after the list's
    lag (``--settle``), 2x, 4x and on.

    The lookups span at least the read timeout (plus 1 s per 1,000 cameras): a batch whose
    answer was lost may still be committing that long.
    """
    lag = options.pacing.settle
    return SubmitOptions(
        concurrency=options.pacing.concurrency,
        max_attempts=options.pacing.max_attempts,
        lookup_delays=(lag, 2 * lag, 4 * lag),
        lookup_window=options.pacing.timeout,
    )
