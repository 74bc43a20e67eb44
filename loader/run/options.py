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
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from loader.errors import ConfigError
from loader.read.guard import MB, Limits
from loader.send.credentials import Credentials

if TYPE_CHECKING:
    from loader.read.sheets import ExcelReader
    from loader.send.connect import Connection

ENV_PREFIX: Final = "BULKLOAD_"
DEFAULT_RATE: Final = 10.0
DEFAULT_CONCURRENCY: Final = 8
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_ATTEMPTS: Final = 6
DEFAULT_SETTLE: Final = 1.0
DEFAULT_MAX_INPUT_MB: Final = 64
DEFAULT_CANARY_WAIT: Final = 120.0  # seconds the canary's tasks have to reach RUNNING

# The options a run journals in RunStarted and a resume or reconcile takes back, by the
# flat names older journals hold too.
JOURNALED: Final = (
    "engine",
    "encoding",
    "max_payload_bytes",
    "rate",
    "concurrency",
    "timeout",
    "max_attempts",
    "settle",
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
class Reading:
    """How the sheet is read, mapped and checked."""

    mapping: str | None = None  # a bundled mapping's name or a path; None: the best match
    only: frozenset[str] | None = None  # keep rows whose Status is one of these
    max_input_mb: int = DEFAULT_MAX_INPUT_MB  # larger inputs are refused before any parser
    engine: ExcelReader = "calamine"
    encoding: str | None = None

    @property
    def limits(self) -> Limits:
        """The input limits these options allow."""
        return Limits(max_bytes=self.max_input_mb * MB)


@dataclass(frozen=True, kw_only=True)
class Target:
    """Where a command sends, and with which credentials (from the environment only)."""

    endpoint: str | None = None
    project_id: str | None = None
    credentials: Credentials = field(default_factory=Credentials)


@dataclass(frozen=True, kw_only=True)
class Pacing:
    """How fast and how patiently requests go."""

    rate: float = DEFAULT_RATE  # requests per second, every call of the command
    concurrency: int = DEFAULT_CONCURRENCY  # requests in flight at most
    timeout: float = DEFAULT_TIMEOUT  # seconds an answer may take (lookups span this)
    max_attempts: int = DEFAULT_MAX_ATTEMPTS  # sends per batch or change at most
    settle: float = DEFAULT_SETTLE  # first lookup delay of an in-doubt batch (then 2x, 4x)


_GROUPS: Final = {"reading": Reading, "target": Target, "pacing": Pacing}
# Each grouped option's flat name (as flags and journals spell it) -> its group.
_GROUP_OF: Final = {f.name: group for group, kind in _GROUPS.items() for f in fields(kind)}


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """What a command runs with: how it reads, where it sends, how fast; then what it plans
    and applies. Made by ``from_env`` (a command) or ``of`` (flat names, as flags have)."""

    reading: Reading = field(default_factory=Reading)
    target: Target = field(default_factory=Target)
    pacing: Pacing = field(default_factory=Pacing)
    max_payload_bytes: int | None = None
    out: Path | None = None  # plan --out: the payload files and plan.json go here
    json: bool = False
    run_dir: Path | None = None
    ledger: Path | None = None
    retry_failed: bool = False
    prune: str = ""  # "stop" or "delete" the tasks of cameras that left the sheet; "": list them
    restart_failed: bool = False  # start tasks the sheet wants that failed or were stopped
    task_ids: bool = False  # list every accepted batch's tasks now (else a change finds them)
    canary: int | None = None  # send a batch of at most this many cameras first, alone
    canary_wait: float = DEFAULT_CANARY_WAIT  # its tasks must run within this, else it failed
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, **flat: Any) -> RunOptions:
        """Options from flat names (``mapping=``, ``rate=``, ...), each sorted into its group."""
        return cls().evolve(**flat)

    @classmethod
    def from_env(cls, env: Mapping[str, str], **flags: Any) -> RunOptions:
        """A command's options: its flags, then ``BULKLOAD_ENDPOINT`` and
        ``BULKLOAD_PROJECT_ID`` where the flags leave them out, the credentials and the
        environment (``${VAR}`` in payloads) from ``env``."""
        endpoint = flags.pop("endpoint", None) or env.get("BULKLOAD_ENDPOINT") or None
        project_id = flags.pop("project_id", None) or env.get("BULKLOAD_PROJECT_ID") or None
        return cls.of(
            endpoint=endpoint,
            project_id=project_id,
            credentials=credentials_from(env),
            environment=env,
            **flags,
        )

    def evolve(self, **flat: Any) -> RunOptions:
        """These options with some changed, by flat name (``dataclasses.replace`` by group)."""
        changed: dict[str, dict[str, Any]] = {}
        for name in [n for n in flat if n in _GROUP_OF]:
            changed.setdefault(_GROUP_OF[name], {})[name] = flat.pop(name)
        groups = {
            group: replace(getattr(self, group), **values) for group, values in changed.items()
        }
        return replace(self, **groups, **flat)

    @property
    def credentials(self) -> Credentials:
        return self.target.credentials

    def api_target(self) -> tuple[str, str]:
        """(endpoint, project id), or a ConfigError saying which is missing."""
        endpoint = self.target.endpoint
        if not endpoint and self.credentials.region:
            endpoint = f"https://vias.{self.credentials.region}.myhuaweicloud.com"
        missing = [
            name
            for name, value in (
                ("--endpoint / BULKLOAD_ENDPOINT", endpoint),
                ("--project-id / BULKLOAD_PROJECT_ID", self.target.project_id),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} not set", hint="set them, or try `bulkload demo`"
            )
        return str(endpoint).rstrip("/"), str(self.target.project_id)

    def connection(self, endpoint: str = "", project_id: str = "") -> Connection:
        """How this command reaches the API, made once: the target (``api_target``, unless
        given, as a resume's journal gives it), the credentials checked, the pacing.

        Missing settings or credentials are a ConfigError: nothing is sent.
        """
        from loader.send.connect import Connection, auth_source  # httpx: not for --help

        if not (endpoint and project_id):
            endpoint, project_id = self.api_target()
        auth = auth_source(self.credentials, project_id)
        pacing = self.pacing
        return Connection(
            endpoint, project_id, auth, pacing.rate, pacing.concurrency, pacing.timeout
        )

    def journaled(self) -> dict[str, Any]:
        """The options a resume must repeat, as JSON-ready data (no secrets)."""
        values: dict[str, Any] = {name: self._flat(name) for name in JOURNALED}
        values["only"] = sorted(self.reading.only) if self.reading.only else None
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
        return self.evolve(endpoint=endpoint, project_id=project_id, **known)

    def _flat(self, name: str) -> Any:
        """An option by its flat name, in whichever group it is."""
        group = _GROUP_OF.get(name)
        return getattr(getattr(self, group) if group else self, name)


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
