"""The commands that run import structlog with rich hidden, and leave rich importable after."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Each case runs in a fresh process: this one imported structlog (and rich) long ago.
SHOW = "print(' '.join(m for m in ('structlog', 'rich', 'pygments') if sys.modules.get(m)))\n"
AFTER_RICH = (
    "import sys, rich.console\n"
    "from loader.commands.logging_import import import_structlog_without_rich\n"
    "import_structlog_without_rich()\n"
    "import structlog.dev, rich\n"
    "print(rich.console is sys.modules['rich.console'], structlog.dev.rich)\n"
)


def _run(code: str, *arguments: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code, *arguments], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_structlog_is_imported_without_rich() -> None:
    """structlog is imported; rich and pygments are not; structlog's dev module saw no rich."""
    code = (
        "import sys\n"
        "from loader.commands.logging_import import import_structlog_without_rich\n"
        "import_structlog_without_rich()\n"
        "import structlog.dev, structlog.tracebacks\n"
        "assert structlog.dev.rich is None and structlog.tracebacks.rich is None\n" + SHOW
    )

    assert _run(code) == "structlog"


def test_rich_imports_as_usual_afterwards() -> None:
    """The hiding is undone: rich's console imports after structlog did."""
    code = (
        "import sys\n"
        "from loader.commands.logging_import import import_structlog_without_rich\n"
        "import_structlog_without_rich()\n"
        "import rich.console\n" + SHOW
    )

    assert _run(code) == "structlog rich"


def test_a_rich_imported_before_is_kept() -> None:
    """rich imported before stays the same module; structlog still does without it."""
    assert _run(AFTER_RICH) == "True None"


def test_a_structlog_imported_before_is_left_alone() -> None:
    """structlog imported before (with rich): nothing is imported or hidden."""
    code = (
        "import sys, structlog\n"
        "from loader.commands.logging_import import import_structlog_without_rich\n"
        "import_structlog_without_rich()\n"
        "import structlog.dev\n"
        "assert structlog.dev.rich is sys.modules['rich']\n" + SHOW
    )

    assert _run(code) == "structlog rich pygments"


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("run", "{sheet}"), id="run"),
        pytest.param(("resume", "{folder}"), id="resume"),
        pytest.param(("reconcile", "{folder}"), id="reconcile"),
    ],
)
def test_the_run_commands_import_structlog_without_rich(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Each command that runs imports structlog so (it stops on its options, no request sent,
    and prints its error with rich: imported after structlog, which did without it)."""
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("Camera,Group\ncam-1,grp-1\n", encoding="utf-8")
    arguments = [a.format(sheet=sheet, folder=tmp_path / "no-run") for a in command]
    code = (
        "import sys\n"
        "from loader.cli import app\n"
        "try:\n"
        "    app(sys.argv[1:], standalone_mode=False)\n"
        "except BaseException:\n"
        "    pass\n"
        "import structlog.dev\n"
        "print(structlog.dev.rich, 'pygments' in sys.modules)\n"
    )

    assert _run(code, *arguments) == "None False"
