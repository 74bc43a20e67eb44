"""
The ledger: per endpoint and project, what became of each camera task (a camera in a
group under one algorithm) in earlier runs, with a fingerprint of its settings. A later
run of the same inventory sends only what is new. SQLite, one row per camera task.
[I/O]
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from loader.errors import StorageError, storage_error
from loader.model.cameras import LedgerEntry, LedgerKey

LOCK_WAIT = 10.0  # seconds to wait for another process holding the ledger

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cameras (
    endpoint        TEXT NOT NULL,
    project         TEXT NOT NULL,
    group_id        TEXT NOT NULL,
    video_source_id TEXT NOT NULL,
    service_name    TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    state           TEXT NOT NULL,
    run             TEXT NOT NULL,
    batch           TEXT NOT NULL,
    batch_id        TEXT NOT NULL,
    message         TEXT NOT NULL,
    at              TEXT NOT NULL,
    inventory       TEXT NOT NULL,
    PRIMARY KEY (endpoint, project, group_id, video_source_id, service_name)
);
"""


class Ledger:
    """The ledger file; use it as a context manager so it is closed however the block ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=LOCK_WAIT)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise self._error("open", exc) from exc

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def entries(
        self, endpoint: str, project: str, *, excluding_run: str = ""
    ) -> dict[LedgerKey, LedgerEntry]:
        """Every camera task recorded for this endpoint and project (but ``excluding_run``'s)."""
        try:
            rows = self._db.execute(
                "SELECT group_id, video_source_id, service_name, fingerprint, state, run, batch,"
                " batch_id, message, at, inventory FROM cameras"
                " WHERE endpoint = ? AND project = ? AND run != ?",
                (endpoint, project, excluding_run),
            ).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read", exc) from exc
        return {(r[0], r[1], r[2]): LedgerEntry(*r) for r in rows}

    def record(self, endpoint: str, project: str, entries: Iterable[LedgerEntry]) -> int:
        """Upsert entries in one transaction; returns how many."""
        at = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [(endpoint, project, *e[:9], e.at or at, e.inventory) for e in entries]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR REPLACE INTO cameras VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise self._error("write to", exc) from exc
        return len(rows)

    def close(self) -> None:
        self._db.close()

    def _error(self, action: str, exc: BaseException) -> StorageError:
        """What went wrong with the ledger file, and what to do."""
        return storage_error(
            f"{action} the ledger",
            self.path,
            exc,
            hint="another bulkload may be using it (wait for it), or the disk is full;"
            " the run journal keeps every outcome: `bulkload reconcile RUN_DIR` records"
            " them once the ledger can be written (or choose another --ledger)",
        )
