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
time; a read that fails is asked again. What the answers mean for the ledger is
``planning.learned``'s to say; this module asks and records.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, TypeVar

import anyio
import httpx

from loader.errors import LoaderError, SubmitError
from loader.model.cameras import LedgerKey
from loader.planning.learned import (
    BatchRecord,
    Known,
    LearnedTask,
    ListedBatch,
    RefreshProgress,
    RefreshResult,
    Unresolved,
    batch_record,
    early_record,
    gone,
    group_ids_by_name,
    learned_task,
    listed_batch,
    managed_prefix,
    managed_prefixes,
    vanished,
    video_group_id,
)
from loader.send.client import LIST_PAGE_SIZE, ReadRefused, RunRefused, ViasClient
from loader.send.pacing import Clock
from loader.state.ledger import Ledger

# planning.learned's, re-exported: report.progress and run.refresh import them from here.
__all__ = ["RefreshProgress", "RefreshResult", "learn"]

DEFAULT_CONCURRENCY: Final = 8
BATCHES_AT_ONCE: Final = 3  # enough to overlap one batch's ListTasks with another's shows
GROUP_PAGE_SIZE: Final = 200  # ListVideoGroups' page_size is 5..200
MAX_PAGES: Final = 10_000
READ_TRIES: Final = 3  # a read that fails is asked again (it changes nothing)
# Learned tasks are recorded this many at a time while their batch is read: a refresh that
# stops loses at most this many ShowTaskInfo calls per batch under way, not whole batches.
RECORD_EVERY: Final = 1000
RETRY_PAUSE: Final = 1.0  # seconds before the second try, twice that before the third
T = TypeVar("T")


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
            items = await self._every(self.client.list_batches_page, _batch_id, LIST_PAGE_SIZE)
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
        found: list[ListedBatch] = []
        for batch_id, entries in vanished(self.known, listed, marked).items():
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
        page_of: Callable[[int], Awaitable[list[dict[str, Any]]]],
        identity: Callable[[Mapping[str, Any]], str],
        size: int,
    ) -> list[dict[str, Any]]:
        """Every item of a paged listing, until a short page (or one with nothing new:
        a server that ignores paging answers every page alike)."""
        seen: dict[str, dict[str, Any]] = {}
        for page in range(1, MAX_PAGES + 1):
            items = await self._ask(partial(page_of, page))
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
        return learned_task(batch, task, detail, by_name)

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
                    page_of = partial(self.client.list_video_groups_page, page_size=GROUP_PAGE_SIZE)
                    items = await self._every(page_of, video_group_id, GROUP_PAGE_SIZE)
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


def _reason(group: BaseExceptionGroup[_Unanswered]) -> str:
    """The reason of the first read that got no answer."""
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first.reason if isinstance(first, _Unanswered) else str(first)
