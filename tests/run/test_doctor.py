"""``bulkload doctor`` against the simulator, one injected failure at a time: exact verdicts."""

from __future__ import annotations

import json
import os
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from typer.testing import CliRunner

from loader.cli import app
from loader.model.checks import Check, CheckStatus, Diagnosis
from loader.run.doctor import DoctorWiring, Resolver, diagnose
from loader.run.options import RunOptions
from loader.run.verdicts import check_clock
from loader.send.credentials import Credentials
from loader.sim import RunningSim, SimConfig, SimState, create_app, running_simulator

ENDPOINT = "http://sim.test"
AK = "SIMAK0000000000000001"
SK = "sim-secret-key-0123456789abcdef"
IAM = {"iam_user": "sim-user", "iam_password": "sim-password", "iam_domain": "sim-domain"}
TOKEN = Credentials(token="sim-token")
SIGNED = Credentials(access_key=AK, secret_key=SK)
BY_IAM = Credentials(iam_url=ENDPOINT, **IAM)
AKSK_REFUSED = (
    "check BULKLOAD_AK and BULKLOAD_SK (and BULKLOAD_SECURITY_TOKEN for temporary credentials)"
    " and this machine's clock, which must be within 15 minutes of the gateway's; the run"
    " stopped at the first refusal, as five in a row lock the key for 5 minutes"
)
TOKEN_REFUSED = (
    "BULKLOAD_AUTH_TOKEN was refused (a token lasts 24 hours): export a new one, or use"
    " BULKLOAD_AK/BULKLOAD_SK or IAM (BULKLOAD_IAM_*), then bulkload resume"
)
NOT_REACHED_FIX = (
    "check --endpoint / BULKLOAD_ENDPOINT (host and port) and the network;"
    " behind a proxy, export HTTPS_PROXY=http://<proxy>:<port>"
)
PLAIN_HTTP = (
    "plain http (a simulator or private deployment): no TLS; sim.test:80 answered"
    " (HTTP 404 to GET /)"
)
PROJECT_OK = "project sim-project answers a read-only ListBatchTasks at http://sim.test (HTTP 200)"
IN_STEP = "this machine's clock is in step with the server's (its Date header)"
NO_MAPPING = "no -m: a run picks the bundled mapping that fits the sheet (-m NAME checks one)"


class Gateway:
    """The simulator app as a gateway serves it: every answer dated by the gateway's clock.

    The simulator dates its answers by ``SimConfig.wall_clock``; this gateway's own clock
    replaces that Date, so a test can set the two apart. Every request is noted: method,
    path and sorted query.
    """

    def __init__(self, app: ASGIApp, clock: Callable[[], float]) -> None:
        self.app, self.clock = app, clock
        self.seen: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = "&".join(sorted(scope.get("query_string", b"").decode().split("&")))
            self.seen.append(f"{scope['method']} {scope['path']}" + (f"?{query}" if query else ""))

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                date = formatdate(self.clock(), usegmt=True).encode()
                kept = [h for h in message.get("headers", []) if h[0].lower() != b"date"]
                message = {**message, "headers": [*kept, (b"date", date)]}
            await send(message)

        await self.app(scope, receive, dated)


class Sim:
    """An in-process simulator behind a Gateway, and doctor's wiring to it."""

    def __init__(self, config: SimConfig, *, date: Callable[[], float] | None = None) -> None:
        app = create_app(config)
        self.state: SimState = app.state.sim
        self.gateway = Gateway(app, date or config.wall_clock)
        self.wiring = DoctorWiring(
            transport=httpx.ASGITransport(app=self.gateway), resolve=_resolves_to("192.0.2.10")
        )

    @property
    def probe_request_id(self) -> str:
        """The request id of the last ListBatchTasks the simulator answered."""
        return next(r.request_id for r in reversed(self.state.requests) if r.method == "GET")


