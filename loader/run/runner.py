"""
A run end to end (``start_run``), its continuation (``resume_run``) and its
reconciliation with the API (``reconcile_run``). Each drives the async part once, then
concludes once: outcomes -> ledger -> results workbook -> summary -> exit code.
With ``--canary`` its first batch goes alone, and the rest only once ``canary.judge``
passes it. [I/O: files, HTTP, signals]

Time reaches everything through one ``Clock`` (pacing, backoff, lookups, durations), and
the HTTP transport can be given: tests run whole runs on a fake clock.
"""

from __future__ import annotations

import signal
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
import structlog

from loader.bulk import frozen_heap
from loader.errors import LoaderError, StorageError
from loader.model.cameras import exit_code_of
from loader.planning.delta import Delta
from loader.report import files
from loader.report.summaries import Observer, RunReport, format_run
from loader.run import logs
from loader.run.apply import Applier
from loader.run.canary import judge
from loader.run.context import (
    RunContext,
    conclude,
    new_context,
    prepare_results,
    rebuild_context,
)
from loader.run.options import RunOptions
from loader.run.settle import count_found, learn_tasks, names_of
from loader.send.client import ViasClient
from loader.send.connect import Connection
from loader.send.engine import Job, SubmitOptions, Submitter
from loader.send.observe import observe
from loader.send.pacing import Clock, SystemClock
from loader.send.secrecy import resolve
from loader.state.events import (
    BatchGaveUp,
    BatchSending,
    CanaryFailed,
    CanaryPassed,
    Event,
    RunFinished,
    RunInterrupted,
    RunStarted,
    decode,
    encode,
)
from loader.state.follow import taken_since
from loader.state.outcomes import removed_status
from loader.state.rundir import LOG, RESULTS, SUMMARY
from loader.state.runstate import BatchStatus

STOP_POLL = 0.1  # seconds between looks at Wiring.stop


@dataclass(frozen=True, kw_only=True)
class Wiring:
    """What a run is plugged into: the clocks, (in tests) the HTTP transport, a stop event."""

    clock: Clock = field(default_factory=SystemClock)  # monotonic time and sleeping
    transport: httpx.AsyncBaseTransport | None = None
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # run names, dates
    # Set from another thread (the web page's Stop button) to stop as the first Ctrl-C
    # does: signals reach only the main thread, and a page runs the run in its own.
    stop: threading.Event | None = None


@dataclass
class _Activity:
    """What the async part did."""

    stop_reason: str = ""
    retries: int = 0
    lookups: int = 0


class _Recorder:
    """Journal first (durable), then the in-memory fold, the ledger (``state.follow``), the
    log and the observer."""

    def __init__(self, context: RunContext, observer: Observer | None) -> None:
        self.context, self.observer = context, observer
        self.answered = anyio.Event()  # the first answer to a batch came (or its verdict)

    async def __call__(self, event: Event) -> None:
        # Secrets an API answer may echo are masked before anything keeps the event.
        clean = decode(event.kind, event.batch, self.context.scrubber(encode(event)))
        await self.context.journal.record(clean)
        self.context.state.apply(clean)  # folding is idempotent: the engine folds its own too
        self.context.ledger.after(clean)
        if clean.batch and not isinstance(clean, BatchSending):
            self.answered.set()
        logs.log_event(clean)
        if self.observer is not None:
            self.observer(clean, self.context.state)


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
    api = (connection.endpoint, connection.project_id)
    context = new_context(sheet, options, now=wiring.wall(), confirm=confirm, api=api)
    return _send(context, connection, context.started, observer, wiring)


def resume_run(
    run_dir: Path,
    options: RunOptions,
    observer: Observer | None = None,
    *,
    wiring: Wiring = Wiring(),
) -> RunReport:
    """Settle what an interrupted run left, refusing a changed input or mapping."""
    context = rebuild_context(run_dir, options)
    connection = _connection_of(context)
    resumed = RunStarted(**{**context.started.payload(), "resumed": True})
    context.journal.append(resumed)
    return _send(context, connection, resumed, observer, wiring)


def reconcile_run(
    run_dir: Path,
    options: RunOptions,
    observer: Observer | None = None,
    *,
    wiring: Wiring = Wiring(),
) -> RunReport:
    """Ask the API what became of every accepted batch; rewrite the results."""
    context = rebuild_context(run_dir, options)
    connection = _connection_of(context)
    recorder = _Recorder(context, observer)

    async def work(client: ViasClient) -> _Activity:
        names = await names_of(client, context, set(context.state.batches))
        concurrency = context.options.pacing.concurrency
        await observe(client, context.state, names, recorder, concurrency=concurrency)
        return _Activity(client.refusal)

    return _drive_and_conclude(context, connection, work, wiring)


def _connection_of(context: RunContext) -> Connection:
    """A resumed or reconciled run's connection: its journaled target, these credentials."""
    started = context.started
    return context.options.connection(started.endpoint, started.project_id)


