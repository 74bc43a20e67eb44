"""
Runs started from the page: the CLI's ``start_run``, ``resume_run`` and ``reconcile_run``
("check the tasks now") in a background thread (one at a time), with the CLI's run
directory layout, journal and exit codes; the Stop button sets ``Wiring.stop`` (as the
first Ctrl-C). A run that would replace, stop or delete tasks starts only with the token
of the list the person confirmed, and checks it again against the diff it makes. Also
the history of the run directories under the runs folder and the files a page may
download from them. [I/O]
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from loader.errors import ConfigError, LoaderError, StorageError
from loader.planning.delta import Delta
from loader.report import files
from loader.report.summaries import RunReport
from loader.run.options import DEFAULT_CONCURRENCY, DEFAULT_RATE, RunOptions
from loader.run.runner import Wiring, reconcile_run, resume_run, start_run
from loader.state.rundir import JOURNAL, SUMMARY, RunDir, offered
from loader.web.feed import Live
from loader.web.options import ServeOptions
from loader.web.outcomes import RunFacts, headline, run_facts, status_counts
from loader.web.security import Refused, contained
from loader.web.sheets import Failure, Sheet
from loader.web.uploads import note_run
from loader.web.views import EXIT_MEANINGS, PRUNE_WORDS, going_of

STOP_WAIT: Final = 60.0  # seconds the server waits at exit for runs to stop


@dataclass(frozen=True, kw_only=True)
class SendChoices:
    """The options of the Send page's form (the rest are the CLI's defaults)."""

    rate: float = DEFAULT_RATE
    concurrency: int = DEFAULT_CONCURRENCY
    canary: int | None = None
    retry_failed: bool = False
    restart_failed: bool = False
    prune: str = ""  # what becomes of the tasks of cameras that left the sheet
    confirmed: str = ""  # the token of the list of tasks to go the person confirmed
    registering: str = ""  # the token of the registration the person confirmed

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> SendChoices:
        """Checked values, within the CLI's bounds (``RunOptions.checked``); a bad number
        is a 400 saying which."""
        try:
            rate = float(form.get("rate") or DEFAULT_RATE)
            concurrency = int(form.get("concurrency") or DEFAULT_CONCURRENCY)
            canary = int(form["canary"]) if form.get("canary") else None
        except ValueError as exc:
            raise Refused(400, "rate, concurrency and canary must be numbers") from exc
        try:  # the CLI's bounds, checked where the CLI checks them
            RunOptions.of(rate=rate, concurrency=concurrency, canary=canary).checked()
        except ConfigError as exc:
            raise Refused(400, exc.message) from exc
        prune = form.get("prune", "")
        if prune not in PRUNE_WORDS:
            raise Refused(400, "choose what becomes of the tasks of cameras that left the sheet")
        return cls(
            rate=rate,
            concurrency=concurrency,
            canary=canary,
            retry_failed=form.get("retry_failed") == "on",
            restart_failed=form.get("restart_failed") == "on",
            prune=prune,
            confirmed=form.get("confirmed", "")[:64],
            registering=form.get("registering", "")[:64],
        )

    def form(self) -> dict[str, str]:
        """The choices as the form sends them (the confirmation page posts them again)."""
        values = {
            "rate": f"{self.rate:g}",
            "concurrency": str(self.concurrency),
            "canary": str(self.canary) if self.canary else "",
            "retry_failed": "on" if self.retry_failed else "",
            "restart_failed": "on" if self.restart_failed else "",
            "prune": self.prune,
        }
        return {k: v for k, v in values.items() if v}

    def applied(self, base: RunOptions) -> RunOptions:
        """The options of a run (or of its plan) with these choices."""
        return replace(
            base,
            pacing=replace(base.pacing, rate=self.rate, concurrency=self.concurrency),
            canary=self.canary,
            retry_failed=self.retry_failed,
            restart_failed=self.restart_failed,
            prune=self.prune,
        ).checked()


@dataclass
class ActiveRun:
    """A run or resume this server started."""

    name: str
    run_dir: Path
    kind: str = "send"  # send, resume or check (reconcile)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    failure: Failure | None = None
    exit_code: int | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def live(self) -> Live:
        """What the feed needs to know beyond the journal."""
        running = self.running
        failure = self.failure if not running else None
        return Live(running, failure, running and self.stop.is_set(), self.kind)


class RunDesk:
    """Starts, stops and resumes runs; lists run directories and their files."""

    def __init__(self, options: ServeOptions, wiring: Wiring) -> None:
        self.root, self.wiring = options.runs_dir, wiring
        self.base = options.run_options()
        self._runs: dict[str, ActiveRun] = {}
        self._lock = threading.Lock()

    def start(self, sheet: Sheet, choices: SendChoices) -> str:
        """Start the CLI's run of a checked sheet; the run directory's name.

        The run's own diff must take away exactly what ``choices.confirmed`` confirmed
        (nothing, when it is empty): the ledger may have moved since the page asked.
        """
        if sheet.loaded is None:
            raise Refused(400, "this sheet could not be read: nothing to send")
        run_dir = self._new_dir(sheet.path.stem)
        options = replace(
            choices.applied(self.base).with_mapping(sheet.loaded.mapping.name), run_dir=run_dir
        )
        options.connection()  # no target or credentials: said now, not in the thread

        def confirm(delta: Delta) -> None:
            if going_of(delta, choices.prune) != choices.confirmed:
                raise ConfigError(
                    "nothing was sent: what this run would replace, stop or delete changed"
                    " since you confirmed it",
                    hint="open the Send page again and confirm the new list",
                )

        def run(wiring: Wiring) -> RunReport:
            return start_run(sheet.path, options, wiring=wiring, confirm=confirm)

        name = self._launch(run_dir, run, "send")
        note_run(sheet.path.parent, name)
        return name

    def resume(self, name: str) -> None:
        """Finish an interrupted run, as ``bulkload resume`` does."""
        run_dir = self.run_dir(name)
        if not self.entry(name)["resumable"]:
            raise Refused(409, "this run has nothing left to resume")
        options = self._again()
        self._launch(run_dir, lambda wiring: resume_run(run_dir, options, wiring=wiring), "resume")

    def check(self, name: str) -> None:
        """Ask the API what became of the run's tasks, as ``bulkload reconcile`` does:
        cameras whose task failed to start become failed, and the results are rewritten."""
        run_dir = self.run_dir(name)
        entry = self.entry(name)
        if entry["running"] or not entry["journaled"]:
            raise Refused(409, "this run is still going: check its tasks once it has ended")
        options = self._again()
        run = lambda wiring: reconcile_run(run_dir, options, wiring=wiring)  # noqa: E731
        self._launch(run_dir, run, "check")

    def _again(self) -> RunOptions:
        """The options a resume or a check starts from: the server's credentials (the
        rest comes from the run's journal); missing credentials are said now."""
        options = RunOptions.of(
            credentials=self.base.credentials, environment=self.base.environment
        )
        options.credentials.method()
        return options

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

    def entry(self, name: str, facts: RunFacts | None = None) -> dict[str, Any]:
        """One line of the history: the sheet, when, where it stands in words, its
        counts, whether resume applies (``facts``: the journal's, when read already)."""
        active = self.active(name)
        live = active.live() if active is not None else Live()
        run_dir = active.run_dir if active is not None else self.run_dir(name)
        journaled = (run_dir / JOURNAL).is_file()
        summary = self.summary(name) if journaled and not live.running else None
        code = summary.get("exit_code") if summary else None
        failure = active.failure if active is not None else None
        if facts is None:
            facts = run_facts(run_dir / JOURNAL)
        said = headline(
            summary,
            facts,
            running=live.running,
            stopping=live.stopping,
            kind=live.kind,
            in_flight=None,
            failure=failure.message if failure else "",
        )
        unsettled = bool(summary and summary.get("counts", {}).get("unsettled"))
        return {
            "name": name,
            "sheet": facts.sheet,
            "started": facts.started,
            "state": said["state"],
            "status": said["text"],
            "exit_code": code,
            "meaning": EXIT_MEANINGS.get(code, "") if isinstance(code, int) else "",
            "running": live.running,
            "live": live,
            "journaled": journaled,
            "statuses": (summary or {}).get("statuses", {}),
            "counts": status_counts((summary or {}).get("statuses", {}), facts),
            "resumable": journaled and not live.running and (summary is None or unsettled),
            "checkable": journaled and not live.running and summary is not None,
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
        """The files of a run a page links to: (path in the run directory, bytes);
        results.xlsx first, then the technical ones (summary, diff, log, payloads)."""
        run_dir = self.run_dir(name)
        return [(n, (run_dir / n).stat().st_size) for n in RunDir.at(run_dir).offered()]

    def download(self, name: str, relative: str) -> Path:
        """A file of a run a page may download: listed kinds only, inside its directory."""
        if not offered(relative):
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

    def _launch(self, run_dir: Path, action: Callable[[Wiring], RunReport], kind: str) -> str:
        """Run ``action`` in a daemon thread, its Stop event wired in; one run at a time."""
        with self._lock:
            if any(r.running for r in self._runs.values()):
                raise Refused(409, "a run is in progress: wait for it to end, or stop it")
            active = ActiveRun(run_dir.name, run_dir, kind)
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
            "Resume finishes it",
        )
        raise
