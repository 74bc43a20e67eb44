"""``load(keep_cells=False)``, as ``plan`` loads: the input's own cells are let go once
mapped, and nothing checked from them changes (issue 24: the raw grid dropped once
mapped, so that a plan's memory is the mapped columns', not the grid's as well)."""

from __future__ import annotations

import gc
import weakref
from datetime import date
from typing import Any

import numpy as np
import pytest

from loader.check import load as loading
from loader.check.load import Loaded, load
from loader.read.sheets import InputBook, read_workbook
from tests.conftest import SAMPLES

DAY = date(2026, 12, 6)


def _checked_facts(loaded: Loaded) -> tuple[object, ...]:
    """Everything the check made: rows, cameras, settings classes, problems, registration."""
    checked = loaded.checked
    return (
        checked.rows.to_csv(),
        list(checked.cameras),
        checked.settings_classes,
        checked.problems,
        repr(checked.registration),
        loaded.mapping.name,
        loaded.chosen,
        [(t.sheet, t.header_row, t.headers, t.rows.tolist()) for t in loaded.cameras.tables],
    )


@pytest.mark.parametrize(
    "sheet",
    [
        "site_rollout.xlsx",
        "legacy_two_sheet.xlsx",
        "legacy_vms_export.xlsx",
        "nvr_export.csv",
        "stream_list.csv",
        "milestone_hardware.csv",
        "ivms4200_devices.csv",
    ],
)
def test_dropping_the_cells_changes_nothing_checked(sheet: str) -> None:
    """The same check with and without the cells; without, no table or sheet holds any."""
    kept = load(SAMPLES / sheet, on=DAY)
    dropped = load(SAMPLES / sheet, on=DAY, keep_cells=False)

    tables = [*dropped.cameras.tables, *(dropped.groups.tables if dropped.groups else [])]
    assert _checked_facts(dropped) == _checked_facts(kept)
    assert [len(t.body) for t in tables] == [0] * len(tables)
    assert [len(grid) for grid in dropped.workbook.sheets.values()] == [0] * len(
        kept.workbook.sheets
    )
    assert all(len(t.body) for t in kept.cameras.tables)


def test_the_grid_is_freed_once_mapped(monkeypatch: pytest.MonkeyPatch) -> None:
    """No view of the read grid survives (an empty slice of it would keep every cell
    alive): each column the reader made is gone once the load returns."""
    made: list[weakref.ref[np.ndarray]] = []

    def reading(*args: Any, **kwargs: Any) -> InputBook:
        book = read_workbook(*args, **kwargs)
        for grid in book.sheets.values():
            made.extend(weakref.ref(grid[c].array.to_numpy()) for c in grid.columns)
        return book

    monkeypatch.setattr(loading, "read_workbook", reading)
    loaded = loading.load(SAMPLES / "legacy_vms_export.xlsx", on=DAY, keep_cells=False)
    gc.collect()

    assert (len(loaded.checked.cameras) > 0, [r() is None for r in made]) == (
        True,
        [True] * len(made),
    )
