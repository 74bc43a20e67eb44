"""
``bulkload doctor``: whether a real run can work, checked without creating anything. Six
checks, each a ``Check`` value (one line, a status, what to do); the CLI only renders them:

1. ``endpoint``: the endpoint (flag, ``BULKLOAD_ENDPOINT``, else built from
   ``BULKLOAD_REGION`` as ``RunOptions.api_target`` builds it) parses and its host resolves.
2. ``tls``: one unauthenticated ``GET /`` completes a TLS handshake (any HTTP status counts);
   httpx's ``trust_env`` honours ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` and ``HTTPS_PROXY``, as
   in a run. A plain http endpoint (simulator, private deployment) is a skip, not a pass.
3. ``credentials``: the method a run would use (``Credentials.method``, the runner's own
   auth source); IAM must issue a token, a token or AK/SK is proven by check 5's call.
4. ``clock``: this machine's clock against the ``Date`` of the endpoint's answers; AK/SK
   signatures more than 15 minutes off are refused.
5. ``project``: the project answers a read-only ListBatchTasks (``ViasClient.probe``).
6. ``mapping`` (with ``-m`` only: without a sheet, the mapping a run picks is not known):
   its algorithm ids and versions match the documented patterns and known services.

Doctor sends GETs only, and IAM's ``POST /v3/auth/tokens`` when IAM password auth is used;
one signed call at most, so it never nears the five refusals that lock an access key.
Every text is scrubbed of the credentials' secrets. Here the network is asked; what it
answers is judged in ``run.verdicts`` (checks 4 to 6, pure). [I/O: DNS, HTTP]
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Final

import anyio
import httpx
from rich.markup import escape

from loader.errors import ConfigError
from loader.model.checks import MARKS, STYLES, Check, Diagnosis
from loader.run.options import RunOptions
from loader.run.verdicts import (
    CLOCK,
    PROJECT,
    answer_words,
    check_clock,
    check_mapping,
    check_project,
    failed,
    method_label,
    passed,
    skipped,
    warned,
)
from loader.send.answers import Outcome, Verdict
from loader.send.auth import TokenSource
from loader.send.client import ViasClient
from loader.send.connect import auth_source  # a run's own choice
from loader.send.credentials import AuthMethod
from loader.send.pacing import RateLimiter, SystemClock
from loader.send.secrecy import Scrubber

if TYPE_CHECKING:
    from rich.console import Console


Resolver = Callable[[str, int], Awaitable[list[str]]]

ENDPOINT: Final = "endpoint"
TLS: Final = "tls"
CREDENTIALS: Final = "credentials"
# The regions the VIAS endpoint page lists (shared/reference/vias-api-family.md).
REGIONS: Final = ("cn-north-4", "cn-east-3", "cn-south-1", "cn-southwest-2")
TIMEOUT: Final = httpx.Timeout(connect=5.0, read=15.0, write=10.0, pool=5.0)
PROJECT_ID_FIX: Final = (
    "export BULKLOAD_PROJECT_ID: the id of the endpoint region's project"
    " (console: My Credentials > API Credentials > Projects)"
)
PROXY_FIX: Final = "behind a proxy, export HTTPS_PROXY=http://<proxy>:<port>"


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to; an OSError (gaierror) when it does not."""
    found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


@dataclass(frozen=True, kw_only=True)
class DoctorWiring:
    """What doctor is plugged into: in tests, the HTTP transport, resolver and wall clock."""

    transport: httpx.AsyncBaseTransport | None = None
    resolve: Resolver = resolve_host
    wall_clock: Callable[[], float] = time.time  # epoch seconds, compared with Date headers


def diagnose(options: RunOptions, *, wiring: DoctorWiring = DoctorWiring()) -> Diagnosis:
    """Every check, in order. Nothing is created: GETs only (and IAM's token request)."""
    return anyio.run(_diagnose, options, wiring)


async def _diagnose(options: RunOptions, wiring: DoctorWiring) -> Diagnosis:
    """Endpoint, then what talks to it, then the mapping; every text scrubbed of secrets."""
    endpoint, url = await check_endpoint(options, wiring.resolve)
    session = _Session.start(options)
    if url is None:
        session.not_reached("no endpoint to reach")
    else:
        await session.talk(url, wiring)
    checks = (
        endpoint,
        session.tls,
        session.credentials_check(),
        session.clock,
        session.project,
        check_mapping(options.reading.mapping),
    )
    scrub = session.scrubber
    return Diagnosis(tuple(replace(c, detail=scrub(c.detail), fix=scrub(c.fix)) for c in checks))


