"""
The named steps of a run, each ``async def step(run, sender)``: what it reads is the
immutable ``Run``, what it sends goes through the pass's ``Sender``, what it learns is
recorded as events (the sender's ``emit``) and folded beside the plan. A pass is a short
sequence of them (``runner``):

    START     = give_up_taken, canary, creates, count_found, learn_tasks, changes,
                delete_sources (``run.register``)
    RECONCILE = observe_all

Adding a step is one function here and one name in a sequence. What the steps did
(``Activity``) is what the end of the pass reports. [I/O: HTTP]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from loader.errors import SubmitError
from loader.run.apply import apply_changes
from loader.run.register import delete_sources
from loader.run.run import Run
from loader.run.tasks import doubtful, names_of, replacing, unseen
from loader.send.client import ReadFailed
from loader.send.control import Sender
from loader.send.engine import Submitter
from loader.send.observe import observe
from loader.state.events import BatchAccepted, BatchGaveUp, CanaryFailed, CanaryPassed, LookupFailed

Step = Callable[[Run, Sender], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class Activity:
    """What a pass's steps did: why they stopped ("": they finished), retries, lookups."""

    stop_reason: str = ""
    retries: int = 0
    lookups: int = 0


async def give_up_taken(run: Run, sender: Sender) -> None:
    """Batches another run has recorded cameras of since this one was planned: given up."""
    for name, reason in run.taken.items():
        await sender.emit(BatchGaveUp(batch=name, reason=reason, final=True))


async def canary(run: Run, sender: Sender) -> None:
    """The canary alone (unless it passed before), judged before the rest is sent.

    A canary without a verdict (in doubt, the run stopped) stops the run: the rest gives
    up unsent, and ``resume`` goes on from there.
    """
    batch = run.state.canary
    if batch is None or isinstance(run.state.verdict, CanaryPassed):
        return
    from loader.run.canary import judge  # a run with a canary only (most have none)

    await Submitter(sender).run([j for j in run.to_create if j.name == batch.name])
    verdict = await judge(sender, batch, wait=run.options.canary_wait)
    if isinstance(verdict, CanaryFailed) and not verdict.final:
        # Which cameras' tasks failed or lag, for the results.
        names = await names_of(sender.client, run, {batch.name})
        await observe(sender.client, run.state, names, sender.emit, only={batch.name})
    if verdict is None:
        waiting = batch.gave_up or "it has no verdict yet"
        sender.control.stop(f"the rest waits for the canary: {waiting}")


async def creates(run: Run, sender: Sender) -> None:
    """The batches left to create, with the changes that need no create alongside.

    Not the canary's (its own step), and none while a failed canary holds them back. A
    replace's delete waits for its successor to be listed: ``changes`` sends it.
    """
    if run.canary_failed() and not sender.control.stopping:
        return
    rest = [j for j in run.to_create if not j.state.canary]
    async with anyio.create_task_group() as both:
        both.start_soon(Submitter(sender).run, rest)
        both.start_soon(_changes_alongside, run, sender)


async def _changes_alongside(run: Run, sender: Sender) -> None:
    """The changes sent while the creates go, unless the API refused the run."""
    if not sender.client.refusal:
        await apply_changes(run, sender)


async def count_found(run: Run, sender: Sender) -> None:
    """Batches found by lookup came with no counts: one ListBatchTasks call each gives them.

    A batch that holds a task for every camera is settled by its count; the others are
    left for ``learn_tasks`` (ListTasks per camera costs far more than one count).
    """
    if sender.control.stopping:
        return
    client = sender.client
    for batch in run.plan.batches:
        state = run.state.batches.get(batch.name)
        if state is None or not state.found_by_lookup or state.total:
            continue
        try:
            listed, request_id = await client.list_batch(batch.name)
        except SubmitError as exc:
            request_id = exc.request_id if isinstance(exc, ReadFailed) else ""
            failed = LookupFailed(
                batch=batch.name, what="count of tasks", reason=exc.message, request_id=request_id
            )
            await sender.emit(failed)
            if client.refusal:
                return
            continue
        tasks = int((listed or {}).get("num_task") or 0)
        if tasks >= batch.camera_count:
            await sender.emit(
                BatchAccepted(
                    batch=batch.name,
                    batch_id=state.batch_id,
                    total=tasks,
                    succeeded=tasks,
                    found_by_lookup=True,
                    request_id=request_id,
                )
            )


async def learn_tasks(run: Run, sender: Sender) -> None:
    """The tasks of accepted batches whose fate or successors the run must know now.

    A batch whose outcome the create answer leaves open, or that creates the successor of
    a task to replace (the old one is deleted only once the new exists). With
    ``--task-ids``, every accepted batch's tasks, to record their ids at once.

    A load needs no task id: a later change finds the ids it needs (``apply``), as
    ``bulkload refresh`` does, so a default load pays for its creates alone. Tasks are
    matched to cameras by video source name (``names_of``), ShowTaskInfo for the rest.
    """
    if not _changes_may_go(run, sender):
        return
    client, left = sender.client, unseen(run)
    whole = (doubtful(run) | replacing(run)) & left
    eager = left - whole if run.options.task_ids else set()
    if not (whole or eager):
        return
    names = await names_of(client, run, whole | eager)
    state, concurrency = run.state, sender.options.concurrency
    if whole:
        await observe(
            client,
            state,
            names,
            sender.emit,
            only=whole,
            judge_states=False,
            concurrency=concurrency,
        )
    if eager and not client.refusal:
        await observe(
            client, state, names, sender.emit, only=eager, ids_only=True, concurrency=concurrency
        )


async def changes(run: Run, sender: Sender) -> None:
    """The changes left after the creates, their unknown task ids found first.

    A replace's delete goes here, once its successor is listed.
    """
    if _changes_may_go(run, sender):
        await apply_changes(run, sender)


async def observe_all(run: Run, sender: Sender) -> None:
    """What became of every batch: its tasks listed and judged (``reconcile``)."""
    names = await names_of(sender.client, run, set(run.state.batches))
    concurrency = sender.options.concurrency
    await observe(sender.client, run.state, names, sender.emit, concurrency=concurrency)


def _changes_may_go(run: Run, sender: Sender) -> bool:
    """Not stopped, not refused, not held back by a failed canary."""
    return not (sender.control.stopping or sender.client.refusal or run.canary_failed())


START: tuple[Step, ...] = (
    give_up_taken,
    canary,
    creates,
    count_found,
    learn_tasks,
    changes,
    delete_sources,
)
RECONCILE: tuple[Step, ...] = (observe_all,)
