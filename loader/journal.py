"""
The run journal: an append-only SQLite file of events (WAL, synchronous=FULL), each
committed to disk before the action that depends on it. Replaying it rebuilds the run.
Text is scrubbed of secrets before it is stored.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import anyio.to_thread

from loader.errors import ConfigError
from loader.events import Event, decode, encode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    at    TEXT NOT NULL,
    kind  TEXT NOT NULL,
    batch TEXT NOT NULL,
    body  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_batch ON events (batch);
"""


class Journal:
    """One run's event store."""

    def __init__(self, path: Path, scrub: Callable[[str], str] = lambda text: text) -> None:
        self.path = path
        self.scrub = scrub
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the journal {path}: {exc}") from exc

    def append(self, event: Event) -> None:
        """Store ``event`` durably (returns after the commit reached the disk)."""
        body = self.scrub(encode(event))
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self._lock:
            self._db.execute(
                "INSERT INTO events (at, kind, batch, body) VALUES (?, ?, ?, ?)",
                (at, event.kind, event.batch, body),
            )

    def append_many(self, events: list[Event]) -> None:
        """Store several events in one commit (a run's plan: one sync, not thousands)."""
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        rows = [(at, e.kind, e.batch, self.scrub(encode(e))) for e in events]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO events (at, kind, batch, body) VALUES (?, ?, ?, ?)", rows
            )
            self._db.execute("COMMIT")

    async def record(self, event: Event) -> None:
        """``append`` on a worker thread, so the event loop keeps serving while it syncs."""
        await anyio.to_thread.run_sync(self.append, event)

    def events(self) -> Iterator[Event]:
        """Every event in the order it was appended."""
        with self._lock:
            rows = self._db.execute("SELECT kind, batch, body FROM events ORDER BY seq").fetchall()
        for kind, batch, body in rows:
            yield decode(kind, batch, body)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
