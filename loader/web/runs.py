"""
Runs started from the page: the CLI's ``start_run`` and ``resume_run`` in a background
thread (one at a time), with the CLI's run directory layout, journal and exit codes; the
Stop button sets ``Wiring.stop`` (as the first Ctrl-C). Also the history of the run
directories under the runs folder and the files a page may download from them. [I/O]
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from loader.errors import LoaderError, StorageError
from loader.report import files
from loader.report.summaries import RunReport
from loader.run.context import JOURNAL, RESULTS
from loader.run.options import DEFAULT_CONCURRENCY, DEFAULT_RATE, RunOptions
from loader.run.runner import Wiring, resume_run, start_run
from loader.web.options import ServeOptions
from loader.web.security import Refused, contained
from loader.web.sheets import Failure, Sheet
from loader.web.views import EXIT_MEANINGS

SUMMARY: Final = "summary.json"
TOP_FILES: Final = (RESULTS, SUMMARY, "diff.json", "log.jsonl")
STOP_WAIT: Final = 60.0  # seconds the server waits at exit for runs to stop


@dataclass(frozen=True, kw_only=True)
class SendChoices:
    """The options of the Send page's form (the rest are the CLI's defaults)."""

    rate: float = DEFAULT_RATE
    concurrency: int = DEFAULT_CONCURRENCY
    canary: int | None = None
    retry_failed: bool = False
    restart_failed: bool = False

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> SendChoices:
        """Checked values, with the CLI's bounds; a bad number is a 400 saying which."""
        try:
            rate = float(form.get("rate") or DEFAULT_RATE)
            concurrency = int(form.get("concurrency") or DEFAULT_CONCURRENCY)
            canary = int(form["canary"]) if form.get("canary") else None
        except ValueError as exc:
            raise Refused(400, "rate, concurrency and canary must be numbers") from exc
        if not (0.01 <= rate <= 1000 and 1 <= concurrency <= 256 and (canary or 1) >= 1):
            raise Refused(400, "rate 0.01-1000 requests/s, concurrency 1-256, canary 1 or more")
        return cls(
            rate=rate,
            concurrency=concurrency,
            canary=canary,
            retry_failed=form.get("retry_failed") == "on",
            restart_failed=form.get("restart_failed") == "on",
        )


