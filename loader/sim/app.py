"""
The simulated VIAS API as a Starlette app: IAM tokens, batch tasks, tasks, the gateway in
front (request ids, body limit, token or AK/SK auth, quota, throttling) and the faults a
real network produces, injected on request (see ``loader.sim.config`` for the kinds).

Every answer carries X-Request-Id; every error has the documented body of its source: the
service's (``loader.sim.errors.vias_body``) or the gateway's. A path the API does not have
is the gateway's 404 APIGW.0101; a method a path does not take is the service's documented
example, 500 VIAS.00010006 "Request method 'GET' not supported".
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections import deque
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from loader.sim.config import FAULTS, SimConfig
from loader.sim.errors import NO_SUCH_API, gateway, gateway_response, vias_response
from loader.sim.gateway import Gateway, RequestIds, request_id_of
from loader.sim.invalid import Invalid, require
from loader.sim.rules import check_body
from loader.sim.state import SimBatch, SimState

__all__ = ["FAULTS", "STATUS_INFO_KEYS", "SimConfig", "create_app", "new_state"]

# BatchTaskStatusInfoDto's counters, as the SDK lists them.
STATUS_INFO_KEYS = (
    "pending",
    "recovering",
    "starting",
    "upgrading",
    "create_failed",
    "start_failed",
    "running",
    "stopping",
    "stopped",
    "abnormal",
    "succeeded",
    "failed",
    "deleting",
    "freezing",
    "frozen",
    "stopped_no_service",
    "scheduling",
    "lack_of_resources",
)
_BATCH_ID = re.compile(r"[a-z0-9_-]{4,36}")  # ListTasks' batch_id pattern
_TYPE_LIKE = {"batch_task_name": "name", "publish_service_name": "service_name"}


class _Faults:
    """The next fault for a create request."""

    def __init__(self, config: SimConfig) -> None:
        self.sequence = deque(config.fault_sequence)
        self.table = config.faults
        self.random = random.Random(config.seed)

    def next(self) -> str | None:
        if self.sequence:
            kind = self.sequence.popleft()
            return None if kind == "none" else kind
        draw = self.random.random()
        for kind, probability in self.table.items():
            if draw < probability:
                return kind
            draw -= probability
        return None


def new_state(config: SimConfig) -> SimState:
    """A fresh simulated project as ``config`` describes it."""
    return SimState(
        unknown_sources=config.unknown_sources,
        anonymous_errors=config.anonymous_errors,
        start_fail_percent=config.start_fail_percent,
        starting_after=config.starting_after,
        running_after=config.running_after,
    )


def create_app(config: SimConfig, state: SimState | None = None) -> Starlette:
    """The simulator app over ``state`` (a fresh one by default)."""
    state = state or new_state(config)
    state.tokens |= set(config.static_tokens)
    api = _Api(config, state)
    base = "/v2/{project_id}"
    app = Starlette(
        routes=[
            Route("/v3/auth/tokens", api.issue_token, methods=["POST"]),
            Route(f"{base}/batch-tasks", api.create_batch, methods=["POST"]),
            Route(f"{base}/batch-tasks", api.list_batches, methods=["GET"]),
            Route(f"{base}/batch-tasks/{{batch_id}}", api.delete_batch, methods=["DELETE"]),
            Route(f"{base}/tasks", api.list_tasks, methods=["GET"]),
            Route(f"{base}/tasks/{{task_id}}", api.show_task, methods=["GET"]),
            Route("/_sim/state", api.summary, methods=["GET"]),
        ],
        middleware=[Middleware(RequestIds, wall_clock=config.wall_clock)],
        exception_handlers={
            404: _no_such_api,
            405: _method_not_supported,
            Exception: _internal_error,
        },
    )
    app.state.sim = state
    return app


async def _no_such_api(request: Request, exc: Exception) -> Response:
    """A path the API does not have: the gateway answers."""
    return gateway_response(gateway(NO_SUCH_API), request_id_of(request))


async def _method_not_supported(request: Request, exc: Exception) -> Response:
    """A method the path does not take: the service's own documented example answer."""
    return vias_response("VIAS.00010006", f"Request method '{request.method}' not supported")


async def _internal_error(request: Request, exc: Exception) -> Response:
    """A bug of the simulator still answers in the documented shape (outside RequestIds)."""
    response = vias_response("VIAS.00010006", f"internal error: {type(exc).__name__}")
    response.headers["X-Request-Id"] = request_id_of(request)
    return response


def _reset(request: Request) -> Response:
    """Drop the connection without an answer (uvicorn's protocol owns the transport)."""
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:  # pragma: no cover - only under a server without a transport
        raise RuntimeError("connection resets need uvicorn's h11 protocol")
    transport.abort()
    return Response(status_code=500)


