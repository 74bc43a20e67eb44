"""
What an answer from VIAS means: ``classify``, the one function that turns an answer or a
transport error into what the submitter does next, as the documented error table says:

| answer | verdict | scope |
|---|---|---|
| 2xx with a batch id (null error_list or missing counts read leniently) | accepted | |
| 429 or APIG(W).0308, per-second policy | retriable (Retry-After, else a lower rate) | |
| 429 / APIG(W).0308 saying quota, 405 or APIG(W).0501 (quota used up) | fatal | run |
| VIAS.00010005 / 00010021 (no authorization, account frozen) | rejected | project |
| VIAS.00010005 to a given token (it may just have expired) | unauthorized | run |
| VIAS.00010002 on a create (object missing: a wrong project id) | rejected | project |
| VIAS.00010001 / 00010004 / 00010002 / 00010012 (the request itself is wrong) | rejected | |
| VIAS.00010003 / 00010011, 409 (the name exists) | exists | |
| 401, APIG(W).0301 / 0303 / 0307 (token or signature refused) | unauthorized | run |
| 403, 404 on a create | fatal | run |
| 408, 5xx (VIAS.00010006 / 00010009 internal) | ambiguous | |
| any other 4xx (413 APIG.0201 body too large, ...) | rejected | |

Answers to a change of one existing task (UpdateTask, DeleteTask, StartStopTask) are
``classify_change``'s: the table above as a read sees it (``creating=False``: VIAS.00010002
is this request's missing object, not a missing project), except:

| answer to a change | verdict | scope |
|---|---|---|
| any 2xx (the body is untyped: no id is required) | accepted | |
| VIAS.00010007 / 00010008 (no task with this id): ``missing`` | rejected | |
| VIAS.00010003 / 00010011, 409 (a name exists) | rejected | |
| 403, 404 (this change refused; the creates of the run told endpoint and rights) | rejected | |

A DeleteTask answered ``missing`` has nothing left to do: the task is gone.

Answers to a registering call (a video source or group created, changed or deleted) are
``classify_registration``'s: the table as a read sees it, except that a 2xx is accepted
only with the new id when one is expected (``created_id``; else ambiguous: it may exist),
VIAS.00010010 (a source of this name exists) is ``exists``, and VIAS.0010047 (the source
quota is reached) stops the run: nothing more can be registered.

Codes are matched by their number, as the reference advises (digit counts vary:
VIAS.0010047 and VIAS.00010001). Scope ``run`` stops the run and leaves what was not sent
for ``resume``; ``project`` stops it for good: nothing unsent can succeed. Once the API has
refused the run, the client sends nothing more (five refused signatures in a row would lock
the key). Every outcome keeps the answer's request id (X-Request-Id, else the gateway
body's ``request_id``).
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Final

import httpx
from pydantic import ValidationError

from loader.model.vias import BatchTaskResponse, ErrorBody
from loader.state.events import describe_answer

MAX_RETRY_AFTER: Final = 300.0

# API gateway codes (APIG.xxxx or APIGW.xxxx), by number.
THROTTLED: Final = 308
QUOTA_USED_UP: Final = 501
CREDENTIALS_REFUSED: Final = frozenset({301, 303, 307})  # IAM info, signature, stale token
BODY_TOO_LARGE: Final = 201
# VIAS codes (VIAS.000100xx or VIAS.00100xx), by number.
REQUEST_WRONG: Final = frozenset({10001, 10002, 10004, 10012})
OBJECT_MISSING: Final = 10002
NOT_AUTHORIZED: Final = frozenset({10005, 10021})
TOKEN_REFUSED: Final = 10005  # "Authorization failed": also what an expired token may get
EXISTS: Final = frozenset({10003, 10011})
TASK_MISSING: Final = frozenset({10007, 10008})  # "No task is found based on the (task) ID"
SOURCE_NAME_TAKEN: Final = 10010  # "There is a video source with the same name."
SOURCE_QUOTA: Final = 10047  # "The maximum number of video sources has been reached."
_CODE = re.compile(r"(?P<family>APIGW?|VIAS)\.(?P<number>\d+)", re.IGNORECASE)


class Verdict(StrEnum):
    """What an answer means for the batch that was sent."""

    ACCEPTED = "accepted"  # created (maybe partly: failed_count > 0)
    REJECTED = "rejected"  # refused for good; sending it again would not help
    RETRIABLE = "retriable"  # never reached the API (throttled, connection refused)
    AMBIGUOUS = "ambiguous"  # went out, no clear answer: the batch may exist
    EXISTS = "exists"  # a batch with this name exists already
    UNAUTHORIZED = "unauthorized"  # the credentials were refused, even after a new token
    FATAL = "fatal"  # wrong endpoint, permissions or quota used up: stop the run


class Scope(StrEnum):
    """How far an answer reaches beyond its own request."""

    BATCH = "batch"  # only this request
    RUN = "run"  # stop the run; what was not sent may be sent by resume
    PROJECT = "project"  # stop the run for good: nothing unsent can succeed


@dataclass(frozen=True)
class Outcome:
    """The classified result of one request."""

    verdict: Verdict
    status: int = 0
    code: str = ""
    message: str = ""
    retry_after: float | None = None
    response: BatchTaskResponse | None = None
    request_id: str = ""
    scope: Scope = Scope.BATCH
    hint: str = ""  # what the user can do about it
    created_id: str = ""  # the id a registering create answered with

    @property
    def throttled(self) -> bool:
        """Refused by the gateway's rate limit: send again, slower."""
        return self.verdict == Verdict.RETRIABLE and (
            self.status == 429 or _number(self.code, "APIG") == THROTTLED
        )

    @property
    def congested(self) -> bool:
        """A sign to send less at once (throttled or timed out)."""
        return self.throttled or "Timeout" in self.message

    @property
    def stops_run(self) -> bool:
        """The API refused the run, not just this request."""
        return self.scope != Scope.BATCH

    @property
    def credentials_refused(self) -> bool:
        """The credentials were refused, or may not use VIAS in this project."""
        return self.verdict == Verdict.UNAUTHORIZED or _number(self.code, "VIAS") in NOT_AUTHORIZED

    @property
    def project_missing(self) -> bool:
        """VIAS.00010002 to a call on the project itself (a create, ``probe``): no such project."""
        return _number(self.code, "VIAS") == OBJECT_MISSING

    @property
    def missing(self) -> bool:
        """A refusal saying no task has the id (VIAS.00010007 / 00010008)."""
        return self.verdict == Verdict.REJECTED and _number(self.code, "VIAS") in TASK_MISSING

    @property
    def text(self) -> str:
        """The answer in a few words, with its request id."""
        return describe_answer(self.status, self.code, self.message, self.request_id)

    @property
    def stop_reason(self) -> str:
        """Why the run stops, and what to check."""
        reason = f"the API refused the run: {self.text or self.verdict.value}"
        return f"{reason}; {self.hint}" if self.hint else reason

    def unsent(self) -> Outcome:
        """What a request not sent because of this refusal amounts to."""
        return Outcome(Verdict.FATAL, message=f"not sent: {self.stop_reason}", scope=self.scope)


