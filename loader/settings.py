"""
The one frozen Settings of a command, built by the CLI from flags and ``BULKLOAD_*``
environment variables; nothing below the CLI reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from loader.sheets import Engine

ENV_PREFIX = "BULKLOAD_"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What a command runs with."""

    mapping: str | None = None
    engine: Engine = "calamine"
    encoding: str | None = None
    max_payload_bytes: int | None = None
    out: Path | None = None
    json: bool = False
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)


def environment(names: list[str] | None = None) -> dict[str, str]:
    """The ``BULKLOAD_*`` variables (and any other ``names``) of this process."""
    wanted = set(names or [])
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX) or k in wanted}
