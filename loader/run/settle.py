"""
The steps after a run's creates, before its changes: counting the tasks of batches found
by lookup (``count_found``), and learning the accepted batches' tasks (``learn_tasks``):
which cameras' tasks exist, and their ids for later changes. [I/O: HTTP]
"""

from __future__ import annotations

from loader.errors import SubmitError
from loader.run.context import RunContext
from loader.send.client import ReadFailed, ViasClient
from loader.send.observe import observe
from loader.state.events import BatchAccepted, Emit, LookupFailed
from loader.state.outcomes import attribute_errors
from loader.state.runstate import BatchStatus


async def count_found(client: ViasClient, context: RunContext, record: Emit) -> None:
    """Batches found by lookup came with no counts: one ListBatchTasks call each gives them.

    A batch that holds a task for every camera is settled by its count; the others are
    left for ``_doubtful`` (ListTasks per camera costs far more than one count).
    """
    for batch in context.planned.batches:
        state = context.state.batches.get(batch.name)
        if state is None or not state.found_by_lookup or state.total:
            continue
        try:
            listed, request_id = await client.list_batch(batch.name)
        except SubmitError as exc:
            request_id = exc.request_id if isinstance(exc, ReadFailed) else ""
            failed = LookupFailed(
                batch=batch.name, what="count of tasks", reason=exc.message, request_id=request_id
            )
            await record(failed)
            if client.refusal:
                return
            continue
        tasks = int((listed or {}).get("num_task") or 0)
        if tasks >= batch.camera_count:
            await record(
                BatchAccepted(
                    batch=batch.name,
                    batch_id=state.batch_id,
                    total=tasks,
                    succeeded=tasks,
                    found_by_lookup=True,
                    request_id=request_id,
                )
            )


async def learn_tasks(client: ViasClient, context: RunContext, record: Emit) -> None:
    """Each accepted batch's tasks, matched to cameras: their ids go to the ledger, so later
    runs update, stop or delete them by id.

    One ListTasks per batch, matched by camera name; a batch whose outcome the create
    answer leaves open, or that replaces tasks (the old ones are deleted only once the new
    exist), is matched whole (ShowTaskInfo where names do not decide). Tasks left unmatched
    (or all, with ``--no-task-ids``: one request per batch saved for one-off imports) are
    found when a change needs them (``Applier.find_tasks``) or by ``bulkload refresh``.
    """
    unseen = {
        b.name
        for b in context.state.batches.values()
        if b.status == BatchStatus.ACCEPTED and b.task_ids is None
    }
    whole = (_doubtful(context) | _replacing(context)) & unseen
    names = context.camera_names if unseen else {}
    concurrency = context.options.pacing.concurrency
    if whole:
        await observe(
            client,
            context.state,
            names,
            record,
            only=whole,
            judge_states=False,
            concurrency=concurrency,
        )
    if unseen - whole and context.options.task_ids and not client.refusal:
        await observe(
            client,
            context.state,
            names,
            record,
            only=unseen - whole,
            ids_only=True,
            concurrency=concurrency,
        )


def _doubtful(context: RunContext) -> set[str]:
    """Accepted batches whose cameras' fates the create answer leaves open.

    Found by a lookup and not counted whole, or more cameras failed than error_list
    names: ask ListTasks at once rather than leave cameras ``unknown``.
    """
    found = set()
    for batch in context.planned.batches:
        state = context.state.batches.get(batch.name)
        if state is None or state.status != BatchStatus.ACCEPTED:
            continue
        sources = {c.video_source_id for e in batch.entries for c in e.cameras}
        uncounted = state.found_by_lookup and state.total < batch.camera_count
        if uncounted or state.failed > len(attribute_errors(state.error_list, sources)):
            found.add(batch.name)
    return found


def _replacing(context: RunContext) -> set[str]:
    """Batches that create the successor of a task to replace."""
    replaced = context.delta.replaces
    return {
        b.name
        for b in context.planned.batches
        if any(c.position in replaced for e in b.entries for c in e.cameras)
    }
