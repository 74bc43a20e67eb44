"""
The steps after a run's creates, before its changes: counting the tasks of batches found
by lookup (``count_found``), and learning the accepted batches' tasks (``learn_tasks``):
which cameras' tasks exist, and their ids for later changes. [I/O: HTTP]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from loader.errors import SubmitError
from loader.model.cameras import Camera
from loader.planning.batches import Batch
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
    """The tasks of accepted batches whose fate or successors the run must know now: a
    batch whose outcome the create answer leaves open, or that creates the successor of a
    task to replace (the old one is deleted only once the new exists). With ``--task-ids``,
    every accepted batch's tasks, to record their ids at once.

    A load needs no task id: a later change finds the ids it needs (``Applier.find_tasks``),
    as ``bulkload refresh`` does, so a default load pays for its creates alone. Tasks are
    matched to cameras by video source name (``names_of``), ShowTaskInfo for the rest.
    """
    unseen = {
        b.name
        for b in context.state.batches.values()
        if b.status == BatchStatus.ACCEPTED and b.task_ids is None
    }
    whole = (_doubtful(context) | _replacing(context)) & unseen
    eager = unseen - whole if context.options.task_ids else set()
    if not (whole or eager) or client.refusal:
        return
    names = await names_of(client, context, whole | eager)
    state, concurrency = context.state, context.options.pacing.concurrency
    if whole:
        await observe(
            client, state, names, record, only=whole, judge_states=False, concurrency=concurrency
        )
    if eager and not client.refusal:
        await observe(
            client, state, names, record, only=eager, ids_only=True, concurrency=concurrency
        )


async def names_of(
    client: ViasClient, context: RunContext, batches: set[str]
) -> dict[str, dict[str, str]]:
    """Per batch: {video source name: id} of its cameras whose names are unique in it.

    The sheet's camera names where it has a name column; else the API's names of the
    batches' groups' video sources (ListVideoSources, 200 a page: a sheet without names
    pays a request per 200 cameras instead of a ShowTaskInfo per camera).
    """
    planned = [b for b in context.planned.batches if b.name in batches]
    rows = context.loaded.checked.rows
    if "camera_name" in rows:
        names = rows["camera_name"].to_numpy(dtype=object)
        found = {b.name: _unique(b, lambda c: str(names[c.position])) for b in planned}
        if any(found.values()):
            return found
    groups = {e.group for b in planned for e in b.entries}
    try:
        by_name = await context.sources.of(client, groups)
    except SubmitError:
        return {}  # ShowTaskInfo tells each task's video source instead
    named = {source: name for name, source in by_name.items()}
    return {b.name: _unique(b, lambda c: named.get(c.video_source_id, "")) for b in planned}


def _unique(batch: Batch, name_of: Callable[[Camera], str]) -> dict[str, str]:
    """{name: video source id} of a batch's cameras whose name stands once in it (a name
    on two of its cameras, or a camera in two of its groups, matches no task)."""
    pairs = [(name_of(c), c.video_source_id) for e in batch.entries for c in e.cameras]
    counted = Counter(name for name, _ in pairs)
    return {name: source for name, source in pairs if name and counted[name] == 1}


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
