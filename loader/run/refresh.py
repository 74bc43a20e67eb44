"""
``bulkload refresh``: the ledger of one endpoint and project rebuilt, or brought up to
date, from the API (``send.learn`` reads and records), for a second operator or one who
lost the ledger. One client and one pacer at ``--rate``, as a run has. [I/O: files, HTTP]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC
from pathlib import Path
from typing import Any

import anyio

from loader.run.options import RunOptions
from loader.run.runner import Wiring
from loader.send.learn import RefreshProgress, RefreshResult, learn
from loader.send.secrecy import Scrubber
from loader.state.ledger import Ledger

__all__ = ["RefreshProgress", "RefreshReport", "RefreshResult", "refresh_ledger"]


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh did, and to which ledger."""

    endpoint: str
    project_id: str
    ledger: Path
    run: str  # the name learned entries carry: refresh-<UTC time>
    result: RefreshResult

    @property
    def exit_code(self) -> int:
        """3 stopped or batches left (refresh again resumes), 1 tasks not resolved, else 0."""
        if not self.result.complete:
            return 3
        return 1 if self.result.unresolved else 0

    def summary(self) -> dict[str, Any]:
        """JSON-ready counts and lists, for ``--json`` and the console summary."""
        result = asdict(self.result)
        result["complete"] = self.result.complete
        result["tasks_unresolved"] = self.result.tasks_unresolved
        return {
            "endpoint": self.endpoint,
            "project_id": self.project_id,
            "ledger": str(self.ledger),
            "run": self.run,
            "exit_code": self.exit_code,
            **result,
        }


def refresh_ledger(
    options: RunOptions,
    *,
    prefixes: Sequence[str] = (),
    again: bool = False,
    observer: Callable[[RefreshProgress], None] | None = None,
    wiring: Wiring = Wiring(),  # noqa: B008 - a frozen dataclass: one shared default is safe
) -> RefreshReport:
    """Refresh the ledger (``--ledger``, else ``runs/ledger.sqlite``) from the API.

    ``prefixes``: batch name prefixes managed besides ``bulkload`` and the ledger's own.
    ``again``: read every batch, not only those a stopped refresh left. StorageError from
    the ledger passes through; missing credentials are a ConfigError before any request.
    """
    connection = options.connection()
    endpoint, project_id = connection.endpoint, connection.project_id
    path = options.ledger
    run = f"refresh-{wiring.wall().astimezone(UTC):%Y%m%dT%H%M%SZ}"

    async def work() -> RefreshResult:
        async with connection.open(wiring.clock, wiring.transport) as client:
            return await learn(
                client,
                ledger,
                endpoint=endpoint,
                project=project_id,
                run=run,
                clock=wiring.clock,
                prefixes=prefixes,
                again=again,
                concurrency=options.pacing.concurrency,
                observer=observer,
            )

    with Ledger(path) as ledger:
        result = anyio.run(work)
    scrub = Scrubber(connection.auth.secrets)  # an API answer may echo a credential
    result.stop_reason = scrub(result.stop_reason)
    result.unresolved = [replace(u, reason=scrub(u.reason)) for u in result.unresolved]
    result.unread = [(batch, scrub(reason)) for batch, reason in result.unread]
    return RefreshReport(endpoint, project_id, path, run, result)
