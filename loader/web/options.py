"""
``ServeOptions``: what ``bulkload serve`` runs with, built once by the CLI from flags and
the environment (the only place the page's token and the cloud credentials come from),
and the ``RunOptions`` every load, plan and run of the page starts from.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import quote

from loader.errors import ConfigError
from loader.read.guard import MB
from loader.run.options import DEFAULT_MAX_INPUT_MB, LEDGER, RunOptions

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8770
TOKEN_VARIABLE: Final = "BULKLOAD_UI_TOKEN"
MIN_TOKEN_CHARS: Final = 16
LOADED_KEPT: Final = 8  # loaded sheets held in memory; older ones are read again on demand
UPLOADS: Final = "uploads"


@dataclass(frozen=True, kw_only=True)
class ServeOptions:
    """Where the page listens, where its files go, and the environment runs read."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    runs_dir: Path = Path("runs")
    max_upload_bytes: int = DEFAULT_MAX_INPUT_MB * MB
    token: str | None = field(default=None, repr=False)
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    loaded_kept: int = LOADED_KEPT

    @property
    def loopback(self) -> bool:
        """True when only this machine can reach the server."""
        return is_loopback(self.host)

    @property
    def uploads_dir(self) -> Path:
        """Uploaded sheets: ``<runs>/uploads/<id>/<name>`` (kept: a resume re-reads them)."""
        return self.runs_dir / UPLOADS

    @property
    def max_upload_mb(self) -> int:
        """The upload cap in whole megabytes, as the flag and messages say it."""
        return max(1, self.max_upload_bytes // MB)

    def url(self, port: int) -> str:
        """The address to open, with the token when one is needed (printed once, never logged)."""
        host = socket.gethostname() if self.host in ("0.0.0.0", "::") else self.host
        shown = f"[{host}]" if ":" in host else host
        query = f"?token={quote(self.token, safe='')}" if self.token else ""
        return f"http://{shown}:{port}/{query}"

    def run_options(self) -> RunOptions:
        """The options a page's load, plan and run start from: the CLI's, from the same
        environment (endpoint, project, credentials), with the ledger beside the runs."""
        return RunOptions.of(
            environment=self.environment,
            ledger=self.runs_dir / LEDGER,
            max_input_mb=self.max_upload_mb,
        )


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost: addresses no other machine reaches."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve_options(
    *,
    host: str | None,
    port: int,
    runs_dir: Path,
    max_upload_mb: int,
    environment: Mapping[str, str],
) -> ServeOptions:
    """The checked options: listening beyond loopback needs --host and a long enough token."""
    chosen = host or DEFAULT_HOST
    token = environment.get(TOKEN_VARIABLE) or None
    if not is_loopback(chosen) and token is None:
        raise ConfigError(
            f"--host {chosen} lets other machines reach the page: set {TOKEN_VARIABLE} first",
            hint=f"export {TOKEN_VARIABLE}=$(python3 -c 'import secrets;"
            " print(secrets.token_urlsafe(24))'), or leave --host out to stay on 127.0.0.1",
        )
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"{TOKEN_VARIABLE} is {len(token)} characters; it needs at least {MIN_TOKEN_CHARS}",
            hint="python3 -c 'import secrets; print(secrets.token_urlsafe(24))' makes one",
        )
    return ServeOptions(
        host=chosen,
        port=port,
        runs_dir=runs_dir,
        max_upload_bytes=max_upload_mb * MB,
        token=token,
        environment=environment,
    )
