"""
The ledger: per endpoint and project, what became of each camera task (a camera in a
group under one algorithm) in earlier runs, with a fingerprint of its settings. A later
run of the same inventory sends only what is new. SQLite, one row per camera task.
[I/O]
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from loader.errors import ConfigError

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

Key = tuple[str, str, str]  # (group_id, video_source_id, service_name)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """What an earlier run did with one camera task."""

    group_id: str
    video_source_id: str
    service_name: str
    fingerprint: str
    state: str  # "loaded" or "failed"
    run: str
    batch: str = ""
    batch_id: str = ""
    message: str = ""
    at: str = ""
    inventory: str = ""  # the input file's name: "not in sheet" compares like with like

    @property
    def key(self) -> Key:
        return (self.group_id, self.video_source_id, self.service_name)


class Ledger:
    """The ledger file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open the ledger {path}: {exc}", hint="check --ledger"
            ) from exc

    def entries(
        self, endpoint: str, project: str, *, excluding_run: str = ""
    ) -> dict[Key, LedgerEntry]:
        """Every camera task recorded for this endpoint and project (but ``excluding_run``'s)."""
        rows = self._db.execute(
            "SELECT group_id, video_source_id, service_name, fingerprint, state, run, batch,"
            " batch_id, message, at, inventory FROM cameras"
            " WHERE endpoint = ? AND project = ? AND run != ?",
            (endpoint, project, excluding_run),
        )
        return {(r[0], r[1], r[2]): LedgerEntry(*r) for r in rows}

    def record(self, endpoint: str, project: str, entries: Iterable[LedgerEntry]) -> int:
        """Upsert entries in one transaction; returns how many."""
        at = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [
            (
                endpoint,
                project,
                e.group_id,
                e.video_source_id,
                e.service_name,
                e.fingerprint,
                e.state,
                e.run,
                e.batch,
                e.batch_id,
                e.message,
                e.at or at,
                e.inventory,
            )
            for e in entries
        ]
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO cameras VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
        )
        self._db.execute("COMMIT")
        return len(rows)

    def close(self) -> None:
        self._db.close()
