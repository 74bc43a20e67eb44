"""
The ledger: per endpoint and project, what became of each camera task (a camera in a
group under one algorithm): its task id and state, the batch that created it, and the
fingerprint of its settings, whose document (``planning.documents``) is kept once per
fingerprint so that a diff can name the fields that changed. Runs write it as they
conclude; ``bulkload refresh`` rebuilds it from the API, one batch at a time, and can
resume where it stopped. SQLite, one row per camera task. [I/O]
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any

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
CREATE TABLE IF NOT EXISTS documents (
    endpoint    TEXT NOT NULL,
    project     TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (endpoint, project, fingerprint)
);
CREATE TABLE IF NOT EXISTS registered (
    endpoint TEXT NOT NULL,
    project  TEXT NOT NULL,
    what     TEXT NOT NULL,
    name     TEXT NOT NULL,
    id       TEXT NOT NULL,
    stream    TEXT NOT NULL,
    run       TEXT NOT NULL,
    at        TEXT NOT NULL,
    inventory TEXT NOT NULL,
    PRIMARY KEY (endpoint, project, what, name)
);
CREATE TABLE IF NOT EXISTS refreshes (
    endpoint TEXT NOT NULL,
    project  TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    PRIMARY KEY (endpoint, project, batch_id)
);
"""
# Columns added since the first ledgers (added to an older file when it is opened).
_ADDED = ("task_id", "task_name", "task_state")
_COLUMNS = (
    "group_id, video_source_id, service_name, fingerprint, state, run, batch, batch_id,"
    " message, at, inventory, task_id, task_name, task_state"
)


@dataclass(frozen=True)
class RegisteredEntry:
    """A source or group bulkload registered: ``stream`` fingerprints a source's stream
    as sent (its references, never a secret's value), so a weekly run updates it in place."""

    what: str
    name: str
    id: str
    stream: str = ""
    run: str = ""
    at: str = ""
    inventory: str = ""  # the sheet's file name: --delete-sources deletes only its own


def camera_rows(
    endpoint: str, project: str, entries: Sequence[LedgerEntry], at: str
) -> Iterator[tuple[str, ...]]:
    """The ``cameras`` rows of these entries, stamped ``at`` where they have no time yet:
    zipped from their fields in C (a tuple built in Python per row cost a microsecond, of
    a batch's 150 during the run's event loop, and of 600,000 when a resume concludes)."""
    fields = list(zip(*entries, strict=True)) or [()] * len(LedgerEntry._fields)
    stamped = map({"": at}.get, fields[9], fields[9])  # ``entry.at or at``
    before, after = fields[:9], fields[10:]
    return zip(repeat(endpoint), repeat(project), *before, stamped, *after, strict=False)


