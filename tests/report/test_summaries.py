"""The plan summary as data."""

from __future__ import annotations

from collections import Counter

from loader.check.load import load
from loader.planning.batches import plan
from loader.report.summaries import format_plan, schedule_text
from tests.conftest import SAMPLES


def test_each_batch_shows_its_own_settings_schedule_described_once_per_class() -> None:
    """Several batches of one settings class (a small byte cap): each batch's schedule is
    its class's, as ``schedule_text`` describes it batch by batch."""
    checked = load(SAMPLES / "site_rollout.xlsx").checked
    planned = plan(checked.cameras, checked.settings_classes, max_payload_bytes=4000)

    summary = format_plan(planned, checked)

    expected = [
        schedule_text(planned.settings_classes[b.settings_class].task_settings)
        for b in planned.batches
    ]
    assert [b["schedule"] for b in summary["batches"]] == expected
    assert max(Counter(b.settings_class for b in planned.batches).values()) > 1
    assert len(set(expected)) == 3
