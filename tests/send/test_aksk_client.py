"""AK/SK through the client: every request to VIAS signed exactly as signing.signed_headers
(and so huaweicloudsdkcore) signs it, the first refusal stops everything, secrets never
leave the environment; and which credentials a run uses."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

from loader.errors import ConfigError
from loader.run.options import credentials_from
from loader.run.runner import Wiring, start_run
from loader.send.auth import AkSkAuth, IamPassword, StaticToken
from loader.send.client import ViasClient
from loader.send.connect import auth_source
from loader.send.credentials import Credentials
from loader.send.engine import SubmitOptions
from loader.send.pacing import RateLimiter
from loader.send.signing import AkSk, canonical_url, signed_headers
from loader.sim import SimConfig, SimState
from loader.sim.app import create_app, new_state
from tests.conftest import FakeClock, write_inventory
from tests.run.test_run import expected_cameras, settings_for
from tests.send.test_signing import HOST, NOW, Case, official
from tests.send.test_submit import Answer, FakeApi, error, listing, ok, settle

AK = "SIMAK0000000000000001"
SK = "sim-secret-key-0123456789abcdef"
SECURITY_TOKEN = "temporary-security-token-0123456789"
PROJECT = "p1"
CREDENTIALS = AkSk(AK, SK, SECURITY_TOKEN)
SIGNED_NAMES = ("Authorization", "X-Sdk-Date", "Host", "X-Project-Id", "X-Security-Token")


def signer() -> AkSkAuth:
    """Temporary credentials, dated NOW so the SDK's signature can be compared."""
    return AkSkAuth(CREDENTIALS, project_id=PROJECT, now=lambda: NOW)


def expected_for(request: httpx.Request) -> dict[str, str]:
    """What signed_headers gives for this request as it went out."""
    content_type = request.headers.get("Content-Type")
    return signed_headers(
        CREDENTIALS,
        method=request.method,
        url=str(request.url),
        headers={"Content-Type": content_type} if content_type else {},
        body=request.content,
        project_id=PROJECT,
        now=NOW,
    )


def as_sdk_case(request: httpx.Request) -> Case:
    """The same request described for huaweicloudsdkcore's signer."""
    query = parse_qsl(request.url.query.decode(), keep_blank_values=True)
    headers = {"Content-Type": request.headers["Content-Type"]}
    return Case(request.method, request.url.path, query, request.content, headers)


class Recording(FakeApi):
    """FakeApi that also keeps every request as it was sent."""

    def __init__(self, creates: list[Answer], lookups: list[Answer] | None = None) -> None:
        super().__init__(creates, lookups)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().__call__(request)


def same_as_sent(request: httpx.Request, expected: dict[str, str]) -> dict[str, str]:
    """The headers of ``expected``'s names as the request carried them."""
    return {name: request.headers.get(name, "") for name in expected}


@pytest.mark.anyio
async def test_creates_lookups_lists_and_show_task_are_all_signed(clock: FakeClock) -> None:
    """Each request carries the signed headers signed_headers gives for it, and no token."""
    api = Recording(
        [error(500, "VIAS.00010006"), ok("b-1")],
        lookups=[
            listing(),
            listing(),
            listing(),
            listing(("n1", "b-1")),
            httpx.Response(200, json={"tasks": []}),
            httpx.Response(200, json={"id": "t-1"}),
        ],
    )

    _, engine, _ = await settle(api, clock, ["n1"], auth=signer())
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(api), base_url="https://vias.test"
    ) as http:
        client = ViasClient(http, project_id=PROJECT, auth=signer(), limiter=RateLimiter(10, clock))
        await client.list_batch("n1")
        await client.list_tasks("b-1")
        await client.show_task("t-1")

    kinds = [(r.method, r.url.path) for r in api.requests]
    assert kinds == [
        ("POST", "/v2/p1/batch-tasks"),
        ("GET", "/v2/p1/batch-tasks"),
        ("GET", "/v2/p1/batch-tasks"),
        ("GET", "/v2/p1/batch-tasks"),
        ("POST", "/v2/p1/batch-tasks"),
        ("GET", "/v2/p1/batch-tasks"),
        ("GET", "/v2/p1/tasks"),
        ("GET", "/v2/p1/tasks/t-1"),
    ]
    for request in api.requests:
        expected = expected_for(request)
        assert set(expected) == set(SIGNED_NAMES)
        assert same_as_sent(request, expected) == expected
        assert str(request.url) == canonical_url(str(request.url))
        assert "X-Auth-Token" not in request.headers
    assert engine.control.stop_reason == ""


