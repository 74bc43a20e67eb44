"""
The counts a person watches while a run goes, folded once from its events for every view:
the terminal's bars (``report.progress``) and the run's page (``web.feed``) render the same
``Tally``. It rests on the run's ``RunState`` (which batch is settled, how many cameras it
holds) and adds what only a watcher needs: requests sent, retried and in flight, answers
lost, lookups under way, the measured rate, tasks checked.

A batch is *done* once it is settled as ``RunState`` says: accepted, or refused (by the
API, or given up for good because the API refused the run: no resume sends it). A batch
given up for now (Stop, Ctrl-C, an outage) is not done: it is *left* for later, and resume
sends it. Pure.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Final

from loader.state import events as ev
from loader.state.runstate import BatchStatus, ChangeStatus, RunState

RATE_WINDOW: Final = 10.0  # seconds of answers the current rate counts (longer at low rates)
# Answers to a create request: what the pacer lets out, one per request that went.
_ANSWERS: Final = (ev.BatchAccepted, ev.BatchRejected, ev.BatchRetrying, ev.BatchAmbiguous)
# Events after which a batch's lookups by name are over (found, refused, given up, absent).
_LOOKED_UP: Final = (ev.BatchAccepted, ev.BatchRejected, ev.BatchGaveUp, ev.BatchAbsent)


@dataclass
class Tally:
    """A run's counts so far (a resume's events continue the same counts).

    ``apply`` folds an event into ``state`` and counts it; ``count`` only counts, for a
    watcher whose ``state`` the run folds itself (the terminal's).
    """

    state: RunState = field(default_factory=RunState)
    batches: int = 0  # planned
    cameras: int = 0  # planned
    sent: int = 0  # create requests sent, every attempt
    changes_sent: int = 0  # change requests sent, every attempt
    retried: int = 0
    in_doubt: int = 0  # unclear answers so far (each looked up before any resend)
    checked: int = 0  # batches whose tasks were asked about since the run (re)started
    limit: float = 0.0  # the run's --rate: requests per second at most
    stop_reason: str = ""
    canary: ev.Event | None = None  # the canary's latest news (waiting, passed, failed)
    accepted: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    left: set[str] = field(default_factory=set)  # given up for now, since the run (re)started
    doubtful: set[str] = field(default_factory=set)  # answer lost, not settled nor absent yet
    flying: set[str] = field(default_factory=set)  # requests out, unanswered
    looking: dict[str, float] = field(default_factory=dict)  # batch -> time its lookups end
    changes_done: set[str] = field(default_factory=set)
    changes_settled: set[str] = field(default_factory=set)  # done or refused
    cameras_accepted: int = 0
    numbers: dict[str, int] = field(default_factory=dict)  # batch -> its place in the plan
    answers: deque[float] = field(default_factory=deque)  # times of the recent answers

    def __post_init__(self) -> None:
        self._seed()

    def apply(self, event: ev.Event, at: float) -> None:
        """Fold ``event`` (recorded at unix time ``at``) into the state, then count it."""
        self.state.apply(event)
        self.count(event, at)

    @property
    def done(self) -> int:
        """Batches settled: accepted or refused (given-up ones are left for later)."""
        return len(self.accepted) + len(self.refused)

    @property
    def finished(self) -> ev.RunFinished | None:
        """How the latest pass ended, once it has."""
        return self.state.finished

    @property
    def in_flight(self) -> int:
        """Requests sent whose answer has not come yet."""
        return len(self.flying)

    def rate(self, now: float) -> float | None:
        """Create requests per second, measured between the answers of the last
        RATE_WINDOW seconds (longer when the run's limit spaces them wider); None until
        two answers came in that window."""
        window = max(RATE_WINDOW, 3 / self.limit) if self.limit else RATE_WINDOW
        while self.answers and self.answers[0] < now - window:
            self.answers.popleft()
        if len(self.answers) < 2 or self.answers[-1] <= self.answers[0]:
            return None
        return (len(self.answers) - 1) / (self.answers[-1] - self.answers[0])

    def count(self, event: ev.Event, at: float) -> None:
        """Move the counts ``event`` moves (``state`` has folded it already)."""
        if event.batch and not isinstance(event, ev.BatchSending | ev.BatchPlanned):
            self.flying.discard(event.batch)
        if isinstance(event, _ANSWERS) and not getattr(event, "found_by_lookup", False):
            self.answers.append(at)
        if isinstance(event, _LOOKED_UP):
            self.looking.pop(event.batch, None)
        if isinstance(event, ev.ChangeSending | ev.ChangeDone | ev.ChangeRefused):
            self._count_change(event)
        elif isinstance(event, ev.ChangeRetrying | ev.ChangeAmbiguous | ev.ChangeGaveUp):
            self.flying.discard(f"change {event.change}")
        else:
            self._count_batch(event, at)
        self._settle(event.batch)

    def _count_batch(self, event: ev.Event, at: float) -> None:
        """The counts a run's or a batch's event moves."""
        match event:
            case ev.RunStarted():
                self._started(event)
            case ev.BatchPlanned():
                self.numbers.setdefault(event.batch, len(self.numbers) + 1)
                self.batches = max(self.batches, len(self.state.batches))
            case ev.BatchSending():
                self.sent += 1
                self.flying.add(event.batch)
            case ev.BatchRetrying():
                self.retried += 1
            case ev.BatchAmbiguous():
                self.in_doubt += 1
                self.doubtful.add(event.batch)
            case ev.BatchAbsent():
                self.doubtful.discard(event.batch)
            case ev.BatchLookedUp() if event.window_left > 0:
                self.looking[event.batch] = at + event.window_left
            case ev.BatchGaveUp():
                self.left.add(event.batch)
            case ev.TasksObserved():
                self.checked += 1
            case ev.LookupFailed() if event.what == "task list":
                self.checked += 1
            case ev.CanaryWaiting() | ev.CanaryPassed() | ev.CanaryFailed():
                self.canary = event
            case ev.RunInterrupted():
                self.stop_reason = event.reason
            case ev.RunFinished():
                self.checked = 0
                self.flying.clear()

    def _count_change(self, event: ev.ChangeSending | ev.ChangeDone | ev.ChangeRefused) -> None:
        """A change sent or settled, each change counted once however many events say so."""
        key = f"change {event.change}"
        if isinstance(event, ev.ChangeSending):
            self.changes_sent += 1
            self.flying.add(key)
            return
        self.flying.discard(key)
        change = self.state.changes.get(event.change)
        if change is not None and change.settled:
            self.changes_settled.add(event.change)
            if change.status == ChangeStatus.DONE:
                self.changes_done.add(event.change)

    def _started(self, event: ev.RunStarted) -> None:
        """A pass begins: its totals, its limit; what the fold already settled counts."""
        self.batches = max(self.batches, event.batches, len(self.state.batches))
        self.cameras = event.cameras or self.cameras
        rate = event.options.get("rate")
        self.limit = float(rate) if isinstance(rate, int | float) else self.limit
        self.stop_reason, self.checked = "", 0
        self.left.clear()  # a resume tries them again
        self.flying.clear()
        self._seed()

    def _seed(self) -> None:
        """Count what the fold settled before this tally saw it (a resume's terminal)."""
        for name in self.state.batches:
            self._settle(name)
        for change in self.state.changes.values():
            if change.settled:
                self.changes_settled.add(change.change)
            if change.status == ChangeStatus.DONE:
                self.changes_done.add(change.change)

    def _settle(self, name: str) -> None:
        """Count a batch once, the first time the fold says it is settled."""
        batch = self.state.batches.get(name)
        if batch is None or not batch.settled or name in self.accepted or name in self.refused:
            return
        self.doubtful.discard(name)
        if batch.status == BatchStatus.ACCEPTED:
            self.accepted.add(name)
            self.cameras_accepted += batch.cameras
        else:
            self.refused.add(name)
