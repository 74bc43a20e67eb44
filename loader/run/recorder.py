"""
The one recorder of a run's events: each is scrubbed of secrets once, journaled (durable)
before anything depends on it, then folded (the run's state, the task ids found), followed
by the ledger (``state.follow``), logged and shown. Every step emits through it (the pass's
``Sender.emit``). [I/O: SQLite, log file]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from loader.run import logs
from loader.run.run import Run
from loader.state.events import BatchSending, Event, decode, encode

if TYPE_CHECKING:  # the summaries are the end's: imported once the run sends (``runner``)
    from loader.report.summaries import Observer


class Recorder:
    """Journal first, then the folds, the ledger, the log and the observer."""

    def __init__(self, run: Run, observer: Observer | None) -> None:
        self.run, self.observer = run, observer
        self.answered = anyio.Event()  # the first answer to a batch came (or its verdict)

    async def __call__(self, event: Event) -> None:
        run = self.run
        # Secrets an API answer may echo are masked before anything keeps the event.
        clean = decode(event.kind, event.batch, run.scrubber(encode(event)))
        await run.journal.record(clean)
        run.state.apply(clean)  # folding is idempotent: a settler folds its job's too
        run.found.apply(clean)
        run.registration.apply(clean)
        await run.ledger.after(clean)
        if clean.batch and not isinstance(clean, BatchSending):
            self.answered.set()
        logs.log_event(clean)
        if self.observer is not None:
            self.observer(clean, run.state)
