"""What the console shows of a plan."""

from __future__ import annotations

import gc
import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from loader.commands.plan import plan_summary, report_plan, show_plan_report
from loader.planning.batches import Plan
from loader.report.console import BATCHES_SHOWN, show_plan
from loader.report.summaries import more_batches_line
from loader.run.options import RunOptions
from tests.conftest import SAMPLES


def test_a_plan_that_creates_nothing_says_so_without_an_empty_table() -> None:
    """Every camera unchanged: one line, no table header with no rows under it."""
    screen = io.StringIO()
    console = Console(file=screen, width=80)
    summary = {"batches": [], "batch_count": 0, "minimum_batches": 0, "cameras": 0, "entries": 0}

    show_plan(console, Plan([], []), summary, None)

    assert screen.getvalue() == "nothing to create: no batch would be sent\n"


def _batch(number: int, service: str = "c-smoke", version: str = "3.0") -> dict[str, Any]:
    """One batch as ``format_plan`` lists it."""
    return {
        "number": number,
        "name": f"b{number}",
        "file": None,
        "service_name": service,
        "service_version": version,
        "schedule": "",
        "groups": 1,
        "entries": 1,
        "cameras": 2,
        "bytes": 300,
    }


def _summary(batches: list[dict[str, Any]]) -> dict[str, Any]:
    """A plan summary of ``batches`` (totals as ``format_plan`` counts them)."""
    cameras = sum(b["cameras"] for b in batches)
    return {
        "batches": batches,
        "batch_count": len(batches),
        "minimum_batches": len(batches),
        "cameras": cameras,
        "entries": len(batches),
    }


def _shown(batches: list[dict[str, Any]]) -> list[str]:
    """The lines ``show_plan`` prints for ``batches``, at a width that wraps nothing."""
    console = Console(file=io.StringIO(), width=200)

    show_plan(console, Plan([], []), _summary(batches), None)

    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def test_a_long_plan_shows_its_first_batches_and_what_the_rest_hold() -> None:
    """Past ``BATCHES_SHOWN`` rows: the rest as a count by service, where all are listed,
    then the totals of every batch."""
    batches = [_batch(n) for n in range(1, BATCHES_SHOWN + 1)]
    batches += [_batch(BATCHES_SHOWN + 1, "c-helmet", "1.0.2"), _batch(BATCHES_SHOWN + 2)]

    lines = _shown(batches)

    rows = [line.split("│")[1].strip() for line in lines if line.startswith("│")]
    assert rows == [str(n) for n in range(1, BATCHES_SHOWN + 1)]
    assert lines[-2:] == [
        "... and 2 more batches (1 c-helmet 1.0.2, 1 c-smoke 3.0): plan.json (--out DIR) and"
        " --json list every batch",
        f"{BATCHES_SHOWN + 2} batches (minimum {BATCHES_SHOWN + 2}) for"
        f" {2 * (BATCHES_SHOWN + 2)} cameras in {BATCHES_SHOWN + 2} group entries",
    ]


def test_the_rest_is_counted_by_service_and_version_in_plan_order() -> None:
    """One batch more: "batch"; a service in two versions counts twice; markup-like text
    is the console's to escape, not this line's."""
    rest = [_batch(1, "c-[x]", "2"), _batch(2, "c-a", "1"), _batch(3, "c-[x]", "2")]

    lines = (more_batches_line(rest[:2], 1), more_batches_line(rest, 0))

    assert lines == (
        "... and 1 more batch (1 c-a 1): plan.json (--out DIR) and --json list every batch",
        "... and 3 more batches (2 c-[x] 2, 1 c-a 1): plan.json (--out DIR) and --json list"
        " every batch",
    )


def test_a_table_that_holds_every_batch_says_nothing_more() -> None:
    """Exactly ``BATCHES_SHOWN`` batches: every row, no line about the rest."""
    batches = [_batch(n) for n in range(1, BATCHES_SHOWN + 1)]

    lines = _shown(batches)

    assert (more_batches_line(batches, BATCHES_SHOWN), lines[-1]) == (
        "",
        f"{BATCHES_SHOWN} batches (minimum {BATCHES_SHOWN}) for {2 * BATCHES_SHOWN} cameras"
        f" in {BATCHES_SHOWN} group entries",
    )
    assert not any(line.startswith("...") for line in lines)


@settings(max_examples=30, deadline=None)
@given(services=st.lists(st.sampled_from(["c-a", "c-b", "c-[x]"]), min_size=1, max_size=60))
def test_the_table_and_the_rest_account_for_every_batch(services: list[str]) -> None:
    """Any plan: the first ``BATCHES_SHOWN`` batches as rows, in order, and the rest's
    counts by service add up to those not shown."""
    batches = [_batch(n, service) for n, service in enumerate(services, 1)]

    lines = _shown(batches)

    rows = [int(line.split("│")[1]) for line in lines if line.startswith("│")]
    more = [line for line in lines if line.startswith("... and ")]
    assert rows == list(range(1, min(len(batches), BATCHES_SHOWN) + 1))
    hidden = len(batches) - len(rows)
    assert len(more) == (1 if hidden else 0)
    if more:
        tally = more[0].split(" (", 1)[1].split("):", 1)[0]
        assert sum(int(part.split()[0]) for part in tally.split(", ")) == hidden


def test_the_plan_report_renders_with_the_collector_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The collector, on while rich lays out the table, walked every camera of a big plan
    again: ``show_plan_report`` pauses it for everything it prints, and restores it after."""
    options = RunOptions.of(environment={}).checked()
    report = report_plan(SAMPLES / "nvr_export.csv", options, refresh=False)
    summary = plan_summary(report, creates=False, detailed=False)
    seen: list[bool] = []

    class Screen(io.StringIO):
        def write(self, text: str) -> int:
            seen.append(gc.isenabled())
            return super().write(text)

    show_plan_report(
        Console(file=Screen(), width=80),
        report,
        summary,
        out=None,
        prune="",
        restart_failed=False,
        detailed=True,
    )

    assert (set(seen), gc.isenabled()) == ({False}, True)
