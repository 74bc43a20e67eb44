"""Shared inputs: sample sheets, a valid request body, and builders of small inventories."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_sheets"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def samples() -> Path:
    """The bundled sample_sheets folder."""
    return SAMPLES


@pytest.fixture
def seed_request() -> dict[str, Any]:
    """The seed page's example request, as printed (it breaks two documented rules)."""
    return json.loads((DATA / "seed_example_request.json").read_text())


@pytest.fixture
def valid_request() -> dict[str, Any]:
    """A minimal request that follows every documented rule."""
    return {
        "name": "rollout-0123456789ab",
        "service_name": "c-smoke-and-fire-cloud",
        "service_version": "3.0",
        "batch_input": {
            "video_source_group": [
                {
                    "video_source_group_id": "g1",
                    "video_source_list": [{"video_source_id": "cam-0001"}],
                }
            ]
        },
        "output": {"event_center": True},
    }


XlsxWriter = Callable[..., Path]


@pytest.fixture
def write_xlsx(tmp_path: Path) -> XlsxWriter:
    """Write ``{sheet: [rows]}`` to an xlsx file in tmp_path; returns its path."""

    def write(sheets: dict[str, list[list[Any]]], name: str = "inventory.xlsx") -> Path:
        book = openpyxl.Workbook()
        first = True
        for title, rows in sheets.items():
            sheet = book.active if first else book.create_sheet()
            assert sheet is not None
            sheet.title = title
            first = False
            for row in rows:
                sheet.append(row)
        path = tmp_path / name
        book.save(path)
        return path

    return write


@pytest.fixture
def write_mapping(tmp_path: Path) -> Callable[[str], Path]:
    """Write a mapping TOML text to tmp_path; returns its path."""

    def write(text: str, name: str = "custom.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the backend the CLI uses)."""
    return "asyncio"


class FakeClock:
    """A clock whose sleeps advance time at once: deterministic, no waiting."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        import anyio.lowlevel

        self.sleeps.append(seconds)
        self.time += seconds
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def clock() -> FakeClock:
    """A fresh fake clock."""
    return FakeClock()


FLAT_MAPPING = """
name = "flat-test"
[cameras.columns]
video_source_id = { column = "Camera", required = true }
group = { column = "Group", required = true }
service_name = "Algorithm"
[task]
service_version = "3.0"
event_center = true
"""


TWO_SHEET_MAPPING = """
name = "two"
[cameras]
sheet = "Cameras"
[cameras.columns]
video_source_id = { column = "Camera", required = true }
group = { column = "Group", required = true }
[groups]
sheet = "Groups"
[groups.columns]
group = { column = "Group", required = true }
group_name = "Name"
service_name = "Algorithm"
days_of_week = "Days"
[task]
service_name = "c-smoke"
service_version = "3.0"
event_center = true
timezone = "GMT+08:00"
periods = "all day"
"""


def write_inventory(
    folder: Path, groups: int, per_group: int, *, name: str = "inventory.csv"
) -> Path:
    """A flat CSV of ``groups`` x ``per_group`` cameras (ids cam-G-N), with its mapping beside."""
    lines = ["Camera,Group,Algorithm"]
    for group in range(groups):
        lines += [f"cam-{group:05d}-{n:03d},grp-{group:05d},c-smoke" for n in range(per_group)]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "flat-test.toml").write_text(FLAT_MAPPING, encoding="utf-8")
    return path


def printed(code: str, *arguments: str) -> list[str]:
    """The words a fresh interpreter prints running ``code`` (with ``arguments``): what a
    process imports or holds frozen, seen from outside this test process."""
    return subprocess.run(
        [sys.executable, "-c", code, *arguments], capture_output=True, text=True, check=True
    ).stdout.split()