def _resolves_to(address: str) -> Resolver:
    """A resolver that finds ``address`` for every host."""

    async def resolve(host: str, port: int) -> list[str]:
        return [address]

    return resolve


def _does_not_resolve() -> Resolver:
    """A resolver that finds nothing, as getaddrinfo fails for an unknown name."""

    async def resolve(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    return resolve


def _options(credentials: Credentials = TOKEN, **overrides: Any) -> RunOptions:
    values: dict[str, Any] = {
        "endpoint": ENDPOINT,
        "project_id": "sim-project",
        "credentials": credentials,
    }
    return RunOptions.of(**{**values, **overrides})


def _statuses(diagnosis: Diagnosis) -> list[tuple[str, str]]:
    return [(c.name, c.status) for c in diagnosis.checks]


def _check(diagnosis: Diagnosis, name: str) -> Check:
    return next(c for c in diagnosis.checks if c.name == name)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# A healthy simulator -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "label", "clock_note", "seen_first"),
    [
        pytest.param(
            TOKEN,
            "token (BULKLOAD_AUTH_TOKEN): accepted by the API",
            "; informational: a token does not sign",
            [],
            id="token",
        ),
        pytest.param(
            SIGNED,
            "AK/SK signing (BULKLOAD_AK SIMA...0001): accepted by the API",
            ": AK/SK signatures pass up to 15 minutes off",
            [],
            id="aksk",
        ),
        pytest.param(
            BY_IAM,
            "IAM password auth (user sim-user, domain sim-domain, IAM at http://sim.test):"
            " IAM issued a token, accepted by the API",
            "; informational: IAM password auth does not sign",
            ["POST /v3/auth/tokens?nocatalog=true"],
            id="iam",
        ),
    ],
)
def test_a_healthy_simulator_passes_every_check(
    credentials: Credentials, label: str, clock_note: str, seen_first: list[str]
) -> None:
    """Token, AK/SK and IAM: every check passes (TLS skipped: plain http); GETs only, and
    the one IAM POST; the project is asked with the documented smallest page."""
    sim = Sim(SimConfig())

    diagnosis = diagnose(_options(credentials), wiring=sim.wiring)

    request_id = sim.probe_request_id
    assert diagnosis.checks == (
        Check(
            name="endpoint",
            status="pass",
            detail="http://sim.test (from --endpoint / BULKLOAD_ENDPOINT):"
            " sim.test resolves to 192.0.2.10",
        ),
        Check(name="tls", status="skip", detail=PLAIN_HTTP),
        Check(name="credentials", status="pass", detail=label, request_id=request_id),
        Check(name="clock", status="pass", detail=IN_STEP + clock_note),
        Check(name="project", status="pass", detail=PROJECT_OK, request_id=request_id),
        Check(name="mapping", status="skip", detail=NO_MAPPING),
    )
    assert diagnosis.exit_code == 0
    assert sim.gateway.seen == [
        "GET /",
        *seen_first,
        "GET /v2/sim-project/batch-tasks?page_num=1&page_size=5",
    ]


def test_an_https_endpoint_completes_a_handshake_and_names_its_trust_store() -> None:
    """https: the TLS check passes, naming the CAs trusted and that trust_env is honoured."""
    sim = Sim(SimConfig())
    options = _options(endpoint="https://sim.test", environment={"SSL_CERT_FILE": "/etc/ca.pem"})

    diagnosis = diagnose(options, wiring=sim.wiring)

    assert _check(diagnosis, "tls") == Check(
        name="tls",
        status="pass",
        detail="TLS handshake with sim.test:443 completed (HTTP 404 to GET /); trusting"
        " SSL_CERT_FILE (/etc/ca.pem) (httpx trust_env: SSL_CERT_FILE and HTTPS_PROXY honoured)",
    )
    assert diagnosis.exit_code == 0


