"""
A run end to end (``start_run``), its continuation (``resume_run``) and its
reconciliation with the API (``reconcile_run``). Each drives the async part once, then
concludes: ledger, results workbook, summary, exit code. [I/O: files, HTTP, signals]
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import anyio
import httpx

from loader import logs, output
from loader.api import ViasClient
from loader.auth import IamPassword, StaticToken, TokenSource
from loader.context import RESULTS, RunContext, conclude, new_context, rebuild_context
from loader.errors import ConfigError, SubmitError
from loader.events import (
    BatchAccepted,
    Event,
    RunFinished,
    RunInterrupted,
    RunStarted,
    decode,
    encode,
)
from loader.observe import observe
from loader.pipeline import Loaded
from loader.ratelimit import RateLimiter, SystemClock
from loader.results import attribute_errors
from loader.runstate import BatchStatus, RunState
from loader.secrecy import resolve
from loader.settings import Settings
from loader.submit import Engine, Job, SubmitOptions


class Observer(Protocol):
    """Sees every event after it is recorded (progress bars)."""

    def __call__(self, event: Event, state: RunState) -> None: ...


@dataclass
class RunReport:
    """How a run ended."""

    run_dir: Path
    state: RunState
    loaded: Loaded
    exit_code: int
    stop_reason: str = ""
    seconds: float = 0.0
    retries: int = 0
    lookups: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)


@dataclass
class _Activity:
    """What the async part did."""

    stop_reason: str = ""
    retries: int = 0
    lookups: int = 0


class _Recorder:
    """Journal first (durable), then the in-memory fold, the log and the observer."""

    def __init__(self, context: RunContext, observer: Observer | None) -> None:
        self.context, self.observer = context, observer

    async def __call__(self, event: Event) -> None:
        # Secrets an API answer may echo are masked before anything keeps the event.
        clean = decode(event.kind, event.batch, self.context.scrubber(encode(event)))
        await self.context.journal.record(clean)
        self.context.state.apply(clean)  # folding is idempotent: the engine folds its own too
        logs.log_event(clean)
        if self.observer is not None:
            self.observer(clean, self.context.state)


def start_run(sheet: Path, settings: Settings, observer: Observer | None = None) -> RunReport:
    """Load, plan and submit ``sheet`` in a new run directory."""
    _, project_id = settings.api_target()
    _token_source(settings, project_id)  # no credentials: stop before making a run directory
    context = new_context(sheet, settings)
    return _send(context, settings, context.started, observer)


def resume_run(run_dir: Path, settings: Settings, observer: Observer | None = None) -> RunReport:
    """Settle what an interrupted run left, refusing a changed input or mapping."""
    context = rebuild_context(run_dir)
    settings = _with_run_options(settings, context.started)
    resumed = RunStarted(**{**context.started.payload(), "resumed": True})
    context.journal.append(resumed)
    return _send(context, settings, resumed, observer)


def reconcile_run(run_dir: Path, settings: Settings, observer: Observer | None = None) -> RunReport:
    """Ask the API what became of every accepted batch; rewrite the results."""
    context = rebuild_context(run_dir)
    settings = _with_run_options(settings, context.started)
    auth = _token_source(settings, context.started.project_id)
    context.scrubber.sources.append(auth.secrets)
    names = _camera_names(context)
    recorder = _Recorder(context, observer)

    async def work(client: ViasClient) -> _Activity:
        await observe(client, context.state, names, recorder, concurrency=settings.concurrency)
        return _Activity()

    return _drive_and_conclude(context, settings, auth, work)


def _send(
    context: RunContext, settings: Settings, started: RunStarted, observer: Observer | None
) -> RunReport:
    """Submit the unsettled batches of a run."""
    auth = _token_source(settings, context.started.project_id)
    context.scrubber.sources.append(auth.secrets)
    jobs = []
    for batch in context.planned.batches:
        batch_state = context.state.batches[batch.name]
        if not batch_state.settled:
            content, used = resolve(batch.content(), settings.environment)
            context.scrubber.add(used)
            jobs.append(Job(batch.name, content, batch_state))
    if observer is not None:
        observer(started, context.state)
    recorder = _Recorder(context, observer)

    async def work(client: ViasClient) -> _Activity:
        engine = Engine(
            client, recorder, client.limiter.clock, _submit_options(settings), jobs=len(jobs)
        )
        async with anyio.create_task_group() as group:
            if threading.current_thread() is threading.main_thread():
                group.start_soon(_watch_signals, engine, group.cancel_scope)
            await engine.run(jobs)
            group.cancel_scope.cancel()
        control = engine.control
        if not control.stopping:
            await _count_found(client, context, recorder)
        doubtful = _doubtful(context)
        if doubtful and not control.stopping:
            names = _camera_names(context)
            await observe(client, context.state, names, recorder, only=doubtful, judge_states=False)
        return _Activity(control.stop_reason, control.retries, control.lookups)

    return _drive_and_conclude(context, settings, auth, work)


def _drive_and_conclude(
    context: RunContext,
    settings: Settings,
    auth: TokenSource,
    work: Callable[[ViasClient], Awaitable[_Activity]],
) -> RunReport:
    """Run the async ``work`` with one client, then write the ledger, results and summary."""
    log_file = logs.configure(context.run_dir / "log.jsonl", context.scrubber)
    began = time.monotonic()
    try:
        activity = anyio.run(_with_client, context.started, settings, auth, work)
        return _finish(context, activity, time.monotonic() - began)
    finally:
        log_file.close()
        context.journal.close()


async def _with_client(
    started: RunStarted,
    settings: Settings,
    auth: TokenSource,
    work: Callable[[ViasClient], Awaitable[_Activity]],
) -> _Activity:
    """One HTTP client and one pacer for everything the work sends."""
    timeout = httpx.Timeout(connect=5.0, read=settings.timeout, write=10.0, pool=settings.timeout)
    size = settings.concurrency + 2
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    async with httpx.AsyncClient(base_url=started.endpoint, timeout=timeout, limits=limits) as http:
        await auth.token(http)  # bad credentials stop here, before anything is sent
        limiter = RateLimiter(settings.rate, SystemClock())
        client = ViasClient(http, project_id=started.project_id, auth=auth, limiter=limiter)
        return await work(client)


async def _watch_signals(engine: Engine, scope: anyio.CancelScope) -> None:
    """Ctrl-C once: finish what is in flight, start nothing new. Twice: stop now."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if engine.control.stopping:
                scope.cancel()
                return
            engine.control.stop("interrupted")


