"""What a run imports before its first request: only what the first request needs. The
end's modules (the results workbook, xlsxwriter), httpx's own command line and rich's
bars (with --json) wait: they come while the run sends, or at its end."""

from __future__ import annotations

import subprocess
import sys

import pytest

# What ``bulkload run`` imports before its first request: the CLI, then the run path.
RUN_PATH = (
    "import sys, loader.cli\n"
    "from loader.commands.prune import confirm_prune\n"
    "from loader.run.runner import start_run\n"
    "print(' '.join(sorted(m for m in sys.argv[1:] if sys.modules.get(m))))\n"
)


@pytest.mark.parametrize(
    "module",
    [
        pytest.param("xlsxwriter", id="xlsxwriter"),
        pytest.param("loader.report.workbook", id="workbook"),
        pytest.param("loader.run.conclude", id="conclude"),
        pytest.param("httpx._main", id="httpx-cli"),
        pytest.param("rich.progress", id="rich-bars"),
        pytest.param("click", id="click"),
    ],
)
def test_the_run_path_leaves_a_module_for_later(module: str) -> None:
    """The module is not imported by the time the run path is."""
    imported = subprocess.run(
        [sys.executable, "-c", RUN_PATH, module], capture_output=True, text=True, check=True
    ).stdout.split()

    assert imported == []


def test_the_end_is_importable_beside_the_run_path() -> None:
    """``runner.END`` names the module that holds the end (imported ahead while sending)."""
    from loader.run import conclude, runner

    assert conclude.__name__ == runner.END
