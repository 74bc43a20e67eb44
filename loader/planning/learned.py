"""
What ``bulkload refresh`` makes of the API's answers (``send.learn`` asks them): which
batches bulkload made (``managed_prefix``), a task's settings document from ShowTaskInfo,
its group by name, and what one batch's listing changes in the ledger: entries refreshed,
learned and gone (``batch_record``), recorded early while the batch is read
(``early_record``). Also the values a refresh reports (``RefreshResult``,
``RefreshProgress``). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from loader.model.cameras import LedgerEntry, LedgerKey, LedgerState
from loader.planning.batches import name_prefix
from loader.planning.delta import batch_prefix
from loader.planning.documents import Document, fingerprint, masked

DEFAULT_PREFIX: Final = "bulkload"
LEARNED: Final = "learned from the API"
# Entries whose task exists or may: the ones a task missing from the API turns to deleted.
_LIVE: Final = frozenset({LedgerState.LOADED, LedgerState.UNKNOWN, LedgerState.STOPPED})
# What ShowTaskInfo reports of a task's settings, as a single task carries them.
_DOCUMENT_FIELDS: Final = ("description", "resource_order_id", "schedule", "output", "config")
_FREE_FORM: Final = "config.common"  # the publisher's keys: a null there is a value


@dataclass(frozen=True, slots=True)
class ListedBatch:
    """A batch as ListBatchTasks lists it."""

    id: str
    name: str
    service_name: str  # alg_name: the algorithm every task of the batch runs
    tasks: int  # num_task


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A task not tied to a camera task: nothing is recorded for it.

    ``transient``: a read failed; its batch stays unmarked and the next refresh asks again.
    """

    batch: str
    task_id: str
    reason: str
    transient: bool = False


@dataclass(frozen=True, slots=True)
class RefreshProgress:
    """Where a refresh stands, for a progress bar."""

    batches_done: int
    batches_total: int
    tasks_done: int
    tasks_total: int


@dataclass
class RefreshResult:
    """What a refresh read and recorded."""

    batches_managed: int = 0
    batches_unmanaged: int = 0
    batches_resumed: int = 0  # recorded by a refresh that stopped: not read again
    batches_read: int = 0  # recorded whole, with their mark, by this refresh
    batches_left: int = 0  # not recorded whole: the next refresh reads them (again)
    batches_gone: int = 0  # in the ledger, no longer in the API
    tasks_learned: int = 0  # camera tasks the ledger did not hold
    tasks_updated: int = 0  # camera tasks it held: task id, name and state refreshed
    tasks_gone: int = 0  # entries whose task is no longer listed: now deleted
    requests: int = 0
    seconds: float = 0.0
    unmanaged: list[ListedBatch] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    unread: list[tuple[str, str]] = field(default_factory=list)  # (batch, why): read next time
    stop_reason: str = ""

    @property
    def tasks_unresolved(self) -> int:
        return len(self.unresolved)

    @property
    def complete(self) -> bool:
        """Every managed batch recorded: the ledger is as the API is."""
        return not self.stop_reason and not self.batches_left


class LearnedTask(NamedTuple):
    """A task tied to its camera task through ShowTaskInfo, with its settings document."""

    task_id: str
    task_name: str
    task_state: str
    group_id: str
    video_source_id: str
    document: Document
    fingerprint: str


@dataclass
class BatchRecord:
    """What one batch changes in the ledger, and how it counts."""

    entries: dict[LedgerKey, LedgerEntry] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    learned: int = 0
    updated: int = 0
    gone: int = 0
    duplicates: list[Unresolved] = field(default_factory=list)


class Known:
    """The ledger as the refresh read it, by key, by task id and by batch."""

    def __init__(self, entries: Mapping[LedgerKey, LedgerEntry]) -> None:
        self.by_key = dict(entries)
        self.by_task = {e.task_id: e for e in entries.values() if e.task_id}
        self.by_batch_id: dict[str, list[LedgerEntry]] = {}
        self.by_batch_name: dict[str, list[LedgerEntry]] = {}  # entries without a batch id
        for entry in entries.values():
            if entry.batch_id:
                self.by_batch_id.setdefault(entry.batch_id, []).append(entry)
            elif entry.batch:
                self.by_batch_name.setdefault(entry.batch, []).append(entry)

    def of_batch(self, batch: ListedBatch) -> list[LedgerEntry]:
        """Entries the batch created (or may have: an in-doubt batch has no id recorded)."""
        return self.by_batch_id.get(batch.id, []) + self.by_batch_name.get(batch.name, [])


def managed_prefix(name: str) -> str | None:
    """The prefix of a name bulkload gives batches (``<prefix>-<12 hex>``), else None."""
    return batch_prefix(name) or None  # a prefix is never empty


