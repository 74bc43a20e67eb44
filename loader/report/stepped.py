"""
Work written as a generator of steps (``yield`` between them), so that a run can make it
between its calls (``run.ahead.in_gaps``), made here at once where nothing waits. [pure]
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TypeVar

Made = TypeVar("Made")


def drained(steps: Generator[None, None, Made]) -> Made:
    """Run ``steps`` to their end; what they made."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            value: Made = done.value
            return value
