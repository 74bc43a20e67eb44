"""
The simulated VIAS API as a Starlette app: IAM tokens, batch tasks, tasks, throttling and
the faults a real network and gateway produce, injected on request.

Faults apply to ``POST .../batch-tasks`` (the call that must never create a task twice):
``5xx-before`` (500, nothing created), ``5xx-after`` (created, then 500), ``reset-before``
(connection dropped, nothing created), ``commit-reset`` (created, then dropped), ``slow``
(created, answered after ``slow_seconds``), ``429`` (refused as throttled). They are drawn
from ``fault_sequence`` for the first creates, then at random by ``faults`` probabilities.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from loader.sim.rules import Invalid, check_body
from loader.sim.state import SimState

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
FAULTS = ("5xx-before", "5xx-after", "reset-before", "commit-reset", "slow", "429")


@dataclass
class SimConfig:
    """How the simulated API behaves."""

    project_id: str = "sim-project"
    rate: float | None = None  # requests per second before APIG.0308 (None: unlimited)
    retry_after: str | None = "seconds"  # None, "seconds" or "date" on 429 answers
    retry_after_seconds: float = 1.0
    faults: dict[str, float] = field(default_factory=dict)
    fault_sequence: list[str] = field(default_factory=list)
    seed: int = 0
    slow_seconds: float = 3.0
    latency: float = 0.0  # seconds every API answer takes
    list_lag: float = 0.0  # seconds before a created batch shows in list calls
    list_failures: float = 0.0  # share of ListBatchTasks calls answered 500
    unique_names: bool = True  # a second create with a used name is refused (VIAS.00010011)
    refuse_services: frozenset[str] = frozenset()  # bodies naming these get 400 VIAS.00010001
    iam_user: str = "sim-user"
    iam_password: str = "sim-password"
    iam_domain: str = "sim-domain"
    static_tokens: frozenset[str] = frozenset({"sim-token"})
    token_uses: int | None = None  # a token expires after this many API calls
    unknown_sources: frozenset[str] = frozenset()
    anonymous_errors: bool = False  # error_list entries that do not name the source
    source_names: dict[str, str] = field(default_factory=dict)  # video source id -> name
    start_fail_percent: int = 5
    starting_after: float = 0.5
    running_after: float = 1.5


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


class _Throttle:
    """At most ``rate`` admitted calls in any one-second window."""

    def __init__(self, rate: float | None, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.clock = clock
        self.admitted: deque[float] = deque()

    def admit(self) -> bool:
        if self.rate is None:
            return True
        now = self.clock()
        while self.admitted and now - self.admitted[0] >= 1.0:
            self.admitted.popleft()
        if len(self.admitted) >= self.rate:
            return False
        self.admitted.append(now)
        return True


def create_app(config: SimConfig, state: SimState | None = None) -> Starlette:
    """The simulator app over ``state`` (a fresh one by default)."""
    state = state or SimState(
        unknown_sources=config.unknown_sources,
        anonymous_errors=config.anonymous_errors,
        start_fail_percent=config.start_fail_percent,
        starting_after=config.starting_after,
        running_after=config.running_after,
    )
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
        ]
    )
    app.state.sim = state
    return app


def _error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    """A VIAS/APIG error answer."""
    return JSONResponse(
        {"error_code": code, "error_msg": message}, status_code=status, headers=headers
    )


def _reset(request: Request) -> Response:
    """Drop the connection without an answer (uvicorn's protocol owns the transport)."""
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:  # pragma: no cover - only under a server without a transport
        raise RuntimeError("connection resets need uvicorn's h11 protocol")
    transport.abort()
    return Response(status_code=500)


class _Api:
    """Handlers over one state and config."""

    def __init__(self, config: SimConfig, state: SimState) -> None:
        self.config = config
        self.state = state
        self.faults = _Faults(config)
        self.throttle = _Throttle(config.rate, state.clock)
        self.uses: dict[str, int] = {}

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
            return _error(401, "IAM.0002", "Incorrect IAM authentication information")
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
        """Project, token and throttle checks every /v2 call passes first, then latency.

        The request is logged with its arrival time, as a gateway counts it.
        """
        refused = self._refusal(request)
        self.state.log(request.method, request.url.path, refused.status_code if refused else 0)
        if refused is None and self.config.latency:
            await anyio.sleep(self.config.latency)
        return refused

    def _refusal(self, request: Request) -> Response | None:
        """Why the gateway refuses this call, if it does."""
        if request.path_params["project_id"] != self.config.project_id:
            return _error(404, "VIAS.00010002", "The object does not exist.")
        token = request.headers.get("X-Auth-Token", "")
        with self.state.lock:
            known = token in self.state.tokens
            if known and self.config.token_uses is not None:
                self.uses[token] = self.uses.get(token, 0) + 1
                if self.uses[token] > self.config.token_uses:
                    self.state.tokens.discard(token)
                    known = False
        if not known:
            return _error(401, "VIAS.00010005", "Authorization failed.")
        if not self.throttle.admit():
            return self._throttled()
        return None

    def _throttled(self) -> Response:
        """APIG.0308 with the configured Retry-After form."""
        headers = {}
        if self.config.retry_after == "seconds":
            headers["Retry-After"] = f"{self.config.retry_after_seconds:g}"
        elif self.config.retry_after == "date":
            headers["Retry-After"] = formatdate(
                time.time() + self.config.retry_after_seconds, usegmt=True
            )
        limit = f"{self.config.rate:g}" if self.config.rate else "0"
        return _error(
            429,
            "APIG.0308",
            "The throttling threshold has been reached:"
            f" policy user over ratelimit,limit:{limit},time:1 second",
            **headers,
        )

    async def create_batch(self, request: Request) -> Response:
        """CreateBatchTask, with faults and the documented rules."""
        refused = await self._gate(request)
        if refused is not None:
            return refused
        fault = self.faults.next()
        if fault == "429":
            return self._throttled()
        if fault == "5xx-before":
            return _error(500, "VIAS.00010006", "An internal error occurs.")
        if fault == "reset-before":
            return _reset(request)
        try:
            body = await request.json()
            check_body(body)
        except (ValueError, Invalid) as exc:
            return JSONResponse(
                {
                    "error_code": "VIAS.00010001",
                    "error_msg": "The parameters are invalid.",
                    "detail": str(exc),
                },
                status_code=400,
            )
        if body["service_name"] in self.config.refuse_services:
            return JSONResponse(
                {
                    "error_code": "VIAS.00010001",
                    "error_msg": "The parameters are invalid.",
                    "detail": f"service {body['service_name']} is not subscribed",
                },
                status_code=400,
            )
        if self.config.unique_names and body["name"] in self.state.names():
            return _error(400, "VIAS.00010011", "There is a job with the same name.")
        batch = self.state.create(body)
        if fault == "5xx-after":
            return _error(500, "VIAS.00010006", "An internal error occurs.")
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
            return _error(500, "VIAS.00010006", "An internal error occurs.")
        query = request.query_params
        batches = self.state.visible_batches(self.config.list_lag)
        if query.get("type_like") == "batch_task_name" and query.get("name_like"):
            batches = [b for b in batches if query["name_like"] in b.name]
        size = min(max(int(query.get("page_size", 10)), 5), 200)
        page = max(int(query.get("page_num", 1)), 1)
        shown = batches[(page - 1) * size : page * size]
        return JSONResponse(
            {"count": len(batches), "batch_task_list": [self._batch_dto(b) for b in shown]}
        )

    def _batch_dto(self, batch: Any) -> dict[str, Any]:
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
        batch = self.state.delete(request.path_params["batch_id"])
        if batch is None:
            return _error(400, "VIAS.00010008", "No task is found based on the ID.")
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
        query = request.query_params
        with self.state.lock:
            tasks = [
                t
                for t in self.state.tasks.values()
                if t.batch_id == query.get("batch_id", t.batch_id)
            ]
        size = min(max(int(query.get("page_size", 10)), 5), 1000)
        page = max(int(query.get("page", 1)), 1)
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
        with self.state.lock:
            task = self.state.tasks.get(request.path_params["task_id"])
        if task is None:
            return _error(400, "VIAS.00010007", "No task is found based on the task ID.")
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
        """Ground truth for tests in other processes: tasks per camera, batches per name."""
        counts = self.state.task_counts()
        return JSONResponse(
            {
                "batches": len(self.state.batches),
                "tasks": sum(counts.values()),
                "duplicated_cameras": sum(1 for n in counts.values() if n > 1),
                "names": dict(self.state.names()),
            }
        )
