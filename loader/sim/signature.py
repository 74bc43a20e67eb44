"""
The gateway's check of an AK/SK-signed request (SDK-HMAC-SHA256), written from the official
Python SDK's signer (huaweicloudsdkcore 3.1.219, ``signer/signer.py`` class ``Signer``, as
``auth/credentials.py`` calls it) and not from the loader's own signer, so that a mistake
in one is not repeated in the other. Pure: the app hands it what arrived on the wire.

The canonical request is, line by line: the method upper-cased; the URI path decoded, split
on "/", each part quoted with only "~" safe, ending in "/"; the query's decoded pairs sorted
(key, then value) and each side quoted the same way, joined "k=v" with "&"; one
"name:value" line per signed header (value trimmed); the signed header names joined with
";"; the hex SHA-256 of the body (of b"" when empty; "UNSIGNED-PAYLOAD" when the
X-Sdk-Content-Sha256 header says so). The string to sign is
"SDK-HMAC-SHA256\\n<X-Sdk-Date>\\n<hex SHA-256 of the canonical request>", and the
signature is its hex HMAC-SHA256 under the secret key.

Reading of ours: a "+" in the query means a space (form encoding, as the app itself reads
query values), so the signature covers the values the app acts on.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote, unquote_plus

from loader.sim.errors import IAM_AUTH, STALE_DATE, GatewayError, gateway

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_SKEW_SECONDS = 15 * 60  # "X-Sdk-Date must be within 15 minutes of gateway time"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_DATE = re.compile(r"\d{8}T\d{6}Z")
_AUTHORIZATION = re.compile(
    rf"{ALGORITHM} Access=(?P<ak>[^,\s]+),\s*SignedHeaders=(?P<names>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-fA-F]+)"
)
# Sub-messages: the first two as APIG prints them, the rest in the same form.
BAD_SIGNATURE = "verify aksk signature fail"
UNKNOWN_KEY = "Get secretKey failed"


@dataclass(frozen=True)
class Received:
    """A request as it arrived: raw path and query, headers by lower-case name, body."""

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Keys:
    """What the gateway knows: AK -> SK, and the security token each temporary AK needs."""

    secrets: Mapping[str, str]
    security_tokens: Mapping[str, str]


def verify(request: Received, keys: Keys, now: float) -> GatewayError | None:
    """Why the gateway refuses this signed request, or None when it is genuine."""
    found = _AUTHORIZATION.fullmatch(request.headers.get("authorization", "").strip())
    if found is None:
        return gateway(IAM_AUTH, BAD_SIGNATURE)
    stale = _date_problem(request.headers.get("x-sdk-date"), now)
    if stale is not None:
        return stale
    access_key = found["ak"]
    secret = keys.secrets.get(access_key)
    if secret is None:
        return gateway(IAM_AUTH, UNKNOWN_KEY)
    required = keys.security_tokens.get(access_key)
    if required is not None and not hmac.compare_digest(
        request.headers.get("x-security-token", "").encode(), required.encode()
    ):
        # A temporary AK's secret is only found through its token (STS).
        return gateway(IAM_AUTH, UNKNOWN_KEY)
    names = found["names"].split(";")
    if any(name.lower() not in request.headers for name in names):
        return gateway(IAM_AUTH, BAD_SIGNATURE)
    expected = signature(request, names, secret)
    if not hmac.compare_digest(expected, found["signature"].lower()):
        return gateway(IAM_AUTH, BAD_SIGNATURE)
    return None


def signature(request: Received, signed_names: list[str], secret: str) -> str:
    """The hex signature a genuine signer computes for ``request`` over ``signed_names``."""
    canonical = canonical_request(request, signed_names)
    string_to_sign = "\n".join(
        (ALGORITHM, request.headers["x-sdk-date"], _sha256(canonical.encode()))
    )
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def canonical_request(request: Received, signed_names: list[str]) -> str:
    """The six lines both sides hash; the names are used as the Authorization lists them."""
    return "\n".join(
        (
            request.method.upper(),
            canonical_uri(request.raw_path),
            canonical_query(request.raw_query),
            "".join(f"{n}:{_header_text(request.headers[n.lower()])}\n" for n in signed_names),
            ";".join(signed_names),
            _payload_hash(request),
        )
    )


def canonical_uri(raw_path: str) -> str:
    """Decoded, split on "/", each part re-quoted with "~" safe, always ending in "/"."""
    uri = "/".join(_quote(part) for part in unquote(raw_path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(raw_query: str) -> str:
    """The decoded pairs sorted by key then value, each side re-quoted, joined with "&"."""
    pairs = []
    for item in raw_query.split("&"):
        if item:
            key, _, value = item.partition("=")
            pairs.append((unquote_plus(key), unquote_plus(value)))
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(pairs))


def _date_problem(value: str | None, now: float) -> GatewayError | None:
    """X-Sdk-Date missing, malformed or more than 15 minutes off the gateway's clock."""
    server = datetime.fromtimestamp(now, UTC).strftime(DATE_FORMAT)
    if value is None:
        return gateway(STALE_DATE, f"x-sdk-date is missing, server time:{server}")
    signed = _parse_date(value)
    if signed is None:
        return gateway(STALE_DATE, f"x-sdk-date is malformed, signature time:{value}")
    if abs(now - signed) > MAX_SKEW_SECONDS:
        return gateway(
            STALE_DATE, f"signature expired, signature time:{value},server time:{server}"
        )
    return None


def _parse_date(value: str) -> float | None:
    """X-Sdk-Date (UTC, YYYYMMDD'T'HHMMSS'Z') as epoch seconds, or None when it is not one."""
    if not _DATE.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:  # 20251341T256199Z: the right shape, no such time
        return None


def _payload_hash(request: Received) -> str:
    """SHA-256 of the body, unless the body is empty or declared UNSIGNED-PAYLOAD."""
    if not request.body:
        return _sha256(b"")
    if request.headers.get("x-sdk-content-sha256") == UNSIGNED_PAYLOAD:
        return UNSIGNED_PAYLOAD
    return _sha256(request.body)


def _header_text(value: str) -> str:
    """A header value as its signer had it: the SDK sends UTF-8 bytes, read here as Latin-1."""
    with suppress(UnicodeError):  # not UTF-8 on the wire: compare the text as it came
        value = value.encode("latin-1").decode("utf-8")
    return value.strip()


def _quote(text: str) -> str:
    return quote(text, safe="~")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
