"""
A sheet of names registers before its batches are planned (batch names hash the ids):
groups first, then the sources that join them, then the existing sources joining groups
(UpdateVideoGroup, the whole membership), each call journaled before it is sent
(``RegistrationSending``) and settled by ``send.registry`` (a lost answer looked up by
the exact name, never sent twice). All of it goes through the pass's ``Sender``: its
pacer, its retry budget, its stop switch. Then the ids are filled, journaled
(``IdsFilled``) and the batches planned (``open.plan_registered``): the pass goes on with
a new ``Run``; the old one never changes.

A resume whose registration was cut short lists the project again: whatever a lost or
killed call made is found there by its name. [I/O: HTTP]
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Awaitable, Callable

import anyio

from loader.model.sources import CreateVideoGroup, UpdateVideoGroup, UpdateVideoSource
from loader.planning.registration import PENDING, check_quota
from loader.run.open import plan_registered
from loader.run.registration import (
    Found,
    changed_streams,
    environment,
    filled,
    find,
    found_ids,
    stream_print,
)
from loader.run.run import Run
from loader.send.answers import Outcome, Verdict
from loader.send.control import Sender, sleep_unless_stopped
from loader.send.registry import Registered, SourceRegistry, format_refusal
from loader.send.settle import backoff_delay
from loader.state.events import (
    IdsFilled,
    RegistrationDone,
    RegistrationRefused,
    RegistrationSending,
)
from loader.state.ledger import Ledger, RegisteredEntry

Call = Callable[[], Awaitable[Registered]]


async def register(run: Run, sender: Sender) -> Run:
    """The run once its sheet's names are registered and its batches planned; the run as
    it was when registration stopped (nothing planned)."""
    registry = SourceRegistry(sender.client, environment(run.loaded, run.options.environment))
    found = run.names_found or await _listed_again(run, sender, registry)
    if found is None:
        return run
    registrar = _Registrar(run, sender, registry)
    sources, groups = found_ids(found)
    with _ledger(run) as ledger:
        known = ledger.registered(run.started.endpoint, run.started.project_id)
    await registrar.groups(found, groups)
    await registrar.sources(found, groups, sources)
    await registrar.joins(found, sources)
    updated = await registrar.updates(changed_streams(found, registrar.sheet, known), sources)
    _record(run, updated)
    if sender.control.stopping or sender.client.refusal:
        return run
    rejected = set(found.plan.rejected_rows)
    ids = IdsFilled(sources=sources, groups=groups, rejected=sorted(rejected))
    loaded = filled(run.loaded, found.plan, sources, groups, rejected=rejected)
    return plan_registered(run, loaded, ids)


async def delete_gone(run: Run, sender: Sender) -> None:
    """The sources bulkload registered for cameras that left the sheet (``run.register``'s
    ``delete_sources``): each delete journaled before it goes, the source dropped from the
    ledger."""
    sheet = run.loaded.checked.registration
    assert sheet is not None  # a sheet of names: ``delete_sources`` looked
    if not _may_send(sender):
        return
    endpoint, project = run.started.endpoint, run.started.project_id
    with _ledger(run) as ledger:
        known = ledger.registered(endpoint, project)
    names = sheet.by_name()
    inventory = run.planned.inventory
    gone = [
        k for k in known if k.what == "source" and k.inventory == inventory and k.name not in names
    ]
    registrar = _Registrar(run, sender, SourceRegistry(sender.client, {}))
    deleted = []
    for entry in gone:
        if await registrar.settled("delete", entry.name, _bind(registrar.delete, entry.id)):
            deleted.append(dataclasses.replace(entry, id=""))
    if deleted:
        with _ledger(run) as ledger:
            ledger.record_registered(endpoint, project, deleted)


def _may_send(sender: Sender) -> bool:
    """Not stopped, not refused."""
    return not (sender.control.stopping or sender.client.refusal)


def _ledger(run: Run) -> Ledger:
    """The run's ledger, for what bulkload registered (its own connection: short)."""
    return Ledger(run.options.ledger)