class Ledger:
    """The ledger file; use it as a context manager so it is closed however the block ends."""

    def __init__(
        self, path: Path, *, lock_wait: float = LOCK_WAIT, any_thread: bool = False
    ) -> None:
        """``any_thread``: the connection may be used from other threads than this one, one
        at a time (the caller takes turns: a run's follower writes from worker threads)."""
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, isolation_level=None, timeout=lock_wait, check_same_thread=not any_thread
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            have = {row[1] for row in self._db.execute("PRAGMA table_info(cameras)")}
            for column in _ADDED:
                if column not in have:
                    self._db.execute(
                        f"ALTER TABLE cameras ADD COLUMN {column} TEXT NOT NULL DEFAULT ''"
                    )
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
        return self._entries("run != ?", (endpoint, project, excluding_run))

    def entries_of_run(self, endpoint: str, project: str, run: str) -> dict[LedgerKey, LedgerEntry]:
        """The camera tasks one run recorded last (as recorded: ``at`` is their time)."""
        return self._entries("run = ?", (endpoint, project, run))

    def _entries(self, condition: str, parameters: tuple[str, ...]) -> dict[LedgerKey, LedgerEntry]:
        """The camera tasks of an endpoint and project (the first two parameters) that meet
        ``condition`` on the run."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM cameras WHERE endpoint = ? AND project = ? AND {condition}",
            parameters,
        )
        return {(r[0], r[1], r[2]): LedgerEntry(*r) for r in rows}

    def _read(self, query: str, parameters: tuple[str, ...]) -> list[Any]:
        """The rows a query reads; a StorageError naming the ledger when it cannot."""
        try:
            return self._db.execute(query, parameters).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read", exc) from exc

    def wait_for_locks(self, seconds: float) -> None:
        """How long a write waits for another process holding the ledger, from now on."""
        try:
            self._db.execute(f"PRAGMA busy_timeout = {round(seconds * 1000)}")
        except sqlite3.Error as exc:
            raise self._error("open", exc) from exc

    def documents(self, endpoint: str, project: str) -> dict[str, dict[str, Any]]:
        """Every settings document recorded for this endpoint and project, by fingerprint."""
        rows = self._read(
            "SELECT fingerprint, document FROM documents WHERE endpoint = ? AND project = ?",
            (endpoint, project),
        )
        return {fingerprint: json.loads(text) for fingerprint, text in rows}

    def registered(self, endpoint: str, project: str) -> list[RegisteredEntry]:
        """The sources and groups bulkload registered in this project (``what``: source
        or group), with the fingerprint of each source's stream as last sent."""
        try:
            rows = self._db.execute(
                "SELECT what, name, id, stream, run, at, inventory FROM registered"
                " WHERE endpoint = ? AND project = ? ORDER BY what, name",
                (endpoint, project),
            ).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read", exc) from exc
        return [RegisteredEntry(*r) for r in rows]

    def record_registered(
        self, endpoint: str, project: str, rows: Iterable[RegisteredEntry]
    ) -> None:
        """Sources and groups a run registered (or updated, or deleted: ``id`` "")."""
        at = datetime.now(UTC).isoformat(timespec="seconds")
        values = [
            (endpoint, project, r.what, r.name, r.id, r.stream, r.run, r.at or at, r.inventory)
            for r in rows
        ]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR REPLACE INTO registered VALUES (?,?,?,?,?,?,?,?,?)", values
            )
            self._db.execute(
                "DELETE FROM registered WHERE endpoint = ? AND project = ? AND id = ''",
                (endpoint, project),
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise self._error("write to", exc) from exc

    def record(
        self,
        endpoint: str,
        project: str,
        entries: Iterable[LedgerEntry],
        documents: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        refreshed: str = "",
        dropping: Iterable[tuple[LedgerKey, str]] = (),
    ) -> int:
        """Upsert entries and settings documents in one transaction; returns how many entries.

        ``refreshed`` (a batch id) marks a batch as read by the refresh under way, in the
        same transaction: a refresh that stops resumes after the last batch it recorded.
        ``dropping`` removes camera tasks, each only if the given run recorded it last.
        """
        entries = list(entries)
        at = datetime.now(UTC).isoformat(timespec="seconds")
        rows = camera_rows(endpoint, project, entries, at)
        texts = [
            (endpoint, project, fingerprint, json.dumps(doc, sort_keys=True, ensure_ascii=False))
            for fingerprint, doc in (documents or {}).items()
        ]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                f"INSERT OR REPLACE INTO cameras (endpoint, project, {_COLUMNS})"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            self._db.executemany("INSERT OR REPLACE INTO documents VALUES (?,?,?,?)", texts)
            self._db.executemany(
                "DELETE FROM cameras WHERE endpoint = ? AND project = ? AND group_id = ?"
                " AND video_source_id = ? AND service_name = ? AND run = ?",
                [(endpoint, project, *key, run) for key, run in dropping],
            )
            if refreshed:
                self._db.execute(
                    "INSERT OR REPLACE INTO refreshes VALUES (?,?,?)",
                    (endpoint, project, refreshed),
                )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise self._error("write to", exc) from exc
        return len(entries)

    def refreshed(self, endpoint: str, project: str) -> set[str]:
        """The batch ids the refresh under way (one that stopped) has recorded so far."""
        rows = self._read(
            "SELECT batch_id FROM refreshes WHERE endpoint = ? AND project = ?", (endpoint, project)
        )
        return {row[0] for row in rows}

    def forget_refreshes(self, endpoint: str, project: str) -> None:
        """A refresh finished (or starts over): its progress marks go."""
        try:
            self._db.execute(
                "DELETE FROM refreshes WHERE endpoint = ? AND project = ?", (endpoint, project)
            )
        except sqlite3.Error as exc:
            raise self._error("write to", exc) from exc

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
