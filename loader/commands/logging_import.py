"""
How the commands that run import structlog: with rich hidden while structlog is imported.

structlog's development renderer and its traceback transformer import rich (and through
``rich.traceback`` pygments) when rich is installed, as it is here for the screen: 0.04 s
of CPU before a run's first request (``import structlog`` 105 ms, 63 ms without rich).
A run's logs are JSON lines (``run.logs``) that use neither; structlog falls back to plain
tracebacks without rich, and rich itself (the bars, the summary) imports as usual
afterwards. Only the CLI does this: a program that imports bulkload as a library keeps
its structlog as it is.
"""

from __future__ import annotations

import importlib
import sys

HIDDEN = "rich"


def import_structlog_without_rich() -> None:
    """Import structlog, unless it already is, while ``import rich`` fails; then undo that."""
    if "structlog" in sys.modules:
        return
    imported = HIDDEN in sys.modules
    before = sys.modules.get(HIDDEN)
    sys.modules[HIDDEN] = None  # type: ignore[assignment]  # None: the import fails
    try:
        importlib.import_module("structlog")
    finally:
        if imported:
            sys.modules[HIDDEN] = before  # type: ignore[assignment]
        else:
            del sys.modules[HIDDEN]