def _send(
    context: RunContext,
    connection: Connection,
    started: RunStarted,
    observer: Observer | None,
    wiring: Wiring,
) -> RunReport:
    """Submit the unsettled batches of a run, then apply its changes to existing tasks."""
    options = context.options
    submit_options = _submit_options(options)
    jobs = []
    taken = taken_since(context.planned, context.state, context.delta)
    for batch in context.planned.batches:
        batch_state = context.state.batches[batch.name]
        if not batch_state.settled and batch.name not in taken:
            content, used = resolve(batch.content(), options.environment)
            context.scrubber.add(used)
            jobs.append(Job(batch.name, content, batch_state))
    if observer is not None:
        observer(started, context.state)
    recorder = _Recorder(context, observer)
    applier = Applier(context)

    async def work(client: ViasClient) -> _Activity:
        # The retry budget covers the creates and every change, its task known or not yet.
        work_items = len(jobs) + len(applier.wanted())
        submitter = Submitter(client, recorder, wiring.clock, submit_options, jobs=work_items)
        control = submitter.control
        apply_with = (client, recorder, wiring.clock, submit_options, control, submitter.limit)
        for name, reason in taken.items():
            await recorder(BatchGaveUp(batch=name, reason=reason, final=True))
        held = ""  # why the rest is held back by a failed canary
        # Ctrl-C (or the page's Stop) reaches every step: the creates, the lists, the changes.
        async with anyio.create_task_group() as group:
            group.start_soon(_prepare_results, context, recorder.answered)
            if threading.current_thread() is threading.main_thread():
                group.start_soon(_watch_signals, submitter, group.cancel_scope)
            if wiring.stop is not None:
                group.start_soon(_watch_stop, submitter, wiring.stop)

            async def changes() -> None:
                """The changes that need no create of this run (updates, restarts, removals)
                go alongside the creates; a replace's delete is not ready before its
                successor is listed, so the second pass below sends it."""
                if not client.refusal:
                    await applier.apply(*apply_with)

            held = await _canary_then_rest(
                client, context, submitter, recorder, wiring.clock, jobs, alongside=changes
            )
            if not control.stopping:
                await count_found(client, context, recorder)
            if not control.stopping and not client.refusal and not held:
                await learn_tasks(client, context, recorder)
                await applier.apply(*apply_with)
            group.cancel_scope.cancel()
        stop_reason = control.stop_reason or client.refusal or held
        return _Activity(stop_reason, control.retries, control.lookups)

    return _drive_and_conclude(context, connection, work, wiring)


async def _prepare_results(context: RunContext, answered: anyio.Event) -> None:
    """The results' inventory columns, made while the run waits on the network.

    It starts once the first answer came, not to slow the first requests; a run that ends
    before (nothing sent) leaves them to the end. It only saves time: should it fail, the
    end makes them.
    """
    await answered.wait()
    try:
        await prepare_results(context)
    except Exception as exc:  # noqa: BLE001 - the conclusion builds them itself
        structlog.get_logger().warning("bulkload.results_not_prepared", reason=str(exc))


async def _canary_then_rest(
    client: ViasClient,
    context: RunContext,
    submitter: Submitter,
    record: _Recorder,
    clock: Clock,
    jobs: list[Job],
    *,
    alongside: Callable[[], Coroutine[Any, Any, None]],
) -> str:
    """The canary alone first (unless it passed before), the rest only once it passes,
    with ``alongside`` (the changes that need no create) sent at the same time.

    Returns why the rest is held back, or "". A canary without a verdict (in doubt, the
    run stopped) stops the run: the rest gives up unsent, and ``resume`` goes on from there.
    """
    canary = context.state.canary
    if canary is not None and not isinstance(context.state.verdict, CanaryPassed):
        await submitter.run([j for j in jobs if j.name == canary.name])
        wait = context.options.canary_wait
        verdict = await judge(client, canary, record, clock, submitter.control, wait=wait)
        if isinstance(verdict, CanaryFailed):
            if not verdict.final:  # which cameras' tasks failed or lag, for the results
                names = await names_of(client, context, {canary.name})
                await observe(client, context.state, names, record, only={canary.name})
            return f"canary failed: {verdict.reason}"
        if verdict is None:
            waiting = canary.gave_up or "it has no verdict yet"
            submitter.control.stop(f"the rest waits for the canary: {waiting}")
        jobs = [j for j in jobs if j.name != canary.name]
    async with anyio.create_task_group() as both:
        both.start_soon(submitter.run, jobs)
        both.start_soon(alongside)
    return ""


def _drive_and_conclude(
    context: RunContext,
    connection: Connection,
    work: Callable[[ViasClient], Awaitable[_Activity]],
    wiring: Wiring,
) -> RunReport:
    """Run the async ``work`` with one client, then write the ledger, results and summary."""
    context.scrubber.sources.append(connection.auth.secrets)
    log_file = logs.configure(context.run_dir / LOG, context.scrubber)
    began = wiring.clock.now()
    try:
        with frozen_heap():  # no pause of the collector walks the inventory and the plan
            activity = anyio.run(_with_client, connection, work, wiring)
        return _finish(context, activity, wiring.clock.now() - began)
    except BaseExceptionGroup as group:
        raise _loader_error_in(group) from None
    finally:
        log_file.close()
        context.journal.close()
        context.ledger.close()


