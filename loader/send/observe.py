"""
Reconciliation: ask the API what became of each accepted batch. ListBatchTasks gives the
per-state counts; ListTasks by ``batch_id`` (paged until a short page) gives its tasks,
matched to cameras by video source name where the sheet has unique names, else through
ShowTaskInfo's ``input.data[].video_source_id``. Batches are asked about ``concurrency``
at a time, all calls through the run's pacer; once the API refuses the run (credentials,
quota), the batches left are not asked about.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
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
        complete = not unnamed
        unnamed = []
    async with anyio.create_task_group() as group:
        for task in unnamed:
            group.start_soon(show_one, task)
    if not counts:
        counts = {k.lower(): v for k, v in Counter(str(t.get("state", "")) for t in tasks).items()}
    return TasksObserved(
        batch=name, batch_id=batch_id, state_counts=counts, tasks=sorted(matched), complete=complete
    )


def _name(task: Mapping[str, Any]) -> str:
    """A task's name (UpdateTask must repeat it)."""
    return str(task.get("name") or "")
