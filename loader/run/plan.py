"""
The plan step every command shares: a loaded sheet diffed against the ledger (when the
endpoint and project are known) and its creates batched. ``bulkload plan``, the page's
Plan and Send pages, and a run (new or rebuilt for resume) all call it, so that what a
plan shows is what a run sends. It takes the few choices that shape a plan
(``PlanChoices``), never a command's whole options. [I/O: reads the ledger]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Final

from loader.check.load import Loaded
from loader.check.validate import Checked
from loader.planning.batches import Plan, plan
from loader.planning.delta import Delta, partition
from loader.run.options import LedgerScope, PlanChoices
from loader.state.ledger import Ledger

if TYPE_CHECKING:  # a run never imports these: registration only for a sheet of names
    from loader.planning.drift import Drift
    from loader.planning.registration import RegistrationPlan

# The diff's counts that mean the project differs from the sheet (a run, a flag or a
# person would change something); "unchanged" is the only one that does not.
PENDING_COUNTS: Final = (
    "create",
    "update",
    "replace",
    "remove",
    "restart",
    "held_failed",
    "held_unknown",
    "held_changed",
)


@dataclass(frozen=True)
class SheetPlan:
    """A sheet's plan: the diff (``delta``), the batches of what it sends (``plan``), and
    what the diff was made against (``scope``; None: an empty project)."""

    loaded: Loaded
    delta: Delta
    plan: Plan
    scope: LedgerScope | None

    @cached_property
    def rows(self) -> Mapping[int, int]:
        """The Excel row of each camera row, by position (what a diff and results name)."""
        return self.loaded.checked.excel_rows()

    @property
    def inventory(self) -> str:
        """The sheet's file name (a removal loaded by another file is named as such)."""
        return Path(self.loaded.checked.file).name


def plan_sheet(
    loaded: Loaded, choices: PlanChoices, scope: LedgerScope | None, *, excluding_run: str = ""
) -> SheetPlan:
    """The diff of ``loaded`` against ``scope``'s ledger (``excluding_run``'s own entries
    left out: a resumed run diffs as it did at its start), and the batches of its creates."""
    delta = diff_sheet(loaded, choices, scope, excluding_run=excluding_run)
    return SheetPlan(loaded, delta, batches_of(loaded, delta, choices), scope)


def diff_sheet(
    loaded: Loaded, choices: PlanChoices, scope: LedgerScope | None, *, excluding_run: str = ""
) -> Delta:
    """The diff of the sheet against the ledger (an empty one without a scope)."""
    known, documents = {}, {}
    if scope is not None:
        with Ledger(scope.ledger) as ledger:
            known = ledger.entries(scope.endpoint, scope.project, excluding_run=excluding_run)
            documents = ledger.documents(scope.endpoint, scope.project)
    checked = loaded.checked
    return partition(
        checked.cameras,
        checked.settings_classes,
        known,
        documents,
        retry_failed=choices.retry_failed,
        inventory=Path(checked.file).name,
        deleting=choices.deleting,
    )


def batches_of(loaded: Loaded, delta: Delta, choices: PlanChoices) -> Plan:
    """The batches of the cameras to send, as the choices say (byte cap, canary first).
    Every checked camera sent (no ledger holds any): their group codes are validation's."""
    checked = loaded.checked
    return plan(
        delta.send,
        checked.settings_classes,
        max_payload_bytes=choices.max_payload_bytes,
        canary=choices.canary,
        group_codes=checked.group_codes() if delta.send is checked.cameras else None,
    )


@dataclass(frozen=True)
class PlanReport:
    """What ``bulkload plan`` and the Plan page show, decided once: the sheet's plan
    (``planned``, as a run calls it too), the
    API's counts of its batches (``drift``; None: not asked) and the payload files written
    (``--out``). The terminal, ``--json``, plan.json and the page render it; the exit code
    is decided from it, never read back from a rendering."""

    planned: SheetPlan
    drift: Drift | None = None
    written: tuple[str, ...] = ()
    # What finding the sheet's names in the project plans (None: a sheet of ids, or no
    # endpoint to find them at).
    registration: RegistrationPlan | None = None

    @property
    def checked(self) -> Checked:
        return self.planned.loaded.checked

    @cached_property
    def pending(self) -> dict[str, int]:
        """What differs from the sheet: the diff's counts but "unchanged", and ``drift``
        (the sheet's batches whose tasks need something, and those the API lists no more)."""
        counts = {str(kind): count for kind, count in self.planned.delta.counts().items()}
        found = {kind: counts[kind] for kind in PENDING_COUNTS if counts.get(kind)}
        drift = self.drift
        if drift is not None and drift.checked and drift.pending:
            found["drift"] = sum(1 for b in drift.drifted if b.pending) + len(drift.missing)
        if self.registration is not None:
            found |= {k: n for k, n in self.registration.counts().items() if n}
        return found

    def exit_code(self, *, detailed: bool) -> int:
        """``bulkload plan``'s exit code: 0 or 1 (rows rejected) as validate's; ``detailed``
        (``--detailed-exitcode``, terraform's convention): 1 an error (rows rejected, or
        drift not known with an endpoint given), 2 changes pending, 0 none."""
        from loader.report.summaries import exit_code  # ``plan`` only: a run's is the end's

        rows = exit_code(self.checked)
        if not detailed:
            return rows
        if rows or (self.drift is not None and not self.drift.checked):
            return 1
        return 2 if self.pending else 0
