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
from loader.state.events import CanaryFailed, CanaryPassed, CanaryWaiting, Event, RunStarted
from loader.state.runstate import RunState
from loader.state.tally import Tally


class RunProgress:
    """The run's ``Tally`` as bars: batches done, cameras accepted, changes settled, with
    the sends per second, retries and in-doubt lookups of this pass."""

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
        self.tally: Tally | None = None  # made with the run's state, at its first event
        self.began = time.monotonic()
        self.sends_before = 0  # sends counted before this pass began
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
        """Count one recorded event (the run folded it into ``state``) and move the bars."""
        if not self.shown:
            self.shown = True
            self.progress.start()
        if self.tally is None or self.tally.state is not state:
            self.tally = Tally(state)
        tally = self.tally
        tally.count(event, time.time())
        if isinstance(event, RunStarted):
            self.began, self.sends_before = time.monotonic(), tally.sent + tally.changes_sent
            self.progress.update(self.batches, total=tally.batches)
            self.progress.update(self.cameras, total=event.cameras)
            self._canary_started(state)
        self._canary(event)
        self.progress.update(self.batches, completed=tally.done, note=self._note(tally))
        self.progress.update(self.cameras, completed=tally.cameras_accepted)
        if tally.changes_sent:
            self.progress.update(self.changes, visible=True, completed=len(tally.changes_settled))

    def _note(self, tally: Tally) -> str:
        """The batches line's note: this pass's sends per second, retries, answers lost,
        and the lookups the run waits for."""
        sends = tally.sent + tally.changes_sent - self.sends_before
        rate = sends / max(time.monotonic() - self.began, 1e-6)
        note = f"{rate:.1f} sends/s  retries {tally.retried}  in doubt {tally.in_doubt}"
        return note + self._looking_note(tally)

    @staticmethod
    def _looking_note(tally: Tally) -> str:
        """What the run waits for: the batches whose lost answer it looks up, and until
        when (after that a batch not found is sent again)."""
        if not tally.looking:
            return ""
        until = time.strftime("%H:%M:%S", time.localtime(max(tally.looking.values())))
        count = len(tally.looking)
        return f"  looking up {count} batch{'es' if count > 1 else ''} by name until {until}"

    def _canary(self, event: Event) -> None:
        """The canary's line as its news comes."""
        match event:
            case CanaryWaiting():
                note = f"{event.cameras} cameras, waiting for tasks to run (<= {event.wait:g} s)"
                self.progress.update(self.canary, completed=0, note=note)
            case CanaryPassed():
                self.progress.update(self.canary, completed=event.tasks, note="canary passed")
            case CanaryFailed():
                self.progress.update(self.canary, note=f"canary failed: {escape(event.reason)}")

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