def test_the_lines_a_person_reads() -> None:
    """Mark, name, detail and request id on one line; the fix indented under it."""
    check = Check(
        name="project",
        status="fail",
        detail="project nope does not exist at http://sim.test (400 VIAS.00010002)",
        fix="check BULKLOAD_PROJECT_ID / --project-id",
        request_id="abc123",
    )

    assert check.lines() == [
        "FAIL  project     project nope does not exist at http://sim.test (400 VIAS.00010002)"
        " (request id abc123)",
        "                  how to fix: check BULKLOAD_PROJECT_ID / --project-id",
    ]


# Each failure injected ------------------------------------------------------------------------


def test_a_wrong_project_fails_with_the_code_and_the_request_id() -> None:
    """400 VIAS.00010002: the project does not exist; the credentials got through."""
    sim = Sim(SimConfig())

    diagnosis = diagnose(_options(project_id="nope"), wiring=sim.wiring)

    assert _check(diagnosis, "project") == Check(
        name="project",
        status="fail",
        detail="project nope does not exist at http://sim.test (400 VIAS.00010002)",
        fix="check BULKLOAD_PROJECT_ID / --project-id",
        request_id=sim.probe_request_id,
    )
    assert _check(diagnosis, "credentials").status == "pass"
    assert diagnosis.exit_code == 2


def test_a_refused_token_fails_naming_bulkload_auth_token() -> None:
    """401 VIAS.00010005 to a token: credentials and project fail with the token's hint."""
    sim = Sim(SimConfig())

    diagnosis = diagnose(_options(Credentials(token="stale-token-42")), wiring=sim.wiring)

    answer = "401 VIAS.00010005 Authorization failed.: the token is unknown or has expired"
    request_id = sim.probe_request_id
    assert _check(diagnosis, "credentials") == Check(
        name="credentials",
        status="fail",
        detail=f"token (BULKLOAD_AUTH_TOKEN): refused by the API ({answer})",
        fix=TOKEN_REFUSED,
        request_id=request_id,
    )
    assert _check(diagnosis, "project") == Check(
        name="project",
        status="fail",
        detail=f"the credentials were refused: {answer}",
        fix=TOKEN_REFUSED,
        request_id=request_id,
    )
    assert diagnosis.exit_code == 2


def test_a_wrong_secret_key_fails_naming_bulkload_ak_and_sk() -> None:
    """A signature the gateway cannot verify: 401 APIGW.0301, the AK/SK hint, one request."""
    sim = Sim(SimConfig())
    credentials = Credentials(access_key=AK, secret_key="not-the-secret-key-0000")

    diagnosis = diagnose(_options(credentials), wiring=sim.wiring)

    refused = _check(diagnosis, "credentials")
    assert (refused.status, refused.fix, refused.request_id) == (
        "fail",
        AKSK_REFUSED,
        sim.probe_request_id,
    )
    assert refused.detail.startswith(
        "AK/SK signing (BULKLOAD_AK SIMA...0001): refused by the API (401 APIGW.0301"
    )
    assert [r for r in sim.gateway.seen if r.startswith("GET /v2")] == [
        "GET /v2/sim-project/batch-tasks?page_num=1&page_size=5"  # one refusal, not five
    ]


def test_a_gateway_clock_20_minutes_ahead_fails_the_clock_check_with_aksk() -> None:
    """The gateway refuses the signature (15 minutes at most); the clock line says why."""
    local = 1_750_000_000.0
    sim = Sim(SimConfig(wall_clock=lambda: time.time() + 1200), date=lambda: local + 1200)
    wiring = DoctorWiring(
        transport=sim.wiring.transport, resolve=sim.wiring.resolve, wall_clock=lambda: local
    )

    diagnosis = diagnose(_options(SIGNED), wiring=wiring)

    assert _check(diagnosis, "clock") == Check(
        name="clock",
        status="fail",
        detail="this machine's clock is 1200 s (20 min) behind the server's (its Date header):"
        " AK/SK signatures over 15 minutes off are refused",
        fix="sync this machine's clock (NTP: `timedatectl set-ntp true`; Windows: `w32tm /resync`)",
    )
    assert _statuses(diagnosis)[2:5] == [
        ("credentials", "fail"),
        ("clock", "fail"),
        ("project", "fail"),
    ]