def managed_prefixes(known: Iterable[LedgerEntry], given: Sequence[str] = ()) -> frozenset[str]:
    """``bulkload``, the prefixes given (as planning cleans them) and the ledger's own."""
    found = {DEFAULT_PREFIX, *(name_prefix(p) for p in given)}
    found |= {p for e in known if (p := managed_prefix(e.batch))}
    return frozenset(found)


def listed_batch(item: Mapping[str, Any]) -> ListedBatch:
    """A ListBatchTasks item (``batch_task_name`` per the SDK, ``name`` as a fallback)."""
    name = item.get("batch_task_name") or item.get("name") or ""
    count = item.get("num_task")
    return ListedBatch(
        str(item.get("id") or ""),
        str(name),
        str(item.get("alg_name") or ""),
        count if isinstance(count, int) else 0,
    )


def task_document(detail: Mapping[str, Any], service_name: str) -> Document:
    """A task's settings document from ShowTaskInfo (no ``service_version``: not reported).

    Nulls are left out as ``model_dump(exclude_none=True)`` leaves them out of a sheet's
    document, except in ``config.common``, where the publisher's keys are kept as given;
    so is an empty description or order id (the API answers "" for one never given).
    """
    doc: Document = {"service_name": service_name}
    for key in _DOCUMENT_FIELDS:
        value = detail.get(key)
        if value is not None and value != "":
            doc[key] = _without_nulls(value, key)
    return masked(doc)


def _without_nulls(value: Any, path: str) -> Any:
    """Objects without their null members, down to ``config.common``."""
    if not isinstance(value, Mapping) or path == _FREE_FORM:
        return value
    return {k: _without_nulls(v, f"{path}.{k}") for k, v in value.items() if v is not None}


def video_source_of(detail: Mapping[str, Any]) -> str:
    """``input.data[0].video_source_id`` of a task with exactly one input, else ""."""
    data = (detail.get("input") or {}).get("data")
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], Mapping):
        return ""
    return str(data[0].get("video_source_id") or "")