# 1. endpoint ------------------------------------------------------------------------------


async def check_endpoint(options: RunOptions, resolve: Resolver) -> tuple[Check, httpx.URL | None]:
    """The endpoint parses as an http(s) URL and its host resolves (or a proxy resolves it)."""
    source = "--endpoint / BULKLOAD_ENDPOINT" if options.target.endpoint else "BULKLOAD_REGION"
    try:  # the endpoint as a run builds it; check 5 says whether the project id is set
        project = replace(options.target, project_id=options.target.project_id or "-")
        endpoint, _ = replace(options, target=project).api_target()
    except ConfigError:
        detail = "no endpoint: neither --endpoint / BULKLOAD_ENDPOINT nor BULKLOAD_REGION is set"
        return failed(ENDPOINT, detail, _region_fix("export BULKLOAD_REGION")), None
    try:
        url = httpx.URL(endpoint)
    except httpx.InvalidURL as exc:
        return failed(
            ENDPOINT, f"endpoint {endpoint!r} is not a URL: {exc}", _url_fix(source)
        ), None
    if url.scheme not in ("http", "https") or not url.host:
        return failed(
            ENDPOINT, f"endpoint {endpoint!r} is not an http(s) URL", _url_fix(source)
        ), None
    try:
        addresses = await resolve(url.host, _port(url))
    except OSError as exc:
        return _unresolved(url, source, exc, options.environment)
    shown = ", ".join(addresses[:2])
    return passed(ENDPOINT, f"{endpoint} (from {source}): {url.host} resolves to {shown}"), url


def _unresolved(
    url: httpx.URL, source: str, exc: OSError, environment: Mapping[str, str]
) -> tuple[Check, httpx.URL | None]:
    """A host that does not resolve here: a failure, unless a proxy resolves names."""
    error = exc.strerror or type(exc).__name__
    proxy = _proxy_variable(environment, url.scheme)
    if proxy:
        detail = (
            f"{url.host} does not resolve here ({error}); {proxy} is set: the proxy resolves it"
        )
        return warned(ENDPOINT, detail, "check `tls` says whether the proxy reaches it"), url
    detail = f"{url.host} does not resolve ({error})"
    if source == "BULKLOAD_REGION":
        fix = f"{_region_fix('check BULKLOAD_REGION')}; if it is right, check this machine's DNS"
        return failed(ENDPOINT, detail, f"{fix}; {PROXY_FIX}"), None
    fix = f"check {source} (the host name) and this machine's DNS; {PROXY_FIX}"
    return failed(ENDPOINT, detail, fix), None


def _region_fix(action: str) -> str:
    """What to set for an endpoint built from the region."""
    return (
        f"{action} (VIAS regions: {', '.join(REGIONS)}), or export"
        " BULKLOAD_ENDPOINT=https://vias.<region>.myhuaweicloud.com"
    )


def _url_fix(source: str) -> str:
    """What to check when the endpoint is not an http(s) URL."""
    return f"check {source}: e.g. https://vias.cn-north-4.myhuaweicloud.com"


def _port(url: httpx.URL) -> int:
    """The port a connection to ``url`` uses."""
    return url.port or (443 if url.scheme == "https" else 80)


def _proxy_variable(environment: Mapping[str, str], scheme: str) -> str:
    """The proxy variable httpx's trust_env would use for ``scheme``, or ""."""
    names = (f"{scheme.upper()}_PROXY", "ALL_PROXY")
    return next((n for name in names for n in (name, name.lower()) if environment.get(n)), "")


# 2. tls -----------------------------------------------------------------------------------


async def check_tls(
    http: httpx.AsyncClient, url: httpx.URL, environment: Mapping[str, str]
) -> Check:
    """One unauthenticated ``GET /``: any HTTP answer proves the connection (and handshake)."""
    where = f"{url.host}:{_port(url)}"
    proxy = _proxy_variable(environment, url.scheme)
    via = f" via {proxy}" if proxy else ""
    try:
        response = await http.get("/")
    except httpx.HTTPError as exc:
        return _unreachable(exc, where, proxy)
    answered = f"HTTP {response.status_code} to GET /"
    if url.scheme == "http":
        detail = f"plain http (a simulator or private deployment): no TLS; {where} answered{via}"
        return skipped(TLS, f"{detail} ({answered})")
    trusted = _trust_store(environment)
    detail = f"TLS handshake with {where} completed{via} ({answered}); trusting {trusted}"
    return passed(TLS, f"{detail} (httpx trust_env: SSL_CERT_FILE and HTTPS_PROXY honoured)")


