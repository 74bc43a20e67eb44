"""
A run's progress as its page shows it live: the run's journal read through
``state.journal`` while the run writes it, folded into the ``Tally`` the terminal's bars
render too (batches done, sent again, answers lost, requests in flight, the measured rate,
tasks checked), each event said in a line a person reads, and sent to the browser as
server-sent events until the run's thread has ended.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.to_thread

from loader.errors import StorageError
from loader.state import events as ev
from loader.state.journal import read_events
from loader.state.tally import Tally
from loader.web.sheets import Failure

POLL: Final = 0.25  # seconds between reads of the journal
KEEPALIVE: Final = 15.0  # a comment line this often keeps proxies from closing the stream
RECENT: Final = 12  # latest events listed on the page


@dataclass(frozen=True)
class Live:
    """What the server knows of a run beyond its journal: whether its thread runs, what
    it does (``send``, ``resume``, ``check``), whether Stop was pressed, why it failed."""

    running: bool = False
    failure: Failure | None = None
    stopping: bool = False
    kind: str = "send"


@dataclass
class RunFeed:
    """A run's page: its tally, where the journal was read up to, the latest lines."""

    tally: Tally = field(default_factory=Tally)
    seq: int = 0
    last: float = 0.0
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT))

    def apply(self, seq: int, at: float, event: ev.Event) -> None:
        """Count one event and say it."""
        self.seq, self.last = seq, at
        self.tally.apply(event, at)
        line = self.describe(event)
        if line:
            self.recent.append(f"{datetime.fromtimestamp(at):%H:%M:%S}  {line}")

    @property
    def in_flight(self) -> int:
        """Requests sent whose answer has not come yet."""
        return self.tally.in_flight

    def rate(self, now: float) -> float | None:
        """Create requests per second lately (``Tally.rate``)."""
        return self.tally.rate(now)

    def snapshot(self, live: Live, *, now: float) -> dict[str, Any]:
        """What the page shows, JSON-ready."""
        tally, running, failure = self.tally, live.running, live.failure
        code = tally.finished.exit_code if tally.finished and not running else None
        state, headline = self._standing(live, code)
        rate = tally.rate(now if running else self.last)
        return {
            "state": state,
            "headline": headline,
            "batches": tally.batches,
            "done": tally.done,  # accepted or refused: given-up ones are left for later
            "sent": tally.sent,
            "accepted": len(tally.accepted),
            "refused": len(tally.refused),
            "gave_up": len(tally.left - tally.accepted - tally.refused),
            "retried": tally.retried,
            "in_doubt": tally.in_doubt,
            "in_doubt_now": len(tally.doubtful),
            "in_flight": tally.in_flight,
            "cameras": tally.cameras,
            "cameras_accepted": tally.cameras_accepted,
            "changes": len(tally.changes_done),
            "checked": tally.checked,
            "rate": "–" if rate is None else f"{rate:.2g}" if rate < 1 else f"{rate:.1f}",
            "limit": f"{tally.limit:g}" if tally.limit else "",
            "exit_code": code,
            "stop_reason": tally.stop_reason,
            "canary": self.describe(tally.canary) if tally.canary else "",
            "failure": failure.message if failure else "",
            "hint": failure.hint if failure else "",
            "recent": list(self.recent),
        }

    def _standing(self, live: Live, code: int | None) -> tuple[str, str]:
        """The run's state (a word for the page) and where it stands, in words."""
        if live.failure is not None and not live.running:
            return "failed", f"could not go on: {live.failure.message}"
        if live.running and live.kind == "check":
            checked = f"{self.tally.checked} of {len(self.tally.accepted)} batches"
            return "checking", f"checking the tasks with the API: {checked}"
        if live.running and live.stopping:
            return "stopping", f"stopping: {in_flight(self.in_flight)}"
        if live.running:
            return ("running", "sending") if self.seq else ("starting", "starting")
        return ("finished", "finished") if code in (0, 1) else ("interrupted", "stopped")

    def describe(self, event: ev.Event) -> str:
        """One line a person reads for an event ("" for the plan's)."""
        number = self.tally.numbers.get(event.batch)
        batch = f"batch {number}" if number else "a batch"
        planned = self.tally.state.batches.get(event.batch)
        return words(event, batch, planned.cameras if planned is not None else 0)


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


def feed_of(path: Path) -> RunFeed:
    """A run's page so far, folded from its whole journal."""
    feed = RunFeed()
    for seq, at, event in read_events(path, 0):
        feed.apply(seq, at, event)
    return feed


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
    progress, last, quiet = RunFeed(), None, 0.0
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