def classify(
    response: httpx.Response,
    *,
    now: float | None = None,
    creating: bool = True,
    may_expire: bool = False,
) -> Outcome:
    """The verdict on an HTTP answer, as the module's table says.

    ``creating``: the answer is to CreateBatchTask, where a missing object means a missing
    project and a 403/404 a wrong endpoint; for reads those concern only the query.
    ``may_expire``: the credentials are a given token, which nothing can renew to tell an
    expired one from one without permission: "authorization failed" then leaves the run
    for resume rather than failing what was not sent.
    """
    status = response.status_code
    if 200 <= status < 300:
        return _success(response)
    error = _error_body(response)
    message = error.error_msg or response.reason_phrase
    if error.detail:
        message = f"{message}: {error.detail}"
    request_id = response.headers.get("X-Request-Id") or str(getattr(error, "request_id", "") or "")
    answer = Outcome(Verdict.REJECTED, status, error.error_code, message, request_id=request_id)
    if status == 429 or _number(answer.code, "APIG") == THROTTLED:
        return _throttled(answer, response.headers.get("Retry-After"), now)
    return _refused(answer, creating=creating, may_expire=may_expire)


def classify_change(
    response: httpx.Response, *, now: float | None = None, may_expire: bool = False
) -> Outcome:
    """The verdict on an answer to a change of one task, as the module's second table says.

    Throttling, quota, credentials and 5xx read as ``classify`` reads them; what would
    mean "the batch exists" or "wrong endpoint" for a create is a refusal of this change.
    """
    status = response.status_code
    if 200 <= status < 300:
        request_id = response.headers.get("X-Request-Id", "")
        return Outcome(Verdict.ACCEPTED, status, request_id=request_id)
    outcome = classify(response, now=now, creating=False, may_expire=may_expire)
    refused_here = outcome.verdict == Verdict.FATAL and outcome.scope == Scope.BATCH  # 403/404
    if refused_here or outcome.verdict == Verdict.EXISTS:
        return replace(outcome, verdict=Verdict.REJECTED)  # keeps 403/404's hint
    return outcome


def classify_registration(
    response: httpx.Response, *, id_field: str = "", may_expire: bool = False
) -> Outcome:
    """The verdict on an answer to a registering call, as the module's third paragraph says."""
    status = response.status_code
    request_id = response.headers.get("X-Request-Id", "")
    if 200 <= status < 300:
        if not id_field:
            return Outcome(Verdict.ACCEPTED, status, request_id=request_id)
        try:
            created = json.loads(response.content).get(id_field)
        except (ValueError, AttributeError):
            created = None
        if isinstance(created, str) and created:
            return Outcome(Verdict.ACCEPTED, status, request_id=request_id, created_id=created)
        message = f"success without {id_field}"
        return Outcome(Verdict.AMBIGUOUS, status, message=message, request_id=request_id)
    outcome = classify(response, creating=False, may_expire=may_expire)
    number = _number(outcome.code, "VIAS")
    if number == SOURCE_NAME_TAKEN:
        return replace(outcome, verdict=Verdict.EXISTS)
    if number == SOURCE_QUOTA:
        hint = "the project's video source quota is reached: delete sources or ask for more"
        return replace(outcome, verdict=Verdict.FATAL, scope=Scope.RUN, hint=hint)
    return outcome


