"""
Learning the ledger from the API (``bulkload refresh``): what bulkload created in a
project, for a second operator or one who lost the ledger. [I/O: HTTP, through the client]

Every batch is listed (ListBatchTasks, paged). A batch is *managed* when its name is
``<prefix>-<12 hex>`` with a managed prefix (the ledger's own, ``bulkload``, and any
given); the others are reported and never touched. A managed batch's tasks are listed
(ListTasks by batch id): a task the ledger knows by id is refreshed from the list alone;
any other costs one ShowTaskInfo, which names its video source, its group (by name: the
id comes from ListVideoGroups, read once) and its settings, kept as a document
(``planning.documents``; the API does not report ``service_version``, so it has none).
Entries of a managed batch whose task is no longer listed become ``deleted``; so do
those of a batch the API no longer has (confirmed by its name first: a listing that
shifts while it is paged can miss one).

Each batch is recorded in one ledger transaction with its mark, so a refresh that stops
(Ctrl-C, an outage, a refusal) resumes after the last batch it recorded; the marks go
once every batch is done. While a batch is read, the tasks learned are recorded a
thousand at a time (no mark): a resumed refresh knows them by id and shows them no more.
Reads go through the client's pacer, a few batches and ``concurrency`` requests at a
time; a read that fails is asked again.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, NamedTuple, TypeVar

import anyio
import httpx

from loader.errors import LoaderError, SubmitError
from loader.model.cameras import LedgerEntry, LedgerKey, LedgerState
from loader.planning.batches import HASH_CHARS, name_prefix
from loader.planning.documents import Document, fingerprint, masked
from loader.send.client import LIST_PAGE_SIZE, ReadRefused, RunRefused, ViasClient
from loader.send.pacing import Clock
from loader.state.ledger import Ledger

DEFAULT_PREFIX: Final = "bulkload"
DEFAULT_CONCURRENCY: Final = 8
BATCHES_AT_ONCE: Final = 3  # enough to overlap one batch's ListTasks with another's shows
GROUP_PAGE_SIZE: Final = 200  # ListVideoGroups' page_size is 5..200
MAX_PAGES: Final = 10_000
READ_TRIES: Final = 3  # a read that fails is asked again (it changes nothing)
# Learned tasks are recorded this many at a time while their batch is read: a refresh that
# stops loses at most this many ShowTaskInfo calls per batch under way, not whole batches.
RECORD_EVERY: Final = 1000
RETRY_PAUSE: Final = 1.0  # seconds before the second try, twice that before the third
LEARNED: Final = "learned from the API"
# Entries whose task exists or may: the ones a task missing from the API turns to deleted.
_LIVE: Final = frozenset({LedgerState.LOADED, LedgerState.UNKNOWN, LedgerState.STOPPED})
_MANAGED_NAME: Final = re.compile(rf"(?P<prefix>.+)-[0-9a-f]{{{HASH_CHARS}}}")
# What ShowTaskInfo reports of a task's settings, as a single task carries them.
_DOCUMENT_FIELDS: Final = ("description", "resource_order_id", "schedule", "output", "config")
_FREE_FORM: Final = "config.common"  # the publisher's keys: a null there is a value
T = TypeVar("T")


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


@dataclass
class _Reading:
    """One batch under way: what its shows found, and what was recorded of it early."""

    batch: ListedBatch
    taken: set[LedgerKey]  # keys recorded early, or held by a listed task the ledger knows
    learned: list[LearnedTask] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    looked_at: int = 0  # learned tasks the early records have seen
    learned_early: int = 0
    updated_early: int = 0


class _Unanswered(Exception):
    """A read that got no usable answer (``transient``: it may get one when asked later)."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason, self.transient = reason, transient


# Pure: names, documents, groups, entries.


def managed_prefix(name: str) -> str | None:
    """The prefix of a name bulkload gives batches (``<prefix>-<12 hex>``), else None."""
    match = _MANAGED_NAME.fullmatch(name)
    return match["prefix"] if match else None


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
        found.setdefault(name, []).append(_group_id(group))
    return found


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


# I/O: the calls the client lacks, over its GET.


async def batch_page(client: ViasClient, page: int) -> list[dict[str, Any]]:
    """One page of ListBatchTasks (every batch of the project)."""
    listing, _ = await client._get("/batch-tasks", {"page_size": LIST_PAGE_SIZE, "page_num": page})
    return _items(listing, "batch_task_list")


