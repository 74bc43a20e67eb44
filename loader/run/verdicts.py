"""
The verdicts of ``bulkload doctor`` that need no network, each a ``Check`` (``passed``,
``failed``, ``warned``, ``skipped``): the clock's skew against the server's ``Date``
(check 4), the project's answer to a read-only ListBatchTasks (check 5), the algorithm ids
and versions a mapping gives (check 6), and the credentials named without their secrets.
``run.doctor`` asks the network and hands what it learns to these. Pure.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from loader.errors import ConfigError
from loader.model.checks import Check
from loader.model.vias import PATTERN_HELP, SERVICE_NAME_PATTERN, SERVICE_VERSION_PATTERN
from loader.send.answers import Outcome, Verdict
from loader.send.credentials import AuthMethod, Credentials
from loader.state.events import describe_answer

if TYPE_CHECKING:
    from loader.check.mapping import Mapping as MappingFile

CLOCK: Final = "clock"
PROJECT: Final = "project"
MAPPING: Final = "mapping"
SKEW_ADVISED: Final = 5 * 60  # beyond this, AK/SK still works but is close to refusal
SKEW_REFUSED: Final = 15 * 60  # "X-Sdk-Date must be within 15 minutes of gateway time"
IN_STEP: Final = 2  # a Date header counts whole seconds: this close is in step
SYNC_CLOCK: Final = (
    "sync this machine's clock (NTP: `timedatectl set-ntp true`; Windows: `w32tm /resync`)"
)
FIELD_PATTERNS: Final = {
    "service_name": SERVICE_NAME_PATTERN,
    "service_version": SERVICE_VERSION_PATTERN,
}


def check_clock(skew: float | None, method: AuthMethod | None, *, reached: bool) -> Check:
    """Check 4: AK/SK signatures more than 15 minutes off are refused; else informational."""
    aksk = method == "aksk"
    if skew is None:
        reason = "no answer from the endpoint carried a Date header" if reached else "no answer"
        return skipped(CLOCK, f"skew unknown: {reason}", SYNC_CLOCK if aksk else "")
    off = abs(skew)
    if off < IN_STEP:
        detail = "this machine's clock is in step with the server's (its Date header)"
    else:
        side = "behind" if skew > 0 else "ahead of"
        detail = f"this machine's clock is {_duration(off)} {side} the server's (its Date header)"
    if not aksk:
        fix = "" if off <= SKEW_REFUSED else f"before using AK/SK, {SYNC_CLOCK}"
        return passed(CLOCK, f"{detail}; informational: {method_name(method)} does not sign", fix)
    if off > SKEW_REFUSED:
        return failed(
            CLOCK, f"{detail}: AK/SK signatures over 15 minutes off are refused", SYNC_CLOCK
        )
    if off > SKEW_ADVISED:
        return warned(CLOCK, f"{detail}: AK/SK signatures pass up to 15 minutes off", SYNC_CLOCK)
    return passed(CLOCK, f"{detail}: AK/SK signatures pass up to 15 minutes off")


def _duration(seconds: float) -> str:
    """``1200 s (20 min)``; under a minute, just seconds."""
    whole = round(seconds)
    return f"{whole} s ({whole // 60} min)" if whole >= 60 else f"{whole} s"


def check_project(outcome: Outcome, project_id: str, endpoint: str) -> Check:
    """Check 5: the project answered ListBatchTasks; else why not, with the request id."""
    request_id = outcome.request_id
    if outcome.verdict == Verdict.ACCEPTED:
        detail = f"project {project_id} answers a read-only ListBatchTasks at {endpoint} (HTTP 200)"
        return passed(PROJECT, detail, request_id=request_id)
    answer = answer_words(outcome)
    if outcome.project_missing:
        detail = (
            f"project {project_id} does not exist at {endpoint} ({outcome.status} {outcome.code})"
        )
        return failed(
            PROJECT, detail, "check BULKLOAD_PROJECT_ID / --project-id", request_id=request_id
        )
    if outcome.credentials_refused:
        return failed(
            PROJECT, f"the credentials were refused: {answer}", outcome.hint, request_id=request_id
        )
    detail = f"ListBatchTasks of project {project_id} at {endpoint} failed: {answer}"
    return failed(PROJECT, detail, outcome.hint or _retry_fix(outcome), request_id=request_id)


def _retry_fix(outcome: Outcome) -> str:
    """What to do about an answer that says nothing of the project or the credentials."""
    if outcome.throttled:
        return "the API is throttling: wait a minute and run bulkload doctor again"
    if not outcome.status:
        return "check the network (and HTTPS_PROXY), then run bulkload doctor again"
    return "run bulkload doctor again; if it persists, give Huawei support the request id"


def answer_words(outcome: Outcome) -> str:
    """An answer in a few words, without its request id (the check carries that)."""
    return describe_answer(outcome.status, outcome.code, outcome.message) or outcome.verdict.value


def method_name(method: AuthMethod | None) -> str:
    """A credentials method in a few words."""
    return {"token": "a token", "aksk": "AK/SK", "iam": "IAM password auth"}.get(
        method or "", "no credentials"
    )


def method_label(credentials: Credentials, method: AuthMethod | None) -> str:
    """The method in use, named by its variables, and what else is set but not used."""
    if method == "token":
        label = "token (BULKLOAD_AUTH_TOKEN)"
    elif method == "aksk":
        key = credentials.access_key or ""
        shown = f"{key[:4]}...{key[-4:]}" if len(key) > 8 else "..."
        temporary = ", with BULKLOAD_SECURITY_TOKEN" if credentials.security_token else ""
        label = f"AK/SK signing (BULKLOAD_AK {shown}{temporary})"
    else:
        domain = credentials.iam_domain or credentials.iam_user
        where = credentials.iam_endpoint
        label = f"IAM password auth (user {credentials.iam_user}, domain {domain}, IAM at {where})"
    # By precedence, whatever else is set comes after the method in use: say it is not used.
    others = {
        "aksk": ("AK/SK", credentials.access_key),
        "iam": ("IAM password", credentials.iam_user),
    }
    unused = [name for kind, (name, value) in others.items() if value and kind != method]
    return f"{label}; also set, not used: {', '.join(unused)}" if unused else label


def check_mapping(name: str | None) -> Check:
    """The algorithm ids and versions a mapping gives match the patterns and known services."""
    from loader.check.mapping import find_mapping
    from loader.model.vias import KNOWN_SERVICES

    if name is None:
        detail = "no -m: a run picks the bundled mapping that fits the sheet (-m NAME checks one)"
        return skipped(MAPPING, detail)
    try:
        mapping = find_mapping(name)
    except ConfigError as exc:
        return failed(MAPPING, exc.message, exc.hint)
    values = _service_values(mapping)
    for field_name, value, where in values:
        pattern = FIELD_PATTERNS[field_name]
        if not re.fullmatch(pattern, value):
            detail = (
                f"mapping {mapping.name}: {field_name} {value!r} ({where}) {PATTERN_HELP[pattern]}"
            )
            return failed(MAPPING, detail, f"edit {mapping.source or name}")
    unknown = [(v, w) for f, v, w in values if f == "service_name" and v not in KNOWN_SERVICES]
    if unknown:
        shown = "; ".join(f"{v!r} ({w})" for v, w in unknown)
        detail = (
            f"mapping {mapping.name}: service_name {shown} is not a service VIAS is known to offer"
        )
        known = ", ".join(KNOWN_SERVICES)
        fix = f"known: {known}; check the id in the VIAS console (sent as written)"
        return warned(MAPPING, detail, fix)
    return passed(MAPPING, f"mapping {mapping.name}: {_described(values)}")


def _service_values(mapping: MappingFile) -> list[tuple[str, str, str]]:
    """(field, value, where) of every service_name and service_version the mapping writes.

    ``[task]``, column defaults and every outcome of a value map; cells are ``validate``'s.
    """
    from loader.check.mapping import MapSpec

    found: list[tuple[str, str, str]] = []
    for field_name in FIELD_PATTERNS:
        task_value = getattr(mapping.task, field_name)
        if task_value:
            found.append((field_name, str(task_value), "[task]"))
        for sheet_name, sheet in (("cameras", mapping.cameras), ("groups", mapping.groups)):
            spec = sheet.columns.get(field_name) if sheet is not None else None
            if spec is None:
                continue
            where = f"{sheet_name}.columns.{field_name}"
            if spec.default:
                found.append((field_name, spec.default, f"{where} default"))
            for step in spec.transforms:
                if isinstance(step, MapSpec):
                    found += [
                        (field_name, v, f"{where} map") for v in dict.fromkeys(step.map.values())
                    ]
    return found


def _described(values: list[tuple[str, str, str]]) -> str:
    """What was checked, and what only the sheet's cells say (``validate`` checks those)."""
    parts = []
    for field_name in FIELD_PATTERNS:
        given = list(dict.fromkeys(v for f, v, _ in values if f == field_name))
        if given:
            parts.append(f"{field_name} {', '.join(given)}")
        else:
            parts.append(f"{field_name} from the sheet's cells (bulkload validate checks them)")
    return "; ".join(parts)


def passed(name: str, detail: str, fix: str = "", *, request_id: str = "") -> Check:
    """A check that passed (a fix only as advice)."""
    return Check(name=name, status="pass", detail=detail, fix=fix, request_id=request_id)


def failed(name: str, detail: str, fix: str, *, request_id: str = "") -> Check:
    """A check that failed, and what to do about it."""
    return Check(name=name, status="fail", detail=detail, fix=fix, request_id=request_id)


def warned(name: str, detail: str, fix: str) -> Check:
    """A check that passed with a warning."""
    return Check(name=name, status="warn", detail=detail, fix=fix)


def skipped(name: str, detail: str, fix: str = "") -> Check:
    """A check that could not run, or does not apply."""
    return Check(name=name, status="skip", detail=detail, fix=fix)
