"""
How requests to VIAS are authenticated, in the order they are chosen: a given token
(``BULKLOAD_AUTH_TOKEN``), an AK/SK signature (``BULKLOAD_AK``, ``BULKLOAD_SK``, optional
``BULKLOAD_SECURITY_TOKEN``), or a token fetched from IAM with a password
(``BULKLOAD_IAM_*``) and fetched again when the API answers 401. Each source is applied to
a request as an ``httpx.Auth``, after httpx built it, so a signature covers the exact URL,
body and Content-Type that go out. Token values, passwords, secret keys and security
tokens are secrets: ``secrets()`` lists them for scrubbing.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import anyio
import httpx

from loader.errors import ConfigError

if TYPE_CHECKING:  # AK/SK credentials only (most runs use a token or IAM)
    from loader.send.signing import AkSk


class TokenSource(Protocol):
    """Gives the current token and, when it goes stale, a new one; applies it to requests."""

    refused_hint: str  # what to check when the API refuses these credentials
    may_expire: bool  # a 401 may only mean these expired: nothing can renew them to tell

    async def token(self, http: httpx.AsyncClient) -> str: ...

    async def refresh(self, http: httpx.AsyncClient, stale: str) -> str | None: ...

    def secrets(self) -> list[str]: ...

    def authenticate(self, token: str) -> httpx.Auth:
        """What puts ``token`` (or a signature) on each request, after httpx built it."""
        ...


class TokenHeader(httpx.Auth):
    """``X-Auth-Token`` on a request."""

    def __init__(self, token: str) -> None:
        self.value = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Token auth is one header."""
        request.headers["X-Auth-Token"] = self.value
        yield request


class StaticToken:
    """A token handed in; it cannot be renewed."""

    refused_hint = (
        "BULKLOAD_AUTH_TOKEN was refused (a token lasts 24 hours): export a new one, or use"
        " BULKLOAD_AK/BULKLOAD_SK or IAM (BULKLOAD_IAM_*), then bulkload resume"
    )
    may_expire = True

    def __init__(self, value: str) -> None:
        self.value = value

    async def token(self, http: httpx.AsyncClient) -> str:
        return self.value

    async def refresh(self, http: httpx.AsyncClient, stale: str) -> str | None:
        return None

    def secrets(self) -> list[str]:
        return [self.value]

    def authenticate(self, token: str) -> httpx.Auth:
        return TokenHeader(token)


class AkSkAuth(httpx.Auth):
    """Every request signed with SDK-HMAC-SHA256 as huaweicloudsdkcore signs it.

    There is nothing to fetch or renew: a refused signature is final, and the client stops
    at the first one (five failures in a row lock the key for 5 minutes).
    """

    requires_request_body = True  # the body's hash is signed
    refused_hint = (
        "check BULKLOAD_AK and BULKLOAD_SK (and BULKLOAD_SECURITY_TOKEN for temporary"
        " credentials) and this machine's clock, which must be within 15 minutes of the"
        " gateway's; the run stopped at the first refusal, as five in a row lock the key"
        " for 5 minutes"
    )
    may_expire = False

    def __init__(
        self,
        credentials: AkSk,
        *,
        project_id: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.credentials, self.project_id, self.now = credentials, project_id, now

    async def token(self, http: httpx.AsyncClient) -> str:
        return ""

    async def refresh(self, http: httpx.AsyncClient, stale: str) -> str | None:
        return None

    def secrets(self) -> list[str]:
        return self.credentials.secrets()

    def authenticate(self, token: str) -> httpx.Auth:
        return self

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign the request as built: its canonical URL, Content-Type and body bytes."""
        from loader.send.signing import canonical_url, signed_headers  # see TYPE_CHECKING

        url = canonical_url(str(request.url))
        content_type = request.headers.get("Content-Type")
        added = signed_headers(
            self.credentials,
            method=request.method,
            url=url,
            headers={"Content-Type": content_type} if content_type else {},
            body=request.content,
            project_id=self.project_id,
            now=self.now(),
        )
        request.url = httpx.URL(url)  # the query travels exactly as it was signed
        request.headers.update(added)
        yield request


class IamPassword:
    """A project-scoped token from IAM ``POST /v3/auth/tokens`` (returned in X-Subject-Token)."""

    refused_hint = (
        "IAM's fresh token was refused too: check that BULKLOAD_IAM_USER may use VIAS in this"
        " project (BULKLOAD_PROJECT_ID / BULKLOAD_REGION)"
    )
    may_expire = False  # the client renews it on a 401 before it reports one

    def __init__(
        self,
        *,
        iam_url: str,
        user: str,
        password: str,
        domain: str,
        region: str | None = None,
        project_id: str = "",
    ) -> None:
        self.iam_url = iam_url.rstrip("/")
        self.user, self.password, self.domain = user, password, domain
        # The project scope: by id when one is given (exact), else by name (the region).
        self.scope = {"id": project_id} if project_id else {"name": region or ""}
        self.value = ""
        self._lock = anyio.Lock()

    async def token(self, http: httpx.AsyncClient) -> str:
        async with self._lock:
            if not self.value:
                self.value = await self._fetch(http)
            return self.value

    async def refresh(self, http: httpx.AsyncClient, stale: str) -> str | None:
        """A new token, fetched once however many requests saw the old one fail."""
        async with self._lock:
            if self.value == stale:
                self.value = await self._fetch(http)
            return self.value

    def secrets(self) -> list[str]:
        return [s for s in (self.password, self.value) if s]

    def authenticate(self, token: str) -> httpx.Auth:
        return TokenHeader(token)

    async def _fetch(self, http: httpx.AsyncClient) -> str:
        """One IAM call; refusal or silence is a ConfigError (nothing can be sent)."""
        try:
            answer = await http.post(
                f"{self.iam_url}/v3/auth/tokens?nocatalog=true", json=self._body()
            )
        except httpx.HTTPError as exc:
            raise ConfigError(
                f"IAM at {self.iam_url} did not answer: {type(exc).__name__}",
                hint="check BULKLOAD_IAM_URL (or BULKLOAD_REGION) and the network",
            ) from exc
        token = str(answer.headers.get("X-Subject-Token", ""))
        if answer.status_code >= 300 or not token:
            raise ConfigError(
                f"IAM refused the credentials of user {self.user!r} (HTTP {answer.status_code})",
                hint="check BULKLOAD_IAM_USER, BULKLOAD_IAM_PASSWORD and BULKLOAD_IAM_DOMAIN"
                " (the account name), and BULKLOAD_PROJECT_ID / BULKLOAD_REGION for the scope",
            )
        return token

    def _body(self) -> dict[str, object]:
        """Password auth for a project-scoped token (VIAS needs one)."""
        user = {"name": self.user, "password": self.password, "domain": {"name": self.domain}}
        return {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": user}},
                "scope": {"project": self.scope},
            }
        }