async def video_group_page(client: ViasClient, page: int) -> list[dict[str, Any]]:
    """One page of ListVideoGroups."""
    params = {"page_size": GROUP_PAGE_SIZE, "page_num": page}
    listing, _ = await client._get("/video-group/groups", params)
    return _items(listing, "video_group_list")


def _items(listing: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The objects listed under ``key`` (anything else there is ignored)."""
    items = listing.get(key)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


class _Sent:
    """API requests sent through one client (IAM's token requests not counted)."""

    def __init__(self, client: ViasClient) -> None:
        self.count = 0
        self.marker = f"{client.base}/"

    async def __call__(self, request: httpx.Request) -> None:
        if self.marker in request.url.path:
            self.count += 1


@contextmanager
def _counting(client: ViasClient) -> Iterator[_Sent]:
    """Count the requests the client sends within the block (an httpx request hook)."""
    sent = _Sent(client)
    hooks = client.http.event_hooks["request"]
    hooks.append(sent)
    try:
        yield sent
    finally:
        hooks.remove(sent)


async def learn(
    client: ViasClient,
    ledger: Ledger,
    *,
    endpoint: str,
    project: str,
    run: str,
    clock: Clock,
    prefixes: Sequence[str] = (),
    again: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    observer: Callable[[RefreshProgress], None] | None = None,
) -> RefreshResult:
    """Refresh the ledger of ``endpoint`` and ``project`` from the API; see the module.

    ``run`` names the entries learned (``refresh-<UTC time>``); ``again`` forgets where a
    stopped refresh was and reads every batch. A refusal of the API stops the refresh
    (``stop_reason``); what was recorded stays. StorageError passes through.
    """
    refresh = _Refresh(client, ledger, (endpoint, project), run, clock, concurrency, observer)
    began = clock.now()
    with _counting(client) as sent:
        try:
            await refresh.run(prefixes, again=again)
        except BaseExceptionGroup as group:
            raise _loader_error_in(group) from None
        finally:
            refresh.result.requests, refresh.result.seconds = sent.count, clock.now() - began
    return refresh.result


def _loader_error_in(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first LoaderError a task group collected (the ledger's), else the group."""
    found: BaseException | None = group.subgroup(lambda exc: isinstance(exc, LoaderError))
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found if found is not None else group


class _Refresh:
    """One refresh: the reads, the ledger writes and the counts."""

    def __init__(
        self,
        client: ViasClient,
        ledger: Ledger,
        target: tuple[str, str],
        run: str,
        clock: Clock,
        concurrency: int,
        observer: Callable[[RefreshProgress], None] | None,
    ) -> None:
        self.client, self.ledger, self.target, self.run_name = client, ledger, target, run
        self.clock, self.observer = clock, observer
        self.concurrency = max(1, concurrency)
        self.slots = anyio.CapacityLimiter(self.concurrency)  # requests in flight
        self.batch_slots = anyio.CapacityLimiter(BATCHES_AT_ONCE)
        self.result = RefreshResult()
        self.known = Known({})
        self.groups: dict[str, list[str]] | None = None
        self.groups_failure = ""
        self.groups_lock = anyio.Lock()
        self.progress = RefreshProgress(0, 0, 0, 0)

    async def run(self, prefixes: Sequence[str], *, again: bool) -> None:
        """List, read each managed batch not yet recorded, then forget the marks."""
        if again:
            self.ledger.forget_refreshes(*self.target)
        entries = self.ledger.entries(*self.target)
        self.known = Known(entries)
        managed_names = managed_prefixes(entries.values(), prefixes)
        marked = self.ledger.refreshed(*self.target)
        try:
            items = await self._every(batch_page, _batch_id, LIST_PAGE_SIZE)
            listed = [listed_batch(i) for i in items]
            managed = [b for b in listed if managed_prefix(b.name) in managed_names]
            self._count_listed(listed, managed, marked)
            todo = [b for b in managed if b.id not in marked]
            todo += await self._vanished({b.id for b in listed}, marked)
            self._start_progress(todo)
            async with anyio.create_task_group() as group:
                for batch in todo:
                    group.start_soon(self._read_batch, batch)
        except* RunRefused:
            self.result.stop_reason = self.client.refusal or "the API refused the refresh"
        except* _Unanswered as failed:
            self.result.stop_reason = f"ListBatchTasks: {_reason(failed)}"
        self.result.batches_left = self.result.batches_managed - self.result.batches_resumed
        self.result.batches_left -= self.result.batches_read
        if self.result.complete:
            self.ledger.forget_refreshes(*self.target)

    def _count_listed(
        self, listed: list[ListedBatch], managed: list[ListedBatch], marked: set[str]
    ) -> None:
        """The listing's counts: managed, unmanaged (reported), resumed."""
        names = {b.id for b in managed}
        self.result.unmanaged = [b for b in listed if b.id not in names]
        self.result.batches_unmanaged = len(self.result.unmanaged)
        self.result.batches_managed = len(managed)
        self.result.batches_resumed = sum(1 for b in managed if b.id in marked)

    async def _vanished(self, listed: set[str], marked: set[str]) -> list[ListedBatch]:
        """Ledger batches the listing lacks: gone (entries deleted), or missed (read them).

        Each is looked up by name first; one found with its recorded id was missed.
        """
        missing: dict[str, list[LedgerEntry]] = {}
        for batch_id, entries in self.known.by_batch_id.items():
            live = [e for e in entries if e.state in _LIVE]
            if batch_id not in listed and batch_id not in marked and live:
                missing[batch_id] = live
        found: list[ListedBatch] = []
        for batch_id, entries in missing.items():
            self.result.batches_managed += 1
            try:
                item, _ = await self._ask(partial(self.client.list_batch, entries[0].batch))
            except _Unanswered as exc:
                self.result.unread.append((entries[0].batch, f"ListBatchTasks: {exc.reason}"))
                continue
            if item is not None and str(item.get("id")) == batch_id:
                found.append(listed_batch(item))
                continue
            self.ledger.record(*self.target, [gone(e) for e in entries], refreshed=batch_id)
            self.result.batches_gone += 1
            self.result.batches_read += 1
            self.result.tasks_gone += len(entries)
        return found

    async def _every(
        self,
        page_of: Callable[[ViasClient, int], Awaitable[list[dict[str, Any]]]],
        identity: Callable[[Mapping[str, Any]], str],
        size: int,
    ) -> list[dict[str, Any]]:
        """Every item of a paged listing, until a short page (or one with nothing new:
        a server that ignores paging answers every page alike)."""
        seen: dict[str, dict[str, Any]] = {}
        for page in range(1, MAX_PAGES + 1):
            items = await self._ask(partial(page_of, self.client, page))
            fresh = {identity(i): i for i in items if identity(i) not in seen}
            seen |= fresh
            if len(items) < size or not fresh:
                break
        return list(seen.values())

    async def _ask(self, call: Callable[[], Awaitable[T]]) -> T:
        """One read in a free slot, asked again (after a pause) while it fails, up to
        READ_TRIES; a refused query is not asked again, a refused run stops everything."""
        failure = ""
        for attempt in range(READ_TRIES):
            if attempt:
                await self.clock.sleep(RETRY_PAUSE * attempt)
            try:
                async with self.slots:
                    return await call()
            except RunRefused:
                raise
            except ReadRefused as exc:
                raise _Unanswered(exc.message, transient=False) from exc
            except SubmitError as exc:
                failure = exc.message
        raise _Unanswered(failure, transient=True)

    async def _read_batch(self, batch: ListedBatch) -> None:
        """List a batch's tasks, learn the unknown ones, record it (marked when whole)."""
        async with self.batch_slots:
            try:
                tasks = await self._ask(partial(self.client.list_tasks, batch.id))
            except _Unanswered as exc:
                self.result.unread.append((batch.name, f"ListTasks: {exc.reason}"))
                return
            by_task = self.known.by_task
            unknown = [t for t in tasks if str(t.get("id") or "") not in by_task]
            held = {by_task[i].key for t in tasks if (i := str(t.get("id") or "")) in by_task}
            self._advance(tasks=len(tasks) - len(unknown))
            reading = _Reading(batch, held)
            await self._show_all(reading, unknown)
            settled = not reading.unresolved
            record = batch_record(
                batch, tasks, reading.learned, self.known, run=self.run_name, settled=settled
            )
            self._record(reading, record)

    def _record(self, reading: _Reading, record: BatchRecord) -> None:
        """One transaction: the batch's entries and documents, and its mark when it is whole."""
        unresolved = reading.unresolved + record.duplicates
        whole = not any(u.transient for u in unresolved)
        mark = reading.batch.id if whole else ""
        self.ledger.record(*self.target, record.entries.values(), record.documents, refreshed=mark)
        result = self.result
        result.tasks_learned += record.learned - reading.learned_early
        result.tasks_updated += record.updated - reading.updated_early
        result.tasks_gone += record.gone
        result.unresolved += unresolved
        result.batches_read += int(whole)
        self._advance(batches=1)

    def _record_early(self, reading: _Reading) -> None:
        """The tasks learned since the last early record, in one transaction (no mark)."""
        seen = reading.learned[reading.looked_at :]
        reading.looked_at = len(reading.learned)
        record = early_record(
            reading.batch, seen, self.known, run=self.run_name, taken=reading.taken
        )
        reading.taken |= record.entries.keys()
        self.ledger.record(*self.target, record.entries.values(), record.documents)
        reading.learned_early += record.learned
        reading.updated_early += record.updated
        self.result.tasks_learned += record.learned
        self.result.tasks_updated += record.updated

    async def _show_all(self, reading: _Reading, tasks: list[dict[str, Any]]) -> None:
        """ShowTaskInfo for each task, ``concurrency`` workers drawing from one queue."""
        queue = iter(tasks)

        async def worker() -> None:
            for task in queue:
                outcome = await self._show(reading.batch, task)
                if isinstance(outcome, LearnedTask):
                    reading.learned.append(outcome)
                else:
                    reading.unresolved.append(outcome)
                if len(reading.learned) - reading.looked_at >= RECORD_EVERY:
                    self._record_early(reading)
                self._advance(tasks=1)

        async with anyio.create_task_group() as group:
            if tasks and self.groups is None:
                group.start_soon(self._prefetch_groups)  # beside the first shows, not after
            for _ in range(min(self.concurrency, len(tasks))):
                group.start_soon(worker)

    async def _show(self, batch: ListedBatch, task: Mapping[str, Any]) -> LearnedTask | Unresolved:
        """One task tied to its camera task, or why it cannot be."""
        task_id = str(task.get("id") or "")
        try:
            detail = await self._ask(partial(self.client.show_task, task_id))
            by_name = await self._group_index()
        except _Unanswered as exc:
            return Unresolved(batch.name, task_id, exc.reason, transient=exc.transient)
        group_id, problem = resolve_group(str(detail.get("group_name") or ""), by_name)
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

    async def _prefetch_groups(self) -> None:
        """List the groups now: the shows that need them find them listed."""
        with suppress(_Unanswered):
            await self._group_index()

    async def _group_index(self) -> dict[str, list[str]]:
        """Group ids by name, listed once when first needed (a failure is not asked again
        in this refresh: the tasks that need it are left for the next one)."""
        async with self.groups_lock:
            if self.groups is None and not self.groups_failure:
                try:
                    items = await self._every(video_group_page, _group_id, GROUP_PAGE_SIZE)
                    self.groups = group_ids_by_name(items)
                except _Unanswered as exc:
                    self.groups_failure = exc.reason or "no answer"
        if self.groups is None:
            raise _Unanswered(f"ListVideoGroups: {self.groups_failure}", transient=True)
        return self.groups

    def _start_progress(self, todo: list[ListedBatch]) -> None:
        """The totals: every managed batch (the resumed ones done), the tasks to read."""
        done = self.result.batches_read + self.result.batches_resumed
        total = self.result.batches_managed
        self.progress = RefreshProgress(done, total, 0, sum(b.tasks for b in todo))
        self._advance()

    def _advance(self, *, batches: int = 0, tasks: int = 0) -> None:
        """Move the counts on and tell the observer."""
        now = self.progress
        self.progress = RefreshProgress(
            now.batches_done + batches,
            now.batches_total,
            now.tasks_done + tasks,
            max(now.tasks_total, now.tasks_done + tasks),
        )
        if self.observer is not None:
            self.observer(self.progress)


def _batch_id(item: Mapping[str, Any]) -> str:
    return str(item.get("id") or "")


def _group_id(item: Mapping[str, Any]) -> str:
    return str(item.get("video_group_id") or item.get("id") or "")


def _reason(group: BaseExceptionGroup[_Unanswered]) -> str:
    """The reason of the first read that got no answer."""
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first.reason if isinstance(first, _Unanswered) else str(first)