def _record(run: Run, updated: list[str]) -> None:
    """The sources and groups this run registered (or updated), with each source's
    stream fingerprint, into the ledger: a later run updates a changed address in place."""
    sheet = run.loaded.checked.registration
    assert sheet is not None  # a registering run's sheet names its cameras
    rows, name, inventory = sheet.by_name(), run.started.run_id, run.planned.inventory
    created = run.registration.created("source")
    created |= {n: run.registration.done[("update", n)].id for n in updated}
    entries = [
        RegisteredEntry("source", n, i, stream_print(rows[n], sheet.form), name, "", inventory)
        for n, i in created.items()
        if n in rows
    ]
    groups = run.registration.created("group")
    entries += [RegisteredEntry("group", n, i, "", name, "", inventory) for n, i in groups.items()]
    with _ledger(run) as ledger:
        ledger.record_registered(run.started.endpoint, run.started.project_id, entries)


async def _listed_again(run: Run, sender: Sender, registry: SourceRegistry) -> Found | None:
    """A resume's listing, its quota checked (a new run's finder checked its own); what
    the cut-short pass sent and the project now holds is journaled as registered by this run."""
    found = await find(run.loaded, registry, run.started.project_id)
    if found is None:
        return None
    held = {("source", n): i for n, i in found.plan.found_sources.items()}
    held |= {("group", n): i for n, i in found.plan.found_groups.items()}
    for what, name in run.registration.in_doubt():
        if (what, name) in held:
            done = RegistrationDone(what=what, name=name, id=held[(what, name)], created=True)
            await sender.emit(done)
    check_quota(found.plan, found.sources, found.groups)  # before any create: exit 2
    return found