@pytest.mark.parametrize(
    ("skew", "method", "status", "detail_end"),
    [
        pytest.param(
            0.4,
            "aksk",
            "pass",
            "in step with the server's (its Date header): AK/SK signatures pass up to 15 minutes off",
            id="in-step",
        ),
        pytest.param(
            400,
            "aksk",
            "warn",
            "400 s (6 min) behind the server's (its Date header): AK/SK signatures pass up to 15 minutes off",
            id="aksk-6-min",
        ),
        pytest.param(
            -1000,
            "aksk",
            "fail",
            "1000 s (16 min) ahead of the server's (its Date header): AK/SK signatures over 15 minutes off are refused",
            id="aksk-16-min-ahead",
        ),
        pytest.param(
            1000,
            "iam",
            "pass",
            "1000 s (16 min) behind the server's (its Date header); informational: IAM password auth does not sign",
            id="iam-informational",
        ),
    ],
)
def test_clock_skew_thresholds(skew: float, method: Any, status: str, detail_end: str) -> None:
    """Over 5 minutes warns, over 15 fails, with AK/SK only; otherwise informational."""
    check = check_clock(skew, method, reached=True)

    assert (check.status, check.detail) == (status, f"this machine's clock is {detail_end}")


def test_an_unreachable_endpoint_fails_the_connection_check_and_skips_the_rest(
    closed_port: int,
) -> None:
    """Nothing listens: the tls check fails with its fix; what needs an answer is skipped."""
    endpoint = f"http://127.0.0.1:{closed_port}"

    diagnosis = diagnose(_options(endpoint=endpoint))

    assert diagnosis.checks[1:5] == (
        Check(
            name="tls",
            status="fail",
            detail=f"cannot connect to 127.0.0.1:{closed_port}: ConnectError"
            " (All connection attempts failed)",
            fix=NOT_REACHED_FIX,
        ),
        Check(
            name="credentials",
            status="skip",
            detail=f"token (BULKLOAD_AUTH_TOKEN): set, not proven: {endpoint} was not reached",
        ),
        Check(name="clock", status="skip", detail="skew unknown: no answer"),
        Check(name="project", status="skip", detail=f"not run: {endpoint} was not reached"),
    )
    assert diagnosis.exit_code == 2


def test_a_region_that_does_not_resolve_names_bulkload_region() -> None:
    """No endpoint flag: the region's host does not resolve; the fix names BULKLOAD_REGION."""
    options = _options(endpoint=None, credentials=Credentials(token="t", region="cn-nowhere-9"))

    diagnosis = diagnose(options, wiring=DoctorWiring(resolve=_does_not_resolve()))

    assert diagnosis.checks[0] == Check(
        name="endpoint",
        status="fail",
        detail="vias.cn-nowhere-9.myhuaweicloud.com does not resolve (Name or service not known)",
        fix="check BULKLOAD_REGION (VIAS regions: cn-north-4, cn-east-3, cn-south-1,"
        " cn-southwest-2), or export BULKLOAD_ENDPOINT=https://vias.<region>.myhuaweicloud.com;"
        " if it is right, check this machine's DNS;"
        " behind a proxy, export HTTPS_PROXY=http://<proxy>:<port>",
    )
    assert _statuses(diagnosis)[1:5] == [
        ("tls", "skip"),
        ("credentials", "skip"),
        ("clock", "skip"),
        ("project", "skip"),
    ]


