"""
Logging: structlog, configured once by the CLI for a run (never on import). Events go as
JSON lines to the run directory's ``log.jsonl``, every string scrubbed of secrets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO, Any

import structlog

from loader.send.secrecy import Scrubber
from loader.state.events import Event

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
WARNING_KINDS = frozenset({"BatchAmbiguous", "BatchGaveUp", "BatchRejected", "LookupFailed"})


def configure(path: Path, scrubber: Scrubber) -> IO[str]:
    """Send structlog's output to ``path`` as JSON lines; returns the open file to close."""
    stream = path.open("a", encoding="utf-8")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            scrubber.processor,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    return stream


def event_name(event: Event) -> str:
    """``BatchAccepted`` -> ``bulkload.batch_accepted``."""
    return "bulkload." + _CAMEL.sub("_", event.kind).lower()


def log_event(event: Event) -> None:
    """One journal event as one log line."""
    fields: dict[str, Any] = event.payload()
    if event.batch:
        fields["batch"] = event.batch
    level = "warning" if event.kind in WARNING_KINDS else "info"
    getattr(structlog.get_logger(), level)(event_name(event), **fields)
