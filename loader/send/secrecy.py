"""
Secrets: ``${VAR}`` references in webhook headers resolved only at send time, and a
scrubber that replaces every known secret value (tokens, IAM password, AK/SK secret key
and security token, resolved header values) with ``***`` in logs, journal text and messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from functools import partial
from typing import Any

from loader.errors import ConfigError

MASK = "***"
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MIN_SECRET = 4  # shorter values would mask ordinary text


class Scrubber:
    """Replaces secret values in text; new secrets may appear during a run (new tokens)."""

    def __init__(self, *sources: Callable[[], Iterable[str]]) -> None:
        self.sources = list(sources)
        self.fixed: set[str] = set()

    def add(self, values: Iterable[str]) -> None:
        """Secrets known up front (resolved header values, passwords)."""
        self.fixed |= {v for v in values if len(v) >= _MIN_SECRET}

    def values(self) -> list[str]:
        """Every secret now known, longest first (so no secret is half masked)."""
        dynamic = {v for source in self.sources for v in source() if len(v) >= _MIN_SECRET}
        return sorted(self.fixed | dynamic, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self.values():
            if value in text:
                text = text.replace(value, MASK)
        return text

    def processor(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """A structlog processor applying the scrubber to every string value."""
        for key, value in event.items():
            if isinstance(value, str):
                event[key] = self(value)
        return event


def references(content: bytes) -> list[str]:
    """The variable names a payload's ``${VAR}`` references use."""
    return sorted(set(_REFERENCE.findall(content.decode("utf-8", errors="replace"))))


def resolve(content: bytes, environment: Mapping[str, str]) -> tuple[bytes, list[str]]:
    """The payload with webhook header references replaced, and the secret values used.

    Only ``output.webhook.headers`` values are resolved: the same text anywhere else (a
    description) stays as written. A reference to an unset variable is a ConfigError.
    """
    if b"${" not in content:
        return content, []
    body = json.loads(content)
    headers = (body.get("output") or {}).get("webhook", {}).get("headers") or {}
    used: list[str] = []
    for key, value in headers.items():
        headers[key] = _REFERENCE.sub(
            partial(_value, header=key, environment=environment, used=used), value
        )
    resolved = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return resolved, used


def _value(
    match: re.Match[str], *, header: str, environment: Mapping[str, str], used: list[str]
) -> str:
    """One ``${name}`` of a webhook header, from the environment."""
    name = match.group(1)
    if name not in environment:
        raise ConfigError(
            f"webhook header {header!r} refers to ${{{name}}}, which is not set",
            hint=f"export {name}=... before running (it is never written anywhere)",
        )
    used.append(environment[name])
    return environment[name]