def test_a_host_only_the_proxy_resolves_warns_and_goes_on() -> None:
    """Behind HTTPS_PROXY the proxy resolves names: a warning, then the handshake decides."""
    sim = Sim(SimConfig())
    wiring = DoctorWiring(transport=sim.wiring.transport, resolve=_does_not_resolve())
    proxy = {"HTTPS_PROXY": "http://me:proxy-pass-77@proxy.corp:3128"}

    diagnosis = diagnose(_options(endpoint="https://sim.test", environment=proxy), wiring=wiring)

    assert diagnosis.checks[0] == Check(
        name="endpoint",
        status="warn",
        detail="sim.test does not resolve here (Name or service not known); HTTPS_PROXY is set:"
        " the proxy resolves it",
        fix="check `tls` says whether the proxy reaches it",
    )
    assert (_check(diagnosis, "tls").status, diagnosis.exit_code) == ("pass", 0)
    assert "proxy-pass-77" not in json.dumps(diagnosis.as_json())


def test_no_endpoint_and_no_region_fails_naming_both() -> None:
    """No endpoint and no region: the fix names both; a missing project id fails too."""
    diagnosis = diagnose(_options(endpoint=None, project_id=None))

    assert diagnosis.checks[0] == Check(
        name="endpoint",
        status="fail",
        detail="no endpoint: neither --endpoint / BULKLOAD_ENDPOINT nor BULKLOAD_REGION is set",
        fix="export BULKLOAD_REGION (VIAS regions: cn-north-4, cn-east-3, cn-south-1,"
        " cn-southwest-2), or export BULKLOAD_ENDPOINT=https://vias.<region>.myhuaweicloud.com",
    )
    assert _statuses(diagnosis)[1:5] == [
        ("tls", "skip"),
        ("credentials", "skip"),
        ("clock", "skip"),
        ("project", "fail"),
    ]


def test_a_certificate_the_machine_does_not_trust_fails_tls_with_the_fix() -> None:
    """An SSL error under the transport error: the reason, and SSL_CERT_FILE / HTTPS_PROXY."""

    def refuse(request: httpx.Request) -> httpx.Response:
        cause = ssl.SSLCertVerificationError(
            1,
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed"
            " certificate in certificate chain (_ssl.c:1006)",
        )
        raise httpx.ConnectError("handshake failed", request=request) from cause

    wiring = DoctorWiring(transport=httpx.MockTransport(refuse), resolve=_resolves_to("192.0.2.1"))

    diagnosis = diagnose(
        _options(endpoint="https://vias.cn-north-4.myhuaweicloud.com"), wiring=wiring
    )

    assert _check(diagnosis, "tls") == Check(
        name="tls",
        status="fail",
        detail="TLS handshake with vias.cn-north-4.myhuaweicloud.com:443 failed: [SSL:"
        " CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in"
        " certificate chain",
        fix="if a proxy or firewall inspects TLS, export SSL_CERT_FILE=<its CA bundle, PEM>"
        " (httpx trusts it); behind a proxy, export HTTPS_PROXY=http://<proxy>:<port>;"
        " check --endpoint / BULKLOAD_ENDPOINT",
    )


@pytest.mark.slow
def test_an_endpoint_that_does_not_speak_tls_fails_the_handshake() -> None:
    """A real handshake with a plain-http server on loopback fails as an SSL error."""
    with running_simulator() as sim:
        endpoint = sim.url.replace("http://", "https://")

        diagnosis = diagnose(_options(endpoint=endpoint))

    tls = _check(diagnosis, "tls")
    assert (tls.status, tls.detail.split(" failed: ")[0]) == (
        "fail",
        f"TLS handshake with {endpoint.removeprefix('https://')}",
    )
    assert tls.fix.startswith("if a proxy or firewall inspects TLS, export SSL_CERT_FILE")
    assert sim.state.requests == []  # nothing reached the API


