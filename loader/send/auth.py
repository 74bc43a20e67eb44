"""
Where the API token comes from: given (``BULKLOAD_AUTH_TOKEN``) or fetched from IAM with
a password (``BULKLOAD_IAM_*``) and fetched again when the API answers 401. Token values
and passwords are secrets: ``secrets()`` lists them for scrubbing.
"""

from __future__ import annotations

from typing import Protocol

import anyio
import httpx

from loader.errors import ConfigError


class TokenSource(Protocol):
    """Gives the current token and, when it goes stale, a new one."""

    async def token(self, http: httpx.AsyncClient) -> str: ...

    async def refresh(self, http: httpx.AsyncClient, stale: str) -> str | None: ...

    def secrets(self) -> list[str]: ...


class StaticToken:
    """A token handed in; it cannot be renewed."""

    def __init__(self, value: str) -> None:
        self.value = value

    async def token(self, http: httpx.AsyncClient) -> str:
        return self.value

    async def refresh(self, http: httpx.AsyncClient, stale: str) -> str | None:
        return None

    def secrets(self) -> list[str]:
        return [self.value]


class IamPassword:
    """A project-scoped token from IAM ``POST /v3/auth/tokens`` (returned in X-Subject-Token)."""

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
        # The project scope: by name (the region, e.g. cn-north-4) or else by id.
        self.scope = {"name": region} if region else {"id": project_id}
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

    async def _fetch(self, http: httpx.AsyncClient) -> str:
        """One IAM call; refusal or silence is a ConfigError (nothing can be sent)."""
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self.user,
                            "password": self.password,
                            "domain": {"name": self.domain},
                        }
                    },
                },
                "scope": {"project": self.scope},
            }
        }
        try:
            answer = await http.post(f"{self.iam_url}/v3/auth/tokens?nocatalog=true", json=body)
        except httpx.HTTPError as exc:
            raise ConfigError(
                f"IAM at {self.iam_url} did not answer: {type(exc).__name__}",
                hint="check BULKLOAD_IAM_URL / BULKLOAD_REGION and the network",
            ) from exc
        token = str(answer.headers.get("X-Subject-Token", ""))
        if answer.status_code >= 300 or not token:
            raise ConfigError(
                f"IAM refused the credentials of user {self.user!r} (HTTP {answer.status_code})",
                hint="check BULKLOAD_IAM_USER, BULKLOAD_IAM_PASSWORD and BULKLOAD_IAM_DOMAIN",
            )
        return token
