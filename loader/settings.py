"""
The one frozen Settings of a command, built by the CLI from flags and ``BULKLOAD_*``
environment variables; nothing below the CLI reads the environment. Secrets come only
from the environment, never from flags.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from loader.errors import ConfigError
from loader.guard import MB, Limits
from loader.sheets import Engine

ENV_PREFIX = "BULKLOAD_"
DEFAULT_RATE = 10.0
DEFAULT_CONCURRENCY = 8
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_SETTLE = 1.0


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """How to authenticate: a token, or IAM password auth (all secret-bearing)."""

    token: str | None = field(default=None, repr=False)
    iam_url: str | None = None
    iam_user: str | None = None
    iam_password: str | None = field(default=None, repr=False)
    iam_domain: str | None = None
    region: str | None = None

    @property
    def uses_iam(self) -> bool:
        return bool(self.iam_user and self.iam_password)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What a command runs with."""

    mapping: str | None = None
    only: frozenset[str] | None = None  # keep rows whose Status is one of these
    max_input_mb: int = 64  # larger inputs are refused before any parser reads them
    engine: Engine = "calamine"
    encoding: str | None = None
    max_payload_bytes: int | None = None
    out: Path | None = None
    json: bool = False
    endpoint: str | None = None
    project_id: str | None = None
    run_dir: Path | None = None
    rate: float = DEFAULT_RATE
    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    settle: float = DEFAULT_SETTLE  # first lookup delay of an in-doubt batch (then 2x, 4x)
    ledger: Path | None = None
    force: bool = False
    retry_failed: bool = False
    credentials: Credentials = field(default_factory=Credentials)
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)

    def api_target(self) -> tuple[str, str]:
        """(endpoint, project id), or a ConfigError saying which is missing."""
        endpoint = self.endpoint
        if not endpoint and self.credentials.region:
            endpoint = f"https://vias.{self.credentials.region}.myhuaweicloud.com"
        missing = [
            n
            for n, v in (
                ("--endpoint / BULKLOAD_ENDPOINT", endpoint),
                ("--project-id / BULKLOAD_PROJECT_ID", self.project_id),
            )
            if not v
        ]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} not set", hint="set them, or try `bulkload demo`"
            )
        return str(endpoint).rstrip("/"), str(self.project_id)


def limits_of(settings: Settings) -> Limits:
    """The input limits these settings allow."""
    return Limits(max_bytes=settings.max_input_mb * MB)


def environment() -> dict[str, str]:
    """This process's environment (read once, by the CLI)."""
    return dict(os.environ)


def credentials_from(env: Mapping[str, str]) -> Credentials:
    """Credentials from ``BULKLOAD_*`` variables."""
    region = env.get("BULKLOAD_REGION")
    iam_url = env.get("BULKLOAD_IAM_URL") or (
        f"https://iam.{region}.myhuaweicloud.com" if region else None
    )
    return Credentials(
        token=env.get("BULKLOAD_AUTH_TOKEN") or None,
        iam_url=iam_url,
        iam_user=env.get("BULKLOAD_IAM_USER") or None,
        iam_password=env.get("BULKLOAD_IAM_PASSWORD") or None,
        iam_domain=env.get("BULKLOAD_IAM_DOMAIN") or None,
        region=region,
    )