def test_a_ca_bundle_that_cannot_be_loaded_fails_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    """SSL_CERT_FILE naming no file: httpx cannot build its TLS context; say so."""
    missing = str(tmp_path / "missing.pem")
    monkeypatch.setenv("SSL_CERT_FILE", missing)
    options = _options(
        endpoint=f"http://127.0.0.1:{closed_port}", environment={"SSL_CERT_FILE": missing}
    )

    diagnosis = diagnose(options)

    tls = _check(diagnosis, "tls")
    assert (tls.status, tls.fix) == (
        "fail",
        "point SSL_CERT_FILE at a PEM bundle of CA certificates, or unset it",
    )
    assert tls.detail.startswith(f"the CA bundle cannot be loaded: SSL_CERT_FILE ({missing}): ")


def test_credentials_half_set_fail_as_a_run_would_and_send_nothing() -> None:
    """An AK without its SK: the run's own message; no API call is made."""
    sim = Sim(SimConfig())

    diagnosis = diagnose(_options(Credentials(access_key=AK)), wiring=sim.wiring)

    assert _check(diagnosis, "credentials") == Check(
        name="credentials",
        status="fail",
        detail="AK/SK signing needs BULKLOAD_SK too: not set in the environment",
        fix="export them (secrets are read from the environment only, never from flags)",
    )
    assert _check(diagnosis, "project").detail == "not run: no credentials that work"
    assert sim.gateway.seen == ["GET /"]


def test_wrong_iam_password_fails_with_the_iam_hint() -> None:
    """IAM refuses the password: the credentials fail before VIAS is asked."""
    sim = Sim(SimConfig())
    credentials = Credentials(**{**IAM, "iam_password": "wrong-password-1"}, iam_url=ENDPOINT)

    diagnosis = diagnose(_options(credentials), wiring=sim.wiring)

    assert _check(diagnosis, "credentials") == Check(
        name="credentials",
        status="fail",
        detail="IAM refused the credentials of user 'sim-user' (HTTP 401)",
        fix="check BULKLOAD_IAM_USER, BULKLOAD_IAM_PASSWORD and BULKLOAD_IAM_DOMAIN (the account"
        " name), and BULKLOAD_PROJECT_ID / BULKLOAD_REGION for the scope",
    )
    assert sim.gateway.seen == ["GET /", "POST /v3/auth/tokens?nocatalog=true"]
    assert "wrong-password-1" not in json.dumps(diagnosis.as_json())


def test_no_project_id_fails_the_project_check() -> None:
    """Without --project-id / BULKLOAD_PROJECT_ID nothing is asked; the token is unproven."""
    sim = Sim(SimConfig())

    diagnosis = diagnose(_options(project_id=None), wiring=sim.wiring)

    assert _check(diagnosis, "project") == Check(
        name="project",
        status="fail",
        detail="no project id: --project-id / BULKLOAD_PROJECT_ID not set",
        fix="export BULKLOAD_PROJECT_ID: the id of the endpoint region's project"
        " (console: My Credentials > API Credentials > Projects)",
    )
    assert _check(diagnosis, "credentials").detail == (
        "token (BULKLOAD_AUTH_TOKEN): set, not proven: no project id to ask about"
    )


def test_a_failing_api_fails_the_project_check_with_its_request_id() -> None:
    """500 VIAS.00010006 to the list: fail, ask again, the request id for support."""
    sim = Sim(SimConfig(list_failures=1.0))

    diagnosis = diagnose(_options(), wiring=sim.wiring)

    assert _check(diagnosis, "project") == Check(
        name="project",
        status="fail",
        detail="ListBatchTasks of project sim-project at http://sim.test failed:"
        " 500 VIAS.00010006 An internal error occurs.: simulated list failure",
        fix="run bulkload doctor again; if it persists, give Huawei support the request id",
        request_id=sim.probe_request_id,
    )
    assert _check(diagnosis, "credentials").status == "skip"


# The mapping ----------------------------------------------------------------------------------


MAPPING_HEAD = """
name = "site"
[cameras.columns]
video_source_id = { column = "Camera", required = true }
group = { column = "Group", required = true }
"""