def _throttled(answer: Outcome, header: str | None, now: float | None) -> Outcome:
    """Per-second throttling is retried; a throttle that speaks of quota is not."""
    if "quota" in answer.message.lower():
        return _quota(answer)
    return replace(answer, verdict=Verdict.RETRIABLE, retry_after=retry_after(header, now=now))


def _quota(answer: Outcome) -> Outcome:
    """Quota used up: retrying does not help until it is renewed."""
    hint = "the quota is used up and retrying does not help: bulkload resume once it is renewed"
    return replace(answer, verdict=Verdict.FATAL, scope=Scope.RUN, hint=hint)


def _refused(answer: Outcome, *, creating: bool, may_expire: bool) -> Outcome:
    """Every error answer but throttling."""
    status, gateway, vias = (
        answer.status,
        _number(answer.code, "APIG"),
        _number(answer.code, "VIAS"),
    )
    if status == 405 or gateway == QUOTA_USED_UP:
        return _quota(answer)
    if vias == TOKEN_REFUSED and may_expire:
        return replace(answer, verdict=Verdict.UNAUTHORIZED, scope=Scope.RUN)
    if vias in NOT_AUTHORIZED:
        hint = "check the permissions of these credentials for VIAS and the account's state"
        return replace(answer, scope=Scope.PROJECT, hint=hint)
    if vias == OBJECT_MISSING and creating:
        hint = "check --project-id / BULKLOAD_PROJECT_ID (a wrong project id answers this)"
        return replace(answer, scope=Scope.PROJECT, hint=hint)
    if vias in REQUEST_WRONG:
        return answer
    if status == 409 or vias in EXISTS:
        return replace(answer, verdict=Verdict.EXISTS)
    if status == 401 or gateway in CREDENTIALS_REFUSED:
        return replace(answer, verdict=Verdict.UNAUTHORIZED, scope=Scope.RUN)
    if status in (403, 404):
        hint = "check --endpoint / BULKLOAD_ENDPOINT and the permissions of these credentials"
        scope = Scope.RUN if creating else Scope.BATCH
        return replace(answer, verdict=Verdict.FATAL, scope=scope, hint=hint)
    if status == 408 or status >= 500:
        return replace(answer, verdict=Verdict.AMBIGUOUS)
    if status == 413 or gateway == BODY_TOO_LARGE:
        return replace(answer, hint="lower --max-payload-bytes: the gateway takes 12 MB at most")
    return answer


def _number(code: str, family: str) -> int | None:
    """The number of an APIG/APIGW or VIAS code, whatever its count of leading zeros."""
    match = _CODE.fullmatch(code.strip())
    if match is None or not match["family"].upper().startswith(family):
        return None
    return int(match["number"])


def _success(response: httpx.Response) -> Outcome:
    """A 2xx: accepted when it names the batch, else ambiguous (it may have been created)."""
    request_id = response.headers.get("X-Request-Id", "")
    accepted = _batch_answer(response.content)
    if accepted is None:
        message = "success with an unreadable body"
        return Outcome(
            Verdict.AMBIGUOUS, response.status_code, message=message, request_id=request_id
        )
    return Outcome(Verdict.ACCEPTED, response.status_code, response=accepted, request_id=request_id)


def _batch_answer(content: bytes) -> BatchTaskResponse | None:
    """The create answer, its counts read leniently; None without a JSON object and an id."""
    try:
        document = json.loads(content)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    try:
        return BatchTaskResponse.model_validate(_lenient(document))
    except ValidationError:
        return None


def _lenient(document: dict[str, Any]) -> dict[str, Any]:
    """A 200's counts as the model wants them, without guessing.

    A null error_list is empty; a missing failed_count is the number of errors listed (so
    none listed: all succeeded); a missing total or succeed_count follows from the others
    when they are known, else stays 0 (not said).
    """
    errors = document.get("error_list")
    errors = [] if errors is None else errors
    failed = document.get("failed_count")
    if failed is None:
        failed = len(errors) if isinstance(errors, list) else 0
    succeeded, total = document.get("succeed_count"), document.get("total_count")
    if total is None and isinstance(succeeded, int) and isinstance(failed, int):
        total = succeeded + failed
    if succeeded is None and isinstance(total, int) and isinstance(failed, int):
        succeeded = max(total - failed, 0)
    return {
        **document,
        "error_list": errors,
        "failed_count": failed,
        "succeed_count": 0 if succeeded is None else succeeded,
        "total_count": 0 if total is None else total,
    }


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
