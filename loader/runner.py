"""
A run end to end: load and plan, open the run directory and its journal, submit, finish;
and ``resume``, which rebuilds the run from its journal and settles what is left.
[I/O: files, SQLite, HTTP, signals]
"""

from __future__ import annotations

import hashlib
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import anyio
import httpx
from anyio import CancelScope

from loader import logs, output
from loader.api import ViasClient
from loader.auth import IamPassword, StaticToken, TokenSource
from loader.errors import ConfigError
from loader.events import BatchPlanned, Event, RunFinished, RunInterrupted, RunStarted
from loader.journal import Journal
from loader.pipeline import Loaded, load
from loader.plan import Plan, plan
from loader.ratelimit import RateLimiter, SystemClock
from loader.runstate import BatchStatus, RunState, fold
from loader.secrecy import Scrubber, resolve
from loader.settings import Settings
from loader.submit import Engine, Job, SubmitOptions
from loader.validate import RowStatus

RUNS_DIR = Path("runs")
JOURNAL = "journal.sqlite"


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


class _Recorder:
    """Journal first (durable), then the in-memory fold, the log and the observer."""

    def __init__(self, journal: Journal, state: RunState, observer: Observer | None) -> None:
        self.journal, self.state, self.observer = journal, state, observer

    async def __call__(self, event: Event) -> None:
        await self.journal.record(event)
        if not event.batch:  # batch events are folded by the engine into the shared states
            self.state.apply(event)
        logs.log_event(event)
        if self.observer is not None:
            self.observer(event, self.state)


def start_run(sheet: Path, settings: Settings, observer: Observer | None = None) -> RunReport:
    """Load, plan and submit ``sheet`` in a new run directory."""
    endpoint, project_id = settings.api_target()
    loaded = load(sheet, settings.mapping, engine=settings.engine, encoding=settings.encoding)
    planned = plan(
        loaded.checked.cameras,
        loaded.checked.settings,
        max_payload_bytes=settings.max_payload_bytes,
    )
    _token_source(settings, project_id)  # no credentials: stop before making a run directory
    for batch in planned.batches:
        resolve(batch.content(), settings.environment)  # an unset ${VAR}: likewise
    run_dir = _new_run_dir(settings, sheet)
    files = output.write_plan(run_dir / "payloads", planned)
    scrubber = Scrubber()
    journal = Journal(run_dir / JOURNAL, scrubber)
    started = RunStarted(
        input_file=str(sheet.resolve()),
        input_sha256=sha256_of(sheet),
        mapping=loaded.mapping.source or loaded.mapping.name,
        mapping_sha256=sha256_of(Path(loaded.mapping.source)) if loaded.mapping.source else "",
        endpoint=endpoint,
        project_id=project_id,
        batches=len(planned.batches),
        cameras=planned.camera_count,
        rejected_rows=loaded.checked.count(RowStatus.REJECTED),
        options=_options(settings),
    )
    planned_events: list[Event] = [
        BatchPlanned(
            batch=b.name, file=f, groups=len({e.group for e in b.entries}), cameras=b.camera_count
        )
        for b, f in zip(planned.batches, files, strict=True)
    ]
    journal.append_many([started, *planned_events])
    return _submit(run_dir, journal, scrubber, loaded, planned, settings, started, observer)


