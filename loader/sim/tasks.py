"""
The single-task calls: ListTasks, ShowTaskInfo, UpdateTask, DeleteTask, StartStopTask.

Readings of ours, where the reference is silent: ListTasks' ``task_name`` matches part of a
name (as the other name filters do) and ``task_state`` takes one upper-case state. A task
is looked up before its body is read: an unknown id is 400 VIAS.00010007 whatever the body,
and a task being deleted refuses every change with 500 VIAS.00010012. An update replaces
the settings without a restart (the state goes on as before). A start of a STOPPING task is
refused with 500 VIAS.00010012 (it is neither stopped nor started); a start of a started
task and a stop of a stopped one are 200 no-ops. ShowTaskInfo answers ``title`` with the
service name: the SDK has no service_name field, and its ``title`` is the algorithm's name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from loader.sim.errors import vias_response
from loader.sim.invalid import Invalid, require
from loader.sim.lifecycle import STATUS_INFO_KEYS, SimTask
from loader.sim.rules import check_task_update
from loader.sim.service import Handlers, checked_body, gated, query_int
from loader.sim.state import Refusal

__all__ = ["COMMANDS", "Tasks", "ms", "no_task", "not_allowed"]

COMMANDS = ("start", "stop")
_BATCH_ID = re.compile(r"[a-z0-9_-]{4,36}")  # ListTasks' batch_id pattern
_LISTED_STATES = tuple(key.upper() for key in STATUS_INFO_KEYS)
_STATUS = {
    "START_FAILED": "the algorithm failed to start on video source {source} (simulated)",
    "ABNORMAL": "video source {source} stopped sending video (simulated)",
}


def ms(instant: float) -> str:
    """An instant of the state's clock as the API's millisecond text."""
    return str(int(instant * 1000))


def no_task(task_id: str) -> Response:
    """No task has this id (or it is gone)."""
    return vias_response("VIAS.00010007", f"no task has the id {task_id}")


def not_allowed(refusal: str) -> Response:
    """The service refuses the operation in the task's state."""
    return vias_response("VIAS.00010012", refusal)


