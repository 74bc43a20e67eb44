"""
The VIAS client: every call paced by the shared limiter and authenticated (a 401 fetches a
new token once and repeats the call), and ``classify``, the one function that turns an
answer or a transport error into what the submitter does next: accepted, rejected,
retriable (never reached the API), ambiguous (may exist: look it up before any resend),
exists, unauthorized or fatal.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Final

import httpx
from pydantic import ValidationError

from loader.errors import FatalError, SubmitError
from loader.model.vias import BatchTaskResponse, ErrorBody
from loader.send.auth import TokenSource
from loader.send.pacing import RateLimiter

THROTTLED_CODE: Final = "APIG.0308"
EXISTS_CODES: Final = ("00010011", "00010003")  # a job with the same name / object exists
MAX_RETRY_AFTER: Final = 300.0
LIST_PAGE_SIZE: Final = 200
TASK_PAGE_SIZE: Final = 1000
AUTH_TRIES: Final = 3


class Verdict(StrEnum):
    """What an answer means for the batch that was sent."""

    ACCEPTED = "accepted"  # created (maybe partly: failed_count > 0)
    REJECTED = "rejected"  # refused for its content; sending it again would not help
    RETRIABLE = "retriable"  # never reached the API (throttled, connection refused)
    AMBIGUOUS = "ambiguous"  # went out, no clear answer: the batch may exist
    EXISTS = "exists"  # a batch with this name exists already
    UNAUTHORIZED = "unauthorized"  # the token was refused, even after a new one
    FATAL = "fatal"  # wrong endpoint, project or permissions: stop the run


@dataclass(frozen=True)
class Outcome:
    """The classified result of one create request."""

    verdict: Verdict
    status: int = 0
    code: str = ""
    message: str = ""
    retry_after: float | None = None
    response: BatchTaskResponse | None = None

    @property
    def congested(self) -> bool:
        """A sign to send less at once (throttled or timed out)."""
        return self.status == 429 or self.code == THROTTLED_CODE or "Timeout" in self.message


def classify(response: httpx.Response, *, now: float | None = None) -> Outcome:
    """The verdict on an HTTP answer to a create request."""
    status = response.status_code
    if 200 <= status < 300:
        try:
            accepted = BatchTaskResponse.model_validate_json(response.content)
        except ValidationError:
            return Outcome(Verdict.AMBIGUOUS, status, message="success with an unreadable body")
        return Outcome(Verdict.ACCEPTED, status, response=accepted)
    error = _error_body(response)
    code, message = error.error_code, (error.error_msg or response.reason_phrase)
    if error.detail:
        message = f"{message}: {error.detail}"
    if status == 429 or code.startswith(THROTTLED_CODE):
        wait = retry_after(response.headers.get("Retry-After"), now=now)
        return Outcome(Verdict.RETRIABLE, status, code, message, retry_after=wait)
    if status == 401:
        return Outcome(Verdict.UNAUTHORIZED, status, code, message)
    if status in (403, 404):
        return Outcome(Verdict.FATAL, status, code, message)
    if status == 409 or (status == 400 and code.endswith(EXISTS_CODES)):
        return Outcome(Verdict.EXISTS, status, code, message)
    if status == 408 or status >= 500:
        return Outcome(Verdict.AMBIGUOUS, status, code, message)
    return Outcome(Verdict.REJECTED, status, code, message)


def classify_error(exc: httpx.HTTPError) -> Outcome:
    """The verdict on a transport error: refused before sending, or lost after."""
    name = type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Outcome(Verdict.RETRIABLE, message=f"{name} (not sent)")
    return Outcome(Verdict.AMBIGUOUS, message=f"{name} after sending")


def retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After in seconds, from either form (delta-seconds or HTTP-date); bounded."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _error_body(response: httpx.Response) -> ErrorBody:
    """The VIAS/APIG error body, or an empty one."""
    try:
        return ErrorBody.model_validate_json(response.content)
    except ValidationError:
        return ErrorBody()


class ViasClient:
    """Calls to one project of one endpoint."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        project_id: str,
        auth: TokenSource,
        limiter: RateLimiter,
    ) -> None:
        self.http = http
        self.base = f"/v2/{project_id}"
        self.auth = auth
        self.limiter = limiter

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One paced, authenticated request; a 401 gets a new token and a repeat.

        Another worker may have renewed the token meanwhile, so a repeat that meets 401
        again renews again, up to ``AUTH_TRIES`` sends; a token refused right after IAM
        issued it, or one that cannot be renewed, leaves the 401 for the caller.
        """
        token = await self.auth.token(self.http)
        for _ in range(AUTH_TRIES):
            response = await self._send(method, path, token, **kwargs)
            if response.status_code != 401:
                return response
            fresh = await self.auth.refresh(self.http, token)
            if fresh is None or fresh == token:
                return response
            token = fresh
        return response

    async def _send(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        await self.limiter.acquire()
        headers = {"X-Auth-Token": token, "Content-Type": "application/json;charset=utf-8"}
        return await self.http.request(method, self.base + path, headers=headers, **kwargs)

    async def create_batch(self, content: bytes) -> Outcome:
        """POST the exact bytes of a batch; never raises for transport trouble."""
        try:
            response = await self._call("POST", "/batch-tasks", content=content)
        except httpx.HTTPError as exc:
            return classify_error(exc)
        return classify(response)

    async def find_batch(self, name: str) -> list[str]:
        """Ids of the batches named exactly ``name`` (the API only searches loosely).

        If the API refuses the name filter (a 4xx), every batch is listed and scanned.
        """
        try:
            return await self._scan_batches(
                name, {"type_like": "batch_task_name", "name_like": name}
            )
        except FatalError:
            return await self._scan_batches(name, {})

    async def _scan_batches(self, name: str, query: dict[str, Any]) -> list[str]:
        """Page ListBatchTasks until a short page, keeping exact name matches."""
        found: list[str] = []
        for page in range(1, 10_001):
            params = {**query, "page_size": LIST_PAGE_SIZE, "page_num": page}
            listing = await self._get_json("/batch-tasks", params)
            items = listing.get("batch_task_list") or []
            found += [str(i.get("id")) for i in items if _name_of(i) == name]
            if len(items) < LIST_PAGE_SIZE:
                return found
        return found

    async def list_batch(self, name: str) -> dict[str, Any] | None:
        """The ListBatchTasks entry of the batch named exactly ``name``, if listed."""
        params = {"type_like": "batch_task_name", "name_like": name, "page_size": LIST_PAGE_SIZE}
        items = (await self._get_json("/batch-tasks", params)).get("batch_task_list") or []
        return next((i for i in items if _name_of(i) == name), None)

    async def list_tasks(self, batch_id: str) -> list[dict[str, Any]]:
        """Every task of a batch; ``count`` is per page, so page until a short page."""
        tasks: list[dict[str, Any]] = []
        for page in range(1, 10_001):
            params = {"batch_id": batch_id, "page": page, "page_size": TASK_PAGE_SIZE}
            items = (await self._get_json("/tasks", params)).get("tasks") or []
            tasks += items
            if len(items) < TASK_PAGE_SIZE:
                break
        return tasks

    async def show_task(self, task_id: str) -> dict[str, Any]:
        """ShowTaskInfo."""
        return await self._get_json(f"/tasks/{task_id}", {})

    async def _get_json(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """A GET whose answer must be a JSON object; anything else is a SubmitError."""
        try:
            response = await self._call("GET", path, params=params)
        except httpx.HTTPError as exc:
            raise SubmitError(f"GET {path} failed: {type(exc).__name__}") from exc
        if response.status_code != 200:
            outcome = classify(response)
            text = f"GET {path} answered {response.status_code} {outcome.code}".strip()
            if outcome.verdict == Verdict.REJECTED:
                raise FatalError(text)  # the query itself is refused: asking again won't help
            raise SubmitError(text)
        try:
            document = json.loads(response.content)
        except ValueError as exc:
            raise SubmitError(f"GET {path} answered something that is not JSON") from exc
        if not isinstance(document, dict):
            raise SubmitError(f"GET {path} answered JSON that is not an object")
        return document


def _name_of(item: dict[str, Any]) -> str:
    """A listed batch's name: ``batch_task_name`` per the SDK, ``name`` as a fallback."""
    return str(item.get("batch_task_name") or item.get("name") or "")