def resume_run(run_dir: Path, settings: Settings, observer: Observer | None = None) -> RunReport:
    """Settle what an interrupted run left, refusing a changed input or mapping."""
    if not (run_dir / JOURNAL).is_file():
        raise ConfigError(
            f"{run_dir} holds no {JOURNAL}", hint="give the run directory a run printed"
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
    loaded = load(
        Path(started.input_file),
        started.mapping,
        engine=options.get("engine", "calamine"),
        encoding=options.get("encoding"),
    )
    planned = plan(
        loaded.checked.cameras,
        loaded.checked.settings,
        max_payload_bytes=options.get("max_payload_bytes"),
    )
    if [b.name for b in planned.batches] != list(state.batches):
        raise ConfigError(
            "planning the input again gives other batches than the journal records",
            hint="the loader version changed; start a new run (the ledger skips what was loaded)",
        )
    settings = _with_options(settings, options, started)
    resumed = RunStarted(**{**started.payload(), "resumed": True})
    journal.append(resumed)
    return _submit(run_dir, journal, scrubber, loaded, planned, settings, resumed, observer, state)


def _submit(
    run_dir: Path,
    journal: Journal,
    scrubber: Scrubber,
    loaded: Loaded,
    planned: Plan,
    settings: Settings,
    started: RunStarted,
    observer: Observer | None,
    state: RunState | None = None,
) -> RunReport:
    """Submit the unsettled batches of a run and record how it ended."""
    state = state or fold(journal.events())
    auth = _token_source(settings, started.project_id)
    scrubber.sources.append(auth.secrets)
    jobs = []
    for batch in planned.batches:
        batch_state = state.batches[batch.name]
        if not batch_state.settled:
            content, used = resolve(batch.content(), settings.environment)
            scrubber.add(used)
            jobs.append(Job(batch.name, content, batch_state))
    log_file = logs.configure(run_dir / "log.jsonl", scrubber)
    if observer is not None:
        observer(started, state)
    began = time.monotonic()
    try:
        engine = anyio.run(
            _drive, jobs, started, settings, auth, _Recorder(journal, state, observer)
        )
    finally:
        log_file.flush()
    report = _finish(run_dir, journal, state, loaded, engine, time.monotonic() - began)
    log_file.close()
    journal.close()
    return report


async def _drive(
    jobs: list[Job], started: RunStarted, settings: Settings, auth: TokenSource, record: _Recorder
) -> Engine:
    """The async part: one HTTP client, one limiter, the engine, and the signal watcher."""
    clock = SystemClock()
    timeout = httpx.Timeout(connect=5.0, read=settings.timeout, write=10.0, pool=settings.timeout)
    limits = httpx.Limits(
        max_connections=settings.concurrency + 2, max_keepalive_connections=settings.concurrency + 2
    )
    async with httpx.AsyncClient(base_url=started.endpoint, timeout=timeout, limits=limits) as http:
        await auth.token(http)  # bad credentials stop here, before anything is sent
        client = ViasClient(
            http,
            project_id=started.project_id,
            auth=auth,
            limiter=RateLimiter(settings.rate, clock),
        )
        engine = Engine(client, record, clock, _submit_options(settings), jobs=len(jobs))
        async with anyio.create_task_group() as group:
            if threading.current_thread() is threading.main_thread():
                group.start_soon(_watch_signals, engine, group.cancel_scope)
            await engine.run(jobs)
            group.cancel_scope.cancel()
    return engine


async def _watch_signals(engine: Engine, scope: CancelScope) -> None:
    """Ctrl-C once: finish what is in flight, start nothing new. Twice: stop now."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if engine.control.stopping:
                scope.cancel()
                return
            engine.control.stop("interrupted")


def _finish(
    run_dir: Path, journal: Journal, state: RunState, loaded: Loaded, engine: Engine, seconds: float
) -> RunReport:
    """RunInterrupted/RunFinished, the summary file, and the exit code."""
    counts = {
        "batches": len(state.batches),
        "accepted": state.count(BatchStatus.ACCEPTED),
        "rejected": state.count(BatchStatus.REJECTED),
        "unsettled": len(state.unsettled()),
        "failed_cameras": sum(b.failed for b in state.batches.values()),
        "rejected_rows": loaded.checked.count(RowStatus.REJECTED),
    }
    code = exit_code_for(counts)
    if counts["unsettled"]:
        journal.append(RunInterrupted(reason=engine.control.stop_reason or "unsettled batches"))
    journal.append(RunFinished(exit_code=code, counts=counts))
    report = RunReport(
        run_dir,
        state,
        loaded,
        code,
        engine.control.stop_reason,
        seconds,
        engine.control.retries,
        engine.control.lookups,
        counts,
    )
    output.write_json(run_dir / "summary.json", format_run(report))
    return report


def exit_code_for(counts: dict[str, int]) -> int:
    """3 something unsettled (resume), 1 rows or batches refused or cameras failed, else 0."""
    if counts["unsettled"]:
        return 3
    if counts["rejected"] or counts["failed_cameras"] or counts["rejected_rows"]:
        return 1
    return 0


def format_run(report: RunReport) -> dict[str, Any]:
    """The run summary (``summary.json`` and ``--json``)."""
    return {
        "run_dir": str(report.run_dir),
        "exit_code": report.exit_code,
        "counts": report.counts,
        "seconds": round(report.seconds, 2),
        "retries": report.retries,
        "lookups": report.lookups,
        "stop_reason": report.stop_reason,
        "resume": f"bulkload resume {report.run_dir}" if report.exit_code == 3 else None,
    }


def sha256_of(path: Path) -> str:
    """The file's SHA-256 (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _check_unchanged(path: Path, expected: str, what: str) -> None:
    """Refuse to resume when a file the run read has changed or gone."""
    if not path.is_file():
        raise ConfigError(
            f"the run's {what} {path} is gone", hint="put it back to resume, or start a new run"
        )
    if sha256_of(path) != expected:
        raise ConfigError(
            f"the run's {what} {path} changed since the run started",
            hint="restore it to resume this run, or start a new run with the new file",
        )


def _new_run_dir(settings: Settings, sheet: Path) -> Path:
    """``runs/<UTC time>-<sheet name>/``, or --run-dir; never one that holds a journal."""
    if settings.run_dir is not None:
        run_dir = settings.run_dir
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        run_dir = RUNS_DIR / f"{stamp}-{sheet.stem}"
    if (run_dir / JOURNAL).exists():
        raise ConfigError(
            f"{run_dir} already holds a run", hint=f"resume it: bulkload resume {run_dir}"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
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
    }


def _with_options(settings: Settings, options: dict[str, Any], started: RunStarted) -> Settings:
    """Settings for a resume: the run's own target, rate and limits."""
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
    """The token given, else IAM password auth; neither is a ConfigError."""
    credentials = settings.credentials
    if credentials.token:
        return StaticToken(credentials.token)
    if credentials.uses_iam and credentials.iam_url:
        return IamPassword(
            iam_url=credentials.iam_url,
            user=credentials.iam_user or "",
            password=credentials.iam_password or "",
            domain=credentials.iam_domain or credentials.iam_user or "",
            project=credentials.region or project_id,
        )
    raise ConfigError(
        "no credentials: set BULKLOAD_AUTH_TOKEN, or BULKLOAD_IAM_USER, BULKLOAD_IAM_PASSWORD,"
        " BULKLOAD_IAM_DOMAIN and BULKLOAD_REGION (or BULKLOAD_IAM_URL)",
        hint="secrets are read from the environment only, never from flags",
    )
