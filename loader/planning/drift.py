"""
Drift: what the project's own counts say of the sheet's batches that the ledger does not.

ListBatchTasks lists every batch with per-state counts of its tasks
(``batch_task_status_info``: a page of 200 batches per request), so one request tells a
plan which of the sheet's batches have tasks that are not running, without a refresh.
A batch is the sheet's when its name carries one of the sheet's batch name prefixes, or
when the ledger holds it for a camera task of the sheet (prefix or file, as removals are
scoped). For each such batch whose tasks are not all running this says what
``--restart-failed`` would do (the tasks the ledger already knows to restart) and what
only ``bulkload refresh`` can learn (tasks the API counts as failed or stopped that the
ledger holds as running); tasks on their way (pending, starting...), tasks a start cannot
bring back, tasks gone from their batch, and ledger batches the API no longer lists. Pure.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from loader.model.cameras import LedgerEntry, LedgerKey, LedgerState
from loader.model.vias import RESTARTABLE_TASK_STATES
from loader.planning.delta import Delta, batch_prefix

RUNNING: Final = "running"
# BatchTaskStatusInfoDto's counters (the SDK's names) by what a plan makes of them.
RESTARTABLE: Final = frozenset(s.lower() for s in RESTARTABLE_TASK_STATES)
ON_THE_WAY: Final = frozenset(
    {
        "pending",
        "starting",
        "recovering",
        "upgrading",
        "scheduling",
        "stopping",
        "deleting",
        "freezing",
    }
)
_STOPS: Final = ("stopping", "stopped")  # what a stop bulkload made shows as
_LIVE: Final = frozenset({LedgerState.LOADED, LedgerState.STOPPED})  # entries with a task


@dataclass(frozen=True, slots=True)
class BatchDrift:
    """One of the sheet's batches whose tasks are not all running, and what would help."""

    id: str
    name: str
    service_name: str
    tasks: int  # tasks the API counts in it
    running: int
    states: dict[str, int]  # the other states' non-zero counts, as the API names them
    restartable: int = 0  # START_FAILED, ABNORMAL or STOPPED by the API's count, not by --prune
    restart_known: int = 0  # the plan's restarts in this batch: --restart-failed starts them
    restart_unknown: int = 0  # failed or stopped by the API's count, running in the ledger
    on_the_way: int = 0  # pending, starting, stopping...: a later plan sees where they went
    not_restartable: int = 0  # create_failed, failed, lack_of_resources...: a start won't help
    gone: int = 0  # tasks the ledger holds that the batch no longer counts
    stopped_by_bulkload: int = 0  # stops of cameras that left the sheet (--prune): expected

    @property
    def pending(self) -> bool:
        """Something a run, ``--restart-failed`` or a refresh would change, or a person must."""
        return bool(self.restart_known or self.restart_unknown or self.not_restartable or self.gone)


@dataclass
class Drift:
    """The sheet's batches as ListBatchTasks counts them (``checked``), or why not asked."""

    checked: bool = True
    reason: str = ""  # why the API was not asked, or its answer is not known
    batches: int = 0  # the sheet's batches listed
    tasks: int = 0  # their tasks
    stopped_by_bulkload: int = 0  # of them, stopped by --prune (cameras that left the sheet)
    drifted: list[BatchDrift] = field(default_factory=list)  # those not all running
    missing: list[tuple[str, str]] = field(default_factory=list)  # (name, id): not listed
    requests: int = 0
    seconds: float = 0.0

    @property
    def pending(self) -> bool:
        """Whether the project differs from what the sheet and the ledger want."""
        return bool(self.missing) or any(b.pending for b in self.drifted)

    def as_data(self) -> dict[str, Any]:
        """JSON-ready (``--json``, plan.json)."""
        data = asdict(self)
        data["pending"] = self.pending
        data["missing"] = [{"name": n, "id": i} for n, i in self.missing]
        data["seconds"] = round(self.seconds, 2)
        return data


def unchecked(reason: str) -> Drift:
    """A drift that could not be asked for (no credentials, no answer)."""
    return Drift(checked=False, reason=reason)


def sheet_entries(
    ledger: Mapping[LedgerKey, LedgerEntry], prefixes: Collection[str], inventory: str
) -> list[LedgerEntry]:
    """The ledger's entries of this sheet: under its prefixes, or loaded by this file."""
    return [
        e
        for e in ledger.values()
        if e.batch_id
        and (batch_prefix(e.batch) in prefixes or bool(inventory and e.inventory == inventory))
    ]