@pytest.mark.anyio
async def test_signed_requests_match_the_official_signer(clock: FakeClock) -> None:
    """A create and a lookup as sent carry exactly the headers huaweicloudsdkcore adds."""
    api = Recording([ok()], lookups=[listing()])

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(api), base_url=f"https://{HOST}"
    ) as http:
        client = ViasClient(http, project_id=PROJECT, auth=signer(), limiter=RateLimiter(10, clock))
        await client.create_batch('{"name":"摄像头 n1"}'.encode())
        await client.find_batch("rollout n1+2")

    for request in api.requests:
        sdk = official(as_sdk_case(request), CREDENTIALS, PROJECT)
        assert same_as_sent(request, sdk) == sdk


@pytest.mark.anyio
async def test_first_signature_refusal_stops_everything(clock: FakeClock) -> None:
    """401 APIGW.0301 on the first create: one request in all, the run stops naming the fix."""
    refused = httpx.Response(
        401,
        json={
            "error_code": "APIGW.0301",
            "error_msg": "Incorrect IAM authentication information: verify aksk signature fail",
            "request_id": "req-sig",
        },
    )
    api = Recording([refused])

    events, engine, _ = await settle(api, clock, ["n1", "n2", "n3"], auth=signer())

    reason = engine.control.stop_reason
    assert (len(api.requests), [e.kind for e in events if e.kind == "BatchGaveUp"]) == (
        1,
        ["BatchGaveUp"] * 3,
    )
    assert reason.startswith(
        "the API refused the run: 401 APIGW.0301 Incorrect IAM authentication information:"
        " verify aksk signature fail (request id req-sig); check BULKLOAD_AK and BULKLOAD_SK"
    )
    assert "clock" in reason
    assert "five in a row lock the key" in reason


@pytest.mark.anyio
async def test_signature_refused_on_a_lookup_sends_nothing_more(clock: FakeClock) -> None:
    """APIGW.0303 on a lookup: no fallback scan, no further lookup, no other create."""
    clock_skew = httpx.Response(
        401, json={"error_code": "APIGW.0303", "error_msg": "signature expired", "request_id": "r"}
    )
    api = Recording([error(500, "VIAS.00010006"), ok()], lookups=[clock_skew, listing()])
    options = SubmitOptions(concurrency=1, workers=1)

    events, engine, jobs = await settle(api, clock, ["n1", "n2"], auth=signer(), options=options)

    assert [(r.method, r.url.path) for r in api.requests] == [
        ("POST", "/v2/p1/batch-tasks"),
        ("GET", "/v2/p1/batch-tasks"),
    ]
    assert [e.kind for e in events if e.batch == "n1"][-2:] == ["LookupFailed", "BatchGaveUp"]
    assert jobs[0].state.gave_up.startswith("in doubt: the API refused the run: 401 APIGW.0303")
    assert engine.control.stop_reason.startswith("the API refused the run: 401 APIGW.0303")


@pytest.mark.anyio
async def test_only_x_auth_token_for_token_auth(clock: FakeClock) -> None:
    """Token auth signs nothing: X-Auth-Token alone."""
    api = Recording([ok()])

    await settle(api, clock, ["n1"], auth=StaticToken("tok-abcdef"))

    headers = api.requests[0].headers
    assert (headers["X-Auth-Token"], "Authorization" in headers) == ("tok-abcdef", False)


