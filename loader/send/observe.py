"""
Reconciliation: ask the API what became of each accepted batch. ListBatchTasks gives the
per-state counts; ListTasks by ``batch_id`` (paged until a short page) gives its tasks,
matched to cameras by video source name (the sheet's unique names, or ListVideoSources'
names of the batches' groups: ``source_names``), else through ShowTaskInfo's
``input.data[].video_source_id``. ``find_tasks`` does the same for batches of earlier runs,
whose tasks a change needs. Batches are asked about ``concurrency``
at a time, all calls through the run's pacer; once the API refuses the run (credentials,
quota), the batches left are not asked about.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import anyio

from loader.errors import SubmitError
from loader.send.client import ReadFailed, ViasClient
from loader.state.events import Emit, LookupFailed, TasksObserved
from loader.state.runstate import BatchState, BatchStatus, RunState

SHOW_TRIES = 3  # a ShowTaskInfo that fails is asked again (it creates nothing)


async def observe(
    client: ViasClient,
    state: RunState,
    names: Mapping[str, Mapping[str, str]],
    emit: Emit,
    *,
    concurrency: int = 4,
    only: set[str] | None = None,
    judge_states: bool = True,
    ids_only: bool = False,
) -> int:
    """A TasksObserved event per accepted batch; returns how many batches were observed.

    ``names`` maps a batch name to {video source name: video source id} for its cameras
    whose names are unique in the batch. ``ids_only``: learn task ids cheaply, one ListTasks
    per batch and camera names only (no ShowTaskInfo): no verdict on outcomes.
    """
    chosen = [
        b
        for b in state.batches.values()
        if b.status == BatchStatus.ACCEPTED and b.batch_id and (only is None or b.name in only)
    ]
    observed = 0
    batches = anyio.CapacityLimiter(max(1, concurrency))  # batches asked about at once
    shows = anyio.CapacityLimiter(max(1, concurrency))  # their ShowTaskInfo calls at once

    async def one(batch: BatchState) -> None:
        nonlocal observed
        async with batches:
            if client.refused is not None:  # the API refused the run: ask nothing more
                return
            try:
                event = await _observe_batch(
                    client,
                    batch.name,
                    batch.batch_id,
                    names.get(batch.name, {}),
                    shows,
                    with_counts=judge_states and not ids_only,
                    show=not ids_only,
                )
            except SubmitError as exc:
                request_id = exc.request_id if isinstance(exc, ReadFailed) else ""
                failed = LookupFailed(
                    batch=batch.name, what="task list", reason=exc.message, request_id=request_id
                )
                await emit(failed)
                return
        await emit(replace(event, judge_states=judge_states, ids_only=ids_only))
        observed += 1

    async with anyio.create_task_group() as group:
        for batch in chosen:
            group.start_soon(one, batch)
    return observed


async def _observe_batch(
    client: ViasClient,
    name: str,
    batch_id: str,
    by_name: Mapping[str, str],
    limiter: anyio.CapacityLimiter,
    *,
    with_counts: bool = True,
    show: bool = True,
) -> TasksObserved:
    """Counts and tasks of one batch, each task matched to its camera (with its name).

    ``with_counts``: ListBatchTasks' per-state counts too (else counted from the tasks).
    """
    counts: dict[str, int] = {}
    if with_counts:
        listed, _ = await client.list_batch(name)
        counts = {
            k: int(v)
            for k, v in ((listed or {}).get("batch_task_status_info") or {}).items()
            if isinstance(v, int)
        }
    tasks = await client.list_tasks(batch_id)
    matched, complete = await _match(client, tasks, by_name, limiter, show=show)
    if not counts:
        counts = {k.lower(): v for k, v in Counter(str(t.get("state", "")) for t in tasks).items()}
    return TasksObserved(
        batch=name, batch_id=batch_id, state_counts=counts, tasks=sorted(matched), complete=complete
    )


async def _match(
    client: ViasClient,
    tasks: Sequence[dict[str, Any]],
    by_name: Mapping[str, str],
    limiter: anyio.CapacityLimiter,
    *,
    show: bool = True,
) -> tuple[list[list[str]], bool]:
    """Each task as [video source id, task id, state, task name], and whether every task
    was matched: by video source name where ``by_name`` knows it, else (``show``) through
    ShowTaskInfo's ``input.data[].video_source_id``, ``limiter`` calls at a time."""
    matched: list[list[str]] = []
    unnamed: list[dict[str, Any]] = []
    for task in tasks:
        source = by_name.get(str(task.get("video_source_name") or ""))
        if source:
            matched.append(
                [source, str(task.get("id", "")), str(task.get("state", "")), _name(task)]
            )
        else:
            unnamed.append(task)
    complete = True

    async def show_one(task: dict[str, Any]) -> None:
        nonlocal complete
        detail: dict[str, Any] | None = None
        for _ in range(SHOW_TRIES):
            async with limiter:
                try:
                    detail = await client.show_task(str(task.get("id", "")))
                    break
                except SubmitError:
                    if client.refused is not None:
                        break
        data = (((detail or {}).get("input") or {}).get("data") or [{}])[0]
        source = str(data.get("video_source_id") or "")
        if detail is not None and source:
            state = str(detail.get("state") or task.get("state", ""))
            matched.append([source, str(task.get("id", "")), state, _name(detail) or _name(task)])
        else:
            complete = False

    if not show:
        return matched, not unnamed
    async with anyio.create_task_group() as group:
        for task in unnamed:
            group.start_soon(show_one, task)
    return matched, complete


