"""
How a command reaches VIAS, set up once per command: the credentials it was given
(``Credentials``), the source that authenticates with them (``auth_source``), and the
connection (``Connection``: endpoint, project, authentication and pacing) that opens one
HTTP client and one pacer for everything the command sends. A run, ``bulkload refresh``,
``bulkload doctor`` and the page use it. [I/O: HTTP]
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Final, Literal

import httpx

from loader.errors import ConfigError
from loader.send.auth import AkSkAuth, IamPassword, StaticToken, TokenSource
from loader.send.client import ViasClient
from loader.send.pacing import Clock, RateLimiter
from loader.send.signing import AkSk

AuthMethod = Literal["token", "aksk", "iam"]
NO_CREDENTIALS: Final = (
    "no credentials: set BULKLOAD_AUTH_TOKEN; or BULKLOAD_AK and BULKLOAD_SK (with"
    " BULKLOAD_SECURITY_TOKEN for temporary credentials); or BULKLOAD_IAM_USER,"
    " BULKLOAD_IAM_PASSWORD, BULKLOAD_IAM_DOMAIN and BULKLOAD_REGION (or BULKLOAD_IAM_URL)."
    " When several are set, the token is used first, then AK/SK, then the IAM password"
)


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """How to authenticate: a token, AK/SK signing, or IAM password auth (secret-bearing)."""

    token: str | None = field(default=None, repr=False)
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    iam_url: str | None = None
    iam_user: str | None = None
    iam_password: str | None = field(default=None, repr=False)
    iam_domain: str | None = None
    region: str | None = None

    def method(self) -> AuthMethod:
        """Which credentials authenticate: the token, else AK/SK, else the IAM password.

        Half of a method (an AK without its SK, a user without a password or an IAM
        endpoint) is a ConfigError naming the variables to set: nothing is sent.
        """
        if self.token:
            return "token"
        if self.access_key or self.secret_key or self.security_token:
            _require(
                "AK/SK signing", ("BULKLOAD_AK", self.access_key), ("BULKLOAD_SK", self.secret_key)
            )
            return "aksk"
        if self.iam_user or self.iam_password:
            _require(
                "IAM password auth",
                ("BULKLOAD_IAM_USER", self.iam_user),
                ("BULKLOAD_IAM_PASSWORD", self.iam_password),
                ("BULKLOAD_IAM_URL or BULKLOAD_REGION", self.iam_endpoint),
            )
            return "iam"
        raise ConfigError(
            NO_CREDENTIALS, hint="secrets are read from the environment only, never from flags"
        )

    @property
    def iam_endpoint(self) -> str | None:
        """IAM at BULKLOAD_IAM_URL, else iam.<BULKLOAD_REGION>; never the VIAS endpoint."""
        if self.iam_url:
            return self.iam_url
        return f"https://iam.{self.region}.myhuaweicloud.com" if self.region else None


def _require(method: str, *variables: tuple[str, str | None]) -> None:
    """A ConfigError naming what a half-configured method still needs."""
    missing = [name for name, value in variables if not value]
    if missing:
        raise ConfigError(
            f"{method} needs {' and '.join(missing)} too: not set in the environment",
            hint="export them (secrets are read from the environment only, never from flags)",
        )


@dataclass(frozen=True)
class Connection:
    """Where a command sends and how: made once per command, so that its credentials are
    checked once and an IAM token fetched once serves every step."""

    endpoint: str
    project_id: str
    auth: TokenSource
    rate: float  # requests per second, for every call of the command
    concurrency: int  # requests in flight at most
    timeout: float  # seconds to wait for an answer

    @asynccontextmanager
    async def open(
        self, clock: Clock, transport: httpx.AsyncBaseTransport | None = None
    ) -> AsyncIterator[ViasClient]:
        """One HTTP client and one pacer at ``rate`` for everything sent in the block.

        Bad credentials stop here, before anything is sent.
        """
        timeout = httpx.Timeout(connect=5.0, read=self.timeout, write=10.0, pool=self.timeout)
        size = self.concurrency + 2
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        try:
            http = httpx.AsyncClient(
                base_url=self.endpoint, timeout=timeout, limits=limits, transport=transport
            )
        except (OSError, ssl.SSLError) as exc:  # httpx reads SSL_CERT_FILE / SSL_CERT_DIR here
            raise ConfigError(
                f"cannot set up TLS: {exc}",
                hint="check SSL_CERT_FILE and SSL_CERT_DIR (they must name readable CA files)",
            ) from exc
        async with http:
            await self.auth.token(http)  # bad credentials stop here, before anything is sent
            limiter = RateLimiter(self.rate, clock)
            yield ViasClient(http, project_id=self.project_id, auth=self.auth, limiter=limiter)


def auth_source(credentials: Credentials, project_id: str) -> TokenSource:
    """The credentials that authenticate, by precedence: token, AK/SK, IAM password.

    Missing or half-set ones are a ConfigError naming the variables: nothing is sent.
    """
    match credentials.method():
        case "token":
            return StaticToken(credentials.token or "")
        case "aksk":
            return AkSkAuth(_access_key(credentials), project_id=project_id)
        case "iam":
            return IamPassword(
                iam_url=credentials.iam_endpoint or "",
                user=credentials.iam_user or "",
                password=credentials.iam_password or "",
                domain=credentials.iam_domain or credentials.iam_user or "",
                region=credentials.region,
                project_id=project_id,
            )


def _access_key(credentials: Credentials) -> AkSk:
    """The AK/SK pair (and security token) from the environment, checked before any request."""
    try:
        return AkSk(
            credentials.access_key or "",
            credentials.secret_key or "",
            credentials.security_token,
        )
    except ValueError as exc:
        raise ConfigError(
            f"BULKLOAD_AK / BULKLOAD_SK / BULKLOAD_SECURITY_TOKEN: {exc}",
            hint="copy the access key and secret key again from My Credentials > Access Keys",
        ) from exc
