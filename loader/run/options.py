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
from loader.send.connect import Connection, Credentials, auth_source

if TYPE_CHECKING:
    from loader.read.sheets import ExcelReader

ENV_PREFIX: Final = "BULKLOAD_"
DEFAULT_RATE: Final = 10.0
DEFAULT_CONCURRENCY: Final = 8
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_ATTEMPTS: Final = 6
DEFAULT_SETTLE: Final = 1.0
DEFAULT_MAX_INPUT_MB: Final = 64
DEFAULT_CANARY_WAIT: Final = 120.0  # seconds the canary's tasks have to reach RUNNING

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
    "prune",
    "restart_failed",
    "task_ids",
    "only",
    "max_input_mb",
    "ledger",
    "canary",
    "canary_wait",
)


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
    force: bool = False  # no effect since changed cameras are updated in place (journaled)
    retry_failed: bool = False
    prune: str = ""  # "stop" or "delete" the tasks of cameras that left the sheet; "": list them
    restart_failed: bool = False  # start tasks the sheet wants that failed or were stopped
    task_ids: bool = True  # list each accepted batch's tasks once to record their ids
    canary: int | None = None  # send a batch of at most this many cameras first, alone
    canary_wait: float = DEFAULT_CANARY_WAIT  # its tasks must run within this, else it failed
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

    def connection(self, endpoint: str = "", project_id: str = "") -> Connection:
        """How this command reaches the API, made once: the target (``api_target``, unless
        given, as a resume's journal gives it), the credentials checked, the pacing.

        Missing settings or credentials are a ConfigError: nothing is sent.
        """
        if not (endpoint and project_id):
            endpoint, project_id = self.api_target()
        auth = auth_source(self.credentials, project_id)
        return Connection(endpoint, project_id, auth, self.rate, self.concurrency, self.timeout)

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
    """Credentials from ``BULKLOAD_*`` variables (empty ones count as unset).

    AK, SK and security token are stripped: a pasted newline would only make a signature
    the gateway refuses, and five refusals lock the key.
    """
    return Credentials(
        token=env.get("BULKLOAD_AUTH_TOKEN") or None,
        access_key=env.get("BULKLOAD_AK", "").strip() or None,
        secret_key=env.get("BULKLOAD_SK", "").strip() or None,
        security_token=env.get("BULKLOAD_SECURITY_TOKEN", "").strip() or None,
        iam_url=env.get("BULKLOAD_IAM_URL") or None,
        iam_user=env.get("BULKLOAD_IAM_USER") or None,
        iam_password=env.get("BULKLOAD_IAM_PASSWORD") or None,
        iam_domain=env.get("BULKLOAD_IAM_DOMAIN") or None,
        region=env.get("BULKLOAD_REGION") or None,
    )
