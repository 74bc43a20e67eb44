"""What the console shows of a plan."""

from __future__ import annotations

import io

from rich.console import Console

from loader.planning.batches import Plan
from loader.report.console import show_plan


def test_a_plan_that_creates_nothing_says_so_without_an_empty_table() -> None:
    """Every camera unchanged: one line, no table header with no rows under it."""
    screen = io.StringIO()
    console = Console(file=screen, width=80)
    summary = {"batches": [], "batch_count": 0, "minimum_batches": 0, "cameras": 0, "entries": 0}

    show_plan(console, Plan([], []), summary, None)

    assert screen.getvalue() == "nothing to create: no batch would be sent\n"
