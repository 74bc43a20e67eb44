"""
AK/SK request signing (SDK-HMAC-SHA256) for Huawei Cloud's API gateway.

Owns the ``AkSk`` credential value, the headers a signed request adds (X-Project-Id,
X-Security-Token, X-Sdk-Content-Sha256, X-Sdk-Date, Host, Authorization) and the URL to
send. Applying them to requests lives in ``auth``; checking a signature is the gateway's
business (the simulator has its own, independent verifier), not the client's.

The rules are those of the official Python SDK core, huaweicloudsdkcore 3.1.219: class
``Signer`` in ``huaweicloudsdkcore/signer/signer.py``, as called by ``sign_request`` of
``BasicCredentials`` in ``huaweicloudsdkcore/auth/credentials.py``. tests/test_signing.py
requires both to produce identical headers. The rules:

- canonical URI: the path is percent-decoded, split on "/", each segment encoded with
  ``quote(safe="~")``, and a "/" is appended unless the path already ends with one;
- canonical query: the decoded (key, value) pairs sorted as text (key, then value; repeated
  keys kept), each side encoded with ``quote(safe="~")`` (space %20, "+" %2B, "/" %2F, "*" %2A);
- every header the request carries is signed (name lower-cased, value trimmed), except
  names containing "_";
- payload hash: the hash of b"" whenever the body is empty; otherwise the value of an
  X-Sdk-Content-Sha256 header ("UNSIGNED-PAYLOAD", added when "Content-Type" is set to
  anything but JSON or BSON); otherwise the hex SHA-256 of the body.

Choices of ours: a "+" in a given URL's query means a space (form encoding, as httpx's
``params=`` writes it), and ``canonical_url`` gives the URL to send, so that the query
travels exactly as it was signed (the SDK also sends its canonical query).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import SplitResult, quote, unquote, unquote_plus, urlsplit, urlunsplit

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
CONTENT_HASH_HEADER = "X-Sdk-Content-Sha256"
_EMPTY_HASH = hashlib.sha256(b"").hexdigest()
_HASHED_TYPES = ("application/json", "application/bson")
_ACCESS_KEY = re.compile(r"[\x21-\x2b\x2d-\x7e]+")  # printable ASCII, no space, no comma


@dataclass(frozen=True)
class AkSk:
    """An access key, its secret key and, for temporary credentials, the security token."""

    access_key: str
    secret_key: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """Refuse credentials no gateway could accept before any request is built."""
        if not _ACCESS_KEY.fullmatch(self.access_key):
            raise ValueError("access key must be printable ASCII without spaces or commas")
        if not self.secret_key:
            raise ValueError("secret key is empty")
        if self.security_token == "":
            raise ValueError("security token is empty; use None for permanent credentials")

    def secrets(self) -> list[str]:
        """The values logs must never show: the secret key and the security token."""
        return [value for value in (self.secret_key, self.security_token) if value]


def sdk_date(now: datetime) -> str:
    """X-Sdk-Date's form of `now` in UTC, which the gateway compares with its own clock."""
    return _utc(now).strftime(DATE_FORMAT)


def signed_headers(
    credentials: AkSk,
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    project_id: str | None = None,
    now: datetime,
) -> dict[str, str]:
    """The headers to add to a request (sent with all of `headers`) so the gateway accepts it."""
    target = _split(url)
    added = _added_headers(credentials, target.netloc, headers, project_id, now)
    every = {**headers, **added}
    names, values = _signed_names(every), _header_values(every)
    payload = _payload_hash(body, _get_ignoring_case(every, CONTENT_HASH_HEADER))
    query = _query_pairs(target.query)
    canonical = _canonical_request(method, target.path, query, names, values, payload)
    signature = _signature(credentials.secret_key, added["X-Sdk-Date"], canonical)
    added["Authorization"] = _authorization(credentials.access_key, names, signature)
    return added


def canonical_url(url: str) -> str:
    """The URL to send: its query re-encoded exactly as signed, so nothing re-encodes it."""
    parts = _split(url)
    query = _canonical_query(_query_pairs(parts.query))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