@pytest.mark.parametrize(
    ("task", "status", "detail", "fix"),
    [
        pytest.param(
            'service_name = "c-smoke-and-fire-cloud"\nservice_version = "3.0"\n',
            "pass",
            "mapping site: service_name c-smoke-and-fire-cloud; service_version 3.0",
            "",
            id="known",
        ),
        pytest.param(
            'service_name = "c-face-recognition-cloud"\nservice_version = "1.0.0"\n',
            "warn",
            "mapping site: service_name 'c-face-recognition-cloud' ([task]) is not a service VIAS"
            " is known to offer",
            "known: c-smoke-and-fire-cloud, c-smoke-and-fire-edge, c-intrusion-detection-cloud,"
            " c-helmet-detection-cloud; check the id in the VIAS console (sent as written)",
            id="unknown-service",
        ),
        pytest.param(
            'service_name = "Smoke and fire detection algorithm"\n',
            "fail",
            "mapping site: service_name 'Smoke and fire detection algorithm' ([task]) may hold"
            " only letters, digits, Chinese characters, - and _ (1 to 100, no spaces); use the"
            " algorithm's API id, such as c-smoke-and-fire-cloud",
            "edit {path}",
            id="bad-name",
        ),
        pytest.param(
            'service_name = "c-smoke-and-fire-cloud"\nservice_version = "V3"\n',
            "fail",
            "mapping site: service_version 'V3' ([task]) may hold only a-z, 0-9 and dots"
            " (3 to 32), such as 3.0.0",
            "edit {path}",
            id="bad-version",
        ),
        pytest.param(
            "",
            "pass",
            "mapping site: service_name from the sheet's cells (bulkload validate checks them);"
            " service_version from the sheet's cells (bulkload validate checks them)",
            "",
            id="from-cells",
        ),
    ],
)
def test_the_mapping_algorithms_are_checked(
    write_mapping: Callable[[str], Path], task: str, status: CheckStatus, detail: str, fix: str
) -> None:
    """[task] ids and versions: the documented patterns, then the known services."""
    path = write_mapping(f"{MAPPING_HEAD}[task]\n{task}")
    sim = Sim(SimConfig())

    diagnosis = diagnose(_options(mapping=str(path)), wiring=sim.wiring)

    assert _check(diagnosis, "mapping") == Check(
        name="mapping",
        status=status,
        detail=detail,
        fix=fix.format(path=path),
    )


def test_column_defaults_and_value_maps_are_checked_too(
    write_mapping: Callable[[str], Path],
) -> None:
    """Every value a map can produce and every column default is checked, with its place."""
    path = write_mapping(
        MAPPING_HEAD + 'service_name = { column = "Algo", default = "c-helmet-detection-cloud",'
        ' transforms = [{ map = { "fire" = "c-smoke-and-fire-cloud", "crowd" = "c-crowd" } }] }\n'
    )

    diagnosis = diagnose(_options(mapping=str(path)), wiring=Sim(SimConfig()).wiring)

    assert _check(diagnosis, "mapping").detail == (
        "mapping site: service_name 'c-crowd' (cameras.columns.service_name map) is not a"
        " service VIAS is known to offer"
    )


@pytest.mark.slow
def test_a_bundled_mapping_by_name_and_a_missing_one() -> None:
    """-m vms-flat: its value maps pass; -m nope: the mapping error with its hint."""
    wiring = Sim(SimConfig()).wiring

    found = _check(diagnose(_options(mapping="vms-flat"), wiring=wiring), "mapping")
    missing = _check(diagnose(_options(mapping="nope"), wiring=wiring), "mapping")

    assert found == Check(
        name="mapping",
        status="pass",
        detail="mapping vms-flat: service_name c-smoke-and-fire-cloud,"
        " c-intrusion-detection-cloud, c-helmet-detection-cloud; service_version 3.0, 2.1.0, 1.0.2",
    )
    assert (missing.status, missing.detail) == ("fail", "no mapping named 'nope'")


