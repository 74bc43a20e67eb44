"""
A run's progress as its page shows it live: the run's journal (``journal.sqlite``, events
in the order they were committed) read from a second connection, folded into counts
(batches sent, accepted, retried, in doubt, requests in flight, the measured rate, tasks
checked), each event said in a line a person reads, and sent to the browser as
server-sent events until the run's thread has ended. [I/O: SQLite]
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.to_thread

from loader.errors import StorageError, storage_error
from loader.state import events as ev
from loader.web.sheets import Failure

POLL: Final = 0.25  # seconds between reads of the journal
KEEPALIVE: Final = 15.0  # a comment line this often keeps proxies from closing the stream
RATE_WINDOW: Final = 10.0  # seconds of answers the current rate counts (longer at low rates)
RECENT: Final = 12  # latest events listed on the page
_SELECT: Final = "SELECT seq, at, kind, batch, body FROM events WHERE seq > ? ORDER BY seq"
# Answers to a create request: what the pacer lets out, one per request that went.
_ANSWERS: Final = (ev.BatchAccepted, ev.BatchRejected, ev.BatchRetrying, ev.BatchAmbiguous)


def read_events(path: Path, after: int) -> list[tuple[int, float, ev.Event]]:
    """The journal's events after ``after`` (seq, unix time, event); [] before it exists."""
    if not path.is_file():
        return []
    try:
        with closing(sqlite3.connect(path, timeout=5)) as db:
            rows = db.execute(_SELECT, (after,)).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # the run is creating it right now
            return []
        raise storage_error("read", path, exc, hint="the run directory is damaged") from exc
    except sqlite3.Error as exc:
        raise storage_error("read", path, exc, hint="the run directory is damaged") from exc
    return [
        (seq, datetime.fromisoformat(at).timestamp(), ev.decode(kind, batch, body))
        for seq, at, kind, batch, body in rows
    ]


@dataclass(frozen=True)
class Live:
    """What the server knows of a run beyond its journal: whether its thread runs, what
    it does (``send``, ``resume``, ``check``), whether Stop was pressed, why it failed."""

    running: bool = False
    failure: Failure | None = None
    stopping: bool = False
    kind: str = "send"