def _utc(now: datetime) -> datetime:
    """Naive times are ambiguous and would sign with the wrong clock; refuse them."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _split(url: str) -> SplitResult:
    """Only absolute http(s) URLs name the host that is signed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("url must be absolute, http or https, with a host")
    if "@" in parts.netloc:
        raise ValueError("url must not carry user info")  # it would be signed as Host
    return parts


def _added_headers(
    credentials: AkSk,
    host: str,
    headers: Mapping[str, str],
    project_id: str | None,
    now: datetime,
) -> dict[str, str]:
    """The SDK's additions, in its order; a Host the caller set is kept, as the SDK does."""
    _refuse_clashes(headers, credentials, project_id)
    added: dict[str, str] = {}
    if project_id:
        added["X-Project-Id"] = project_id
    if credentials.security_token is not None:
        added["X-Security-Token"] = credentials.security_token
    content_type = headers.get("Content-Type")  # the SDK looks up this exact spelling
    if content_type and not content_type.startswith(_HASHED_TYPES):
        added[CONTENT_HASH_HEADER] = UNSIGNED_PAYLOAD
    added["X-Sdk-Date"] = sdk_date(now)
    if _get_ignoring_case(headers, "Host") is None:
        added["Host"] = host
    return added


def _refuse_clashes(headers: Mapping[str, str], credentials: AkSk, project_id: str | None) -> None:
    """A header signing adds must not also come from the caller, or both would be sent."""
    owned = ["Authorization", "X-Sdk-Date"]
    owned += ["X-Project-Id"] if project_id else []
    owned += ["X-Security-Token"] if credentials.security_token is not None else []
    for name in owned:
        if _get_ignoring_case(headers, name) is not None:
            raise ValueError(f"headers already carry {name}; signing adds it")


def _get_ignoring_case(headers: Mapping[str, str], name: str) -> str | None:
    """HTTP header names are case-insensitive; plain dicts are not."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _signed_names(headers: Iterable[str]) -> list[str]:
    """Every header is signed, as the SDK does, except names containing "_"."""
    return sorted(name.lower() for name in headers if "_" not in name)


def _header_values(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased names to trimmed values; of two spellings of one name the last wins."""
    return {name.lower(): str(value).strip() for name, value in headers.items()}


def _payload_hash(body: bytes, declared: str | None) -> str:
    """The SDK hashes b"" for an empty body even when a content hash is declared."""
    if not body:
        return _EMPTY_HASH
    return declared or hashlib.sha256(body).hexdigest()


def _query_pairs(raw: str) -> list[tuple[str, str]]:
    """Decoded (key, value) pairs in order; "+" is a space and a bare key has value ""."""
    pairs = (item.partition("=") for item in raw.split("&") if item)
    return [(unquote_plus(key), unquote_plus(value)) for key, _, value in pairs]


def _encode(text: str) -> str:
    """RFC 3986 percent-encoding of UTF-8: only letters, digits and "-._~" stay as they are."""
    return quote(text, safe="~")


def _canonical_uri(path: str) -> str:
    """Each decoded segment re-encoded; always ends with "/", as the SDK makes it."""
    uri = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def _canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Sorted on the decoded text, then encoded, as the SDK does."""
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(pairs))


def _canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    names: list[str],
    values: Mapping[str, str],
    payload_hash: str,
) -> str:
    """The text both sides hash; any difference in it is a signature mismatch."""
    canonical_headers = "\n".join(f"{name}:{values[name]}" for name in names) + "\n"
    parts = [method.upper(), _canonical_uri(path), _canonical_query(query)]
    return "\n".join([*parts, canonical_headers, ";".join(names), payload_hash])


def _signature(secret_key: str, date: str, canonical_request: str) -> str:
    """HMAC-SHA256 with the SK over the string to sign, as lower-case hex."""
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{date}\n{digest}"
    return hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def _authorization(access_key: str, names: list[str], signature: str) -> str:
    """The header value the gateway parses; its exact spacing is the SDK's."""
    signed = ";".join(names)
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={signed}, Signature={signature}"
