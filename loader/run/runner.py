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
import ssl
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import anyio
import httpx
import structlog

from loader.bulk import frozen_heap
from loader.errors import ConfigError, LoaderError, StorageError, SubmitError
from loader.model.cameras import exit_code_of
from loader.planning.delta import Delta
from loader.report import files
from loader.report.summaries import Observer, RunReport, format_run
from loader.run import logs
from loader.run.apply import Applier
from loader.run.canary import judge
from loader.run.context import (
    RESULTS,
    RunContext,
    conclude,
    new_context,
    prepare_results,
    rebuild_context,
)
from loader.run.options import RunOptions
from loader.send.auth import AkSkAuth, IamPassword, StaticToken, TokenSource
from loader.send.client import ReadFailed, ViasClient
from loader.send.engine import Job, SubmitOptions, Submitter
from loader.send.observe import observe
from loader.send.pacing import Clock, RateLimiter, SystemClock
from loader.send.secrecy import resolve
from loader.send.signing import AkSk
from loader.state.events import (
    BatchAccepted,
    BatchGaveUp,
    BatchSending,
    CanaryFailed,
    CanaryPassed,
    Event,
    LookupFailed,
    RunFinished,
    RunInterrupted,
    RunStarted,
    decode,
    encode,
)
from loader.state.follow import taken_since
from loader.state.outcomes import attribute_errors, removed_status
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
    _, project_id = options.api_target()
    auth_source(options, project_id)  # no credentials: stop before making a run directory
    context = new_context(sheet, options, now=wiring.wall(), confirm=confirm)
    return _send(context, context.started, observer, wiring)


def resume_run(
    run_dir: Path,
    options: RunOptions,
    observer: Observer | None = None,
    *,
    wiring: Wiring = Wiring(),
) -> RunReport:
    """Settle what an interrupted run left, refusing a changed input or mapping."""
    context = rebuild_context(run_dir, options)
    resumed = RunStarted(**{**context.started.payload(), "resumed": True})
    context.journal.append(resumed)
    return _send(context, resumed, observer, wiring)


def reconcile_run(
    run_dir: Path,
    options: RunOptions,
    observer: Observer | None = None,
    *,
    wiring: Wiring = Wiring(),
) -> RunReport:
    """Ask the API what became of every accepted batch; rewrite the results."""
    context = rebuild_context(run_dir, options)
    auth = auth_source(context.options, context.started.project_id)
    context.scrubber.sources.append(auth.secrets)
    names = _camera_names(context)
    recorder = _Recorder(context, observer)

    async def work(client: ViasClient) -> _Activity:
        concurrency = context.options.concurrency
        await observe(client, context.state, names, recorder, concurrency=concurrency)
        return _Activity(client.refusal)

    return _drive_and_conclude(context, auth, work, wiring)


