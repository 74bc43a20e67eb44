"""
What every handler of the simulated service shares: one config and state, the gateway's
checks (``Service.gate``), the faults of creates and of mutations, group names, and the
answers several calls give (counts, dropped connections, integer query parameters).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import deque
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from loader.sim.config import SimConfig
from loader.sim.errors import vias_response
from loader.sim.gateway import Gateway, request_id_of
from loader.sim.invalid import Invalid, require
from loader.sim.state import SimState

S = TypeVar("S", bound="Handlers")
Handler = Callable[[S, Request], Awaitable[Response]]


def gated(handler: Handler[S]) -> Handler[S]:
    """A handler behind the gateway's checks (``Service.gate``): a refusal answers for it."""

    @wraps(handler)
    async def behind_gate(self: S, request: Request) -> Response:
        refused = await self.service.gate(request)
        return refused if refused is not None else await handler(self, request)

    return behind_gate


class FaultDraw:
    """The next fault: from a sequence first (``"none"``: no fault), then at random."""

    def __init__(self, sequence: list[str], table: dict[str, float], seed: int) -> None:
        self.sequence = deque(sequence)
        self.table = table
        self.random = random.Random(seed)

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


def derived_group_name(group_id: str) -> str:
    """A stable name that fits VIAS group names (1-20 of Chinese, a-z, A-Z, 0-9)."""
    return "g" + hashlib.sha1(group_id.encode()).hexdigest()[:12]


def derived_source_name(source_id: str) -> str:
    """A stable name that fits VIAS video source names (1-100 of Chinese, letters, digits,
    space . - _ ( )): every source has one, and no two share it (VIAS.00010010)."""
    return "camera-" + hashlib.sha1(source_id.encode()).hexdigest()[:16]


class Service:
    """One simulated project's config, state, gateway and fault draws."""

    def __init__(self, config: SimConfig, state: SimState) -> None:
        self.config = config
        self.state = state
        self.gateway = Gateway(config, state)
        self.faults = FaultDraw(config.fault_sequence, config.faults, config.seed)
        self.mutation_faults = FaultDraw(
            config.mutation_fault_sequence, config.mutation_faults, config.seed
        )
        self.registration_faults = FaultDraw(
            config.registration_fault_sequence, config.registration_faults, config.seed
        )

    def group_name(self, group_id: str) -> str:
        """The configured name of a group, or one derived from its id."""
        return self.config.group_names.get(group_id) or derived_group_name(group_id)

    def source_name(self, source_id: str) -> str:
        """A registered source's name, the configured one, or one derived from its id."""
        registered = self.state.registry.sources.get(source_id)
        if registered is not None:  # tasks show the name a source was registered with
            return registered.name
        return self.config.source_names.get(source_id) or derived_source_name(source_id)

    async def gate(self, request: Request) -> Response | None:
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

    async def mutate(
        self, request: Request, change: Callable[[], Response], draw: FaultDraw | None = None
    ) -> Response:
        """
        A call that changes what exists, under its drawn fault (from ``draw``, the mutation
        faults by default): before it (nothing changed), or after it (changed; answered
        late, 500 or not at all). A refused change answers its refusal whatever fault was
        drawn to follow it.
        """
        fault = (draw or self.mutation_faults).next()
        if fault == "429":
            return self.gateway.throttled(request_id_of(request))
        if fault == "5xx-before":
            return vias_response("VIAS.00010006", "simulated fault 5xx-before: nothing changed")
        if fault == "reset-before":
            return reset(request)
        answer = change()
        if answer.status_code != 200:
            return answer
        if fault == "5xx-after":
            return vias_response(
                "VIAS.00010006", "simulated fault 5xx-after: changed, not answered"
            )
        if fault == "commit-reset":
            return reset(request)
        if fault == "slow":
            await anyio.sleep(self.config.slow_seconds)
        return answer


class Handlers:
    """A group of handlers over one service, its state and config at hand (``gated``
    puts a handler behind its gateway)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.state = service.state
        self.config = service.config


def counts(batch_id: str, succeeded: int, errors: list[str]) -> JSONResponse:
    """The answer of the batch calls: total, failed and succeeded tasks, id, error_list."""
    return JSONResponse(
        {
            "total_count": succeeded + len(errors),
            "failed_count": len(errors),
            "succeed_count": succeeded,
            "id": batch_id,
            "error_list": errors,
        }
    )


def reset(request: Request) -> Response:
    """Drop the connection without an answer (uvicorn's protocol owns the transport)."""
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:  # pragma: no cover - only under a server without a transport
        raise RuntimeError("connection resets need uvicorn's h11 protocol")
    transport.abort()
    return Response(status_code=500)


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within its documented range."""
    text = request.query_params.get(name)
    if text is None:
        return default
    require(
        text.isdigit() and low <= int(text) <= high,
        f"{name} {text!r} must be an integer from {low} to {high}",
    )
    return int(text)


@dataclass(frozen=True)
class ListQuery:
    """A list call's order and page, as ListVideoGroups and ListVideoSources take them."""

    sort: str
    order: str
    size: int
    page: int
    paged: bool

    @classmethod
    def of(cls, request: Request, sorts: Collection[str]) -> ListQuery:
        """The order and page a request asks for; Invalid when out of their documented range."""
        query = request.query_params
        sort, order = query.get("sort_name", "create_at"), query.get("order_by", "desc")
        size = query_int(request, "page_size", 10, 5, 200)
        page = query_int(request, "page_num", 1, 1, 100000)
        require(sort in sorts, f"sort_name {sort!r} must be one of {', '.join(sorts)}")
        require(order in ("asc", "desc"), f"order_by {order!r} must be asc or desc")
        return cls(sort, order, size, page, query.get("is_paged", "true") != "false")

    def shown(self, rows: list[dict[str, Any]], key: str, id_key: str) -> list[dict[str, Any]]:
        """``rows`` sorted in place by ``key`` (ties by ``id_key``); the page asked for."""
        rows.sort(key=lambda r: (r[key], r[id_key]), reverse=self.order == "desc")
        return rows[(self.page - 1) * self.size : self.page * self.size] if self.paged else rows


def parsed(raw: bytes) -> Any:
    """A request body parsed as JSON; Invalid when it is not JSON."""
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise Invalid(f"the body is not JSON: {exc}") from None


def checked_body(raw: bytes, check: Callable[[Any], None]) -> dict[str, Any] | Response:
    """A request body parsed and ``check``ed, or the 400 VIAS.00010001 that refuses it."""
    try:
        body: dict[str, Any] = parsed(raw)
        check(body)
    except Invalid as exc:
        return vias_response("VIAS.00010001", str(exc))
    return body
