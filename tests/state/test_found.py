"""The task ids a run finds sit beside its plan: the fold names the changes, the plan stays."""

from __future__ import annotations

from loader.model.cameras import LedgerEntry, LedgerState
from loader.planning.delta import Change, Delta, TaskChange
from loader.state.events import RunStarted, TaskIdsFound
from loader.state.found import FoundTasks


def _change(source: str, task_id: str = "", task_name: str = "") -> TaskChange:
    """An update of ``source``'s task in batch b-1, the ledger knowing its id or not."""
    entry = LedgerEntry(
        "g1", source, "c-smoke", "m", LedgerState.LOADED, "run-1", "bulkload-1", "b-1",
        task_id=task_id, task_name=task_name,
    )  # fmt: skip
    return TaskChange(Change.UPDATE, ("g1", source, "c-smoke"), entry, position=1)


def _found(*rows: list[str]) -> TaskIdsFound:
    return TaskIdsFound(batch_ids=["b-1"], tasks=list(rows))


def test_the_changes_are_named_and_the_plan_is_left_as_it_was() -> None:
    """A change known by batch only gets the id and name found; the planned delta keeps none."""
    plan = Delta(send=[], updates=[_change("cam-1")], removes=[_change("cam-2")])
    found = FoundTasks([_found(["b-1", "cam-1", "t-1", "n-1"], ["b-1", "cam-2", "t-2", "n-2"])])

    named = found.named(plan)

    ids = [(c.entry.task_id, c.entry.task_name) for c in [*named.updates, *named.removes]]
    assert (ids, plan.updates[0].entry.task_id, plan.removes[0].entry.task_id) == (
        [("t-1", "n-1"), ("t-2", "n-2")],
        "",
        "",
    )


def test_an_older_runs_rewritten_diff_keeps_the_ids_it_holds() -> None:
    """A journal from before TaskIdsFound (its diff.json rewritten with the ids): nothing
    to fold, and what an entry knew stands even when a fold names another task."""
    plan = Delta(send=[], updates=[_change("cam-1", "t-old", "n-old")])

    alone = FoundTasks().named(plan)
    over = FoundTasks([_found(["b-1", "cam-1", "t-new", "n-new"])]).named(plan)

    assert (alone is plan, over.updates[0].entry.task_id) == (True, "t-old")


def test_a_resumed_pass_lists_again_but_keeps_the_ids() -> None:
    """RunStarted (a resume) clears the batches listed this pass; the ids found stay."""
    found = FoundTasks([_found(["b-1", "cam-1", "t-1", "n-1"])])
    listed_before = set(found.listed)

    found.apply(RunStarted(resumed=True))

    assert (listed_before, found.listed, found.tasks) == (
        {"b-1"},
        set(),
        {("b-1", "cam-1"): ("t-1", "n-1")},
    )
