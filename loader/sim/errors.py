"""
Every error the simulator answers, in the two documented body shapes.

VIAS (the service, research notes section 6 and ``vias_03_0280``): ``error_code``,
``error_msg``, ``detail``, ``params`` (0..1 strings; always empty here), ``reason``,
``advice``, with the status and message the table gives the code. The API gateway in front
of it (APIG user manual): ``error_code``, ``error_msg``, ``request_id`` (the answer's
X-Request-Id). Bodies are built here and nowhere else, so no answer can drift from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse


@dataclass(frozen=True)
class Documented:
    """A VIAS code as the error table lists it; reason and advice paraphrase its notes."""

    status: int
    message: str
    reason: str
    advice: str


VIAS_CODES: dict[str, Documented] = {
    "VIAS.00010001": Documented(
        400,
        "The parameters are invalid.",
        "A request parameter breaks a documented rule.",
        "Correct the parameter that detail names.",
    ),
    "VIAS.00010002": Documented(
        400,
        "The object does not exist.",
        "The object the request names does not exist.",
        "Check the configuration: project id and object ids.",
    ),
    "VIAS.00010003": Documented(
        400,
        "The object already exists.",
        "An object with these properties exists.",
        "Use the existing object, or change the request.",
    ),
    "VIAS.00010004": Documented(
        400,
        "The object or parameter is invalid.",
        "The object or a parameter does not allow this request.",
        "Check the object and the parameters.",
    ),
    "VIAS.00010005": Documented(
        401,
        "Authorization failed.",
        "The request carries no valid credentials.",
        "Check the token or the permissions, then send again.",
    ),
    "VIAS.00010006": Documented(
        500,
        "An internal error occurs.",
        "The service failed while handling the request.",
        "Check the logs; the request may or may not have taken effect.",
    ),
    "VIAS.00010007": Documented(
        400,
        "No task is found based on the task ID.",
        "No task has this id.",
        "Check the task id.",
    ),
    "VIAS.00010008": Documented(
        400,
        "No task is found based on the ID.",
        "No batch task has this id.",
        "Check the id.",
    ),
    "VIAS.00010010": Documented(
        400,
        "There is a video source with the same name.",
        "A video source with this name exists.",
        "Rename the video source.",
    ),
    "VIAS.00010011": Documented(
        400,
        "There is a job with the same name.",
        "A job with this name exists.",
        "Rename the job.",
    ),
    "VIAS.00010012": Documented(
        500,
        "This operation is not allowed.",
        "The service refuses this operation.",
        "Do not repeat the operation unchanged.",
    ),
    "VIAS.0010047": Documented(
        400,
        "The maximum number of video sources has been reached.",
        "The project holds as many video sources as its quota allows.",
        "Delete video sources, or ask service operations to raise the quota.",
    ),
}

# API gateway codes, status and message as Huawei prints them (research notes sections 3
# and 6; the API signing guide's error table, devg-apisign api-sign-errorcode.html, and its
# FAQ api-sign-0003.html for the 0303 sub-messages).
TOO_LARGE = ("APIG.0201", 413, "Request entity too large")
NO_SUCH_API = (
    "APIGW.0101",
    404,
    "The API does not exist or has not been published in the environment.",
)
IAM_AUTH = ("APIGW.0301", 401, "Incorrect IAM authentication information")
# An expired X-Sdk-Date: the notes say "the gateway returns an APIG signature error
# (APIG.0303 shown in an example)" (section 2, AK/SK signing); that example's message,
# from the FAQ above, is "Incorrect app authentication information: signature expired, ...".
STALE_DATE = ("APIG.0303", 401, "Incorrect app authentication information")
QUOTA_USED_UP = ("APIGW.0501", 405, "app quota used up")
THROTTLED = 429
THROTTLED_MESSAGE = "The throttling threshold has been reached: policy user over ratelimit"


@dataclass(frozen=True)
class GatewayError:
    """A refusal by the API gateway, before the service sees the request."""

    status: int
    code: str
    message: str


def gateway(kind: tuple[str, int, str], sub_message: str = "") -> GatewayError:
    """A gateway refusal of ``kind``; ``sub_message`` follows ": " as in APIG's own messages."""
    code, status, message = kind
    return GatewayError(status, code, f"{message}: {sub_message}" if sub_message else message)


def vias_body(code: str, detail: str) -> dict[str, Any]:
    """The documented VIAS error body for ``code``."""
    known = VIAS_CODES[code]
    return {
        "error_code": code,
        "error_msg": known.message,
        "detail": detail,
        "params": [],
        "reason": known.reason,
        "advice": known.advice,
    }


def vias_response(code: str, detail: str) -> JSONResponse:
    """A VIAS error answer: the code's documented status and body."""
    return JSONResponse(vias_body(code, detail), status_code=VIAS_CODES[code].status)


def gateway_response(
    error: GatewayError, request_id: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A gateway error answer; ``request_id`` is the one its X-Request-Id header carries."""
    body = {"error_code": error.code, "error_msg": error.message, "request_id": request_id}
    return JSONResponse(body, status_code=error.status, headers=headers)