def _query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within its documented range."""
    text = request.query_params.get(name)
    if text is None:
        return default
    require(
        text.isdigit() and low <= int(text) <= high,
        f"{name} {text!r} must be an integer from {low} to {high}",
    )
    return int(text)


class _Api:
    """Handlers over one state and config."""

    def __init__(self, config: SimConfig, state: SimState) -> None:
        self.config = config
        self.state = state
        self.gateway = Gateway(config, state)
        self.faults = _Faults(config)

    async def issue_token(self, request: Request) -> Response:
        """IAM password auth: the token comes back in X-Subject-Token."""
        try:
            user = (await request.json())["auth"]["identity"]["password"]["user"]
            valid = (user["name"], user["password"], user["domain"]["name"]) == (
                self.config.iam_user,
                self.config.iam_password,
                self.config.iam_domain,
            )
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            refusal = {"error_code": "IAM.0002", "error_msg": "Incorrect IAM authentication"}
            return JSONResponse(refusal, status_code=401)
        token = "sim-iam-" + uuid.uuid4().hex
        with self.state.lock:
            self.state.tokens.add(token)
            self.state.issued.append(token)
        body = {
            "token": {
                "project": {"id": self.config.project_id},
                "expires_at": "2099-01-01T00:00:00Z",
            }
        }
        return JSONResponse(body, status_code=201, headers={"X-Subject-Token": token})

    async def _gate(self, request: Request) -> Response | None:
        """The gateway's checks, then the project's; logged on arrival, then latency."""
        refused = await self.gateway.refusal(request)
        if refused is None:
            refused = self._project_refusal(request)
        status = refused.status_code if refused is not None else 0
        self.state.log(request.method, request.url.path, status, request_id_of(request))
        if refused is None and self.config.latency:
            await anyio.sleep(self.config.latency)
        return refused

    def _project_refusal(self, request: Request) -> Response | None:
        """A project other than the simulated one does not exist (400, per the error table)."""
        named = request.path_params["project_id"]
        if named != self.config.project_id:
            return vias_response("VIAS.00010002", f"project {named} does not exist")
        scoped = request.headers.get("X-Project-Id")
        if scoped is not None and scoped != named:
            return vias_response(
                "VIAS.00010002", f"X-Project-Id {scoped} is not the project {named} of the path"
            )
        return None

    async def create_batch(self, request: Request) -> Response:
        """CreateBatchTask, with faults and the documented rules."""
        refused = await self._gate(request)
        if refused is not None:
            return refused
        body, problem = self._checked(await request.body())
        fault = self.faults.next()
        if fault == "429":
            return self.gateway.throttled(request_id_of(request))
        if fault == "5xx-before":
            return vias_response("VIAS.00010006", "simulated fault 5xx-before: nothing created")
        if fault == "reset-before":
            return _reset(request)
        if body is None:
            return vias_response("VIAS.00010001", problem)
        refused = self._service_refusal(body)
        if refused is not None:
            return refused
        hidden = self.config.slow_commit_seconds if fault == "slow-commit" else 0.0
        batch = self.state.create(body, hidden_for=hidden)
        return await self._after_commit(fault, request, batch)

    def _checked(self, raw: bytes) -> tuple[dict[str, Any] | None, str]:
        """The body when it follows every documented rule (its cameras noted), else why not."""
        try:
            body = json.loads(raw)
            check_body(body)
        except Invalid as exc:
            return None, str(exc)
        except ValueError as exc:
            return None, f"the body is not JSON: {exc}"
        self.state.note_seen(body)
        return body, ""

    def _service_refusal(self, body: dict[str, Any]) -> Response | None:
        """A valid body the service still refuses: an unsubscribed service, a used name."""
        if body["service_name"] in self.config.refuse_services:
            return vias_response(
                "VIAS.00010001", f"service {body['service_name']} is not subscribed"
            )
        if self.config.unique_names and body["name"] in self.state.names():
            return vias_response(
                "VIAS.00010011", f"a batch task named {body['name']} exists already"
            )
        return None

    async def _after_commit(self, fault: str | None, request: Request, batch: SimBatch) -> Response:
        """The answer to a committed create: lost (500 or reset), late, or the counts."""
        if fault in ("5xx-after", "slow-commit"):
            return vias_response("VIAS.00010006", f"simulated fault {fault}: created, not answered")
        if fault == "commit-reset":
            return _reset(request)
        if fault == "slow":
            await anyio.sleep(self.config.slow_seconds)
        return JSONResponse(
            {
                "total_count": len(batch.tasks) + len(batch.failed),
                "failed_count": len(batch.failed),
                "succeed_count": len(batch.tasks),
                "id": batch.id,
                "error_list": batch.failed,
            }
        )

    async def list_batches(self, request: Request) -> Response:
        """ListBatchTasks: fuzzy name search, paging, per-state counts."""
        refused = await self._gate(request)
        if refused is not None:
            return refused
        if self.faults.random.random() < self.config.list_failures:
            return vias_response("VIAS.00010006", "simulated list failure")
        try:
            size = _query_int(request, "page_size", 10, 5, 200)
            page = _query_int(request, "page_num", 1, 1, 10000)
            attribute, fragment = self._name_filter(request)
        except Invalid as exc:
            return vias_response("VIAS.00010001", str(exc))
        batches = self.state.visible_batches(self.config.list_lag)
        if attribute:
            batches = [b for b in batches if fragment in getattr(b, attribute)]
        paged = request.query_params.get("is_paged", "true") != "false"
        shown = batches[(page - 1) * size : page * size] if paged else batches
        return JSONResponse(
            {"count": len(batches), "batch_task_list": [self._batch_dto(b) for b in shown]}
        )

    @staticmethod
    def _name_filter(request: Request) -> tuple[str, str]:
        """The SimBatch attribute and fragment of ``type_like`` + ``name_like``, if given."""
        type_like = request.query_params.get("type_like")
        name_like = request.query_params.get("name_like")
        require(
            type_like is None or type_like in _TYPE_LIKE,
            f"type_like {type_like!r} must be one of {sorted(_TYPE_LIKE)}",
        )
        require(
            name_like is None or type_like is not None,
            "name_like must be used together with type_like",
        )
        if type_like is None or not name_like:
            return "", ""
        return _TYPE_LIKE[type_like], name_like

    def _batch_dto(self, batch: SimBatch) -> dict[str, Any]:
        counts = dict.fromkeys(STATUS_INFO_KEYS, 0)
        for task in batch.tasks:
            counts[self.state.state_of(task).lower()] += 1
        return {
            "id": batch.id,
            "batch_task_name": batch.name,
            "alg_name": batch.service_name,
            "num_task": len(batch.tasks),
            "created_at": int(batch.created_at * 1000),
            "batch_task_status_info": counts,
        }

    async def delete_batch(self, request: Request) -> Response:
        """DeleteBatchTask."""
        refused = await self._gate(request)
        if refused is not None:
            return refused
        batch_id = request.path_params["batch_id"]
        batch = self.state.delete(batch_id)
        if batch is None:
            return vias_response("VIAS.00010008", f"no batch task has the id {batch_id}")
        count = len(batch.tasks)
        return JSONResponse(
            {
                "total_count": count,
                "failed_count": 0,
                "succeed_count": count,
                "id": batch.id,
                "error_list": [],
            }
        )

    async def list_tasks(self, request: Request) -> Response:
        """ListTasks by batch_id; ``count`` is this page's count, as the SDK documents."""
        refused = await self._gate(request)
        if refused is not None:
            return refused
        batch_id = request.query_params.get("batch_id")
        try:
            size = _query_int(request, "page_size", 10, 5, 1000)
            page = _query_int(request, "page", 1, 1, 1_000_000)
            require(
                batch_id is None or _BATCH_ID.fullmatch(batch_id) is not None,
                f"batch_id {batch_id!r} must be 4-36 of a-z, 0-9, '-' and '_'",
            )
        except Invalid as exc:
            return vias_response("VIAS.00010001", str(exc))
        tasks = self.state.visible_tasks(batch_id)
        shown = tasks[(page - 1) * size : page * size]
        return JSONResponse(
            {
                "count": len(shown),
                "page": page,
                "page_size": size,
                "tasks": [
                    {
                        "id": t.id,
                        "name": t.name,
                        "state": self.state.state_of(t),
                        "video_source_name": self.config.source_names.get(t.video_source_id, ""),
                        "type": "0",
                        "created_at": str(int(t.created_at * 1000)),
                    }
                    for t in shown
                ],
            }
        )

    async def show_task(self, request: Request) -> Response:
        """ShowTaskInfo: the task's input names its video source id."""
        refused = await self._gate(request)
        if refused is not None:
            return refused
        task_id = request.path_params["task_id"]
        with self.state.lock:
            task = self.state.tasks.get(task_id)
        if task is None:
            return vias_response("VIAS.00010007", f"no task has the id {task_id}")
        return JSONResponse(
            {
                "id": task.id,
                "name": task.name,
                "state": self.state.state_of(task),
                "status": "",
                "input": {
                    "type": "video_source",
                    "data": [{"video_source_id": task.video_source_id}],
                },
            }
        )

    async def summary(self, request: Request) -> Response:
        """
        Ground truth for tests in other processes: batches per name, and per camera seen (in
        a valid create body) or holding a task, its task count and each task's settings.
        """
        counts = self.state.task_counts()
        return JSONResponse(
            {
                "batches": len(self.state.batches),
                "tasks": sum(counts.values()),
                "names": dict(self.state.names()),
                **self.state.camera_report(),
            }
        )
