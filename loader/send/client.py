"""
The VIAS client: every call paced by the shared limiter and authenticated (a 401 fetches a
new token once and repeats the call; an AK/SK signature is never repeated). What each
answer means is ``answers.classify``'s to say (``classify_change``'s for a change of one
existing task: UpdateTask, DeleteTask, StartStopTask); once the API has refused the run,
the client sends nothing more (five refused signatures in a row would lock the key).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

import httpx

from loader.errors import FatalError, SubmitError
from loader.send.answers import (
    Outcome,
    Verdict,
    classify,
    classify_change,
    classify_error,
    classify_registration,
)
from loader.send.auth import TokenSource
from loader.send.pacing import RateLimiter

JSON_TYPE: Final = "application/json;charset=utf-8"
LIST_PAGE_SIZE: Final = 200
TASK_PAGE_SIZE: Final = 1000  # ListTasks' largest page
SOURCE_PAGE_SIZE: Final = 200  # ListVideoSources' largest page
GROUPS_PER_REQUEST: Final = 100  # video_group_id values in one ListVideoSources query
PROBE_PAGE_SIZE: Final = 5  # ListBatchTasks' smallest page: page_size is 5..200
AUTH_TRIES: Final = 3


class ReadFailed(SubmitError):
    """A read call got no usable answer; ``request_id`` names the answer, if one came."""

    def __init__(self, message: str, *, request_id: str = "") -> None:
        super().__init__(message)
        self.request_id = request_id


class NotSent(ReadFailed):
    """A create or change the run's Stop kept from leaving: provably not sent."""


class ReadRefused(ReadFailed, FatalError):
    """The query itself was refused: asking again as is would not help."""