def _loader_error_in(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first LoaderError a task group collected (a journal that cannot be written),
    else the group itself: the CLI shows the former as a message, never a traceback."""
    found: BaseException | None = group.subgroup(lambda exc: isinstance(exc, LoaderError))
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found if found is not None else group


async def _with_client(
    connection: Connection, work: Callable[[ViasClient], Awaitable[_Activity]], wiring: Wiring
) -> _Activity:
    """One HTTP client and one pacer for everything the work sends."""
    async with connection.open(wiring.clock, wiring.transport) as client:
        return await work(client)


async def _watch_signals(submitter: Submitter, scope: anyio.CancelScope) -> None:
    """Ctrl-C once: finish what is in flight, start nothing new. Twice: stop now."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if submitter.control.stopping:
                scope.cancel()
                return
            submitter.control.stop("interrupted")


async def _watch_stop(submitter: Submitter, stop: threading.Event) -> None:
    """``Wiring.stop`` set: finish what is in flight, start nothing new (the first Ctrl-C).

    Polled on real time, not the wiring clock: a fake clock's sleeps return at once. An
    anyio.Event cannot be set from a thread outside the run's loop, hence the poll.
    """
    while not stop.is_set():  # noqa: ASYNC110 (a threading.Event: see above)
        await anyio.sleep(STOP_POLL)
    submitter.control.stop("interrupted")


def _finish(context: RunContext, activity: _Activity, seconds: float) -> RunReport:
    """RunInterrupted/RunFinished, ledger, results workbook, summary, exit code."""
    activity.stop_reason = context.scrubber(activity.stop_reason)
    state = context.state
    counts = {
        "batches": len(state.batches),
        "accepted": state.count(BatchStatus.ACCEPTED),
        "rejected": state.count(BatchStatus.REJECTED),
        "unsettled": len(state.unsettled()),
        "held": len(state.held()),
        "failed_cameras": sum(b.failed for b in state.batches.values()),
    }
    facts = _facts(context, activity, seconds)
    statuses = conclude(context, facts).counts()
    removed = dict(Counter(removed_status(state, c)[0] for c in context.delta.removes))
    code = max(exit_code_for(statuses, counts), exit_code_of(removed))
    if counts["unsettled"]:
        context.journal.append(RunInterrupted(reason=activity.stop_reason or "unsettled batches"))
    context.journal.append(RunFinished(exit_code=code, counts={**counts, **statuses}))
    report = RunReport(
        run_dir=context.run_dir,
        results=context.run_dir / RESULTS,
        state=state,
        loaded=context.loaded,
        exit_code=code,
        stop_reason=activity.stop_reason,
        seconds=seconds,
        retries=activity.retries,
        lookups=activity.lookups,
        counts=counts,
        statuses=statuses,
        removed=removed,
    )
    summary = context.run_dir / SUMMARY
    try:
        files.write_json(summary, format_run(report))
    except StorageError as exc:  # after sending: resume or reconcile writes it again
        raise StorageError(exc.message, hint=exc.hint) from exc
    return report


def exit_code_for(statuses: dict[str, int], counts: dict[str, int]) -> int:
    """3 something unknown or unsettled (resume/reconcile), 1 rows rejected or failed, else 0."""
    if counts.get("unsettled"):
        return 3
    return max(exit_code_of(statuses), 1 if counts.get("rejected") else 0)


def _facts(context: RunContext, activity: _Activity, seconds: float) -> list[tuple[str, str]]:
    """The Summary sheet's run facts (no secrets)."""
    started = context.started
    return [
        ("Run", started.run_id),
        ("Started", started.started_at),
        ("Input file", started.input_file),
        ("Input SHA-256", started.input_sha256),
        ("Mapping", f"{context.loaded.mapping.name} ({started.mapping})"),
        ("Mapping SHA-256", started.mapping_sha256),
        ("Endpoint", started.endpoint),
        ("Project", started.project_id),
        ("Batches", str(len(context.state.batches))),
        ("Duration of this pass", f"{seconds:.1f} s"),
        ("Retries", str(activity.retries)),
        ("Stopped because", activity.stop_reason or "(it finished)"),
        ("Ledger", str(context.ledger_path)),
    ]


def _submit_options(options: RunOptions) -> SubmitOptions:
    """The submitter's options: an in-doubt batch is looked up at settle, 2x, 4x and on.

    The lookups span at least the read timeout (plus 1 s per 1,000 cameras): a batch whose
    answer was lost may still be committing that long.
    """
    settle = options.pacing.settle
    return SubmitOptions(
        concurrency=options.pacing.concurrency,
        max_attempts=options.pacing.max_attempts,
        lookup_delays=(settle, 2 * settle, 4 * settle),
        lookup_window=options.pacing.timeout,
    )
