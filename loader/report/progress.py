"""
Progress bars for a run on stderr (rich), fed by the run's events; with ``--canary``, a
third line says where the canary stands (sent alone, waiting for its tasks, its verdict).
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from loader.send.learn import RefreshProgress
from loader.state.events import (
    BatchAbsent,
    BatchAccepted,
    BatchAmbiguous,
    BatchGaveUp,
    BatchLookedUp,
    BatchPlanned,
    BatchRejected,
    BatchRetrying,
    BatchSending,
    CanaryFailed,
    CanaryPassed,
    CanaryWaiting,
    ChangeDone,
    ChangeGaveUp,
    ChangeRefused,
    ChangeSending,
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
        self.canary = self.progress.add_task("canary", total=None, note="", visible=False)
        self.changes = self.progress.add_task("changes", total=None, note="", visible=False)
        self.changed: set[str] = set()  # changes settled (counted once)
        self.looking: dict[str, float] = {}  # batch in doubt -> wall time its lookups end
        self.done: set[str] = set()  # batches counted: a batch found by name is accepted twice
        self.retries = 0
        self.in_doubt = 0
        self.sent = 0
        self.began = time.monotonic()
        self.shown = False

    def __enter__(self) -> RunProgress:
        return self  # the bars appear with the run's first event, not before: a question
        # asked before it (--prune's) or an error found before it prints on a quiet screen

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.shown:
            self.progress.stop()

    def __call__(self, event: Event, state: RunState) -> None:
        if not self.shown:
            self.shown = True
            self.progress.start()
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
                self._canary_started(state)
            case BatchPlanned():
                pass
            case BatchAccepted() | BatchRejected() | BatchGaveUp() | BatchAbsent():
                self.looking.pop(event.batch, None)
                if not isinstance(event, BatchAbsent):
                    self._settled(event, state)
            case BatchLookedUp() if event.window_left > 0:
                self.looking[event.batch] = time.time() + event.window_left
            case BatchSending():
                self.sent += 1
            case ChangeSending():
                self.sent += 1
                self.progress.update(self.changes, visible=True)
            case ChangeDone() | ChangeRefused() | ChangeGaveUp():
                if event.change not in self.changed:
                    self.changed.add(event.change)
                    self.progress.update(self.changes, completed=len(self.changed))
            case BatchRetrying():
                self.retries += 1
            case BatchAmbiguous():
                self.in_doubt += 1
            case CanaryWaiting():
                note = f"{event.cameras} cameras, waiting for tasks to run (<= {event.wait:g} s)"
                self.progress.update(self.canary, completed=0, note=note)
            case CanaryPassed():
                self.progress.update(self.canary, completed=event.tasks, note="canary passed")
            case CanaryFailed():
                self.progress.update(self.canary, note=f"canary failed: {escape(event.reason)}")
        rate = self.sent / max(time.monotonic() - self.began, 1e-6)
        note = f"{rate:.1f} sends/s  retries {self.retries}  in doubt {self.in_doubt}"
        self.progress.update(self.batches, note=note + self._looking_note())

    def _looking_note(self) -> str:
        """What the run waits for: the batches whose lost answer it looks up, and until
        when (after that a batch not found is sent again)."""
        if not self.looking:
            return ""
        until = time.strftime("%H:%M:%S", time.localtime(max(self.looking.values())))
        count = len(self.looking)
        return f"  looking up {count} batch{'es' if count > 1 else ''} by name until {until}"

    def _canary_started(self, state: RunState) -> None:
        """Show the canary's line when the run has one, with its verdict so far."""
        canary = state.canary
        if canary is None:
            return
        verdict = state.verdict
        if isinstance(verdict, CanaryPassed):
            note, done = "canary passed", canary.cameras
        elif isinstance(verdict, CanaryFailed):
            note, done = "canary failed before: judged again first", 0
        else:
            note, done = f"{canary.cameras} cameras go first; the rest waits for their tasks", 0
        self.progress.update(
            self.canary, visible=True, total=canary.cameras, completed=done, note=note
        )

    def _settled(self, event: Event, state: RunState) -> None:
        """Count a batch once when it is accepted, refused or given up (never past the total)."""
        if event.batch in self.done:
            return
        self.done.add(event.batch)
        self.progress.advance(self.batches)
        batch = state.batches.get(event.batch)
        if isinstance(event, BatchAccepted) and batch is not None:
            self.progress.advance(self.cameras, batch.cameras)


class RefreshBar:
    """``bulkload refresh``: batches and tasks read, as the refresh goes."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<8}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
        )
        self.batches = self.progress.add_task("batches", total=None)
        self.tasks = self.progress.add_task("tasks", total=None)

    def __enter__(self) -> RefreshBar:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def __call__(self, now: RefreshProgress) -> None:
        self.progress.update(self.batches, completed=now.batches_done, total=now.batches_total)
        self.progress.update(self.tasks, completed=now.tasks_done, total=now.tasks_total)
