"""
The batch calls that change what a batch created: UpdateBatchTask, DeleteBatchTask and
BatchStartStopTask. Each answers as CreateBatchTask does (research notes section 5):
``total_count``, ``failed_count``, ``succeed_count``, ``id``, ``error_list`` (strings, each
naming the camera it is about).

UpdateBatchTask's semantics are not documented; ours: the body is the batch's whole new
configuration (the create body without ``service_name`` and ``service_version``, which an
update cannot change). Every task of the batch whose (group, video source) an entry of
``batch_input`` names takes the new settings, with that entry's ``target_roi``; tasks not
named are left as they are (an update adds and removes no task); a named camera without a
task in the batch, or whose task is being deleted, counts as failed; a camera named twice
counts once (its first entry). The batch takes the new name (refused with 400
VIAS.00010011 when ``unique_names`` and another batch holds it); task names stay.

DeleteBatchTask: every task goes DELETING, and the batch is gone with its last task
(``deleting_after`` s later); a task already being deleted counts as failed.
BatchStartStopTask: each task as StartStopTask would take it; a refusal counts as failed.
A batch already being deleted refuses all three with 500 VIAS.00010012.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from loader.sim.errors import vias_response
from loader.sim.lifecycle import Camera, SimBatch, SimTask
from loader.sim.rules import check_batch_update
from loader.sim.service import Handlers, checked_body, counts, gated
from loader.sim.state import Refusal
from loader.sim.tasks import COMMANDS, not_allowed


class BatchChanges(Handlers):
    """The batch mutation handlers over one service."""

    @gated
    async def update_batch(self, request: Request) -> Response:
        """UpdateBatchTask: the named cameras' tasks take the new settings."""
        raw = await request.body()
        batch_id = request.path_params["batch_id"]
        return await self.service.mutate(request, lambda: self._update(batch_id, raw))

    def _update(self, batch_id: str, raw: bytes) -> Response:
        batch, refused = self._batch(batch_id)
        if batch is None:
            return refused
        body = checked_body(raw, check_batch_update)
        if isinstance(body, Response):
            return body
        renamed = body["name"] != batch.name
        if renamed and self.config.unique_names and body["name"] in self.state.names():
            return vias_response(
                "VIAS.00010011", f"a batch task named {body['name']} exists already"
            )
        by_camera: dict[Camera, list[SimTask]] = {}
        for task in self.state.reconfigure_batch(batch, body):
            by_camera.setdefault(task.camera, []).append(task)
        succeeded, errors = 0, []
        for camera, roi in _named(body):
            tasks = by_camera.get(camera, [])
            if not tasks:
                errors.append(f"{_camera(camera)} has no task in batch task {batch.id}")
            for task in tasks:
                refusal = self.state.update_task(task, body, name=None, roi=roi)
                if refusal:
                    errors.append(f"{_camera(camera)}: {refusal}")
                else:
                    succeeded += 1
        return counts(batch.id, succeeded, errors)

    @gated
    async def delete_batch(self, request: Request) -> Response:
        """DeleteBatchTask: every task DELETING; the batch goes with its last task."""
        batch_id = request.path_params["batch_id"]

        def change() -> Response:
            batch, refused = self._batch(batch_id)
            if batch is None:
                return refused
            return self._on_each(batch, self.state.delete_batch(batch), self.state.delete_task)

        return await self.service.mutate(request, change)

    @gated
    async def start_stop(self, request: Request) -> Response:
        """BatchStartStopTask: each task of the batch started or stopped."""
        batch_id, command = request.path_params["batch_id"], request.path_params["command"]

        def change() -> Response:
            if command not in COMMANDS:
                return vias_response("VIAS.00010001", f"command {command!r} must be start or stop")
            batch, refused = self._batch(batch_id)
            if batch is None:
                return refused
            act = self.state.start_task if command == "start" else self.state.stop_task
            return self._on_each(batch, list(batch.tasks), act)

        return await self.service.mutate(request, change)

    def _batch(self, batch_id: str) -> tuple[SimBatch | None, Response]:
        """The batch to change, or (None, why not): unknown, or being deleted."""
        batch = self.state.batch(batch_id)
        if batch is None:
            return None, vias_response("VIAS.00010008", f"no batch task has the id {batch_id}")
        if batch.deleting_at is not None:
            return None, not_allowed(f"batch task {batch_id} is being deleted")
        return batch, Response()

    @staticmethod
    def _on_each(
        batch: SimBatch, tasks: list[SimTask], act: Callable[[SimTask], Refusal]
    ) -> Response:
        """``act`` on each task; the counts, a refusal failing its task."""
        errors = [f"{_camera(t.camera)}: {why}" for t in tasks if (why := act(t))]
        return counts(batch.id, len(tasks) - len(errors), errors)


def _named(body: dict[str, Any]) -> list[tuple[Camera, str | None]]:
    """The cameras an update body names, each once (its first entry), with its ROI."""
    named: dict[Camera, str | None] = {}
    for group in body["batch_input"]["video_source_group"]:
        for source in group["video_source_list"]:
            camera = (group["video_source_group_id"], source["video_source_id"])
            named.setdefault(camera, source.get("target_roi"))
    return list(named.items())


def _camera(camera: Camera) -> str:
    """A camera as an error_list entry names it."""
    return f"video source {camera[1]} of group {camera[0]}"