class Tasks(Handlers):
    """The task handlers over one service."""

    @gated
    async def list_tasks(self, request: Request) -> Response:
        """ListTasks by batch, state, groups, name; ``count`` is this page's, as documented."""
        query = request.query_params
        try:
            size = query_int(request, "page_size", 10, 5, 1000)
            page = query_int(request, "page", 1, 1, 1_000_000)
            batch_id = _batch_id(query.get("batch_id"))
            state = _task_state(query.get("task_state"))
            groups = _group_ids(query.get("video_group_id"))
            name = query.get("task_name")
            require(name is None or len(name) <= 1024, "task_name must be at most 1024 characters")
        except Invalid as exc:
            return vias_response("VIAS.00010001", str(exc))
        tasks = [
            t
            for t in self.state.visible_tasks(batch_id)
            if (state is None or self.state.state_of(t) == state)
            and (groups is None or t.group_id in groups)
            and (name is None or name in t.name)
        ]
        shown = tasks[(page - 1) * size : page * size]
        return JSONResponse(
            {
                "count": len(shown),
                "page": page,
                "page_size": size,
                "tasks": [self._item(t) for t in shown],
            }
        )

    def _item(self, task: SimTask) -> dict[str, Any]:
        """A TaskInfo: no video source id and no batch id, as the SDK documents."""
        return {
            "id": task.id,
            "name": task.name,
            "state": self.state.state_of(task),
            "video_source_name": self.service.source_name(task.video_source_id),
            "title": self.state.service_of(task)[0],
            "type": "0",
            "created_at": ms(task.created_at),
        }

    @gated
    async def show_task(self, request: Request) -> Response:
        """ShowTaskInfo: the task's whole configuration, header values masked."""
        task_id = request.path_params["task_id"]
        task = self.state.task(task_id)
        if task is None:
            return no_task(task_id)
        return JSONResponse(self._info(task))

    def _info(self, task: SimTask) -> dict[str, Any]:
        """ShowTaskInfoResponse's fields the simulator knows; absent ones are left out."""
        settings = self.state.settings[task.settings]
        state = self.state.state_of(task)
        info: dict[str, Any] = {
            "id": task.id,
            "name": task.name,
            "description": task.description,
            "state": state,
            "status": _STATUS.get(state, "").format(source=task.video_source_id),
            "created_at": ms(task.created_at),
            "updated_at": ms(self.state.since(task)),
        }
        if "schedule" in settings:
            info["schedule"] = settings["schedule"]
        info["input"] = {
            "type": "video_source",
            "data": [{"video_source_id": task.video_source_id}],
        }
        info["output"] = settings["output"]
        config = _config_with_roi(settings.get("config"), settings["target_roi"])
        if config:
            info["config"] = config
        info["video_source_name"] = self.service.source_name(task.video_source_id)
        info["group_name"] = self.service.group_name(task.group_id)
        info["title"] = settings["service_name"]
        info["type"] = "cloud"
        if "resource_order_id" in settings:
            info["resource_order_id"] = settings["resource_order_id"]
        return info

    @gated
    async def update_task(self, request: Request) -> Response:
        """UpdateTask: the task's settings replaced; ``{id, name}``."""
        raw = await request.body()
        task_id = request.path_params["task_id"]
        return await self.service.mutate(request, lambda: self._update(task_id, raw))

    def _update(self, task_id: str, raw: bytes) -> Response:
        task = self.state.task(task_id)
        if task is None:
            return no_task(task_id)
        if task.deleting_at is not None:
            return not_allowed(f"task {task_id} is being deleted")
        body = checked_body(raw, lambda b: check_task_update(b, task.video_source_id))
        if isinstance(body, Response):
            return body
        refusal = self.state.update_task(task, body, name=body["name"])
        if refusal:
            return not_allowed(refusal)
        return JSONResponse({"id": task.id, "name": body["name"]})

    @gated
    async def delete_task(self, request: Request) -> Response:
        """DeleteTask: DELETING, then gone; ``{}``."""
        task_id = request.path_params["task_id"]
        return await self.service.mutate(
            request, lambda: self._act(task_id, self.state.delete_task)
        )

    @gated
    async def start_stop(self, request: Request) -> Response:
        """StartStopTask: ``start`` or ``stop``; ``{}``."""
        task_id, command = request.path_params["task_id"], request.path_params["command"]

        def change() -> Response:
            if command not in COMMANDS:
                return vias_response("VIAS.00010001", f"command {command!r} must be start or stop")
            act = self.state.start_task if command == "start" else self.state.stop_task
            return self._act(task_id, act)

        return await self.service.mutate(request, change)

    def _act(self, task_id: str, act: Callable[[SimTask], Refusal]) -> Response:
        """One state change on a task by id: 200 ``{}``, or why not."""
        task = self.state.task(task_id)
        if task is None:
            return no_task(task_id)
        refusal = act(task)
        return not_allowed(refusal) if refusal else JSONResponse({})


def _config_with_roi(config: Any, roi: str | None) -> dict[str, Any]:
    """The task's config as a single task carries it: its ROI in ``common.target_roi``."""
    shown = dict(config or {})
    if roi:
        shown["common"] = {**(shown.get("common") or {}), "target_roi": roi}
    return shown


def _batch_id(value: str | None) -> str | None:
    require(
        value is None or _BATCH_ID.fullmatch(value) is not None,
        f"batch_id {value!r} must be 4-36 of a-z, 0-9, '-' and '_'",
    )
    return value


def _task_state(value: str | None) -> str | None:
    require(
        value is None or value in _LISTED_STATES,
        f"task_state {value!r} must be one upper-case task state, such as RUNNING",
    )
    return value


def _group_ids(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    require(
        4 <= len(value) <= 2048,
        f"video_group_id {value!r} must be 4-2048 characters: group ids apart with ','",
    )
    return frozenset(value.split(","))
