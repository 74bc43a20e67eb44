"""
A run as every step reads it (``Run``): what was planned, the journal, the ledger that
follows it, the options and the run directory, bound once when the run is opened (new, or
rebuilt from its journal) and never changed. What the run learns goes to the journal and
its folds (``state``: the batches and changes; ``found``: the task ids found), never into
the plan. [no I/O of its own]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from loader.check.load import Loaded
from loader.model.cameras import Camera
from loader.planning.batches import Plan
from loader.planning.delta import Delta
from loader.run.options import RunOptions
from loader.run.plan import SheetPlan
from loader.run.prepared import ResultsAhead
from loader.send.engine import Job
from loader.send.observe import SourceNames
from loader.send.secrecy import Scrubber
from loader.state.events import CanaryFailed, RunStarted
from loader.state.follow import LedgerFollower
from loader.state.found import FoundTasks
from loader.state.journal import Journal
from loader.state.registered import Registration
from loader.state.runstate import RunState

if TYPE_CHECKING:  # a sheet of ids (most runs) never imports registration
    from loader.run.registration import Found


@dataclass(frozen=True, kw_only=True)
class Run:
    """One run, for one pass of its steps (a start, a resume, a reconcile)."""

    run_dir: Path
    started: RunStarted  # the run's first, as journaled
    planned: SheetPlan  # the sheet, its diff against the ledger, the batches of its creates
    options: RunOptions
    journal: Journal
    ledger: LedgerFollower  # open: the pass closes it with the journal
    scrubber: Scrubber  # the secrets met so far: no event, log line or file keeps them
    state: RunState  # the fold of the journal's batches and changes
    found: FoundTasks  # the fold of the task ids found for the changes
    # This pass's batches to create (secrets resolved), and those another run has taken
    # since this one was planned (why each is given up unsent).
    to_create: tuple[Job, ...] = ()
    taken: Mapping[str, str] = field(default_factory=dict)
    # What a pass learns that saves a later step work: video source names, results ahead.
    sources: SourceNames = field(default_factory=SourceNames)
    ahead: ResultsAhead = field(default_factory=ResultsAhead)
    # A sheet of names: the fold of the registration events; ``registering`` while its
    # sources and groups are to be registered before the batches are planned (``planned``
    # holds no batch yet), with the project's listing a new run read before it opened
    # (None: a resume lists it again).
    registration: Registration = field(default_factory=Registration)
    registering: bool = False
    names_found: Found | None = None

    @property
    def loaded(self) -> Loaded:
        return self.planned.loaded

    @property
    def plan(self) -> Plan:
        return self.planned.plan

    @property
    def delta(self) -> Delta:
        """The diff as planned (the changes' task ids as the ledger knew them)."""
        return self.planned.delta

    def changes_named(self) -> Delta:
        """The diff with the task ids found so far: what the changes and results read."""
        return self.found.named(self.planned.delta)

    @cached_property
    def camera_at(self) -> dict[int, Camera]:
        """The sheet's cameras by position (row)."""
        return {c.position: c for c in self.loaded.checked.cameras}

    @cached_property
    def batch_at(self) -> dict[int, str]:
        """The batch that creates each sent camera, by position."""
        return {p: b.name for b in self.plan.batches for p in b.of.position[b.at].tolist()}

    @property
    def ledger_path(self) -> Path:
        return self.options.ledger

    def canary_failed(self) -> str:
        """Why the rest is held back by the canary's verdict, or ""."""
        verdict = self.state.verdict
        return f"canary failed: {verdict.reason}" if isinstance(verdict, CanaryFailed) else ""