def drift(
    listed: Iterable[Mapping[str, Any]],
    delta: Delta,
    prefixes: Collection[str],
    inventory: str = "",
    *,
    requests: int = 0,
    seconds: float = 0.0,
) -> Drift:
    """The drift of the sheet's batches among the ``listed`` ListBatchTasks items.

    ``delta`` is the plan's diff (its ``earlier``: the ledger read; its restarts: what the
    ledger already knows to start); ``prefixes`` the sheet's batch name prefixes (as
    planning cleans them); ``inventory`` its file name.
    """
    entries = sheet_entries(delta.earlier, prefixes, inventory)
    by_batch: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        by_batch.setdefault(entry.batch_id, []).append(entry)
    restarts: dict[str, int] = {}
    restarting: set[LedgerKey] = set()
    for change in delta.restarts:
        restarts[change.entry.batch_id] = restarts.get(change.entry.batch_id, 0) + 1
        restarting.add(change.key)
    found = Drift(requests=requests, seconds=seconds)
    seen: set[str] = set()
    for item in listed:
        batch_id, name = str(item.get("id") or ""), _name(item)
        if not batch_id or batch_id in seen:
            continue
        if batch_prefix(name) not in prefixes and batch_id not in by_batch:
            continue  # not this sheet's
        seen.add(batch_id)
        counts = _counts(item)
        known = by_batch.get(batch_id, [])
        restart_known = restarts.get(batch_id, 0)
        one = _batch_drift(item, batch_id, name, counts, known, restart_known, restarting)
        found.batches += 1
        found.tasks += one.tasks
        found.stopped_by_bulkload += one.stopped_by_bulkload
        if one.tasks - one.running - one.stopped_by_bulkload > 0 or one.gone:
            found.drifted.append(one)
    found.missing = sorted(
        {(e.batch, e.batch_id) for e in entries if e.batch_id not in seen and e.state in _LIVE}
    )
    return found


def _batch_drift(
    item: Mapping[str, Any],
    batch_id: str,
    name: str,
    counts: dict[str, int],
    known: Sequence[LedgerEntry],
    restart_known: int,
    restarting: set[LedgerKey],
) -> BatchDrift:
    """One listed batch of the sheet, its counts read against the ledger's entries of it."""
    number = item.get("num_task")
    tasks = sum(counts.values()) if counts else (number if isinstance(number, int) else 0)
    others = {k: v for k, v in sorted(counts.items()) if v and k != RUNNING}
    # Cameras that left the sheet whose tasks bulkload stopped: their stops are expected.
    expected = sum(1 for e in known if e.state == LedgerState.STOPPED and e.key not in restarting)
    left, explained = expected, {}
    for state in _STOPS:
        explained[state] = min(others.get(state, 0), left)
        left -= explained[state]
    unexplained = {k: v - explained.get(k, 0) for k, v in others.items()}
    restartable = sum(v for k, v in unexplained.items() if k in RESTARTABLE)
    live = sum(1 for e in known if e.state in _LIVE)
    return BatchDrift(
        id=batch_id,
        name=name,
        service_name=str(item.get("alg_name") or ""),
        tasks=tasks,
        running=counts.get(RUNNING, 0) if counts else tasks,
        states=others,
        restartable=restartable,
        restart_known=restart_known,
        restart_unknown=max(0, restartable - restart_known),
        on_the_way=sum(v for k, v in unexplained.items() if k in ON_THE_WAY),
        not_restartable=sum(
            v for k, v in unexplained.items() if k not in RESTARTABLE and k not in ON_THE_WAY
        ),
        gone=max(0, live - tasks) if counts or isinstance(number, int) else 0,
        stopped_by_bulkload=expected - left,
    )


def _name(item: Mapping[str, Any]) -> str:
    """A listed batch's name: ``batch_task_name`` per the SDK, ``name`` as a fallback."""
    return str(item.get("batch_task_name") or item.get("name") or "")


def _counts(item: Mapping[str, Any]) -> dict[str, int]:
    """``batch_task_status_info`` as {state: count}, lower-case, integers only."""
    info = item.get("batch_task_status_info")
    if not isinstance(info, Mapping):
        return {}
    return {str(k).lower(): v for k, v in info.items() if type(v) is int and v >= 0}
