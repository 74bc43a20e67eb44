"""
The API gateway in front of the simulated service: request ids, then per API call the body
size limit, authentication (X-Auth-Token, or AK/SK signing), the app quota and throttling,
in that order. Its refusals carry the gateway's body (``error_code``, ``error_msg``,
``request_id``); a refused token keeps the service's 401 VIAS.00010005, as before.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable
from email.utils import formatdate

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loader.sim.config import SimConfig
from loader.sim.errors import (
    QUOTA_USED_UP,
    THROTTLED,
    THROTTLED_MESSAGE,
    TOO_LARGE,
    GatewayError,
    gateway,
    gateway_response,
    vias_response,
)
from loader.sim.signature import Keys, Received, verify
from loader.sim.state import SimState

REQUEST_ID = "X-Request-Id"


class RequestIds:
    """Every answer, of every route, carries a fresh X-Request-Id (uuid4 hex) and a Date
    from the simulated server's wall clock (so clock skew can be simulated)."""

    def __init__(self, app: ASGIApp, wall_clock: Callable[[], float] = time.time) -> None:
        self.app, self.wall_clock = app, wall_clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID] = request_id
                headers["Date"] = formatdate(self.wall_clock(), usegmt=True)
            await send(message)

        await self.app(scope, receive, send_with_id)


def request_id_of(request: Request) -> str:
    """The id RequestIds gave this request (a fresh one if it ran outside the middleware)."""
    found = request.scope.setdefault("state", {}).setdefault("request_id", uuid.uuid4().hex)
    return str(found)


class Throttle:
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


class Gateway:
    """The checks every API call passes before the service sees it."""

    def __init__(self, config: SimConfig, state: SimState) -> None:
        self.config = config
        self.state = state
        self.throttle = Throttle(config.rate, state.clock)
        self.keys = Keys(config.access_keys, config.security_tokens)
        self.uses: dict[str, int] = {}
        self.calls = 0

    async def refusal(self, request: Request) -> Response | None:
        """Why the gateway refuses this call, if it does; the body is read (and kept) here."""
        request_id = request_id_of(request)
        body = await self._body(request)
        if body is None:
            return gateway_response(gateway(TOO_LARGE), request_id)
        if "authorization" in request.headers:
            refused = verify(_received(request, body), self.keys, self.config.wall_clock())
            if refused is not None:
                return gateway_response(refused, request_id)
        else:
            problem = self._token_problem(request.headers.get("X-Auth-Token"))
            if problem is not None:
                return vias_response("VIAS.00010005", problem)
        return self._admitted(request_id)

    def throttled(self, request_id: str) -> Response:
        """The throttling answer with the configured code and Retry-After form."""
        headers = {}
        if self.config.retry_after == "seconds":
            headers["Retry-After"] = f"{self.config.retry_after_seconds:g}"
        elif self.config.retry_after == "date":
            when = self.config.wall_clock() + self.config.retry_after_seconds
            headers["Retry-After"] = formatdate(when, usegmt=True)
        limit = f"{self.config.rate:g}" if self.config.rate else "0"
        message = f"{THROTTLED_MESSAGE},limit:{limit},time:1 second"
        error = GatewayError(THROTTLED, self.config.throttle_code, message)
        return gateway_response(error, request_id, headers)

    def _admitted(self, request_id: str) -> Response | None:
        """The app quota, then the rate: both count only authenticated calls."""
        with self.state.lock:
            self.calls += 1
            over_quota = self.config.app_quota is not None and self.calls > self.config.app_quota
        if over_quota:
            return gateway_response(gateway(QUOTA_USED_UP), request_id)
        if not self.throttle.admit():
            return self.throttled(request_id)
        return None

    async def _body(self, request: Request) -> bytes | None:
        """The body, or None when it is over the limit (by its Content-Length or its size)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.config.max_body_bytes:
            return None
        body = await request.body()
        return None if len(body) > self.config.max_body_bytes else body

    def _token_problem(self, token: str | None) -> str | None:
        """Why X-Auth-Token does not authenticate, or None; a token may expire after N uses."""
        if not token:
            return "the request carries neither X-Auth-Token nor an AK/SK signature"
        with self.state.lock:
            known = token in self.state.tokens
            if known and self.config.token_uses is not None:
                self.uses[token] = self.uses.get(token, 0) + 1
                if self.uses[token] > self.config.token_uses:
                    self.state.tokens.discard(token)
                    known = False
        return None if known else "the token is unknown or has expired"


def _received(request: Request, body: bytes) -> Received:
    """What the signature check reads: the request as it came over the wire."""
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.scope["path"]
    return Received(
        method=request.method,
        raw_path=path,
        raw_query=request.scope.get("query_string", b"").decode("latin-1"),
        headers=dict(request.headers.items()),
        body=body,
    )