def group_ids_by_name(groups: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """ListVideoGroups items as {name: [ids]} (``video_group_*`` per the SDK)."""
    found: dict[str, list[str]] = {}
    for group in groups:
        name = str(group.get("video_group_name") or group.get("name") or "")
        found.setdefault(name, []).append(video_group_id(group))
    return found


def video_group_id(item: Mapping[str, Any]) -> str:
    """A ListVideoGroups item's id (``video_group_id`` per the SDK, ``id`` as a fallback)."""
    return str(item.get("video_group_id") or item.get("id") or "")


def resolve_group(name: str, by_name: Mapping[str, Sequence[str]]) -> tuple[str, str]:
    """(group id, "") for a group name that names one group, else ("", why not)."""
    if not name:
        return "", "ShowTaskInfo names no group"
    if "," in name:
        return "", f"its camera is in several groups ({name})"
    ids = by_name.get(name, [])
    if len(ids) != 1:
        many = f"{len(ids)} video groups are named" if ids else "no video group is named"
        return "", f"{many} {name!r}"
    return ids[0], ""


def learned_task(
    batch: ListedBatch,
    task: Mapping[str, Any],
    detail: Mapping[str, Any],
    groups: Mapping[str, Sequence[str]],
) -> LearnedTask | Unresolved:
    """A listed task tied to its camera task by its ShowTaskInfo ``detail``, or why not.

    Its group is found by name in ``groups`` (ListVideoGroups: ``group_ids_by_name``).
    """
    task_id = str(task.get("id") or "")
    group_id, problem = resolve_group(str(detail.get("group_name") or ""), groups)
    source = video_source_of(detail)
    if not source:
        problem = "ShowTaskInfo names no single video source"
    if problem:
        return Unresolved(batch.name, task_id, problem)
    document = task_document(detail, batch.service_name)
    return LearnedTask(
        task_id,
        str(detail.get("name") or task.get("name") or ""),
        str(detail.get("state") or task.get("state") or ""),
        group_id,
        source,
        document,
        fingerprint(document),
    )


def vanished(known: Known, listed: Set[str], marked: Set[str]) -> dict[str, list[LedgerEntry]]:
    """The live entries of each ledger batch the listing lacks, by batch id.

    Batches a stopped refresh recorded (``marked``) are done. The others are gone from the
    API, or were missed by a listing that shifted while it was paged: ``send.learn`` asks.
    """
    missing: dict[str, list[LedgerEntry]] = {}
    for batch_id, entries in known.by_batch_id.items():
        live = [e for e in entries if e.state in _LIVE]
        if batch_id not in listed and batch_id not in marked and live:
            missing[batch_id] = live
    return missing


def ledger_state(task_state: str, earlier: str = "") -> str:
    """What the ledger says of a listed task: failed if its creation failed, deleted while
    it is being deleted, else loaded (stopped stays stopped while the task is)."""
    state = task_state.upper()
    if state == "CREATE_FAILED":
        return LedgerState.FAILED.value
    if state == "DELETING":
        return LedgerState.DELETED.value
    if earlier == LedgerState.STOPPED and state in ("STOPPED", "STOPPING"):
        return LedgerState.STOPPED.value
    return LedgerState.LOADED.value


def batch_record(
    batch: ListedBatch,
    listed: Sequence[Mapping[str, Any]],
    learned: Sequence[LearnedTask],
    known: Known,
    *,
    run: str,
    settled: bool,
) -> BatchRecord:
    """The entries one batch's listing gives: refreshed, learned, and gone.

    ``settled``: every listed task was tied to its camera task, so an entry of this batch
    that none matched (one recorded without a task id) has no task.
    """
    record = BatchRecord()
    listed_ids = {str(t.get("id") or "") for t in listed}
    for task in listed:
        entry = known.by_task.get(str(task.get("id") or ""))
        if entry is not None:
            record.entries[entry.key] = _refreshed(entry, task, batch)
            record.updated += 1
    for shown in learned:
        _add_learned(record, shown, batch, known, run)
    for entry in known.of_batch(batch):
        if entry.key in record.entries or entry.state not in _LIVE:
            continue
        if (entry.task_id and entry.task_id not in listed_ids) or (not entry.task_id and settled):
            record.entries[entry.key] = gone(entry)
            record.gone += 1
    return record


def early_record(
    batch: ListedBatch,
    learned: Sequence[LearnedTask],
    known: Known,
    *,
    run: str,
    taken: Set[LedgerKey],
) -> BatchRecord:
    """Learned tasks recorded before their batch is read whole (a stop keeps them), each
    as ``batch_record`` will record it; keys ``taken`` (recorded already, or held by a
    listed task the ledger knows) are left to ``batch_record``."""
    record = BatchRecord()
    for shown in learned:
        if (shown.group_id, shown.video_source_id, batch.service_name) not in taken:
            _add_learned(record, shown, batch, known, run)
    return record


def gone(entry: LedgerEntry) -> LedgerEntry:
    """The entry of a task no longer in the API (deleted outside bulkload, or by it)."""
    return entry._replace(state=LedgerState.DELETED.value, task_state="", at="")


def _refreshed(entry: LedgerEntry, task: Mapping[str, Any], batch: ListedBatch) -> LedgerEntry:
    """A known task's entry with its name and state as listed (key, settings, inventory kept)."""
    task_state = str(task.get("state") or "")
    return entry._replace(
        state=ledger_state(task_state, entry.state),
        batch=batch.name,
        batch_id=batch.id,
        at="",
        task_name=str(task.get("name") or entry.task_name),
        task_state=task_state,
    )


def _add_learned(
    record: BatchRecord, task: LearnedTask, batch: ListedBatch, known: Known, run: str
) -> None:
    """One learned task into the record: a second task of one camera task is reported."""
    key = (task.group_id, task.video_source_id, batch.service_name)
    kept = record.entries.get(key)
    if kept is not None:
        reason = (
            f"a second task of camera {task.video_source_id} in group {task.group_id}"
            f" (the ledger keeps task {kept.task_id})"
        )
        record.duplicates.append(Unresolved(batch.name, task.task_id, reason))
        return
    earlier = known.by_key.get(key)
    entry = _learned_entry(task, batch, earlier, run)
    record.entries[key] = entry
    if entry.fingerprint == task.fingerprint:
        record.documents[task.fingerprint] = task.document
    if earlier is None:
        record.learned += 1
    else:
        record.updated += 1


def _learned_entry(
    task: LearnedTask, batch: ListedBatch, earlier: LedgerEntry | None, run: str
) -> LedgerEntry:
    """A learned task's entry. The run that created it, recorded without a task id, keeps
    its settings fingerprint (it knows the version) and inventory; else the API's settings."""
    state = ledger_state(task.task_state, earlier.state if earlier else "")
    task_fields = {
        "task_id": task.task_id,
        "task_name": task.task_name,
        "task_state": task.task_state,
    }
    if earlier is not None and not earlier.task_id and _created_by(earlier, batch):
        return earlier._replace(state=state, batch_id=batch.id, at="", **task_fields)
    return LedgerEntry(
        task.group_id,
        task.video_source_id,
        batch.service_name,
        task.fingerprint,
        state,
        run,
        batch.name,
        batch.id,
        LEARNED,
        "",
        earlier.inventory if earlier else "",
        **task_fields,
    )


def _created_by(entry: LedgerEntry, batch: ListedBatch) -> bool:
    """Whether the entry records this batch (by id, or by name when its id was not known)."""
    return entry.batch_id == batch.id or (not entry.batch_id and entry.batch == batch.name)