@dataclass
class ActiveRun:
    """A run or resume this server started."""

    name: str
    run_dir: Path
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    failure: Failure | None = None
    exit_code: int | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class RunDesk:
    """Starts, stops and resumes runs; lists run directories and their files."""

    def __init__(self, options: ServeOptions, wiring: Wiring) -> None:
        self.root, self.wiring = options.runs_dir, wiring
        self.base = options.run_options()
        self._runs: dict[str, ActiveRun] = {}
        self._lock = threading.Lock()

    def start(self, sheet: Sheet, choices: SendChoices) -> str:
        """Start the CLI's run of a checked sheet; the run directory's name."""
        if sheet.loaded is None:
            raise Refused(400, "this sheet could not be read: nothing to send")
        run_dir = self._new_dir(sheet.path.stem)
        options = self.base.evolve(
            mapping=sheet.loaded.mapping.name,
            run_dir=run_dir,
            rate=choices.rate,
            concurrency=choices.concurrency,
            canary=choices.canary,
            retry_failed=choices.retry_failed,
            restart_failed=choices.restart_failed,
        )
        options.connection()  # no target or credentials: said now, not in the thread
        return self._launch(run_dir, lambda wiring: start_run(sheet.path, options, wiring=wiring))

    def resume(self, name: str) -> None:
        """Finish an interrupted run, as ``bulkload resume`` does."""
        run_dir = self.run_dir(name)
        if not self.entry(name)["resumable"]:
            raise Refused(409, "this run has nothing left to resume")
        options = RunOptions.of(
            credentials=self.base.credentials, environment=self.base.environment
        )
        options.credentials.method()
        self._launch(run_dir, lambda wiring: resume_run(run_dir, options, wiring=wiring))

    def stop(self, name: str) -> bool:
        """Stop a run as the first Ctrl-C does; False when it is not running here."""
        active = self.active(name)
        if active is None or not active.running:
            return False
        active.stop.set()
        return True

    def active(self, name: str) -> ActiveRun | None:
        """The run of that name this server started, if any."""
        with self._lock:
            return self._runs.get(name)

    def busy(self) -> ActiveRun | None:
        """The run in progress, if any."""
        with self._lock:
            return next((r for r in self._runs.values() if r.running), None)

    def shutdown(self, wait: float = STOP_WAIT) -> None:
        """Stop every run (in-flight requests finish) and wait for them a while."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.stop.set()
        for run in runs:
            if run.thread is not None:
                run.thread.join(wait)

    def run_dir(self, name: str) -> Path:
        """A run directory directly under the runs folder (404 for anything else)."""
        if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
            raise Refused(404, "no such run")
        run_dir = self.root / name
        if not (run_dir / JOURNAL).is_file():
            raise Refused(404, "no such run")
        if not run_dir.resolve().is_relative_to(self.root.resolve()):
            raise Refused(404, "no such run")
        return run_dir

    def summary(self, name: str) -> dict[str, Any] | None:
        """A run's summary.json (None while it runs or when it never finished)."""
        path = self.run_dir(name) / SUMMARY
        if not path.is_file():
            return None
        try:
            return files.read_json(path)
        except StorageError:
            return None

    def entry(self, name: str) -> dict[str, Any]:
        """One line of the history: status, its meaning, counts, whether resume applies."""
        active = self.active(name)
        running = active is not None and active.running
        run_dir = active.run_dir if active is not None else self.run_dir(name)
        journaled = (run_dir / JOURNAL).is_file()
        summary = self.summary(name) if journaled and not running else None
        code = summary.get("exit_code") if summary else None
        failure = active.failure if active is not None else None
        meaning = EXIT_MEANINGS.get(code, "") if isinstance(code, int) else ""
        if running:
            status = "running"
        elif summary is not None:
            status = f"exit {code}: {meaning}"
        elif failure is not None:
            status = f"stopped: {failure.message}"
        else:
            status = "interrupted: no summary (resume finishes it)"
        unsettled = bool(summary and summary.get("counts", {}).get("unsettled"))
        return {
            "name": name,
            "status": status,
            "exit_code": code,
            "meaning": meaning,
            "running": running,
            "journaled": journaled,
            "statuses": (summary or {}).get("statuses", {}),
            "resumable": journaled and not running and (summary is None or unsettled),
            "failure": failure,
        }

    def history(self) -> list[dict[str, Any]]:
        """Every run directory under the runs folder, newest first."""
        if not self.root.is_dir():
            return []
        found = [d for d in self.root.iterdir() if (d / JOURNAL).is_file()]
        found.sort(key=lambda d: (d / JOURNAL).stat().st_mtime, reverse=True)
        return [self.entry(d.name) for d in found]

    def files(self, name: str) -> list[tuple[str, int]]:
        """The files of a run a page links to: (path in the run directory, bytes)."""
        run_dir = self.run_dir(name)
        names = [n for n in TOP_FILES if (run_dir / n).is_file()]
        payloads = run_dir / "payloads"
        if payloads.is_dir():
            names += sorted(f"payloads/{p.name}" for p in payloads.glob("*.json"))
        return [(n, (run_dir / n).stat().st_size) for n in names]

    def download(self, name: str, relative: str) -> Path:
        """A file of a run a page may download: listed kinds only, inside its directory."""
        head, _, rest = relative.partition("/")
        listed = relative in TOP_FILES or (
            head == "payloads" and rest.endswith(".json") and "/" not in rest
        )
        if not listed:
            raise Refused(404, "no such file")
        return contained(self.run_dir(name), relative)

    def _new_dir(self, stem: str) -> Path:
        """``<runs>/<UTC time>-<sheet>``, as the CLI names it (suffixed if taken)."""
        base = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{stem}"
        candidate, number = self.root / base, 1
        while candidate.exists():
            number += 1
            candidate = self.root / f"{base}-{number}"
        return candidate

    def _launch(self, run_dir: Path, action: Callable[[Wiring], RunReport]) -> str:
        """Run ``action`` in a daemon thread, its Stop event wired in; one run at a time."""
        with self._lock:
            if any(r.running for r in self._runs.values()):
                raise Refused(409, "a run is in progress: wait for it to end, or stop it")
            active = ActiveRun(run_dir.name, run_dir)
            wiring = replace(self.wiring, stop=active.stop)
            active.thread = threading.Thread(
                target=_drive,
                args=(active, action, wiring),
                name=f"run {run_dir.name}",
                daemon=True,
            )
            self._runs[active.name] = active
            active.thread.start()
        return active.name


def _drive(active: ActiveRun, action: Callable[[Wiring], RunReport], wiring: Wiring) -> None:
    """The thread of a run: its exit code, or why it could not go on."""
    try:
        active.exit_code = action(wiring).exit_code
    except LoaderError as exc:
        active.failure = Failure(exc.message, exc.hint)
        active.exit_code = exc.exit_code
    except BaseException:
        active.failure = Failure(
            "the run stopped on an unexpected error (see the server's console)",
            f"bulkload resume {active.run_dir} finishes it",
        )
        raise