def test_secrets_echoed_by_the_api_never_reach_the_run_directory(
    tmp_path: Path, clock: FakeClock
) -> None:
    """An answer quoting the SK and security token: masked in journal, log, workbook, reason."""

    def api(request: httpx.Request) -> httpx.Response:
        body = {"error_code": "APIGW.0301", "error_msg": f"bad {SK} / {SECURITY_TOKEN}"}
        return httpx.Response(401, json=body, headers={"X-Request-Id": "req-echo"})

    sheet = write_inventory(tmp_path, groups=2, per_group=1)
    credentials = Credentials(access_key=AK, secret_key=SK, security_token=SECURITY_TOKEN)
    options = settings_for("http://sim.test", tmp_path, credentials=credentials)
    wiring = Wiring(clock=clock, transport=httpx.MockTransport(api))

    report = start_run(sheet, options, wiring=wiring)

    written = b"".join(p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file())
    assert (report.exit_code, SK.encode() in written, SECURITY_TOKEN.encode() in written) == (
        3,
        False,
        False,
    )
    assert SK not in report.stop_reason
    assert "req-echo" in report.stop_reason


@pytest.mark.parametrize(
    ("env", "method"),
    [
        pytest.param(
            {"BULKLOAD_AUTH_TOKEN": "t", "BULKLOAD_AK": AK, "BULKLOAD_SK": SK},
            "token",
            id="token-first",
        ),
        pytest.param(
            {
                "BULKLOAD_AK": AK,
                "BULKLOAD_SK": SK,
                "BULKLOAD_IAM_USER": "u",
                "BULKLOAD_IAM_PASSWORD": "p",
            },
            "aksk",
            id="aksk-before-iam",
        ),
        pytest.param(
            {
                "BULKLOAD_IAM_USER": "u",
                "BULKLOAD_IAM_PASSWORD": "p",
                "BULKLOAD_REGION": "cn-north-4",
            },
            "iam",
            id="iam-last",
        ),
    ],
)
def test_precedence_token_then_aksk_then_iam(env: dict[str, str], method: str) -> None:
    """When several are set: the token, then AK/SK, then the IAM password."""
    assert credentials_from(env).method() == method


@pytest.mark.parametrize(
    ("env", "names"),
    [
        pytest.param({"BULKLOAD_AK": AK}, "BULKLOAD_SK", id="ak-without-sk"),
        pytest.param({"BULKLOAD_SK": SK}, "BULKLOAD_AK", id="sk-without-ak"),
        pytest.param(
            {"BULKLOAD_SECURITY_TOKEN": "x"}, "BULKLOAD_AK and BULKLOAD_SK", id="token-alone"
        ),
        pytest.param(
            {"BULKLOAD_IAM_USER": "u", "BULKLOAD_REGION": "r"},
            "BULKLOAD_IAM_PASSWORD",
            id="no-password",
        ),
        pytest.param(
            {"BULKLOAD_IAM_USER": "u", "BULKLOAD_IAM_PASSWORD": "p"},
            "BULKLOAD_IAM_URL or BULKLOAD_REGION",
            id="no-iam-endpoint",
        ),
        pytest.param({}, "BULKLOAD_AUTH_TOKEN; or BULKLOAD_AK and BULKLOAD_SK", id="nothing"),
    ],
)
def test_each_credential_error_names_the_variables(env: dict[str, str], names: str) -> None:
    """Half-set credentials are refused before anything is sent, naming what to set."""
    with pytest.raises(ConfigError) as caught:
        credentials_from(env).method()

    assert names in caught.value.message


def test_no_credentials_says_the_precedence() -> None:
    """The message for none set says which one wins when several are."""
    with pytest.raises(ConfigError) as caught:
        Credentials().method()

    assert caught.value.message.endswith(
        "When several are set, the token is used first, then AK/SK, then the IAM password"
    )


def test_aksk_values_are_stripped_and_checked() -> None:
    """A pasted newline is dropped; an AK with a space is a ConfigError naming the variables."""
    clean = credentials_from({"BULKLOAD_AK": f" {AK}\n", "BULKLOAD_SK": f"{SK}\n"})
    bad = settings_for(
        "http://x", Path("."), credentials=Credentials(access_key="A K", secret_key=SK)
    )

    with pytest.raises(ConfigError) as caught:
        auth_source(bad.credentials, PROJECT)

    assert (clean.access_key, clean.secret_key) == (AK, SK)
    assert caught.value.message.startswith("BULKLOAD_AK / BULKLOAD_SK / BULKLOAD_SECURITY_TOKEN")
    assert SK not in caught.value.message


