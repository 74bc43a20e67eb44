"""
The run journal: an append-only SQLite file of events (WAL, synchronous=FULL), each
committed to disk before the action that depends on it. Replaying it rebuilds the run.
Text is scrubbed of secrets before it is stored. SQLite and OS errors become
``StorageError`` here, at the edge. [I/O: SQLite]
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import anyio.to_thread

from loader.errors import StorageError, storage_error
from loader.state.events import Event, decode, encode

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
_INSERT = "INSERT INTO events (at, kind, batch, body) VALUES (?, ?, ?, ?)"


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
            raise self._error("open", exc) from exc

    def append(self, event: Event) -> None:
        """Store ``event`` durably (returns after the commit reached the disk)."""
        self.append_many([event])

    def append_many(self, events: list[Event]) -> None:
        """Store several events in one commit (a run's plan: one sync, not thousands)."""
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        rows = [(at, e.kind, e.batch, self.scrub(encode(e))) for e in events]
        with self._lock:
            try:
                if len(rows) == 1:
                    self._db.execute(_INSERT, rows[0])
                    return
                self._db.execute("BEGIN")
                self._db.executemany(_INSERT, rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise self._error("write to", exc) from exc

    async def record(self, event: Event) -> None:
        """``append`` on a worker thread, so the event loop keeps serving while it syncs."""
        await anyio.to_thread.run_sync(self.append, event)

    def events(self) -> Iterator[Event]:
        """Every event in the order it was appended."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT kind, batch, body FROM events ORDER BY seq"
                ).fetchall()
            except sqlite3.Error as exc:
                raise self._error("read", exc) from exc
        for kind, batch, body in rows:
            yield decode(kind, batch, body)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def _error(self, action: str, exc: sqlite3.Error) -> StorageError:
        """What went wrong with the journal file, and what to do."""
        return storage_error(
            f"{action} the run journal",
            self.path,
            exc,
            hint="free disk space or release the file, then run `bulkload resume "
            f"{self.path.parent}`; whatever was not journaled is looked up before any resend",
        )
