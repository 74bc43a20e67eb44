"""
The simulated VIAS API as a Starlette app: IAM tokens, batch tasks, tasks, video groups,
the gateway in front (request ids, body limit, token or AK/SK auth, quota, throttling) and
the faults a real network produces, injected on request (see ``loader.sim.config`` for the
kinds). The task calls live in ``loader.sim.tasks``, the batch changes in
``loader.sim.batches``, ListVideoGroups in ``loader.sim.groups``, ListVideoSources in
``loader.sim.sources``, the registration calls (Create/Update/Delete/Show of a video
source or group) in ``loader.sim.registration``.

Every answer carries X-Request-Id; every error has the documented body of its source: the
service's (``loader.sim.errors.vias_body``) or the gateway's. A path the API does not have
is the gateway's 404 APIGW.0101; a method a path does not take is the service's documented
example, 500 VIAS.00010006 "Request method 'GET' not supported".
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from loader.sim.batches import BatchChanges
from loader.sim.config import FAULTS, SimConfig
from loader.sim.errors import NO_SUCH_API, gateway, gateway_response, vias_response
from loader.sim.gateway import RequestIds, request_id_of
from loader.sim.groups import Groups
from loader.sim.invalid import Invalid, require
from loader.sim.lifecycle import STATUS_INFO_KEYS
from loader.sim.registration import Registration
from loader.sim.registry import Registry
from loader.sim.rules import check_body
from loader.sim.service import Handlers, Service, counts, gated, query_int, reset
from loader.sim.sources import Sources
from loader.sim.state import SimBatch, SimState
from loader.sim.tasks import Tasks

__all__ = ["FAULTS", "STATUS_INFO_KEYS", "SimConfig", "create_app", "new_state"]

_TYPE_LIKE = {"batch_task_name": "name", "publish_service_name": "service_name"}


def new_state(config: SimConfig, clock: Callable[[], float] | None = None) -> SimState:
    """A fresh simulated project as ``config`` describes it (on ``clock``, if given)."""
    state = SimState(
        unknown_sources=config.unknown_sources,
        anonymous_errors=config.anonymous_errors,
        start_fail_percent=config.start_fail_percent,
        starting_after=config.starting_after,
        running_after=config.running_after,
        stopping_after=config.stopping_after,
        deleting_after=config.deleting_after,
        abnormal_after=config.abnormal_after,
        abnormal_sources=config.abnormal_sources,
        always_fail_sources=config.always_fail_sources,
        registry=Registry(
            source_quota=config.source_quota,
            group_quota=config.group_quota,
            unique_group_names=config.unique_group_names,
        ),
        registered_only=config.registered_only,
    )
    if clock is not None:
        state.clock = clock
    return state


def create_app(config: SimConfig, state: SimState | None = None) -> Starlette:
    """The simulator app over ``state`` (a fresh one by default)."""
    state = state or new_state(config)
    state.tokens |= set(config.static_tokens)
    service = Service(config, state)
    api, tasks, batches = _Api(service), Tasks(service), BatchChanges(service)
    base = "/v2/{project_id}"
    batch, task = f"{base}/batch-tasks/{{batch_id}}", f"{base}/tasks/{{task_id}}"
    app = Starlette(
        routes=[
            Route("/v3/auth/tokens", api.issue_token, methods=["POST"]),
            Route(f"{base}/batch-tasks", api.create_batch, methods=["POST"]),
            Route(f"{base}/batch-tasks", api.list_batches, methods=["GET"]),
            Route(batch, batches.update_batch, methods=["PUT"]),
            Route(batch, batches.delete_batch, methods=["DELETE"]),
            Route(f"{batch}/action/{{command}}", batches.start_stop, methods=["PUT"]),
            Route(f"{base}/tasks", tasks.list_tasks, methods=["GET"]),
            Route(task, tasks.show_task, methods=["GET"]),
            Route(task, tasks.update_task, methods=["PUT"]),
            Route(task, tasks.delete_task, methods=["DELETE"]),
            Route(f"{task}/action/{{command}}", tasks.start_stop, methods=["PUT"]),
            Route(f"{base}/video-group/groups", Groups(service).list_groups, methods=["GET"]),
            Route(f"{base}/source/sources", Sources(service).list_sources, methods=["GET"]),
            *Registration(service).routes(base),
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


class _Api(Handlers):
    """IAM, CreateBatchTask, ListBatchTasks and the ground-truth summary over one service."""

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

    @gated
    async def create_batch(self, request: Request) -> Response:
        """CreateBatchTask, with faults and the documented rules."""
        body, problem = self._checked(await request.body())
        fault = self.service.faults.next()
        if fault == "429":
            return self.service.gateway.throttled(request_id_of(request))
        if fault == "5xx-before":
            return vias_response("VIAS.00010006", "simulated fault 5xx-before: nothing created")
        if fault == "reset-before":
            return reset(request)
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
            return reset(request)
        if fault == "slow":
            await anyio.sleep(self.config.slow_seconds)
        return counts(batch.id, len(batch.tasks), batch.failed)

    @gated
    async def list_batches(self, request: Request) -> Response:
        """ListBatchTasks: fuzzy name search, paging, per-state counts."""
        if self.service.faults.random.random() < self.config.list_failures:
            return vias_response("VIAS.00010006", "simulated list failure")
        try:
            size = query_int(request, "page_size", 10, 5, 200)
            page = query_int(request, "page_num", 1, 1, 10000)
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
        """A BatchTaskDto: per-state counts of the tasks that still exist."""
        by_state = dict.fromkeys(STATUS_INFO_KEYS, 0)
        with self.state.lock:
            tasks = list(batch.tasks)
        for task in tasks:
            by_state[self.state.state_of(task).lower()] += 1
        return {
            "id": batch.id,
            "batch_task_name": batch.name,
            "alg_name": batch.service_name,
            "video_group_name": ",".join(self.service.group_name(g) for g in batch.group_ids),
            "num_task": len(tasks),
            "created_at": int(batch.created_at * 1000),
            "batch_task_status_info": by_state,
        }

    async def summary(self, request: Request) -> Response:
        """
        Ground truth for tests in other processes: batches per name, and per camera seen (in
        a valid create body) or holding a task: its tasks (those being deleted apart), each
        one's settings and state; cameras by task count, running cameras, tasks by state.
        """
        held = self.state.task_counts()
        return JSONResponse(
            {
                "batches": len(self.state.batches),
                "tasks": sum(held.values()),
                "names": dict(self.state.names()),
                **self.state.camera_report(),
            }
        )
