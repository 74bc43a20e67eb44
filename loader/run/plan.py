"""
The plan step every command shares: a loaded sheet diffed against the ledger (when the
endpoint and project are known) and its creates batched. ``bulkload plan``, the page's
Plan and Send pages, and a run (new or rebuilt for resume) all call it, so that what a
plan shows is what a run sends. Also where the ledger is (``ledger_path``). [I/O: reads
the ledger]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Final

from loader.check.load import Loaded
from loader.planning.batches import Plan, plan
from loader.planning.delta import Delta, partition
from loader.run.options import RunOptions
from loader.state.ledger import Ledger

RUNS_DIR: Final = Path("runs")
LEDGER: Final = "ledger.sqlite"


@dataclass(frozen=True)
class Target:
    """Where the diff's ledger entries come from: one endpoint and project in one ledger."""

    endpoint: str
    project: str
    ledger: Path


@dataclass(frozen=True)
class Planned:
    """A sheet's plan: the diff (``delta``), the batches of what it sends (``plan``), and
    what the diff was made against (``target``; None: an empty project)."""

    loaded: Loaded
    delta: Delta
    plan: Plan
    target: Target | None

    @cached_property
    def rows(self) -> Mapping[int, int]:
        """The Excel row of each camera row, by position (what a diff and results name)."""
        return self.loaded.checked.excel_rows()

    @property
    def inventory(self) -> str:
        """The sheet's file name (a removal loaded by another file is named as such)."""
        return Path(self.loaded.checked.file).name


def ledger_path(options: RunOptions, run_dir: Path | None = None) -> Path:
    """The ledger a command uses: --ledger, else ``ledger.sqlite`` beside the runs (the
    parent of a run's directory, ``runs/`` by default)."""
    if options.ledger is not None:
        return options.ledger
    return (run_dir.parent if run_dir is not None else RUNS_DIR) / LEDGER


def target_of(options: RunOptions, run_dir: Path | None = None) -> Target | None:
    """The endpoint, project and ledger to diff against; None when either is not given
    (``bulkload plan`` of a sheet alone: every camera is new)."""
    if not (options.target.endpoint and options.target.project_id):
        return None
    endpoint, project = options.api_target()
    return Target(endpoint, project, ledger_path(options, run_dir))


def plan_sheet(
    loaded: Loaded, options: RunOptions, target: Target | None, *, excluding_run: str = ""
) -> Planned:
    """The diff of ``loaded`` against ``target``'s ledger (``excluding_run``'s own entries
    left out: a resumed run diffs as it did at its start), and the batches of its creates."""
    delta = diff_sheet(loaded, options, target, excluding_run=excluding_run)
    return Planned(loaded, delta, batches_of(loaded, delta, options), target)


def diff_sheet(
    loaded: Loaded, options: RunOptions, target: Target | None, *, excluding_run: str = ""
) -> Delta:
    """The diff of the sheet against the ledger (an empty one without a target)."""
    known, documents = {}, {}
    if target is not None:
        with Ledger(target.ledger) as ledger:
            known = ledger.entries(target.endpoint, target.project, excluding_run=excluding_run)
            documents = ledger.documents(target.endpoint, target.project)
    checked = loaded.checked
    return partition(
        checked.cameras,
        checked.settings_classes,
        known,
        documents,
        retry_failed=options.retry_failed,
        inventory=Path(checked.file).name,
        deleting=options.prune == "delete",
    )


def batches_of(loaded: Loaded, delta: Delta, options: RunOptions) -> Plan:
    """The batches of the cameras to send, as the options say (byte cap, canary first)."""
    return plan(
        delta.send,
        loaded.checked.settings_classes,
        max_payload_bytes=options.max_payload_bytes,
        canary=options.canary,
    )