async def source_names(client: ViasClient, group_ids: Iterable[str]) -> dict[str, str]:
    """{video source name: id} of the groups' sources (ListVideoSources): names are unique
    in a project (VIAS.00010010), so a task's ``video_source_name`` names its camera."""
    found: dict[str, str] = {}
    for source in await client.list_video_sources(sorted(set(group_ids))):
        name, source_id = source.get("video_source_name"), source.get("video_source_id")
        if isinstance(name, str) and name and isinstance(source_id, str) and source_id:
            found[name] = source_id
    return found


class SourceNames:
    """The video source names of groups, each group asked about once (``source_names``):
    the steps of one run that match tasks to cameras share what was learned."""

    def __init__(self) -> None:
        self.by_name: dict[str, str] = {}
        self.asked: set[str] = set()

    async def of(self, client: ViasClient, group_ids: Iterable[str]) -> dict[str, str]:
        """{video source name: id} of at least these groups' sources."""
        missing = set(group_ids) - self.asked
        if missing:
            self.by_name |= await source_names(client, missing)
            self.asked |= missing
        return self.by_name


async def find_tasks(
    client: ViasClient,
    batch_ids: Iterable[str],
    by_name: Mapping[str, str],
    *,
    wanted: Mapping[str, Iterable[str]] | None = None,
    concurrency: int = 4,
) -> dict[tuple[str, str], tuple[str, str]]:
    """(batch id, video source id) -> (task id, task name) for every task of the batches:
    one ListTasks (1,000 a page) per batch joined by video source name, ShowTaskInfo only
    for the tasks the names leave open; ``concurrency`` batches at a time. A camera with two
    tasks in one batch (it is in two of its groups) maps to ("", ""): which task is which
    group's is not known. A batch the API cannot list is left out.

    ``wanted`` (batch id -> the video source ids whose tasks are sought) leaves open only
    what may be a wanted camera's task (``_open``): the rest of a batch is not shown.
    """
    found: dict[tuple[str, str], tuple[str, str]] = {}
    batches = anyio.CapacityLimiter(max(1, concurrency))
    shows = anyio.CapacityLimiter(max(1, concurrency))

    async def one(batch_id: str) -> None:
        async with batches:
            if client.refused is not None:
                return
            try:
                tasks = await client.list_tasks(batch_id)
            except SubmitError:
                return
            if wanted is not None:
                tasks = _open(tasks, by_name, set(wanted.get(batch_id, ())))
            matched, _ = await _match(client, tasks, by_name, shows)
        for source, task_id, _state, name in matched:
            key = (batch_id, source)
            found[key] = ("", "") if key in found else (task_id, name)  # two: which is it?

    async with anyio.create_task_group() as group:
        for batch_id in sorted(set(batch_ids)):
            group.start_soon(one, batch_id)
    return found


def _open(
    tasks: Sequence[dict[str, Any]], by_name: Mapping[str, str], wanted: set[str]
) -> list[dict[str, Any]]:
    """The tasks of a batch worth matching when only ``wanted`` sources' tasks are sought:
    those named in ``by_name``, and of the others only what may be a wanted camera's.

    Video source names are unique in a project and every task of a source carries its
    name, so a task whose name ``by_name`` lacks is no camera's whose name it has. Once
    every wanted camera is matched by name, nothing more is shown; a wanted camera whose
    name is known but on no task can only be behind a task without a name; only a wanted
    camera without a known name leaves every unmatched task open (ShowTaskInfo each).
    """
    named = [t for t in tasks if str(t.get("video_source_name") or "") in by_name]
    left = wanted - {by_name[str(t.get("video_source_name"))] for t in named}
    if not left:
        return named
    if left <= set(by_name.values()):
        return [*named, *(t for t in tasks if not t.get("video_source_name"))]
    return list(tasks)


def _name(task: Mapping[str, Any]) -> str:
    """A task's name (UpdateTask must repeat it)."""
    return str(task.get("name") or "")