class RunRefused(ReadFailed, FatalError):
    """The API refused the run (credentials, permissions, project, quota): send nothing more."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.stop_reason, request_id=outcome.request_id)
        self.outcome = outcome


@dataclass(frozen=True)
class Found:
    """Ids of the batches listed under a name, and the request id of the answer saying so."""

    ids: list[str]
    request_id: str = ""


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
        self.refused: Outcome | None = None  # the answer that refused the run, once one did
        # Whether the run was stopped: a create or change that waited for its turn at the
        # pacer (up to 1/rate seconds) then stays unsent, so nothing leaves after Stop.
        self.stopped: Callable[[], bool] = lambda: False

    @property
    def refusal(self) -> str:
        """Why the API refused the run, or ""."""
        return self.refused.stop_reason if self.refused is not None else ""

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One paced, authenticated request; a 401 gets a new token and a repeat.

        Another worker may have renewed the token meanwhile, so a repeat that meets 401
        again renews again, up to ``AUTH_TRIES`` sends; a token refused right after IAM
        issued it, or credentials that cannot be renewed (a given token, AK/SK), leave the
        401 for the caller.
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
        """Wait for the pacer, send (unless the run was refused), let the pacer learn."""
        grant = await self.limiter.take()
        try:
            if self.refused is not None:
                raise RunRefused(self.refused)
            if method != "GET" and self.stopped():
                raise NotSent(f"{method} {path}: the run was stopped while it waited for its turn")
            response = await self.http.request(
                method,
                self.base + path,
                headers={"Content-Type": JSON_TYPE},
                auth=self.auth.authenticate(token),
                extensions={"trace": grant.trace},  # when it left: the pacer spaces from then
                **kwargs,
            )
        finally:
            grant.done()  # left, or never will (unsent, or a transport without the trace)
        self._pace(response, grant.epoch)
        return response

    def _pace(self, response: httpx.Response, epoch: int) -> None:
        """Throttled: pause for Retry-After, else cut the rate. Answered: recover the rate."""
        if response.status_code < 400:
            self.limiter.recover()
            return
        outcome = classify(response)
        if not outcome.throttled:
            return
        if outcome.retry_after is None:
            self.limiter.slow_down(epoch=epoch)
        else:
            self.limiter.pause(outcome.retry_after)

    def _judge(self, response: httpx.Response, *, creating: bool) -> Outcome:
        """``classify``, with this auth's hint on a refusal; a refused run trips the client."""
        outcome = classify(response, creating=creating, may_expire=self.auth.may_expire)
        return self._adopt(outcome)

    def _adopt(self, outcome: Outcome) -> Outcome:
        """This auth's hint on a refusal of the credentials; a refused run trips the client."""
        if outcome.verdict == Verdict.UNAUTHORIZED:
            outcome = replace(outcome, hint=self.auth.refused_hint)
        if outcome.stops_run and self.refused is None:
            self.refused = outcome
        return outcome

    async def create_batch(self, content: bytes) -> Outcome:
        """POST the exact bytes of a batch; never raises for transport trouble."""
        return await self._judged(
            "POST", "/batch-tasks", lambda r: self._judge(r, creating=True), content=content
        )

    async def update_task(self, task_id: str, content: bytes) -> Outcome:
        """UpdateTask: PUT the exact bytes of the task's whole new configuration."""
        return await self._change("PUT", f"/tasks/{task_id}", content=content)

    async def delete_task(self, task_id: str) -> Outcome:
        """DeleteTask."""
        return await self._change("DELETE", f"/tasks/{task_id}")

    async def start_stop_task(self, task_id: str, command: Literal["start", "stop"]) -> Outcome:
        """StartStopTask: ``start`` or ``stop`` one task."""
        if command not in ("start", "stop"):
            raise ValueError(f"StartStopTask takes start or stop, not {command!r}")
        return await self._change("PUT", f"/tasks/{task_id}/action/{command}")

    async def _change(self, method: str, path: str, **kwargs: Any) -> Outcome:
        """One change of an existing task, judged by ``classify_change``; never raises for
        transport trouble."""
        return await self._judged(
            method,
            path,
            lambda r: self._adopt(classify_change(r, may_expire=self.auth.may_expire)),
            **kwargs,
        )

    async def register(
        self, method: str, path: str, content: bytes | None = None, *, id_field: str = ""
    ) -> Outcome:
        """A registering call (``send.registry``), judged by ``classify_registration``
        (``id_field``: the new id a create answers with); never raises for transport trouble."""

        def judge(response: httpx.Response) -> Outcome:
            may_expire = self.auth.may_expire
            return self._adopt(
                classify_registration(response, id_field=id_field, may_expire=may_expire)
            )

        return await self._judged(method, path, judge, content=content)

    async def _judged(
        self,
        method: str,
        path: str,
        judge: Callable[[httpx.Response], Outcome],
        **kwargs: Any,
    ) -> Outcome:
        """A call that creates or changes something, its answer judged by ``judge``; transport
        trouble, a refused run and a Stop before sending become outcomes, never raised."""
        try:
            response = await self._call(method, path, **kwargs)
        except httpx.HTTPError as exc:
            return classify_error(exc)
        except RunRefused as exc:
            return exc.outcome.unsent()
        except NotSent as exc:
            return Outcome(Verdict.RETRIABLE, message=exc.message)
        return judge(response)

    async def read(self, path: str, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """A GET whose answer must be a JSON object, and its request id (``send.registry``)."""
        return await self._get(path, params)

    async def probe(self) -> Outcome:
        """One smallest page of ListBatchTasks, read-only: ``bulkload doctor``'s API call.

        A 200 is accepted; any other answer is judged as a create's would be: a missing
        object is the project, a 403/404 the endpoint.
        """
        params = {"page_size": PROBE_PAGE_SIZE, "page_num": 1}
        try:
            response = await self._call("GET", "/batch-tasks", params=params)
        except httpx.HTTPError as exc:
            return classify_error(exc)
        if response.status_code == 200:
            request_id = response.headers.get("X-Request-Id", "")
            return Outcome(Verdict.ACCEPTED, 200, request_id=request_id)
        return self._judge(response, creating=True)

    async def find_batch(self, name: str) -> Found:
        """Ids of the batches named exactly ``name`` (the API only searches loosely).

        If the API refuses the name filter (a 4xx), every batch is listed and scanned.
        """
        try:
            return await self._scan_batches(
                name, {"type_like": "batch_task_name", "name_like": name}
            )
        except ReadRefused:
            return await self._scan_batches(name, {})

    async def _scan_batches(self, name: str, query: dict[str, Any]) -> Found:
        """Page ListBatchTasks until a short page, keeping exact name matches."""
        found: list[str] = []
        request_id = ""
        for page in range(1, 10_001):
            params = {**query, "page_size": LIST_PAGE_SIZE, "page_num": page}
            listing, request_id = await self._get("/batch-tasks", params)
            items = listing.get("batch_task_list") or []
            found += [str(i.get("id")) for i in items if _name_of(i) == name]
            if len(items) < LIST_PAGE_SIZE:
                break
        return Found(found, request_id)

    async def list_batch(self, name: str) -> tuple[dict[str, Any] | None, str]:
        """The ListBatchTasks entry of the batch named exactly ``name``, if listed; request id."""
        params = {"type_like": "batch_task_name", "name_like": name, "page_size": LIST_PAGE_SIZE}
        listing, request_id = await self._get("/batch-tasks", params)
        items = listing.get("batch_task_list") or []
        return next((i for i in items if _name_of(i) == name), None), request_id

    async def batches_page(self, page: int) -> tuple[list[dict[str, Any]], int | None, str]:
        """One page of every batch of the project, newest first (the order asked for, not
        assumed): its objects, ``count`` (all pages) if given, and the request id."""
        params = {
            "page_size": LIST_PAGE_SIZE,
            "page_num": page,
            "sort_name": "created_at",
            "order_by": "desc",
        }
        listing, request_id = await self._get("/batch-tasks", params)
        count = listing.get("count")
        total = count if isinstance(count, int) and not isinstance(count, bool) else None
        return _objects(listing, "batch_task_list"), total, request_id

    async def list_batches_page(self, page: int) -> list[dict[str, Any]]:
        """One page of ListBatchTasks (every batch of the project): its objects."""
        params = {"page_size": LIST_PAGE_SIZE, "page_num": page}
        listing, _ = await self._get("/batch-tasks", params)
        return _objects(listing, "batch_task_list")

    async def list_video_groups_page(self, page: int, page_size: int) -> list[dict[str, Any]]:
        """One page of ListVideoGroups: its objects."""
        params = {"page_size": page_size, "page_num": page}
        listing, _ = await self._get("/video-group/groups", params)
        return _objects(listing, "video_group_list")

    async def list_video_sources(self, group_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every video source of the groups (ListVideoSourceInfoDto items), a page of
        ``SOURCE_PAGE_SIZE`` per request and at most ``GROUPS_PER_REQUEST`` groups in one
        query (its URI stays far under the gateway's 32 KB); ``total_number`` (all pages)
        ends the paging without asking for an empty page."""
        sources: list[dict[str, Any]] = []
        ordered = sorted(set(group_ids))
        for start in range(0, len(ordered), GROUPS_PER_REQUEST):
            chunk = ordered[start : start + GROUPS_PER_REQUEST]
            listed = 0
            for page in range(1, 100_001):
                params = {"video_group_id": chunk, "page_num": page, "page_size": SOURCE_PAGE_SIZE}
                listing, _ = await self._get("/source/sources", params)
                items = _objects(listing, "video_source_list")
                sources += items
                listed += len(items)
                total = listing.get("total_number")
                if len(items) < SOURCE_PAGE_SIZE or (isinstance(total, int) and listed >= total):
                    break  # a short page, or all there are: no empty page asked for
        return sources

    async def list_tasks(self, batch_id: str) -> list[dict[str, Any]]:
        """Every task of a batch; ``count`` is per page, so page until a short page."""
        tasks: list[dict[str, Any]] = []
        for page in range(1, 10_001):
            params = {"batch_id": batch_id, "page": page, "page_size": TASK_PAGE_SIZE}
            listing, _ = await self._get("/tasks", params)
            items = listing.get("tasks") or []
            tasks += items
            if len(items) < TASK_PAGE_SIZE:
                break
        return tasks

    async def show_task(self, task_id: str) -> dict[str, Any]:
        """ShowTaskInfo."""
        document, _ = await self._get(f"/tasks/{task_id}", {})
        return document

    async def task_detail(self, task_id: str) -> dict[str, Any] | None:
        """ShowTaskInfo; None when the API says no such task exists."""
        detail, _ = await self.find_task(task_id)
        return detail

    async def find_task(self, task_id: str) -> tuple[dict[str, Any] | None, str]:
        """ShowTaskInfo and its request id; None when the API says no such task exists
        (400 VIAS.00010007 / 00010008, or 00010002: the object read, this task, is missing).

        Any other failure raises as ``_get`` does (``ReadFailed``, ``RunRefused``).
        """
        path = f"/tasks/{task_id}"
        response = await self._get_response(path, {})
        if response.status_code == 400:
            outcome = classify(response, creating=False)
            if outcome.missing or outcome.project_missing:
                return None, outcome.request_id
        document, request_id = self._read(path, response)
        return document, request_id

    async def _get(self, path: str, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """A GET whose answer must be a JSON object, and its request id; else a ReadFailed."""
        return self._read(path, await self._get_response(path, params))

    async def _get_response(self, path: str, params: dict[str, Any]) -> httpx.Response:
        """A paced, authenticated GET; a transport failure is a ReadFailed."""
        try:
            return await self._call("GET", path, params=params)
        except httpx.HTTPError as exc:
            raise ReadFailed(f"GET {path} failed: {type(exc).__name__}") from exc

    def _read(self, path: str, response: httpx.Response) -> tuple[dict[str, Any], str]:
        """A GET's answer as a JSON object and its request id; else a ReadFailed."""
        request_id = response.headers.get("X-Request-Id", "")
        if response.status_code != 200:
            raise self._read_error(path, self._judge(response, creating=False))
        try:
            document = json.loads(response.content)
        except ValueError as exc:
            raise ReadFailed(
                f"GET {path} answered something that is not JSON", request_id=request_id
            ) from exc
        if not isinstance(document, dict):
            raise ReadFailed(
                f"GET {path} answered JSON that is not an object", request_id=request_id
            )
        return document, request_id

    @staticmethod
    def _read_error(path: str, outcome: Outcome) -> ReadFailed:
        """The error a refused read raises: the run's end, a refused query, or a failure."""
        if outcome.stops_run:
            return RunRefused(outcome)
        text = f"GET {path} answered {outcome.text}"
        if outcome.verdict == Verdict.REJECTED:
            return ReadRefused(text, request_id=outcome.request_id)  # asking again won't help
        return ReadFailed(text, request_id=outcome.request_id)


def _name_of(item: dict[str, Any]) -> str:
    """A listed batch's name: ``batch_task_name`` per the SDK, ``name`` as a fallback."""
    return str(item.get("batch_task_name") or item.get("name") or "")


def _objects(listing: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The objects listed under ``key`` (anything else there is ignored)."""
    items = listing.get(key)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
