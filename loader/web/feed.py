"""
A run's progress as the Send page shows it live: the run's journal (``journal.sqlite``,
events in the order they were committed) read from a second connection, folded into
counts (batches sent, accepted, retried, in doubt, the current rate), and sent to the
browser as server-sent events until the run's thread has ended. [I/O: SQLite]
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
from loader.web.views import EXIT_MEANINGS

POLL: Final = 0.25  # seconds between reads of the journal
KEEPALIVE: Final = 15.0  # a comment line this often keeps proxies from closing the stream
RATE_WINDOW: Final = 10.0  # seconds of sends the current rate counts
RECENT: Final = 12  # latest events listed on the page
_SELECT: Final = "SELECT seq, at, kind, batch, body FROM events WHERE seq > ? ORDER BY seq"


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
    finished: ev.RunFinished | None = None
    stop_reason: str = ""
    canary: str = ""
    last: float = 0.0
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT))
    _sizes: dict[str, int] = field(default_factory=dict, init=False)
    _settled: set[str] = field(default_factory=set, init=False)
    _gave_up: set[str] = field(default_factory=set, init=False)
    _doubtful: set[str] = field(default_factory=set, init=False)
    _sends: deque[float] = field(default_factory=deque, init=False)

    def apply(self, seq: int, at: float, event: ev.Event) -> None:
        """Count one event."""
        self.seq, self.last = seq, at
        self._count(event)
        line = describe(event)
        if line:
            self.recent.append(f"{datetime.fromtimestamp(at):%H:%M:%S}  {line}")

    def rate(self, now: float) -> float:
        """Create requests per second over the last RATE_WINDOW seconds before ``now``."""
        while self._sends and self._sends[0] < now - RATE_WINDOW:
            self._sends.popleft()
        if not self._sends:
            return 0.0
        return len(self._sends) / max(min(RATE_WINDOW, now - self._sends[0]), 1.0)

    def snapshot(self, *, running: bool, failure: Failure | None, now: float) -> dict[str, Any]:
        """What the page shows, JSON-ready."""
        code = self.finished.exit_code if self.finished and not running else None
        if failure is not None and not running:
            state = "failed"
        elif running:
            state = "running" if self.seq else "starting"
        else:
            state = "finished" if code in (0, 1) else "interrupted"
        return {
            "state": state,
            "batches": self.batches,
            "done": len(self._settled),  # accepted or refused: given-up ones are left
            "sent": self.sent,
            "accepted": self.accepted,
            "refused": self.refused,
            "gave_up": len(self._gave_up - self._settled),
            "retried": self.retried,
            "in_doubt": self.in_doubt,
            "in_doubt_now": len(self._doubtful),
            "cameras": self.cameras,
            "cameras_accepted": self.cameras_accepted,
            "changes": self.changes,
            "rate": round(self.rate(now if running else self.last), 1),
            "exit_code": code,
            "meaning": EXIT_MEANINGS.get(code, "") if code is not None else "",
            "stop_reason": self.stop_reason,
            "canary": self.canary,
            "failure": failure.message if failure else "",
            "hint": failure.hint if failure else "",
            "recent": list(self.recent),
        }

    def _count(self, event: ev.Event) -> None:
        """Move the counts an event moves."""
        match event:
            case ev.RunStarted():
                self._started(event)
            case ev.BatchPlanned():
                self._sizes[event.batch] = event.cameras
                self.batches = max(self.batches, len(self._sizes))
            case ev.BatchSending():
                self.sent += 1
                self._sends.append(self.last)
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
            case ev.ChangeDone():
                self.changes += 1
            case ev.CanaryWaiting() | ev.CanaryPassed() | ev.CanaryFailed():
                self.canary = describe(event)
            case ev.RunInterrupted():
                self.stop_reason = event.reason
            case ev.RunFinished():
                self.finished = event

    def _started(self, event: ev.RunStarted) -> None:
        self.batches = max(self.batches, event.batches)
        self.cameras = event.cameras or self.cameras
        self.finished, self.stop_reason = None, ""
        self._gave_up.clear()  # a resume tries them again

    def _settle(self, batch: str) -> bool:
        """Mark a batch settled; False when it was already."""
        self._doubtful.discard(batch)
        if batch in self._settled:
            return False
        self._settled.add(batch)
        return True


def describe(event: ev.Event) -> str:
    """One line a person reads for an event ("" for the plan's)."""
    if isinstance(event, ev.BatchPlanned):
        return ""
    detail = next(
        (
            str(getattr(event, name))
            for name in ("reason", "message", "batch_id", "found_id", "change")
            if getattr(event, name, "")
        ),
        "",
    )
    return " ".join(part for part in (event.kind, event.batch, detail) if part)


def progress_of(path: Path) -> Progress:
    """A run's progress so far, folded from its whole journal."""
    progress = Progress()
    for seq, at, event in read_events(path, 0):
        progress.apply(seq, at, event)
    return progress


def message(kind: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def stream(
    journal: Path, status: Callable[[], tuple[bool, Failure | None]]
) -> AsyncIterator[str]:
    """Progress events while the run's thread lives, then a last one and ``done``.

    ``status`` says whether the run is still running (and why it failed); it is asked
    before each read, so the events a run writes as it ends are never missed. A browser
    that goes away ends the stream (starlette cancels it); so does the server's shutdown.
    """
    progress, last, quiet = Progress(), None, 0.0
    while True:
        running, failure = status()
        try:
            found = await anyio.to_thread.run_sync(read_events, journal, progress.seq)
        except StorageError as exc:
            yield message("done", {"failure": exc.message})
            return
        for seq, at, event in found:
            progress.apply(seq, at, event)
        snapshot = progress.snapshot(running=running, failure=failure, now=time.time())
        if snapshot != last:
            yield message("progress", snapshot)
            last, quiet = snapshot, 0.0
        if not running:
            yield message("done", {"state": snapshot["state"]})
            return
        await anyio.sleep(POLL)
        quiet += POLL
        if quiet >= KEEPALIVE:
            yield ": keepalive\n\n"
            quiet = 0.0
