"""
How a command reaches VIAS, set up once per command: the source that authenticates with
the credentials it was given (``auth_source``, from ``credentials.Credentials``), and the
connection (``Connection``: endpoint, project, authentication and pacing) that opens one
HTTP client and one pacer for everything the command sends. A run, ``bulkload refresh``,
``bulkload doctor``, a plan's drift check and the page use it. A run has its TLS context
made on a thread while it reads its sheet (``tls_ahead``). [I/O: HTTP]
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from loader.errors import ConfigError
from loader.send.auth import AkSkAuth, IamPassword, StaticToken, TokenSource
from loader.send.client import ViasClient
from loader.send.credentials import Credentials
from loader.send.pacing import Clock, RateLimiter

if TYPE_CHECKING:  # AK/SK credentials only (most runs use a token or IAM)
    from loader.send.signing import AkSk


@dataclass(frozen=True, kw_only=True)
class Connection:
    """Where a command sends and how: made once per command, so that its credentials are
    checked once and an IAM token fetched once serves every step."""

    endpoint: str
    project_id: str
    auth: TokenSource
    rate: float  # requests per second, for every call of the command
    connections: int  # HTTP connections kept open (``Pacing.connections``)
    timeout: float  # seconds to wait for an answer
    # The TLS context made ahead (``tls_ahead``); None: the client makes its own.
    tls: Future[ssl.SSLContext] | None = None

    @asynccontextmanager
    async def open(
        self, clock: Clock, transport: httpx.AsyncBaseTransport | None = None
    ) -> AsyncIterator[ViasClient]:
        """One HTTP client and one pacer at ``rate`` for everything sent in the block.

        Bad credentials stop here, before anything is sent.
        """
        timeout = httpx.Timeout(connect=5.0, read=self.timeout, write=10.0, pool=self.timeout)
        size = self.connections
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        try:
            # The context made ahead is ready, or nearly: its thread started with the run.
            verify = True if self.tls is None or transport else self.tls.result()
            http = httpx.AsyncClient(
                base_url=self.endpoint,
                timeout=timeout,
                limits=limits,
                transport=transport,
                verify=verify,
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


def tls_ahead() -> Future[ssl.SSLContext]:
    """The TLS context a client makes at its start (``httpx.create_ssl_context``: the CA
    file of SSL_CERT_FILE / SSL_CERT_DIR, else certifi's), made on a thread from now.

    Loading the CA certificates takes 0.03-0.06 s, in OpenSSL, which lets go of the
    interpreter's lock: a run starts it before it reads its sheet, and its first request
    no longer waits for it. An error is kept for ``Connection.open``, which reports it
    as before (a ConfigError, nothing sent).
    """
    made: Future[ssl.SSLContext] = Future()

    def make() -> None:
        try:
            made.set_result(httpx.create_ssl_context())
        except Exception as exc:  # noqa: BLE001 - raised where the client is made
            made.set_exception(exc)

    threading.Thread(target=make, name="bulkload-tls", daemon=True).start()
    return made


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
    from loader.send.signing import AkSk  # AK/SK credentials only (most runs use a token)

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
