"""
Which tasks of a run's accepted batches it must list, and how to match them to cameras:
by video source name (``names_of``), the sheet's names where it has them, else the API's.
Used by the steps that count, learn and judge tasks (``steps``). [I/O: HTTP]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from loader.errors import SubmitError
from loader.model.cameras import Camera
from loader.planning.batches import Batch
from loader.run.run import Run
from loader.send.client import ViasClient
from loader.state.outcomes import attribute_errors
from loader.state.runstate import BatchStatus


async def names_of(client: ViasClient, run: Run, batches: set[str]) -> dict[str, dict[str, str]]:
    """Per batch: {video source name: id} of its cameras whose names are unique in it.

    The sheet's camera names where it has a name column; else the API's names of the
    batches' groups' video sources (ListVideoSources, 200 a page: a sheet without names
    pays a request per 200 cameras instead of a ShowTaskInfo per camera).
    """
    planned = [b for b in run.plan.batches if b.name in batches]
    rows = run.loaded.checked.rows
    if "camera_name" in rows:
        names = rows["camera_name"].to_numpy(dtype=object)
        found = {b.name: _unique(b, lambda c: str(names[c.position])) for b in planned}
        if any(found.values()):
            return found
    groups = {e.group for b in planned for e in b.entries}
    try:
        by_name = await run.sources.of(client, groups)
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


def unseen(run: Run) -> set[str]:
    """Accepted batches whose tasks the run has not listed yet."""
    return {
        b.name
        for b in run.state.batches.values()
        if b.status == BatchStatus.ACCEPTED and b.task_ids is None
    }


def doubtful(run: Run) -> set[str]:
    """Accepted batches whose cameras' fates the create answer leaves open.

    Found by a lookup and not counted whole, or more cameras failed than error_list
    names: ask ListTasks at once rather than leave cameras ``unknown``.
    """
    found = set()
    for batch in run.plan.batches:
        state = run.state.batches.get(batch.name)
        if state is None or state.status != BatchStatus.ACCEPTED:
            continue
        sources = set(batch.of.video_source_id[batch.at].tolist())
        uncounted = state.found_by_lookup and state.total < batch.camera_count
        if uncounted or state.failed > len(attribute_errors(state.error_list, sources)):
            found.add(batch.name)
    return found


def replacing(run: Run) -> set[str]:
    """Batches that create the successor of a task to replace."""
    replaced = run.delta.replaces
    if not replaced:
        return set()
    return {
        b.name for b in run.plan.batches if any(p in replaced for p in b.of.position[b.at].tolist())
    }
