"""The run's bars: shown on a terminal, left out entirely with --json."""

from __future__ import annotations

from loader.commands.terminal import run_progress
from loader.report.progress import RunProgress


def test_json_runs_without_bars() -> None:
    """--json: no observer at all (nothing to show, nothing to tally)."""
    with run_progress(True) as progress:
        assert progress is None


def test_a_terminal_run_has_its_bars() -> None:
    """Without --json: the run's bars, as before."""
    with run_progress(False) as progress:
        assert isinstance(progress, RunProgress)