@dataclass
class Progress:
    """Counts folded from a run's events (a resume's events continue the same counts)."""

    seq: int = 0
    batches: int = 0
    cameras: int = 0
    sent: int = 0
    accepted: int = 0
    refused: int = 0
    retried: int = 0
    in_doubt: int = 0  # unclear answers so far (each looked up before any resend)
    cameras_accepted: int = 0
    changes: int = 0
    checked: int = 0  # batches whose tasks were asked about since the run (re)started
    limit: float = 0.0  # the run's --rate: requests per second at most
    finished: ev.RunFinished | None = None
    stop_reason: str = ""
    canary: str = ""
    last: float = 0.0
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT))
    _sizes: dict[str, int] = field(default_factory=dict, init=False)
    _numbers: dict[str, int] = field(default_factory=dict, init=False)
    _settled: set[str] = field(default_factory=set, init=False)
    _gave_up: set[str] = field(default_factory=set, init=False)
    _doubtful: set[str] = field(default_factory=set, init=False)
    _flying: set[str] = field(default_factory=set, init=False)  # requests out, unanswered
    _answers: deque[float] = field(default_factory=deque, init=False)

    def apply(self, seq: int, at: float, event: ev.Event) -> None:
        """Count one event."""
        self.seq, self.last = seq, at
        self._count(event)
        line = self.describe(event)
        if line:
            self.recent.append(f"{datetime.fromtimestamp(at):%H:%M:%S}  {line}")

    @property
    def in_flight(self) -> int:
        """Requests sent whose answer has not come yet."""
        return len(self._flying)

    def rate(self, now: float) -> float | None:
        """Create requests per second, measured between the answers of the last
        RATE_WINDOW seconds (longer when the run's limit spaces them wider); None until
        two answers came in that window."""
        window = max(RATE_WINDOW, 3 / self.limit) if self.limit else RATE_WINDOW
        while self._answers and self._answers[0] < now - window:
            self._answers.popleft()
        if len(self._answers) < 2 or self._answers[-1] <= self._answers[0]:
            return None
        return (len(self._answers) - 1) / (self._answers[-1] - self._answers[0])

    def snapshot(self, live: Live, *, now: float) -> dict[str, Any]:
        """What the page shows, JSON-ready."""
        running, failure = live.running, live.failure
        code = self.finished.exit_code if self.finished and not running else None
        state, headline = self._standing(live, code)
        rate = self.rate(now if running else self.last)
        return {
            "state": state,
            "headline": headline,
            "batches": self.batches,
            "done": len(self._settled),  # accepted or refused: given-up ones are left
            "sent": self.sent,
            "accepted": self.accepted,
            "refused": self.refused,
            "gave_up": len(self._gave_up - self._settled),
            "retried": self.retried,
            "in_doubt": self.in_doubt,
            "in_doubt_now": len(self._doubtful),
            "in_flight": self.in_flight,
            "cameras": self.cameras,
            "cameras_accepted": self.cameras_accepted,
            "changes": self.changes,
            "checked": self.checked,
            "rate": "–" if rate is None else f"{rate:.2g}" if rate < 1 else f"{rate:.1f}",
            "limit": f"{self.limit:g}" if self.limit else "",
            "exit_code": code,
            "stop_reason": self.stop_reason,
            "canary": self.canary,
            "failure": failure.message if failure else "",
            "hint": failure.hint if failure else "",
            "recent": list(self.recent),
        }

    def _standing(self, live: Live, code: int | None) -> tuple[str, str]:
        """The run's state (a word for the page) and where it stands, in words."""
        if live.failure is not None and not live.running:
            return "failed", f"could not go on: {live.failure.message}"
        if live.running and live.kind == "check":
            checked = f"{self.checked} of {self.accepted} batches"
            return "checking", f"checking the tasks with the API: {checked}"
        if live.running and live.stopping:
            return "stopping", f"stopping: {in_flight(self.in_flight)}"
        if live.running:
            return ("running", "sending") if self.seq else ("starting", "starting")
        return ("finished", "finished") if code in (0, 1) else ("interrupted", "stopped")

    def _count(self, event: ev.Event) -> None:
        """Move the counts an event moves."""
        if event.batch and not isinstance(event, ev.BatchSending | ev.BatchPlanned):
            self._flying.discard(event.batch)
        if isinstance(event, _ANSWERS) and not getattr(event, "found_by_lookup", False):
            self._answers.append(self.last)
        match event:
            case ev.RunStarted():
                self._started(event)
            case ev.BatchPlanned():
                self._sizes[event.batch] = event.cameras
                self._numbers.setdefault(event.batch, len(self._numbers) + 1)
                self.batches = max(self.batches, len(self._sizes))
            case ev.BatchSending():
                self.sent += 1
                self._flying.add(event.batch)
            case ev.BatchAccepted():
                if self._settle(event.batch):
                    self.accepted += 1
                    self.cameras_accepted += self._sizes.get(event.batch, 0)
            case ev.BatchRejected():
                self.refused += self._settle(event.batch)
            case ev.BatchRetrying():
                self.retried += 1
            case ev.BatchAmbiguous():
                self.in_doubt += 1
                self._doubtful.add(event.batch)
            case ev.BatchAbsent():
                self._doubtful.discard(event.batch)
            case ev.BatchGaveUp():
                self._gave_up.add(event.batch)
            case ev.TasksObserved():
                self.checked += 1
            case ev.LookupFailed() if event.what == "task list":
                self.checked += 1
            case ev.ChangeSending():
                self._flying.add(f"change {event.change}")
            case ev.ChangeDone() | ev.ChangeRefused() | ev.ChangeRetrying() | ev.ChangeGaveUp():
                self._flying.discard(f"change {event.change}")
                self.changes += isinstance(event, ev.ChangeDone)
            case ev.ChangeAmbiguous():
                self._flying.discard(f"change {event.change}")
            case ev.CanaryWaiting() | ev.CanaryPassed() | ev.CanaryFailed():
                self.canary = self.describe(event)
            case ev.RunInterrupted():
                self.stop_reason = event.reason
            case ev.RunFinished():
                self.finished = event
                self.checked = 0
                self._flying.clear()

    def _started(self, event: ev.RunStarted) -> None:
        self.batches = max(self.batches, event.batches)
        self.cameras = event.cameras or self.cameras
        rate = event.options.get("rate")
        self.limit = float(rate) if isinstance(rate, int | float) else self.limit
        self.finished, self.stop_reason, self.checked = None, "", 0
        self._gave_up.clear()  # a resume tries them again
        self._flying.clear()

    def _settle(self, batch: str) -> bool:
        """Mark a batch settled; False when it was already."""
        self._doubtful.discard(batch)
        if batch in self._settled:
            return False
        self._settled.add(batch)
        return True

    def describe(self, event: ev.Event) -> str:
        """One line a person reads for an event ("" for the plan's)."""
        number = self._numbers.get(event.batch)
        batch = f"batch {number}" if number else "a batch"
        return words(event, batch, self._sizes.get(event.batch, 0))


