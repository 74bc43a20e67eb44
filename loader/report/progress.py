"""Progress bars for a run on stderr (rich), fed by the run's events."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from loader.state.events import (
    BatchAccepted,
    BatchAmbiguous,
    BatchGaveUp,
    BatchPlanned,
    BatchRejected,
    BatchRetrying,
    BatchSending,
    Event,
    RunStarted,
)
from loader.state.runstate import RunState


class RunProgress:
    """Batches and cameras settled, with retries and in-doubt lookups, as the run goes."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<8}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
        )
        self.batches = self.progress.add_task("batches", total=None, note="")
        self.cameras = self.progress.add_task("cameras", total=None, note="")
        self.done: set[str] = set()  # batches counted: a batch found by name is accepted twice
        self.retries = 0
        self.in_doubt = 0
        self.sent = 0
        self.began = time.monotonic()

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def __call__(self, event: Event, state: RunState) -> None:
        """Move the bars for one recorded event."""
        match event:
            case RunStarted():
                self.began, self.sent = time.monotonic(), 0
                settled = [b for b in state.batches.values() if b.settled]
                self.done = {b.name for b in settled}
                self.progress.update(
                    self.batches, total=len(state.batches) or event.batches, completed=len(settled)
                )
                self.progress.update(
                    self.cameras, total=event.cameras, completed=sum(b.cameras for b in settled)
                )
            case BatchPlanned():
                pass
            case BatchAccepted() | BatchRejected() | BatchGaveUp():
                self._settled(event, state)
            case BatchSending():
                self.sent += 1
            case BatchRetrying():
                self.retries += 1
            case BatchAmbiguous():
                self.in_doubt += 1
        rate = self.sent / max(time.monotonic() - self.began, 1e-6)
        note = f"{rate:.1f} sends/s  retries {self.retries}  in doubt {self.in_doubt}"
        self.progress.update(self.batches, note=note)

    def _settled(self, event: Event, state: RunState) -> None:
        """Count a batch once when it is accepted, refused or given up (never past the total)."""
        if event.batch in self.done:
            return
        self.done.add(event.batch)
        self.progress.advance(self.batches)
        batch = state.batches.get(event.batch)
        if isinstance(event, BatchAccepted) and batch is not None:
            self.progress.advance(self.cameras, batch.cameras)
