"""
The run journal: an append-only SQLite file of events (WAL, synchronous=FULL), each
committed to disk before the action that depends on it. Replaying it rebuilds the run.
Text is scrubbed of secrets before it is stored. Beside the events, the cameras the run's
last conclusion left needing attention (``keep_results``), so that the run's page lists
them without reading the results workbook back. Another thread or process (the run's
page) reads both while the run writes, through ``read_events`` and ``read_results``.
SQLite and OS errors become ``StorageError`` here, at the edge. [I/O: SQLite]
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, NamedTuple

import anyio.to_thread

from loader.errors import StorageError, storage_error
from loader.state.events import Event, decode, encode
from loader.state.outcomes import CameraResult

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
_AFTER: Final = "SELECT seq, at, kind, batch, body FROM events WHERE seq > ? ORDER BY seq"
_DAMAGED: Final = "the run directory is damaged"
# What the last conclusion left needing attention, replaced whole by the next one.
_RESULTS: Final = """
CREATE TABLE IF NOT EXISTS results (
    position   INTEGER PRIMARY KEY,
    status     TEXT NOT NULL,
    batch      TEXT NOT NULL,
    task_state TEXT NOT NULL,
    message    TEXT NOT NULL,
    sheet      TEXT NOT NULL,
    row        INTEGER,
    camera     TEXT NOT NULL,
    name       TEXT NOT NULL,
    grp        TEXT NOT NULL
)
"""
_FIELDS: Final = "status, batch, task_state, message, sheet, row, camera, name, grp"


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
        if len(rows) == 1:
            self._write(lambda db: db.execute(_INSERT, rows[0]), transaction=False)
        else:
            self._write(lambda db: db.executemany(_INSERT, rows))

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

    def keep_results(self, cameras: Sequence[CameraResult]) -> None:
        """Keep the cameras this conclusion left needing attention, in place of the last
        conclusion's (one commit; messages scrubbed as events are)."""
        rows = [_row(c, self.scrub(c.message)) for c in cameras]
        insert = f"INSERT INTO results ({_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

        def replace(db: sqlite3.Connection) -> None:
            db.execute(_RESULTS)
            db.execute("DELETE FROM results")
            db.executemany(insert, rows)

        self._write(replace)

    def _write(
        self, write: Callable[[sqlite3.Connection], object], *, transaction: bool = True
    ) -> None:
        """Run ``write`` under the lock, in one transaction (a single statement commits on
        its own); a failure rolls it back and becomes a StorageError."""
        with self._lock:
            try:
                if not transaction:
                    write(self._db)
                    return
                self._db.execute("BEGIN")
                write(self._db)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise self._error("write to", exc) from exc

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


class Recorded(NamedTuple):
    """An event as the journal holds it: its place, when it was committed (unix time)."""

    seq: int
    at: float
    event: Event


def read_events(path: Path, after: int = 0) -> list[Recorded]:
    """The events of the journal at ``path`` after ``after``, from a connection of its own
    (the run may be writing it); [] before the journal exists."""
    rows = _select(path, _AFTER, (after,)) or []
    return [
        Recorded(seq, datetime.fromisoformat(at).timestamp(), decode(kind, batch, body))
        for seq, at, kind, batch, body in rows
    ]


def _row(camera: CameraResult, message: str) -> tuple[str | int | None, ...]:
    """A camera's row of the results table (its message scrubbed already)."""
    c = camera
    return (c.status, c.batch, c.task_state, message, c.sheet, c.row, c.camera, c.name, c.group)


def read_results(path: Path) -> list[CameraResult] | None:
    """The cameras the run's last conclusion left needing attention, in row order; None
    when no conclusion kept them (the run has not ended, or ended before they were kept)."""
    rows = _select(path, f"SELECT {_FIELDS} FROM results ORDER BY position", ())
    if rows is None:
        return None
    return [CameraResult(*row) for row in rows]


def _select(path: Path, query: str, values: tuple[int, ...]) -> list[Any] | None:
    """The rows of ``query`` on the journal at ``path``, read from a connection of its own;
    None when the file or its table is not there (yet)."""
    if not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(path, timeout=5)) as db:
            return db.execute(query, values).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # the run is creating it right now, or never did
            return None
        raise storage_error("read", path, exc, hint=_DAMAGED) from exc
    except sqlite3.Error as exc:
        raise storage_error("read", path, exc, hint=_DAMAGED) from exc