def _finish(context: RunContext, activity: _Activity, seconds: float) -> RunReport:
    """RunInterrupted/RunFinished, ledger, results workbook, summary, exit code."""
    activity.stop_reason = context.scrubber(activity.stop_reason)
    state = context.state
    counts = {
        "batches": len(state.batches),
        "accepted": state.count(BatchStatus.ACCEPTED),
        "rejected": state.count(BatchStatus.REJECTED),
        "unsettled": len(state.unsettled()),
        "failed_cameras": sum(b.failed for b in state.batches.values()),
    }
    facts = _facts(context, activity, seconds)
    outcome = conclude(context, facts)
    statuses = outcome.counts()
    code = exit_code_for(statuses, counts)
    if counts["unsettled"]:
        context.journal.append(RunInterrupted(reason=activity.stop_reason or "unsettled batches"))
    context.journal.append(RunFinished(exit_code=code, counts={**counts, **statuses}))
    report = RunReport(
        context.run_dir,
        state,
        context.loaded,
        code,
        activity.stop_reason,
        seconds,
        activity.retries,
        activity.lookups,
        counts,
        statuses,
    )
    output.write_json(context.run_dir / "summary.json", format_run(report))
    return report


def exit_code_for(statuses: dict[str, int], counts: dict[str, int]) -> int:
    """3 something unknown or unsettled (resume/reconcile), 1 rows rejected or failed, else 0."""
    if counts.get("unsettled") or statuses.get("unknown"):
        return 3
    if statuses.get("rejected") or statuses.get("failed") or counts.get("rejected"):
        return 1
    return 0


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


def format_run(report: RunReport) -> dict[str, Any]:
    """The run summary (``summary.json`` and ``--json``)."""
    return {
        "run_dir": str(report.run_dir),
        "results": str(report.run_dir / RESULTS),
        "exit_code": report.exit_code,
        "statuses": report.statuses,
        "counts": report.counts,
        "seconds": round(report.seconds, 2),
        "retries": report.retries,
        "lookups": report.lookups,
        "stop_reason": report.stop_reason,
        "resume": f"bulkload resume {report.run_dir}" if report.counts.get("unsettled") else None,
    }


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
            listed = await client.list_batch(batch.name)
        except SubmitError:
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
                )
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


def _with_run_options(settings: Settings, started: RunStarted) -> Settings:
    """Settings for resume and reconcile: the run's own target, rate and limits."""
    options = started.options
    return replace(
        settings,
        endpoint=started.endpoint,
        project_id=started.project_id,
        rate=float(options.get("rate", settings.rate)),
        concurrency=int(options.get("concurrency", settings.concurrency)),
        timeout=float(options.get("timeout", settings.timeout)),
        max_attempts=int(options.get("max_attempts", settings.max_attempts)),
        settle=float(options.get("settle", settings.settle)),
    )


def _submit_options(settings: Settings) -> SubmitOptions:
    """The engine's options: lookups of an in-doubt batch at settle, 2x and 4x settle."""
    settle = settings.settle
    return SubmitOptions(
        concurrency=settings.concurrency,
        max_attempts=settings.max_attempts,
        lookup_delays=(settle, 2 * settle, 4 * settle),
    )


def _token_source(settings: Settings, project_id: str) -> TokenSource:
    """The token given, else IAM password auth; neither is a ConfigError.

    IAM is asked at BULKLOAD_IAM_URL, else iam.<region>, else at the API endpoint itself
    (a private or simulated deployment serving both).
    """
    credentials = settings.credentials
    if credentials.token:
        return StaticToken(credentials.token)
    iam_url = credentials.iam_url or settings.endpoint
    if credentials.uses_iam and iam_url:
        return IamPassword(
            iam_url=iam_url,
            user=credentials.iam_user or "",
            password=credentials.iam_password or "",
            domain=credentials.iam_domain or credentials.iam_user or "",
            region=credentials.region,
            project_id=project_id,
        )
    raise ConfigError(
        "no credentials: set BULKLOAD_AUTH_TOKEN, or BULKLOAD_IAM_USER, BULKLOAD_IAM_PASSWORD,"
        " BULKLOAD_IAM_DOMAIN and BULKLOAD_REGION (or BULKLOAD_IAM_URL)",
        hint="secrets are read from the environment only, never from flags",
    )
