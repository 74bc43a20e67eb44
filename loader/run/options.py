"""
``RunOptions``: the one frozen set of options a command runs with, built by the CLI from
flags and ``BULKLOAD_*`` environment variables; nothing below the CLI reads the
environment. Secrets come only from the environment, never from flags.

Options are built by typed keyword-only constructors (``RunOptions.of``, one argument per
flag: mypy sees a misspelt one) into groups that stay what each stage reads (``reading``,
``target``, ``pacing``; ``plan_choices`` for a plan); the ledger path is resolved there,
once. What a person chooses is bounded in one place (``BOUNDS``, ``checked``) that the CLI
and the page share. The options a resume must repeat are journaled with the run
(``journaled``, by flat name) and read back in one place (``resumed_from``), so run,
resume and reconcile cannot disagree about them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from loader.errors import ConfigError
from loader.model.limits import DEFAULT_MAX_PAYLOAD_BYTES
from loader.read.guard import MB, Limits
from loader.send.credentials import Credentials

if TYPE_CHECKING:
    from loader.read.sheets import ExcelReader
    from loader.send.connect import Connection

T = TypeVar("T")
ENV_PREFIX: Final = "BULKLOAD_"
DEFAULT_RATE: Final = 10.0
DEFAULT_CONCURRENCY: Final = 8
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_ATTEMPTS: Final = 6
DEFAULT_SETTLE: Final = 1.0
DEFAULT_MAX_INPUT_MB: Final = 64
DEFAULT_CANARY_WAIT: Final = 120.0  # seconds the canary's tasks have to reach RUNNING
MAX_RATE: Final = 1000.0  # requests per second a person may ask for (far above any quota)
MAX_CONCURRENCY: Final = 256
SPARE_CONNECTIONS: Final = 2  # HTTP connections beyond the requests in flight
RUNS_DIR: Final = Path("runs")
LEDGER: Final = "ledger.sqlite"
BOUND_HINTS: Final = {
    "max_payload_bytes": "the gateway refuses bodies over 12 MB (413 APIG.0201):"
    " leave it out or lower it",
}


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
class Destination:
    """Where a command sends, and with which credentials (from the environment only)."""

    endpoint: str | None = None
    project_id: str | None = None
    credentials: Credentials = field(default_factory=Credentials)


@dataclass(frozen=True, kw_only=True)
class Pacing:
    """How fast and how patiently requests go. ``concurrency`` means one thing: the most
    requests in flight (the AIMD cap of the sends); what is derived from it is named for
    what it limits (``connections``; the settler's ``workers``)."""

    rate: float = DEFAULT_RATE  # requests per second, every call of the command
    concurrency: int = DEFAULT_CONCURRENCY  # requests in flight at most
    timeout: float = DEFAULT_TIMEOUT  # seconds an answer may take (lookups span this)
    max_attempts: int = DEFAULT_MAX_ATTEMPTS  # sends per batch or change at most
    settle: float = DEFAULT_SETTLE  # first lookup delay of an in-doubt batch (then 2x, 4x)

    @property
    def connections(self) -> int:
        """HTTP connections kept open: one per request in flight, two spare (the token's
        request and a lookup never wait behind the sends)."""
        return self.concurrency + SPARE_CONNECTIONS


@dataclass(frozen=True)
class LedgerScope:
    """Where the diff's ledger entries come from: one endpoint and project in one ledger."""

    endpoint: str
    project: str
    ledger: Path


@dataclass(frozen=True, kw_only=True)
class PlanChoices:
    """The few options that shape a plan (``RunOptions.plan_choices`` gives a command's)."""

    retry_failed: bool = False  # send cameras that failed in an earlier run again
    deleting: bool = False  # --prune=delete: a replace's old task is deleted, not stopped
    max_payload_bytes: int | None = None
    canary: int | None = None  # a first batch of at most this many cameras


@dataclass(frozen=True)
class Bound:
    """The values a person may choose for one option, and how a message names them."""

    low: float
    high: float | None
    unit: str

    def refuse(self, name: str, value: float) -> str | None:
        """Why ``value`` is out of bounds, in the words both the CLI and the page say;
        None when it is within them."""
        if value >= self.low and (self.high is None or value <= self.high):
            return None
        low = _number(self.low)
        within = f"{low} to {_number(self.high)}" if self.high is not None else f"{low} or more"
        return f"{name.replace('_', '-')} {_number(value)} is out of bounds: {within} {self.unit}"


def _number(value: float) -> str:
    """A bound as a person reads it: ``1,000``, ``0.01``."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


# The one place the bounds of the options a person chooses are written: the CLI's flags
# and the page's form are both checked here (``RunOptions.checked``).
BOUNDS: Final = {
    "rate": Bound(0.01, MAX_RATE, "requests per second"),
    "concurrency": Bound(1, MAX_CONCURRENCY, "requests in flight"),
    "timeout": Bound(1, None, "seconds"),
    "max_attempts": Bound(1, None, "sends"),
    "settle": Bound(0, None, "seconds"),
    "canary": Bound(1, None, "cameras"),
    "canary_wait": Bound(0, None, "seconds"),
    "max_input_mb": Bound(1, None, "MB"),
    "max_payload_bytes": Bound(1024, DEFAULT_MAX_PAYLOAD_BYTES, "bytes"),
}


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """What a command runs with: how it reads, where it sends, how fast; then what it plans
    and applies. Made by ``of`` (typed keyword-only, one argument per flag); a person's
    choices are bounded by ``checked``."""

    reading: Reading = field(default_factory=Reading)
    target: Destination = field(default_factory=Destination)
    pacing: Pacing = field(default_factory=Pacing)
    max_payload_bytes: int | None = None
    out: Path | None = None  # plan --out: the payload files and plan.json go here
    json: bool = False
    run_dir: Path | None = None
    ledger: Path = RUNS_DIR / LEDGER  # resolved once by ``of``: --ledger, else beside the runs
    retry_failed: bool = False
    prune: str = ""  # "stop" or "delete" the tasks of cameras that left the sheet; "": list them
    restart_failed: bool = False  # start tasks the sheet wants that failed or were stopped
    delete_sources: bool = False  # delete the sources bulkload registered that left the sheet
    task_ids: bool = False  # list every accepted batch's tasks now (else a change finds them)
    canary: int | None = None  # send a batch of at most this many cameras first, alone
    canary_wait: float = DEFAULT_CANARY_WAIT  # its tasks must run within this, else it failed
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def of(  # one typed argument per flag, so that mypy checks each
        cls,
        *,
        mapping: str | None = None,
        only: frozenset[str] | None = None,
        max_input_mb: int = DEFAULT_MAX_INPUT_MB,
        engine: ExcelReader = "calamine",
        encoding: str | None = None,
        endpoint: str | None = None,
        project_id: str | None = None,
        credentials: Credentials | None = None,
        environment: Mapping[str, str] | None = None,
        rate: float = DEFAULT_RATE,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        settle: float = DEFAULT_SETTLE,
        max_payload_bytes: int | None = None,
        out: Path | None = None,
        json: bool = False,
        run_dir: Path | None = None,
        ledger: Path | None = None,
        retry_failed: bool = False,
        prune: str = "",
        restart_failed: bool = False,
        delete_sources: bool = False,
        task_ids: bool = False,
        canary: int | None = None,
        canary_wait: float = DEFAULT_CANARY_WAIT,
    ) -> RunOptions:
        """A command's options. ``environment`` (the process's, read once by the CLI) gives
        ``BULKLOAD_ENDPOINT`` and ``BULKLOAD_PROJECT_ID`` where the flags leave them out,
        the credentials unless given, and the ``${VAR}`` values of payloads. The ledger is
        resolved here, once: ``ledger``, else ``ledger.sqlite`` beside the run directory
        (``runs/`` by default)."""
        env = environment or {}
        return cls(
            reading=Reading(
                mapping=mapping,
                only=only,
                max_input_mb=max_input_mb,
                engine=engine,
                encoding=encoding,
            ),
            target=Destination(
                endpoint=endpoint or env.get("BULKLOAD_ENDPOINT") or None,
                project_id=project_id or env.get("BULKLOAD_PROJECT_ID") or None,
                credentials=credentials if credentials is not None else credentials_from(env),
            ),
            pacing=Pacing(
                rate=rate,
                concurrency=concurrency,
                timeout=timeout,
                max_attempts=max_attempts,
                settle=settle,
            ),
            max_payload_bytes=max_payload_bytes,
            out=out,
            json=json,
            run_dir=run_dir,
            ledger=ledger if ledger is not None else default_ledger(run_dir),
            retry_failed=retry_failed,
            prune=prune,
            restart_failed=restart_failed,
            delete_sources=delete_sources,
            task_ids=task_ids,
            canary=canary,
            canary_wait=canary_wait,
            environment=env,
        )

    def checked(self) -> RunOptions:
        """These options, if every value a person chose is within ``BOUNDS``; else a
        ConfigError saying the first that is not (the CLI and the page say the same)."""
        pacing = self.pacing
        chosen: tuple[tuple[str, float | None], ...] = (
            ("rate", pacing.rate),
            ("concurrency", pacing.concurrency),
            ("timeout", pacing.timeout),
            ("max_attempts", pacing.max_attempts),
            ("settle", pacing.settle),
            ("canary", self.canary),
            ("canary_wait", self.canary_wait),
            ("max_input_mb", self.reading.max_input_mb),
            ("max_payload_bytes", self.max_payload_bytes),
        )
        for name, value in chosen:
            refused = None if value is None else BOUNDS[name].refuse(name, value)
            if refused:
                raise ConfigError(refused, hint=BOUND_HINTS.get(name, "choose a value within them"))
        return self

    def with_mapping(self, mapping: str | None) -> RunOptions:
        """These options reading with another mapping (a name or a path)."""
        return replace(self, reading=replace(self.reading, mapping=mapping))

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

    def ledger_scope(self) -> LedgerScope | None:
        """The endpoint, project and ledger a plan diffs against; None when either of the
        first two is not given (``bulkload plan`` of a sheet alone: every camera is new)."""
        if not (self.target.endpoint and self.target.project_id):
            return None
        endpoint, project = self.api_target()
        return LedgerScope(endpoint, project, self.ledger)

    @property
    def plan_choices(self) -> PlanChoices:
        """The few options that shape a plan."""
        return PlanChoices(
            retry_failed=self.retry_failed,
            deleting=self.prune == "delete",
            max_payload_bytes=self.max_payload_bytes,
            canary=self.canary,
        )

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
            endpoint=endpoint,
            project_id=project_id,
            auth=auth,
            rate=pacing.rate,
            connections=pacing.connections,
            timeout=pacing.timeout,
        )

    def journaled(self) -> dict[str, Any]:
        """The options a resume must repeat, as JSON-ready data (no secrets), by the flat
        names older journals hold too."""
        reading, pacing = self.reading, self.pacing
        return {
            "engine": reading.engine,
            "encoding": reading.encoding,
            "max_payload_bytes": self.max_payload_bytes,
            "rate": pacing.rate,
            "concurrency": pacing.concurrency,
            "timeout": pacing.timeout,
            "max_attempts": pacing.max_attempts,
            "settle": pacing.settle,
            "retry_failed": self.retry_failed,
            "prune": self.prune,
            "restart_failed": self.restart_failed,
            "task_ids": self.task_ids,
            **({"delete_sources": True} if self.delete_sources else {}),
            "only": sorted(reading.only) if reading.only else None,
            "max_input_mb": reading.max_input_mb,
            "ledger": str(self.ledger),
            "canary": self.canary,
            "canary_wait": self.canary_wait,
        }

    def resumed_from(
        self, journaled: Mapping[str, Any], *, endpoint: str, project_id: str
    ) -> RunOptions:
        """These options (credentials, --json) with a journaled run's target and options;
        an option the journal does not hold (an older version's) keeps its value here."""
        held = _Journaled({k: v for k, v in journaled.items() if v is not None})
        reading, pacing = self.reading, self.pacing
        only = journaled.get("only")
        return replace(
            self,
            reading=replace(
                reading,
                engine=held.get("engine", reading.engine),
                encoding=held.get("encoding", reading.encoding),
                only=frozenset(only) if only is not None else reading.only,
                max_input_mb=held.get("max_input_mb", reading.max_input_mb),
            ),
            target=replace(self.target, endpoint=endpoint, project_id=project_id),
            pacing=Pacing(
                rate=held.get("rate", pacing.rate),
                concurrency=held.get("concurrency", pacing.concurrency),
                timeout=held.get("timeout", pacing.timeout),
                max_attempts=held.get("max_attempts", pacing.max_attempts),
                settle=held.get("settle", pacing.settle),
            ),
            max_payload_bytes=held.get("max_payload_bytes", self.max_payload_bytes),
            ledger=Path(held.get("ledger", str(self.ledger))),
            retry_failed=held.get("retry_failed", self.retry_failed),
            prune=held.get("prune", self.prune),
            restart_failed=held.get("restart_failed", self.restart_failed),
            task_ids=held.get("task_ids", self.task_ids),
            delete_sources=held.get("delete_sources", self.delete_sources),
            canary=held.get("canary", self.canary),
            canary_wait=held.get("canary_wait", self.canary_wait),
        )


class _Journaled:
    """A journal's options by flat name; ``get`` types a value as its default (the journal
    wrote it from the same field), so ``resumed_from`` stays checked by mypy."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    def get(self, name: str, default: T) -> T:
        value: T = self.values.get(name, default)
        return value


def default_ledger(run_dir: Path | None) -> Path:
    """``ledger.sqlite`` beside the runs: the parent of a run's directory, ``runs/`` else."""
    return (run_dir.parent if run_dir is not None else RUNS_DIR) / LEDGER


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
