"""
The end of a pass, once: outcomes -> ledger -> results workbook -> RunInterrupted /
RunFinished -> summary -> exit code. What the changes did is read from the diff with the
task ids found (``Run.changes_named``); which of the ledger's tasks are the sheet's is the
planning stage's rule (``planning.delta.leaving``). [I/O: files, SQLite]
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from loader.bulk import bulk
from loader.errors import StorageError
from loader.model.cameras import LedgerEntry, exit_code_of
from loader.planning.delta import Delta, camera_keys, leaving
from loader.report import files
from loader.report.changes import changes_table
from loader.report.results import build, registered_table
from loader.report.summaries import RunReport, format_run
from loader.report.workbook import write_results
from loader.run.run import Run
from loader.run.steps import Activity
from loader.state.events import RunFinished, RunInterrupted
from loader.state.follow import change_entries
from loader.state.outcomes import (
    Outcomes,
    needing_attention,
    outcomes,
    overlay,
    removed_status,
)
from loader.state.registered import Registration
from loader.state.rundir import RESULTS, SUMMARY
from loader.state.runstate import BatchStatus


def finish(run: Run, activity: Activity, seconds: float) -> RunReport:
    """RunInterrupted/RunFinished, ledger, results workbook, summary, exit code."""
    stop_reason = run.scrubber(activity.stop_reason)
    state = run.state
    counts = {
        "batches": len(state.batches),
        "accepted": state.count(BatchStatus.ACCEPTED),
        "rejected": state.count(BatchStatus.REJECTED),
        "unsettled": len(state.unsettled()),
        "held": len(state.held()),
        "failed_cameras": sum(b.failed for b in state.batches.values()),
    }
    delta = run.changes_named()
    facts = _facts(run, stop_reason, activity.retries, seconds)
    statuses = conclude(run, delta, facts).counts()
    removed = dict(Counter(removed_status(state, c)[0] for c in delta.removes))
    code = max(exit_code_for(statuses, counts), exit_code_of(removed))
    if run.registering:  # registration cut short: no batch planned yet (resume goes on)
        code = 3
        run.journal.append(RunInterrupted(reason=stop_reason or "registration unfinished"))
    elif counts["unsettled"]:
        run.journal.append(RunInterrupted(reason=stop_reason or "unsettled batches"))
    run.journal.append(RunFinished(exit_code=code, counts={**counts, **statuses}))
    report = RunReport(
        run_dir=run.run_dir,
        results=run.run_dir / RESULTS,
        state=state,
        loaded=run.loaded,
        exit_code=code,
        stop_reason=stop_reason,
        seconds=seconds,
        retries=activity.retries,
        lookups=activity.lookups,
        counts=counts,
        registered=run.registration.counts(),
        statuses=statuses,
        removed=removed,
    )
    try:
        files.write_json(run.run_dir / SUMMARY, format_run(report))
    except StorageError as exc:  # after sending: resume or reconcile writes it again
        raise StorageError(exc.message, hint=exc.hint) from exc
    return report


def exit_code_for(statuses: dict[str, int], counts: dict[str, int]) -> int:
    """3 something unknown or unsettled (resume/reconcile), 1 rows rejected or failed, else 0."""
    if counts.get("unsettled"):
        return 3
    return max(exit_code_of(statuses), 1 if counts.get("rejected") else 0)


@bulk
def conclude(run: Run, delta: Delta, facts: list[tuple[str, str]]) -> Outcomes:
    """The run's outcomes, computed once: recorded in the ledger, then written to results.xlsx.

    ``delta``: the diff with the task ids found. A ledger that cannot be written ends the
    run with its StorageError, after the results are on disk. Cameras no longer in the
    sheet come from the ledger as the run read it.
    """
    state = run.state
    result = outcomes(run.loaded, run.plan, delta, state)
    overlay(result.status, result.message, result.task_state, delta, state)
    failure: StorageError | None = None
    try:
        run.ledger.conclude(result, delta.send, _change_entries(run, delta))
    except StorageError as exc:
        failure = exc
    changes = changes_table(delta, state, result.status, result.message, run.planned.rows)
    counts = ", ".join(f"{k} {v:,}" for k, v in delta.counts().items() if v)
    facts = [*facts, ("Changes planned", counts or "none")]
    prepared = run.ahead.prepared
    static, codes = (prepared.columns, prepared.codes) if prepared else (None, None)
    absent = _absent(run, delta)
    results = build(run.loaded, run.plan, state, result, facts, absent, changes, static, codes)
    results.registered = registered_table(registered_rows(run.registration))
    rendered, segments = (prepared.rendered, prepared.segments) if prepared else (None, None)
    write_results(run.run_dir / RESULTS, results, rendered, segments)
    run.journal.keep_results(needing_attention(run.loaded, result))  # for its page
    if failure is not None:
        raise failure
    return result


_HOW = {"source": "registered", "group": "registered", "join": "joined", "update": "updated"}


def registered_rows(registration: Registration) -> list[tuple[str, str, str, str, str]]:
    """The Registered sheet's rows: what the run's registration did, by kind and name."""
    rows = []
    for (what, name), done in sorted(registration.done.items()):
        how = _HOW.get(what, what) if done.created or what in ("join", "update") else "found"
        rows.append((what, name, done.id, how, ""))
    for (what, name), refused in sorted(registration.refused.items()):
        rows.append((what, name, "", "refused", refused.reason))
    return rows


def _change_entries(run: Run, delta: Delta) -> list[LedgerEntry]:
    """What the run's changes made of existing tasks, for the ledger."""
    return change_entries(
        delta,
        run.state.changes,
        delta.send,
        run.loaded.checked.settings_classes,
        run=run.started.run_id,
        inventory=Path(run.started.input_file).name,
    )


def _absent(run: Run, delta: Delta) -> list[LedgerEntry]:
    """The sheet's own camera tasks that it no longer has, whatever their state (--prune
    removes the live ones): the planning stage's rule for which tasks are the sheet's."""
    if not delta.earlier:  # a first load: the ledger held none of the sheet's tasks
        return []
    classes = run.loaded.checked.settings_classes
    keys = set(camera_keys(run.loaded.checked.cameras, classes))
    inventory = Path(run.started.input_file).name
    return list(leaving(delta.earlier, keys, classes, inventory, live_only=False).values())


def _facts(run: Run, stop_reason: str, retries: int, seconds: float) -> list[tuple[str, str]]:
    """The Summary sheet's run facts (no secrets)."""
    started = run.started
    return [
        ("Run", started.run_id),
        ("Started", started.started_at),
        ("Input file", started.input_file),
        ("Input SHA-256", started.input_sha256),
        ("Mapping", f"{run.loaded.mapping.name} ({started.mapping})"),
        ("Mapping SHA-256", started.mapping_sha256),
        ("Endpoint", started.endpoint),
        ("Project", started.project_id),
        ("Batches", str(len(run.state.batches))),
        ("Duration of this pass", f"{seconds:.1f} s"),
        ("Retries", str(retries)),
        ("Stopped because", stop_reason or "(it finished)"),
        ("Ledger", str(run.ledger_path)),
    ]
