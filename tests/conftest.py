"""Shared inputs: sample sheets, a valid request body, and builders of small inventories."""

from __future__ import annotations

import json
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