@pytest.mark.parametrize(
    ("credentials", "iam_url"),
    [
        pytest.param(
            Credentials(iam_user="u", iam_password="p", region="cn-north-4"),
            "https://iam.cn-north-4.myhuaweicloud.com",
            id="from-region",
        ),
        pytest.param(
            Credentials(iam_user="u", iam_password="p", region="r", iam_url="https://iam.test"),
            "https://iam.test",
            id="iam-url-first",
        ),
    ],
)
def test_iam_endpoint_is_never_the_vias_endpoint(credentials: Credentials, iam_url: str) -> None:
    """IAM at BULKLOAD_IAM_URL, else iam.<region>; the token is scoped by the project id."""
    options = settings_for(
        "https://vias.cn-north-4.myhuaweicloud.com", Path("."), credentials=credentials
    )

    auth = auth_source(options.credentials, "p-9")

    assert isinstance(auth, IamPassword)
    assert (auth.iam_url, auth.scope) == (iam_url, {"id": "p-9"})


def test_aksk_source_signs_for_the_project_and_lists_its_secrets() -> None:
    """The AK/SK source signs with the run's project id; scrubbing knows the SK and token."""
    credentials = Credentials(access_key=AK, secret_key=SK, security_token=SECURITY_TOKEN)
    options = settings_for("http://x", Path("."), credentials=credentials)

    auth = auth_source(options.credentials, "p-9")

    assert isinstance(auth, AkSkAuth)
    assert (auth.project_id, auth.secrets()) == ("p-9", [SK, SECURITY_TOKEN])


def test_credentials_repr_shows_no_secret() -> None:
    """repr of the credentials (and so of RunOptions) never shows the SK or a token."""
    text = repr(
        Credentials(access_key=AK, secret_key=SK, security_token=SECURITY_TOKEN, token="tok-zz")
    )

    assert (AK in text, SK in text, SECURITY_TOKEN in text, "tok-zz" in text) == (
        True,
        False,
        False,
        False,
    )


# ---- through the simulator's own, independent verifier ----------------------------------


def _signed_run(
    tmp_path: Path, clock: FakeClock, config: SimConfig, credentials: Credentials
) -> tuple[int, SimState, str]:
    """A whole run signed with ``credentials`` against the in-process simulator."""
    sheet = write_inventory(tmp_path, groups=250, per_group=1)
    state = new_state(config)
    state.clock = clock.now
    wiring = Wiring(clock=clock, transport=httpx.ASGITransport(app=create_app(config, state)))
    options = settings_for("http://sim.test", tmp_path, credentials=credentials)
    report = start_run(sheet, options, wiring=wiring)
    return report.exit_code, state, report.stop_reason


@pytest.mark.parametrize(
    ("config", "credentials"),
    [
        pytest.param(
            SimConfig(), Credentials(access_key=AK, secret_key=SK), id="permanent-credentials"
        ),
        pytest.param(
            SimConfig(security_tokens={AK: SECURITY_TOKEN}),
            Credentials(access_key=AK, secret_key=SK, security_token=SECURITY_TOKEN),
            id="temporary-credentials",
        ),
    ],
)
def test_signed_run_passes_the_simulators_verifier(
    tmp_path: Path, clock: FakeClock, config: SimConfig, credentials: Credentials
) -> None:
    """Creates, lookups and lists signed by the client pass the simulator's own check."""
    config.fault_sequence = ["5xx-after"]  # a lookup (a signed GET with a query) follows
    exit_code, sim, _ = _signed_run(tmp_path, clock, config, credentials)

    assert (exit_code, sim.task_counts()) == (0, expected_cameras(250, 1))
    assert {r.status for r in sim.requests} == {0}  # the gateway refused none
    assert any(r.method == "GET" for r in sim.requests)


def test_wrong_secret_key_stops_at_the_first_request(tmp_path: Path, clock: FakeClock) -> None:
    """The simulator refuses the signature once; nothing else is sent; the reason says why."""
    credentials = Credentials(access_key=AK, secret_key="not-the-secret-key")
    exit_code, sim, reason = _signed_run(tmp_path, clock, SimConfig(), credentials)

    assert (exit_code, [r.status for r in sim.requests]) == (3, [401])
    assert "check BULKLOAD_AK and BULKLOAD_SK" in reason
    assert "not-the-secret-key" not in reason