# The command ------------------------------------------------------------------------------------


@pytest.fixture
def loopback() -> Iterator[RunningSim]:
    """A real simulator on loopback (uvicorn dates its answers)."""
    with running_simulator(SimConfig()) as sim:
        yield sim


def _environment(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Exactly these BULKLOAD_* variables."""
    for name in [n for n in os.environ if n.startswith("BULKLOAD_")]:
        monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_json_output_and_exit_0_on_a_healthy_simulator(
    loopback: RunningSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--json: one object on stdout, every check with the five keys; lines on stderr; exit 0."""
    _environment(
        monkeypatch,
        BULKLOAD_ENDPOINT=loopback.url,
        BULKLOAD_PROJECT_ID="sim-project",
        BULKLOAD_AK=AK,
        BULKLOAD_SK=SK,
    )

    result = CliRunner().invoke(app, ["doctor", "-m", "default", "--json"])

    summary = json.loads(result.stdout)
    assert (result.exit_code, summary["exit_code"], list(summary)) == (
        0,
        0,
        ["checks", "exit_code"],
    )
    assert [(c["name"], c["status"]) for c in summary["checks"]] == [
        ("endpoint", "pass"),
        ("tls", "skip"),
        ("credentials", "pass"),
        ("clock", "pass"),
        ("project", "pass"),
        ("mapping", "pass"),
    ]
    assert all(
        list(c) == ["name", "status", "detail", "fix", "request_id"] for c in summary["checks"]
    )
    assert "PASS  clock       this machine's clock is in step with the server's" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "doctor: 5 passed, 0 warned, 1 skipped, 0 failed: a run can start"
    )
    assert SK not in result.stdout + result.stderr


def test_exit_2_and_the_fix_on_stderr_when_a_check_fails(
    closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed check: exit 2, the FAIL line and how to fix it on stderr, no secret shown."""
    _environment(
        monkeypatch,
        BULKLOAD_ENDPOINT=f"http://127.0.0.1:{closed_port}",
        BULKLOAD_PROJECT_ID="sim-project",
        BULKLOAD_AUTH_TOKEN="very-secret-token-5",
    )

    result = CliRunner().invoke(app, ["doctor", "--json"])

    assert (result.exit_code, json.loads(result.stdout)["exit_code"]) == (2, 2)
    assert f"FAIL  tls         cannot connect to 127.0.0.1:{closed_port}" in result.stderr
    assert f"                  how to fix: {NOT_REACHED_FIX}" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "doctor: 1 passed, 0 warned, 4 skipped, 1 failed: fix the FAIL lines, then run"
        " bulkload doctor again"
    )
    assert "very-secret-token-5" not in result.stdout + result.stderr


def test_doctor_never_posts_to_the_api(
    loopback: RunningSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every method, wrong project included: the API sees one GET per doctor, creates nothing."""
    url = loopback.url
    iam = {f"BULKLOAD_{name.upper()}": value for name, value in IAM.items()}
    for credentials in (
        {"BULKLOAD_AUTH_TOKEN": "sim-token"},
        {"BULKLOAD_AK": AK, "BULKLOAD_SK": SK},
        {"BULKLOAD_IAM_URL": url, **iam},
    ):
        for project in ("sim-project", "nope"):
            _environment(
                monkeypatch, BULKLOAD_ENDPOINT=url, BULKLOAD_PROJECT_ID=project, **credentials
            )
            CliRunner().invoke(app, ["doctor"])

    seen = [(r.method, r.path) for r in loopback.state.requests]
    assert seen == 3 * [
        ("GET", "/v2/sim-project/batch-tasks"),
        ("GET", "/v2/nope/batch-tasks"),
    ]
    assert (loopback.state.batches, len(loopback.state.issued)) == ({}, 2)  # IAM: twice
