"""
``RunOptions``: the one frozen set of options a command runs with, built by the CLI from
flags and ``BULKLOAD_*`` environment variables; nothing below the CLI reads the
environment. Secrets come only from the environment, never from flags.

The options a resume must repeat are journaled with the run (``journaled``) and read back
in one place (``resumed_from``), so run, resume and reconcile cannot disagree about them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from loader.errors import ConfigError
from loader.read.guard import MB, Limits

if TYPE_CHECKING:
    from loader.read.sheets import ExcelReader

ENV_PREFIX: Final = "BULKLOAD_"
DEFAULT_RATE: Final = 10.0
DEFAULT_CONCURRENCY: Final = 8
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_ATTEMPTS: Final = 6
DEFAULT_SETTLE: Final = 1.0
DEFAULT_MAX_INPUT_MB: Final = 64

# The options a run journals in RunStarted and a resume or reconcile takes back.
JOURNALED: Final = (
    "engine",
    "encoding",
    "max_payload_bytes",
    "rate",
    "concurrency",
    "timeout",
    "max_attempts",
    "settle",
    "force",
    "retry_failed",
    "only",
    "max_input_mb",
    "ledger",
)


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
class RunOptions:
    """What a command runs with."""

    mapping: str | None = None
    only: frozenset[str] | None = None  # keep rows whose Status is one of these
    max_input_mb: int = DEFAULT_MAX_INPUT_MB  # larger inputs are refused before any parser
    engine: ExcelReader = "calamine"
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

    @property
    def limits(self) -> Limits:
        """The input limits these options allow."""
        return Limits(max_bytes=self.max_input_mb * MB)

    def api_target(self) -> tuple[str, str]:
        """(endpoint, project id), or a ConfigError saying which is missing."""
        endpoint = self.endpoint
        if not endpoint and self.credentials.region:
            endpoint = f"https://vias.{self.credentials.region}.myhuaweicloud.com"
        missing = [
            name
            for name, value in (
                ("--endpoint / BULKLOAD_ENDPOINT", endpoint),
                ("--project-id / BULKLOAD_PROJECT_ID", self.project_id),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} not set", hint="set them, or try `bulkload demo`"
            )
        return str(endpoint).rstrip("/"), str(self.project_id)

    def journaled(self) -> dict[str, Any]:
        """The options a resume must repeat, as JSON-ready data (no secrets)."""
        values: dict[str, Any] = {name: getattr(self, name) for name in JOURNALED}
        values["only"] = sorted(self.only) if self.only else None
        values["ledger"] = str(self.ledger) if self.ledger else None
        return values

    def resumed_from(
        self, journaled: Mapping[str, Any], *, endpoint: str, project_id: str
    ) -> RunOptions:
        """These options (credentials, --json) with a journaled run's target and options."""
        known = {k: v for k, v in journaled.items() if k in JOURNALED and v is not None}
        if "only" in known:
            known["only"] = frozenset(known["only"])
        if "ledger" in known:
            known["ledger"] = Path(known["ledger"])
        return replace(self, endpoint=endpoint, project_id=project_id, **known)


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
