"""Row filters (``skip``/``keep``) and the mapping's did-you-mean for mistyped keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from loader.check.load import load
from loader.check.mapping import find_mapping
from loader.errors import ConfigError, InputError
from loader.report.summaries import format_validation
from tests.conftest import FLAT_MAPPING, XlsxWriter

RULES = """
skip = [
  { column = "Type", values = ["UPS"], reason = "a UPS, not a camera" },
  { column = "Name", pattern = "^video push" },
]
keep = [{ column = "State", values = ["active"] }]
"""


def _with_rules(rules: str) -> str:
    """FLAT_MAPPING with a [cameras] table holding ``rules``."""
    return FLAT_MAPPING.replace("[cameras.columns]", "[cameras]\n" + rules + "[cameras.columns]")


@pytest.fixture
def register(write_xlsx: XlsxWriter) -> Path:
    """An asset register: cameras, a UPS, a VMS's pseudo-camera and a paused camera."""
    return write_xlsx(
        {
            "Assets": [
                ["Camera", "Group", "Algorithm", "Type", "Name", "State"],
                ["cam-0001", "g-one", "c-smoke", "Camera", "Gate", "Active"],
                ["ups-01", "g-one", "c-smoke", "ups", "Rack UPS", "active"],
                ["cam-0003", "g-one", "c-smoke", "Camera", "Video Push 1", "active"],
                ["cam-0004", "g-one", "c-smoke", "Camera", "Yard", "paused"],
                ["cam-0005", "g-one", "c-smoke", "Camera", "Dock", "active"],
            ]
        }
    )


def test_rows_left_out_by_rules_are_each_counted_under_their_reason(
    register: Path, write_mapping: Callable[[str], Path]
) -> None:
    """skip by value or pattern, keep by value: each row left out is an info naming its rule."""
    loaded = load(register, str(write_mapping(_with_rules(RULES))))

    summary = format_validation(loaded.checked, mapping_chosen="named")
    assert (
        [c.video_source_id for c in loaded.checked.cameras],
        [(p["code"], p["row"], p["column"], p["value"], p["message"]) for p in summary["problems"]],
        summary["skipped_rows"],
    ) == (
        ["cam-0001", "cam-0005"],
        [
            ("filtered", 3, "Type", "ups", "skipped: a UPS, not a camera"),
            (
                "filtered",
                4,
                "Name",
                "Video Push 1",
                "skipped: Name is matching '^video push' (skip rule)",
            ),
            ("filtered", 5, "State", "paused", "skipped: State is not 'active' (keep rule)"),
        ],
        3,
    )


def test_a_rule_on_a_missing_column_stops_with_the_headers(
    register: Path, write_mapping: Callable[[str], Path]
) -> None:
    """A rule's column the sheet lacks is an input error suggesting the close header."""
    mapping = _with_rules('skip = [{ column = "Typ", values = ["UPS"] }]\n')

    with pytest.raises(InputError) as caught:
        load(register, str(write_mapping(mapping)))

    assert caught.value.message.startswith(
        "a row rule reads column 'Typ' (did you mean 'Type'?), which sheet 'Assets'"
    )


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        pytest.param(
            "[cameras]\nigonre = []\n",
            "cameras.igonre: is not a known key (did you mean 'ignore'?)",
            id="igonre",
        ),
        pytest.param(
            '[cameras]\n[cameras.columns]\nvideo_source_id = { colum = "A" }\n',
            "cameras.columns.video_source_id.colum: is not a known key (did you mean 'column'",
            id="colum",
        ),
        pytest.param(
            '[cameras]\n[cameras.columns]\nvideo_source_id = { column = "A", transfroms = [] }\n',
            "video_source_id.transfroms: is not a known key (did you mean 'transforms'?)",
            id="transfroms",
        ),
    ],
)
def test_unknown_keys_get_a_did_you_mean(
    write_mapping: Callable[[str], Path], typo: str, suggestion: str
) -> None:
    """The README's promise: a mistyped key is refused with the key it was meant to be."""
    with pytest.raises(ConfigError) as caught:
        find_mapping(str(write_mapping(typo)))

    assert suggestion in caught.value.message
