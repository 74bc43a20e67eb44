"""AK/SK signing: identical to the official huaweicloudsdkcore signer."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote, quote_plus, urlencode

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials  # type: ignore[import-untyped]
from huaweicloudsdkcore.sdk_request import SdkRequest  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from loader.send.signing import AkSk, canonical_url, sdk_date, signed_headers

HOST = "vias.cn-north-4.myhuaweicloud.com"
AK = "HPUA1EXAMPLEAK0KEY01"
SK = "sk-3xAmPl3-S3cr3t-K3y-n0t-r34l-0000000000"
TOKEN = "temporary-security-token-0123456789abcdef"
PROJECT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
JSON = {"Content-Type": "application/json;charset=utf-8"}
CHINESE_BODY = json.dumps({"name": "摄像头批量导入", "区域": "北京"}, ensure_ascii=False).encode()

Query = Sequence[tuple[str, str | list[str]]]


@dataclass(frozen=True)
class Case:
    """One request, described once and signed by both signers."""

    method: str
    path: str
    query: Query = ()
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


def flat(query: Query) -> list[tuple[str, str]]:
    """The query as repeated keys, the way it appears in a URL."""
    return [(k, x) for k, v in query for x in (v if isinstance(v, list) else [v])]


def url_of(case: Case, quote_via: Callable[..., str] = quote) -> str:
    """The absolute URL our signer takes, with the query encoded by `quote_via`."""
    query = urlencode(flat(case.query), quote_via=quote_via)
    return f"https://{HOST}{case.path}" + (f"?{query}" if query else "")


def sdk_query(query: Query) -> list[tuple[str, object]]:
    """The query as SdkRequest takes it; list values are copied, as the SDK sorts them in place."""
    return [(k, list(v) if isinstance(v, list) else v) for k, v in query]


def official(case: Case, credentials: AkSk, project_id: str | None) -> dict[str, str]:
    """The headers huaweicloudsdkcore adds, dated NOW by presetting X-Sdk-Date as it allows."""
    sdk_credentials = BasicCredentials(credentials.access_key, credentials.secret_key, project_id)
    if credentials.security_token is not None:
        sdk_credentials.with_security_token(credentials.security_token)
    request = SdkRequest(
        method=case.method,
        schema="https",
        host=HOST,
        resource_path=case.path,
        query_params=sdk_query(case.query),
        header_params={**case.headers, "X-Sdk-Date": sdk_date(NOW)},
        body=case.body,
    )
    signed = sdk_credentials.sign_request(request)
    return {k: v for k, v in signed.header_params.items() if k not in case.headers}


def ours(
    case: Case, credentials: AkSk, project_id: str | None, url: str | None = None
) -> dict[str, str]:
    """The headers our signer adds to the same request."""
    return signed_headers(
        credentials,
        method=case.method,
        url=url or url_of(case),
        headers=case.headers,
        body=case.body,
        project_id=project_id,
        now=NOW,
    )


CASES = {
    "get-list-batch-tasks": Case(
        "GET",
        f"/v2/{PROJECT}/batch-tasks",
        [
            ("type_like", "batch_task_name"),
            ("name_like", "rollout"),
            ("page_size", "100"),
            ("page_num", "1"),
        ],
    ),
    "post-json-chinese-body": Case("POST", "/v2/p/batch-tasks", body=CHINESE_BODY, headers=JSON),
    "put-task": Case("PUT", "/v2/p/tasks/abc-123", body=b'{"state":"stop"}', headers=JSON),
    "delete-task-empty-body": Case("DELETE", "/v2/p/tasks/abc-123"),
    "lower-case-method": Case("post", "/v2/p/batch-tasks", body=b"{}", headers=JSON),
    "trailing-slash": Case("GET", "/v2/p/tasks/"),
    "root-path": Case("GET", "/"),
    "path-percent-encoded": Case("GET", "/v2/p/tasks/a%20b%2Bc%40d%25e"),
    "path-needs-escaping-raw": Case("GET", "/v2/p/tasks/a b+c@d(e)!'*"),
    "path-braces": Case("GET", "/v2/{project_id}/batch-tasks"),
    "path-chinese-encoded": Case("GET", "/v2/p/cameras/" + quote("摄像头 一号", safe="")),
    "path-chinese-raw": Case("GET", "/v2/p/cameras/摄像头 一号"),
    "path-encoded-slash": Case("GET", "/v2/p/cameras/a%2Fb"),
    "query-keys-sorted": Case(
        "GET", "/v2/p/tasks", [("z", "1"), ("b", "2"), ("a", "3"), ("B", "4")]
    ),
    "query-repeated-keys": Case(
        "GET", "/v2/p/tasks", [("id", "b"), ("x", "1"), ("id", "a"), ("id", "c")]
    ),
    "query-list-value": Case("GET", "/v2/p/tasks", [("id", ["c", "a", "b"]), ("a", "1")]),
    "query-special-values": Case(
        "GET", "/v2/p/tasks", [("name like", "a b+c/d~e*f"), ("q", "x=y&z;w?#%"), ("t", "~*+/")]
    ),
    "query-unicode": Case(
        "GET", "/v2/p/tasks", [("名称", "摄像头 一号"), ("name_like", "北京+上海")]
    ),
    "query-sorted-on-raw-text": Case("GET", "/v2/p/tasks", [("a@", "1"), ("a-", "2"), ("a!", "3")]),
    "query-empty-value": Case("GET", "/v2/p/tasks", [("marker", ""), ("limit", "10")]),
    "chinese-path-query-body": Case(
        "PUT", "/v2/p/任务/一", [("名", "值 1")], body=CHINESE_BODY, headers=JSON
    ),
    "non-json-content-type-unsigned-payload": Case(
        "POST", "/v2/p/upload", body=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"}
    ),
    "non-json-content-type-empty-body": Case(
        "POST", "/v2/p/upload", headers={"Content-Type": "text/plain"}
    ),
    "non-json-content-type-lower-case-name": Case(
        "POST", "/v2/p/upload", body=b"x", headers={"content-type": "text/plain"}
    ),
    "bson-content-type": Case(
        "POST",
        "/v2/p/upload",
        body=b"\x05\x00\x00\x00\x00",
        headers={"Content-Type": "application/bson"},
    ),
    "header-with-underscore-not-signed": Case(
        "GET", "/v2/p/tasks", headers={"X_Trace_Id": "t-1", "X-Request-Id": "r-1"}
    ),
    "header-values-trimmed": Case(
        "POST",
        "/v2/p/batch-tasks",
        body=b"{}",
        headers={"Content-Type": "  application/json ", "X-A": " a  b "},
    ),
    "caller-sets-host": Case("GET", "/v2/p/tasks", headers={"host": "gateway.internal:8443"}),
}

CREDENTIALS = {
    "permanent": AkSk(AK, SK),
    "temporary": AkSk(AK, SK, TOKEN),
}

PROJECTS = {"with-project": PROJECT, "without-project": None}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("credentials", CREDENTIALS.values(), ids=CREDENTIALS.keys())
@pytest.mark.parametrize("project_id", PROJECTS.values(), ids=PROJECTS.keys())
def test_same_headers_as_official_signer(
    case: Case, credentials: AkSk, project_id: str | None
) -> None:
    """Every header the SDK adds (Authorization, X-Sdk-Date, Host, …) is added identically."""
    assert ours(case, credentials, project_id) == official(case, credentials, project_id)


@pytest.mark.parametrize(
    "case",
    [CASES["query-special-values"], CASES["query-unicode"], CASES["get-list-batch-tasks"]],
    ids=["special-values", "unicode", "list-batch-tasks"],
)
def test_form_encoded_query_signs_the_same(case: Case) -> None:
    """A URL whose query httpx-style form encoding wrote ("+" for space) signs as the SDK does."""
    url = url_of(case, quote_via=quote_plus)
    assert ours(case, CREDENTIALS["permanent"], PROJECT, url) == official(
        case, CREDENTIALS["permanent"], PROJECT
    )


@pytest.mark.parametrize(
    "case",
    [
        CASES[k]
        for k in (
            "get-list-batch-tasks",
            "query-special-values",
            "query-unicode",
            "query-list-value",
        )
    ],
    ids=["list-batch-tasks", "special-values", "unicode", "list-value"],
)
def test_canonical_url_is_what_the_sdk_sends(case: Case) -> None:
    """canonical_url gives the path and query the SDK itself sends after signing."""
    sdk_credentials = BasicCredentials(AK, SK)
    request = SdkRequest(
        method=case.method,
        schema="https",
        host=HOST,
        resource_path=case.path,
        query_params=sdk_query(case.query),
        header_params={"X-Sdk-Date": sdk_date(NOW)},
        body=b"",
    )
    sent = sdk_credentials.sign_request(request)
    assert canonical_url(url_of(case, quote_via=quote_plus)) == f"https://{HOST}{sent.uri}"


def test_query_values_are_encoded_as_rfc3986() -> None:
    """Space is %20, "+" %2B, "/" %2F, "*" %2A and "~" stays, as the SDK encodes them."""
    url = canonical_url("https://h/p?b=a%20b%2Bc%2Fd~e*f&a=%E4%B8%AD")
    assert url == "https://h/p?a=%E4%B8%AD&b=a%20b%2Bc%2Fd~e%2Af"


def test_sdk_date_is_utc_basic_format() -> None:
    """X-Sdk-Date is the UTC time as YYYYMMDD'T'HHMMSS'Z', whatever zone `now` is in."""
    beijing = datetime(2025, 3, 14, 1, 2, 3, tzinfo=timezone(timedelta(hours=8)))
    assert sdk_date(beijing) == "20250313T170203Z"


def test_naive_time_is_refused() -> None:
    """A naive `now` is refused rather than guessed to be UTC."""
    with pytest.raises(ValueError, match="timezone-aware"):
        sdk_date(datetime(2025, 3, 14, 9, 0, 0))


@pytest.mark.parametrize(
    ("header", "project_id", "credentials"),
    [
        ("Authorization", None, AkSk(AK, SK)),
        ("x-sdk-date", None, AkSk(AK, SK)),
        ("X-Project-Id", PROJECT, AkSk(AK, SK)),
        ("X-Security-Token", None, AkSk(AK, SK, TOKEN)),
    ],
    ids=["authorization", "date", "project-id", "security-token"],
)
def test_caller_headers_that_signing_adds_are_refused(
    header: str, project_id: str | None, credentials: AkSk
) -> None:
    """A header that signing adds may not also come from the caller, and the error names no secret."""
    with pytest.raises(ValueError, match=f"(?i)already carry {header}") as error:
        signed_headers(
            credentials,
            method="GET",
            url=f"https://{HOST}/v2",
            headers={header: "x"},
            body=b"",
            project_id=project_id,
            now=NOW,
        )
    assert SK not in str(error.value)
    assert TOKEN not in str(error.value)


@pytest.mark.parametrize(
    "url", ["/v2/p/tasks", "ftp://h/p", "https://user:pw@h/p"], ids=["relative", "ftp", "user-info"]
)
def test_unusable_urls_are_refused(url: str) -> None:
    """Only absolute http(s) URLs without user info can be signed; the URL is not echoed."""
    with pytest.raises(ValueError, match="url") as error:
        ours(Case("GET", "/"), CREDENTIALS["permanent"], None, url)
    assert "pw" not in str(error.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"access_key": "", "secret_key": SK}, "access key must be"),
        ({"access_key": "AK WITH SPACE", "secret_key": SK}, "access key must be"),
        ({"access_key": "AK,1", "secret_key": SK}, "access key must be"),
        ({"access_key": AK, "secret_key": ""}, "secret key is empty"),
        ({"access_key": AK, "secret_key": SK, "security_token": ""}, "security token is empty"),
    ],
    ids=["empty-ak", "ak-with-space", "ak-with-comma", "empty-sk", "empty-token"],
)
def test_unusable_credentials_are_refused(kwargs: dict[str, str], message: str) -> None:
    """Credentials no gateway could accept fail at construction, with no secret in the message."""
    with pytest.raises(ValueError, match=message) as error:
        AkSk(**kwargs)
    assert SK not in str(error.value)


def test_secrets_are_never_in_repr() -> None:
    """repr (and so any log of the value) shows the AK but neither the SK nor the token."""
    text = repr(AkSk(AK, SK, TOKEN)) + str(AkSk(AK, SK, TOKEN))
    assert AK in text
    assert SK not in text
    assert TOKEN not in text


def test_secrets_lists_sk_and_token() -> None:
    """secrets() gives log scrubbing the SK and, for temporary credentials, the token."""
    assert AkSk(AK, SK).secrets() == [SK]
    assert AkSk(AK, SK, TOKEN).secrets() == [SK, TOKEN]


# ---- property: random requests sign the same as the SDK --------------------------------------

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
_RESERVED = {
    "host",
    "authorization",
    "x-sdk-date",
    "x-project-id",
    "x-security-token",
    "x-sdk-content-sha256",
}
_HEADER_NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True).filter(
    lambda name: name.lower() not in _RESERVED and name.lower() != "content-type"
)
_HEADER_VALUES = st.from_regex(r"[ -~]{0,12}", fullmatch=True)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A random request: any path segments, query pairs, headers, body and method."""
    segments = draw(st.lists(_TEXT, max_size=4))
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    query = draw(st.lists(st.tuples(_TEXT, _TEXT), max_size=6))
    headers = draw(st.dictionaries(_HEADER_NAMES, _HEADER_VALUES, max_size=3))
    content_type = draw(
        st.sampled_from([None, "application/json", "text/plain", "application/bson"])
    )
    if content_type is not None:
        headers["Content-Type"] = content_type
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
    return Case(method, path, query, draw(st.binary(max_size=64)), headers)


_CREDENTIALS = st.builds(
    AkSk,
    st.from_regex(r"[A-Z0-9]{1,24}", fullmatch=True),
    st.text(min_size=1, max_size=40) | st.just(SK),
    st.none() | st.from_regex(r"[A-Za-z0-9+/=]{1,40}", fullmatch=True),
)


@settings(max_examples=100, deadline=None)
@given(
    case=cases(),
    credentials=_CREDENTIALS,
    project_id=st.none() | st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
    quote_via=st.sampled_from([quote, quote_plus]),
)
def test_random_requests_sign_as_official_signer(
    case: Case, credentials: AkSk, project_id: str | None, quote_via: Callable[..., str]
) -> None:
    """Random paths, queries (unicode, repeated keys), headers and bodies sign as the SDK does."""
    url = url_of(case, quote_via=quote_via)
    assert ours(case, credentials, project_id, url) == official(case, credentials, project_id)