def in_flight(count: int) -> str:
    """What Stop waits for: ``1 request in flight finishes first, nothing new is sent``."""
    if not count:
        return "no request in flight; nothing new is sent"
    finish = "request in flight finishes" if count == 1 else "requests in flight finish"
    return f"{count} {finish} first, nothing new is sent"


def words(event: ev.Event, batch: str, cameras: int) -> str:
    """An event as a line of the page: what happened, with the API's own words when it
    said something (its request id included), never the event's class name."""
    match event:
        case ev.BatchPlanned():
            return ""
        case ev.RunStarted(resumed=True):
            return "resumed: what is left is sent, nothing accepted is sent again"
        case ev.RunStarted():
            return f"started: {event.cameras:,} cameras in {event.batches:,} batches"
        case ev.BatchSending(attempt=1):
            return f"{batch} sent ({cameras:,} cameras)"
        case ev.BatchSending():
            return f"{batch} sent again (attempt {event.attempt})"
        case ev.BatchAccepted(found_by_lookup=True):
            return f"{batch} found by its name: it was created"
        case ev.BatchAccepted():
            failed = f", {event.failed:,} of them failed" if event.failed else ""
            return f"{batch} accepted: {event.succeeded or event.total:,} tasks created{failed}"
        case ev.BatchRejected():
            return f"{batch} refused: {event.message or event.code or event.status}"
        case ev.BatchRetrying():
            wait = f" in {event.delay:.0f} s" if event.delay >= 1 else ""
            return f"{batch} not taken ({event.reason}): it is sent again{wait}"
        case ev.BatchAmbiguous():
            return f"{batch}: the answer was lost ({event.reason}); it is looked up by name first"
        case ev.BatchLookedUp():
            return f"{batch} looked up: {'found' if event.found_id else 'not there yet'}"
        case ev.BatchAbsent():
            return f"{batch} was not created: it is sent again"
        case ev.LookupFailed():
            return f"asking about {batch} ({event.what}) failed: {event.reason}"
        case ev.BatchGaveUp():
            return f"{batch} left for later: {event.reason}"
        case ev.TasksObserved():
            states = ", ".join(
                f"{n:,} {s.lower().replace('_', ' ')}" for s, n in event.state_counts.items() if n
            )
            return f"tasks of {batch} checked" + (f": {states}" if states else "")
        case ev.CanaryWaiting():
            return f"first batch alone: waiting up to {event.wait:.0f} s for its tasks to run"
        case ev.CanaryPassed():
            return f"first batch's {event.tasks:,} tasks run: the rest is sent"
        case ev.CanaryFailed():
            return f"first batch failed: {event.reason}; the rest is held back"
        case ev.RunInterrupted():
            return "stopped by you" if event.reason == "interrupted" else f"stopped: {event.reason}"
        case ev.RunFinished():
            return "finished: results.xlsx written"
        case ev.ChangeSending():
            return f"{event.action} of task {event.task_id} sent"
        case ev.ChangeDone():
            return f"{event.change.replace(':', ' of task ', 1)} done"
        case ev.ChangeRefused():
            return f"{event.change.replace(':', ' of task ', 1)} refused: {event.message}"
        case ev.ChangeGaveUp():
            return f"{event.change.replace(':', ' of task ', 1)} left for later: {event.reason}"
    return ""


def progress_of(path: Path) -> Progress:
    """A run's progress so far, folded from its whole journal."""
    progress = Progress()
    for seq, at, event in read_events(path, 0):
        progress.apply(seq, at, event)
    return progress


def message(kind: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def stream(journal: Path, status: Callable[[], Live]) -> AsyncIterator[str]:
    """Progress events while the run's thread lives, then a last one and ``done``.

    ``status`` says whether the run is still running (stopping, why it failed); it is
    asked before each read, so the events a run writes as it ends are never missed. A
    browser that goes away ends the stream (starlette cancels it); so does the server's
    shutdown.
    """
    progress, last, quiet = Progress(), None, 0.0
    while True:
        live = status()
        try:
            found = await anyio.to_thread.run_sync(read_events, journal, progress.seq)
        except StorageError as exc:
            yield message("done", {"failure": exc.message})
            return
        for seq, at, event in found:
            progress.apply(seq, at, event)
        snapshot = progress.snapshot(live, now=time.time())
        if snapshot != last:
            yield message("progress", snapshot)
            last, quiet = snapshot, 0.0
        if not live.running:
            yield message("done", {"state": snapshot["state"]})
            return
        await anyio.sleep(POLL)
        quiet += POLL
        if quiet >= KEEPALIVE:
            yield ": keepalive\n\n"
            quiet = 0.0