def _send(
    context: RunContext, started: RunStarted, observer: Observer | None, wiring: Wiring
) -> RunReport:
    """Submit the unsettled batches of a run."""
    options = context.options
    auth = auth_source(options, context.started.project_id)
    context.scrubber.sources.append(auth.secrets)
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
        work_items = len(jobs) + len(applier.changes())  # the retry budget covers both
        submitter = Submitter(
            client, recorder, wiring.clock, _submit_options(options), jobs=work_items
        )
        control = submitter.control
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
            held = await _canary_then_rest(client, context, submitter, recorder, wiring.clock, jobs)
            if not control.stopping:
                await _count_found(client, context, recorder)
            if not control.stopping and not client.refusal and not held:
                await _learn_tasks(client, context, recorder)
                submit_options = _submit_options(options)
                await applier.apply(client, recorder, wiring.clock, submit_options, control)
            group.cancel_scope.cancel()
        stop_reason = control.stop_reason or client.refusal or held
        return _Activity(stop_reason, control.retries, control.lookups)

    return _drive_and_conclude(context, auth, work, wiring)


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
) -> str:
    """The canary alone first (unless it passed before), the rest only once it passes.

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
                names = _camera_names(context)
                await observe(client, context.state, names, record, only={canary.name})
            return f"canary failed: {verdict.reason}"
        if verdict is None:
            waiting = canary.gave_up or "it has no verdict yet"
            submitter.control.stop(f"the rest waits for the canary: {waiting}")
        jobs = [j for j in jobs if j.name != canary.name]
    await submitter.run(jobs)
    return ""


def _drive_and_conclude(
    context: RunContext,
    auth: TokenSource,
    work: Callable[[ViasClient], Awaitable[_Activity]],
    wiring: Wiring,
) -> RunReport:
    """Run the async ``work`` with one client, then write the ledger, results and summary."""
    log_file = logs.configure(context.run_dir / "log.jsonl", context.scrubber)
    began = wiring.clock.now()
    try:
        with frozen_heap():  # no pause of the collector walks the inventory and the plan
            activity = anyio.run(_with_client, context, auth, work, wiring)
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
    context: RunContext,
    auth: TokenSource,
    work: Callable[[ViasClient], Awaitable[_Activity]],
    wiring: Wiring,
) -> _Activity:
    """One HTTP client and one pacer for everything the work sends."""
    started = context.started
    async with open_client(
        started.endpoint, started.project_id, context.options, auth, wiring
    ) as client:
        return await work(client)


@asynccontextmanager
async def open_client(
    endpoint: str, project_id: str, options: RunOptions, auth: TokenSource, wiring: Wiring
) -> AsyncIterator[ViasClient]:
    """One HTTP client and one pacer at ``options.rate`` for everything sent in the block.

    A run's, and ``bulkload refresh``'s: bad credentials stop here, before anything is sent.
    """
    timeout = httpx.Timeout(connect=5.0, read=options.timeout, write=10.0, pool=options.timeout)
    size = options.concurrency + 2
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    try:
        http = httpx.AsyncClient(
            base_url=endpoint, timeout=timeout, limits=limits, transport=wiring.transport
        )
    except (OSError, ssl.SSLError) as exc:  # httpx reads SSL_CERT_FILE / SSL_CERT_DIR here
        raise ConfigError(
            f"cannot set up TLS: {exc}",
            hint="check SSL_CERT_FILE and SSL_CERT_DIR (they must name readable CA files)",
        ) from exc
    async with http:
        await auth.token(http)  # bad credentials stop here, before anything is sent
        limiter = RateLimiter(options.rate, wiring.clock)
        yield ViasClient(http, project_id=project_id, auth=auth, limiter=limiter)


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
    summary = context.run_dir / "summary.json"
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


async def _count_found(client: ViasClient, context: RunContext, record: _Recorder) -> None:
    """Batches found by lookup came with no counts: one ListBatchTasks call each gives them.

    A batch that holds a task for every camera is settled by its count; the others are
    left for ``_doubtful`` (ListTasks per camera costs far more than one count).
    """
    for batch in context.planned.batches:
        state = context.state.batches.get(batch.name)
        if state is None or not state.found_by_lookup or state.total:
            continue
        try:
            listed, request_id = await client.list_batch(batch.name)
        except SubmitError as exc:
            request_id = exc.request_id if isinstance(exc, ReadFailed) else ""
            failed = LookupFailed(
                batch=batch.name, what="count of tasks", reason=exc.message, request_id=request_id
            )
            await record(failed)
            if client.refusal:
                return
            continue
        tasks = int((listed or {}).get("num_task") or 0)
        if tasks >= batch.camera_count:
            await record(
                BatchAccepted(
                    batch=batch.name,
                    batch_id=state.batch_id,
                    total=tasks,
                    succeeded=tasks,
                    found_by_lookup=True,
                    request_id=request_id,
                )
            )


async def _learn_tasks(client: ViasClient, context: RunContext, record: _Recorder) -> None:
    """Each accepted batch's tasks, matched to cameras: their ids go to the ledger, so later
    runs update, stop or delete them by id.

    One ListTasks per batch, matched by camera name; a batch whose outcome the create
    answer leaves open, or that replaces tasks (the old ones are deleted only once the new
    exist), is matched whole (ShowTaskInfo where names do not decide). Tasks left unmatched
    (or all, with ``--no-task-ids``: one request per batch saved for one-off imports) are
    found when a change needs them (``Applier.find_tasks``) or by ``bulkload refresh``.
    """
    unseen = {
        b.name
        for b in context.state.batches.values()
        if b.status == BatchStatus.ACCEPTED and b.task_ids is None
    }
    whole = (_doubtful(context) | _replacing(context)) & unseen
    names = _camera_names(context) if unseen else {}
    concurrency = context.options.concurrency
    if whole:
        await observe(
            client,
            context.state,
            names,
            record,
            only=whole,
            judge_states=False,
            concurrency=concurrency,
        )
    if unseen - whole and context.options.task_ids and not client.refusal:
        await observe(
            client,
            context.state,
            names,
            record,
            only=unseen - whole,
            ids_only=True,
            concurrency=concurrency,
        )


def _doubtful(context: RunContext) -> set[str]:
    """Accepted batches whose cameras' fates the create answer leaves open.

    Found by a lookup and not counted whole, or more cameras failed than error_list
    names: ask ListTasks at once rather than leave cameras ``unknown``.
    """
    found = set()
    for batch in context.planned.batches:
        state = context.state.batches.get(batch.name)
        if state is None or state.status != BatchStatus.ACCEPTED:
            continue
        sources = {c.video_source_id for e in batch.entries for c in e.cameras}
        uncounted = state.found_by_lookup and state.total < batch.camera_count
        if uncounted or state.failed > len(attribute_errors(state.error_list, sources)):
            found.add(batch.name)
    return found


def _replacing(context: RunContext) -> set[str]:
    """Batches that create the successor of a task to replace."""
    replaced = context.delta.replaces
    return {
        b.name
        for b in context.planned.batches
        if any(c.position in replaced for e in b.entries for c in e.cameras)
    }


def _camera_names(context: RunContext) -> dict[str, dict[str, str]]:
    """Per batch: {video source name: id} for its cameras whose names are unique in it."""
    rows = context.loaded.checked.rows
    names = rows["camera_name"].to_numpy(dtype=object) if "camera_name" in rows else None
    found: dict[str, dict[str, str]] = {}
    for batch in context.planned.batches:
        if names is None:
            break
        pairs = [
            (str(names[c.position]), c.video_source_id) for e in batch.entries for c in e.cameras
        ]
        counted: dict[str, int] = {}
        for name, _ in pairs:
            counted[name] = counted.get(name, 0) + 1
        found[batch.name] = {n: s for n, s in pairs if n and counted[n] == 1}
    return found


def _submit_options(options: RunOptions) -> SubmitOptions:
    """The submitter's options: an in-doubt batch is looked up at settle, 2x, 4x and on.

    The lookups span at least the read timeout (plus 1 s per 1,000 cameras): a batch whose
    answer was lost may still be committing that long.
    """
    settle = options.settle
    return SubmitOptions(
        concurrency=options.concurrency,
        max_attempts=options.max_attempts,
        lookup_delays=(settle, 2 * settle, 4 * settle),
        lookup_window=options.timeout,
    )


def auth_source(options: RunOptions, project_id: str) -> TokenSource:
    """The credentials that authenticate, by precedence: token, AK/SK, IAM password.

    Missing or half-set ones are a ConfigError naming the variables: nothing is sent.
    """
    credentials = options.credentials
    match credentials.method():
        case "token":
            return StaticToken(credentials.token or "")
        case "aksk":
            return AkSkAuth(_access_key(options), project_id=project_id)
        case "iam":
            return IamPassword(
                iam_url=credentials.iam_endpoint or "",
                user=credentials.iam_user or "",
                password=credentials.iam_password or "",
                domain=credentials.iam_domain or credentials.iam_user or "",
                region=credentials.region,
                project_id=project_id,
            )


def _access_key(options: RunOptions) -> AkSk:
    """The AK/SK pair (and security token) from the environment, checked before any request."""
    credentials = options.credentials
    try:
        return AkSk(
            credentials.access_key or "",
            credentials.secret_key or "",
            credentials.security_token,
        )
    except ValueError as exc:
        raise ConfigError(
            f"BULKLOAD_AK / BULKLOAD_SK / BULKLOAD_SECURITY_TOKEN: {exc}",
            hint="copy the access key and secret key again from My Credentials > Access Keys",
        ) from exc
