"""
The credentials a command was given, from the environment only (token, AK/SK or IAM
password), and which of them authenticate. Plain data: importing it costs nothing, so the
options of every command (``--help`` too) can name it; what sends with them is
``connect``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from loader.errors import ConfigError

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