def _unreachable(exc: httpx.HTTPError, where: str, proxy: str) -> Check:
    """Why the endpoint gave no answer, and what to check."""
    via = f" via {proxy}" if proxy else ""
    refused = _ssl_error(exc)
    if refused is not None:
        fix = (
            "if a proxy or firewall inspects TLS, export SSL_CERT_FILE=<its CA bundle, PEM>"
            f" (httpx trusts it); {PROXY_FIX}; check --endpoint / BULKLOAD_ENDPOINT"
        )
        return failed(TLS, f"TLS handshake with {where} failed{via}: {_ssl_reason(refused)}", fix)
    name = type(exc).__name__
    if isinstance(exc, httpx.ProxyError):
        return failed(TLS, f"the proxy refused to reach {where}: {name}", f"check {proxy}")
    if isinstance(exc, httpx.TimeoutException):
        detail = f"no answer from {where}{via} ({name})"
    else:
        detail = f"cannot connect to {where}{via}: {name}" + (f" ({exc})" if str(exc) else "")
    fix = "check --endpoint / BULKLOAD_ENDPOINT (host and port) and the network; "
    return failed(TLS, detail, fix + (f"check {proxy}" if proxy else PROXY_FIX))


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The SSL error behind a transport error, if one is (httpx wraps it)."""
    seen: BaseException | None = exc
    for _ in range(8):  # the chain is short; a loop guard, not a limit that matters
        if seen is None or isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _ssl_reason(error: ssl.SSLError) -> str:
    """``[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ...``, without _ssl.c."""
    return re.sub(r"\s*\(_ssl\.c:\d+\)$", "", str(error)) or type(error).__name__


def _trust_store(environment: Mapping[str, str]) -> str:
    """The CAs httpx trusts, as trust_env picks them."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        if environment.get(name):
            return f"{name} ({environment[name]})"
    return "certifi's CA bundle"


def _trust_store_unusable(exc: Exception, environment: Mapping[str, str]) -> Check:
    """httpx could not load the CAs SSL_CERT_FILE / SSL_CERT_DIR name."""
    detail = f"the CA bundle cannot be loaded: {_trust_store(environment)}: {exc}"
    return failed(
        TLS, detail, "point SSL_CERT_FILE at a PEM bundle of CA certificates, or unset it"
    )


# 3-5. credentials, clock, project -------------------------------------------------------------


@dataclass
class _Session:
    """What checks 2 to 5 learn from one HTTP client; each check is filled in as it runs."""

    options: RunOptions
    method: AuthMethod | None
    auth: TokenSource | None
    refused: Check | None  # the credentials cannot be used as set (a ConfigError)
    tls: Check = field(default_factory=lambda: skipped(TLS, "not run"))
    clock: Check = field(default_factory=lambda: skipped(CLOCK, "not run"))
    project: Check = field(default_factory=lambda: skipped(PROJECT, "not run"))
    outcome: Outcome | None = None  # check 5's answer, which proves a token or AK/SK
    untried: str = ""  # why the credentials were not tried on VIAS
    issued: bool = False  # IAM issued a token

    @classmethod
    def start(cls, options: RunOptions) -> _Session:
        """The credentials a run would use, chosen and checked as a run does."""
        try:
            method = options.credentials.method()
            auth = auth_source(options.credentials, options.target.project_id or "")
        except ConfigError as exc:
            return cls(options, None, None, failed(CREDENTIALS, exc.message, exc.hint))
        return cls(options, method, auth, None)

    @property
    def scrubber(self) -> Scrubber:
        """Masks every secret of these credentials (proxy URLs are never shown at all)."""
        scrubber = Scrubber(self.auth.secrets) if self.auth else Scrubber()
        credentials = self.options.credentials
        scrubber.add(
            s for s in (credentials.token, credentials.secret_key, credentials.iam_password) if s
        )
        return scrubber

    def not_reached(self, reason: str) -> None:
        """Nothing could be asked: checks 2, 4 and 5 are skipped (a missing project id fails)."""
        self.tls = skipped(TLS, f"not run: {reason}")
        self.clock = skipped(CLOCK, f"not run: {reason}")
        self.project = skipped(PROJECT, f"not run: {reason}")
        self.untried = reason
        self._require_project_id()

    def _require_project_id(self) -> str:
        """The project id, or "" with check 5 failed: it must be set, reachable or not."""
        if not self.options.target.project_id:
            detail = "no project id: --project-id / BULKLOAD_PROJECT_ID not set"
            self.project = failed(PROJECT, detail, PROJECT_ID_FIX)
            self.untried = "no project id to ask about"
        return self.options.target.project_id or ""

    async def talk(self, url: httpx.URL, wiring: DoctorWiring) -> None:
        """Checks 2 to 5 over one client that notes the Date of the endpoint's answers."""
        dates = _Dates(url.host, wiring.wall_clock)
        try:
            http = httpx.AsyncClient(
                base_url=url,
                timeout=TIMEOUT,
                transport=wiring.transport,
                event_hooks={"response": [dates]},
            )
        except (OSError, ssl.SSLError) as exc:  # SSL_CERT_FILE / SSL_CERT_DIR unusable
            self.not_reached("no TLS client")
            self.tls = _trust_store_unusable(exc, self.options.environment)
            return
        async with http:
            self.tls = await check_tls(http, url, self.options.environment)
            await self._ask_iam(http)
            await self._ask_project(http, url)
        self.clock = check_clock(dates.skew(), self.method, reached=self.tls.status != "fail")

    async def _ask_iam(self, http: httpx.AsyncClient) -> None:
        """IAM password auth: IAM must issue a token (its POST is the only one doctor sends)."""
        if self.method != "iam" or self.auth is None:
            return
        try:
            await self.auth.token(http)
        except ConfigError as exc:
            self.refused = failed(CREDENTIALS, exc.message, exc.hint)
            return
        self.issued = True

    async def _ask_project(self, http: httpx.AsyncClient, url: httpx.URL) -> None:
        """Check 5: one read-only ListBatchTasks, unless something before it rules it out."""
        project_id = self._require_project_id()
        if not project_id:
            return
        if self.tls.status == "fail":
            self.untried = f"{url} was not reached"
            self.project = skipped(PROJECT, f"not run: {self.untried}")
        elif self.refused is not None or self.auth is None:
            self.project = skipped(PROJECT, "not run: no credentials that work")
        else:
            limiter = RateLimiter(self.options.pacing.rate, SystemClock())
            client = ViasClient(http, project_id=project_id, auth=self.auth, limiter=limiter)
            self.outcome = await client.probe()
            self.project = check_project(self.outcome, project_id, str(url).rstrip("/"))

    def credentials_check(self) -> Check:
        """Check 3: the method in use, and what proves (or refutes) that it works."""
        if self.refused is not None:
            return self.refused
        label = method_label(self.options.credentials, self.method)
        outcome = self.outcome
        issued = "IAM issued a token" if self.issued else ""
        if outcome is None:
            if issued:
                return passed(CREDENTIALS, f"{label}: {issued} (not tried on VIAS: {self.untried})")
            return skipped(CREDENTIALS, f"{label}: set, not proven: {self.untried}")
        answer = answer_words(outcome)
        if outcome.credentials_refused:
            detail = f"{label}: refused by the API ({answer})"
            return failed(CREDENTIALS, detail, outcome.hint, request_id=outcome.request_id)
        if outcome.verdict == Verdict.ACCEPTED or outcome.project_missing:
            accepted = ", ".join(x for x in (issued, "accepted by the API") if x)
            return passed(CREDENTIALS, f"{label}: {accepted}", request_id=outcome.request_id)
        if issued:
            return passed(CREDENTIALS, f"{label}: {issued} (VIAS answered {answer})")
        return skipped(CREDENTIALS, f"{label}: set, not proven: the API answered {answer}")


@dataclass
class _Dates:
    """The ``Date`` of each answer from the endpoint's host, and this machine's time then."""

    host: str
    wall_clock: Callable[[], float]
    seen: list[tuple[str, float]] = field(default_factory=list)

    async def __call__(self, response: httpx.Response) -> None:
        """httpx's response hook: note the Date, if this answer is the endpoint's."""
        date = response.headers.get("Date")
        if date and response.request.url.host == self.host:
            self.seen.append((date, self.wall_clock()))

    def skew(self) -> float | None:
        """Seconds the server's clock is ahead of this machine's (the latest answer's)."""
        for date, local in reversed(self.seen):
            try:
                return parsedate_to_datetime(date).timestamp() - local
            except (TypeError, ValueError):
                continue
        return None


def show_doctor(console: Console, diagnosis: Diagnosis) -> None:
    """Every check's lines on stderr, the mark coloured; never wrapped (they get copied)."""
    for check in diagnosis.checks:
        first, *rest = check.lines()
        mark = MARKS[check.status]
        console.print(
            f"[{STYLES[check.status]}]{mark}[/]{escape(first[len(mark) :])}", soft_wrap=True
        )
        for line in rest:
            console.print(escape(line), soft_wrap=True)
    console.print(diagnosis.verdict(), soft_wrap=True)