class _Registrar:
    """The calls of one registration, each journaled before it goes, tried again on a
    retriable answer within the run's budget."""

    def __init__(self, run: Run, sender: Sender, registry: SourceRegistry) -> None:
        self.run, self.sender, self.registry = run, sender, registry
        self.random = random.Random()
        sheet = run.loaded.checked.registration
        assert sheet is not None  # a registering run's sheet names its cameras
        self.sheet = sheet
        self.first_source = True

    async def groups(self, found: Found, ids: dict[str, str]) -> None:
        """The groups the project lacks (looked for in the run's listing first)."""

        async def one(name: str, call: Call) -> None:
            got = await self.settled("group", name, call)
            if got:
                ids[name] = got

        async with anyio.create_task_group() as group:
            for create in found.plan.groups:
                group.start_soon(one, create.name, self._group_call(create.body, found))

    def _group_call(self, body: CreateVideoGroup, found: Found) -> Call:
        """A group's registration: the run's listing stands for the look before the first
        create; every later attempt looks the name up afresh (a lost answer's group may
        show only now)."""
        attempts = 0

        async def call() -> Registered:
            nonlocal attempts
            attempts += 1
            known = found.groups if attempts == 1 else None
            return await self.registry.register_group(body, known)

        return call

    async def sources(self, found: Found, groups: dict[str, str], ids: dict[str, str]) -> None:
        """The sources the project lacks, into their groups; the first alone, so that a
        ``type_config`` format the server refuses stops registration at one."""
        creates = list(found.plan.sources)
        if not creates:
            return

        async def one(index: int) -> None:
            create = creates[index]
            body = create.body(groups)
            if any(g == PENDING % n for n, _ in create.groups for g in body.video_group_ids):
                reason = "its group was not registered"
                refused = RegistrationRefused(what="source", name=create.name, reason=reason)
                await self.sender.emit(refused)
                return
            call = _bind(self.registry.register_source, body)
            got = await self.settled("source", create.name, call)
            if got:
                ids[create.name] = got

        await one(0)
        self.first_source = False
        async with anyio.create_task_group() as group:
            for index in range(1, len(creates)):
                group.start_soon(one, index)

    async def joins(self, found: Found, sources: dict[str, str]) -> None:
        """Existing sources joining groups: each group's whole membership sent."""
        for join in found.plan.joins:
            if any(n not in sources for n in (*join.created, *join.joining)):
                continue  # a create failed: its row is rejected, the group left as it was
            update = join.update(sources)
            call = _bind(self._join, join.group_id, update)
            await self.settled("join", join.group_name, call)

    async def updates(self, names: list[str], sources: dict[str, str]) -> list[str]:
        """Changed stream addresses updated in place (UpdateVideoSource, whole: name and
        XML are mandatory; sending it again is safe); the names updated."""
        rows, done = self.sheet.by_name(), []
        for name in names:
            row = rows[name]
            assert row.stream is not None  # ``changed_streams`` looked
            update = UpdateVideoSource(
                name, row.stream, row.latitude, row.longitude, row.tags, self.sheet.form
            )
            call = _bind(self._update, sources[name], update)
            if await self.settled("update", name, call):
                done.append(name)
        return done

    async def _update(self, source_id: str, update: UpdateVideoSource) -> Registered:
        """UpdateVideoSource as a registration."""
        outcome = await self.registry.update_source(source_id, update)
        return Registered(outcome, source_id if outcome.verdict == Verdict.ACCEPTED else "")

    async def delete(self, source_id: str) -> Registered:
        """DeleteVideoSource; a source already gone (a lost answer's retry) is deleted."""
        outcome = await self.registry.delete_source(source_id)
        gone = outcome.verdict == Verdict.ACCEPTED or (
            outcome.verdict == Verdict.REJECTED and outcome.code.endswith("10002")
        )
        return Registered(outcome, source_id if gone else "")

    async def _join(self, group_id: str, update: UpdateVideoGroup) -> Registered:
        """UpdateVideoGroup as a registration (it is safe to send again)."""
        outcome = await self.registry.update_group(group_id, update)
        done = outcome.verdict == Verdict.ACCEPTED
        return Registered(outcome, group_id if done else "")

    async def settled(self, what: str, name: str, call: Call) -> str:
        """One registration, journaled before each send, tried again while the answer
        says it was not made; its id, or "" (refused, or the run stopped). Each attempt
        takes room in flight from the pass's limit (shared with the creates and changes)
        and waits as the settler does between attempts (full jitter, Retry-After)."""
        sender, options = self.sender, self.sender.options
        for attempt in range(1, options.max_attempts + 1):
            if sender.control.stopping:
                return ""
            result = await self._attempt(what, name, attempt, call)
            outcome = result.outcome
            if result.done:
                sender.control.succeeded()
                done = RegistrationDone(
                    what=what,
                    name=name,
                    id=result.id,
                    created=result.created,
                    request_id=outcome.request_id,
                )
                await sender.emit(done)
                return result.id
            if outcome.verdict not in (Verdict.RETRIABLE, Verdict.AMBIGUOUS, Verdict.EXISTS):
                await self._refused(what, name, outcome)
                return ""
            sender.control.failed()
            delay = backoff_delay(options, attempt, outcome.retry_after, self.random)
            await sleep_unless_stopped(sender.clock, sender.control, delay)
        await self._refused(what, name, Outcome(Verdict.RETRIABLE, message="attempts spent"))
        return ""

    async def _attempt(self, what: str, name: str, attempt: int, call: Call) -> Registered:
        """One send, journaled first, with room in flight held only while it is out."""
        sender = self.sender
        epoch = await sender.limit.acquire()
        congested = False
        try:
            await sender.emit(RegistrationSending(what=what, name=name, attempt=attempt))
            result = await call()
            congested = result.outcome.congested
        finally:
            await sender.limit.release(epoch=epoch, congested=congested)
        self.run.scrubber.add(self.registry.secrets)
        return result

    async def _refused(self, what: str, name: str, outcome: Outcome) -> None:
        """A refusal journaled; the first source's for its ``type_config`` format, or the
        API's refusal of the run, stops the registration."""
        reason = outcome.text or outcome.message or outcome.verdict.value
        refused = RegistrationRefused(
            what=what, name=name, reason=reason, request_id=outcome.request_id
        )
        await self.sender.emit(refused)
        control = self.sender.control
        if self.sender.client.refusal:
            control.stop(self.sender.client.refusal, final=True)
        elif what == "source" and self.first_source:
            message = format_refusal(outcome, self.sheet.form)
            if message:
                control.stop(message, final=True)


def _bind(function: Callable[..., Awaitable[Registered]], *arguments: object) -> Call:
    """A call of ``function`` with ``arguments``, made afresh on each attempt."""

    async def call() -> Registered:
        return await function(*arguments)

    return call
