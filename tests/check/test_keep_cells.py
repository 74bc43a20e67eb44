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
from loader.check.validate import check
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


SHEETS = [
    "site_rollout.xlsx",
    "legacy_two_sheet.xlsx",
    "legacy_vms_export.xlsx",
    "nvr_export.csv",
    "stream_list.csv",
    "milestone_hardware.csv",
    "ivms4200_devices.csv",
]


@pytest.mark.parametrize("sheet", SHEETS)
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


def _owner(values: np.ndarray) -> np.ndarray:
    """The array that owns a column's memory (a view's base, its base's...): alive while
    any view of the column is."""
    while isinstance(values.base, np.ndarray):
        values = values.base
    return values


@pytest.mark.parametrize("sheet", SHEETS)
def test_the_grid_is_freed_once_mapped(monkeypatch: pytest.MonkeyPatch, sheet: str) -> None:
    """No column of the read grid survives but those the mapped rows hold (an empty slice
    of the grid, or a column kept with its codes, would keep every cell alive)."""
    made: list[weakref.ref[np.ndarray]] = []

    def reading(*args: Any, **kwargs: Any) -> InputBook:
        book = read_workbook(*args, **kwargs)
        for grid in book.sheets.values():
            made.extend(weakref.ref(_owner(grid[c].to_numpy())) for c in grid.columns)
        return book

    monkeypatch.setattr(loading, "read_workbook", reading)
    loaded = loading.load(SAMPLES / sheet, on=DAY, keep_cells=False)
    gc.collect()
    frames = [loaded.cameras.frame, loaded.checked.rows]
    frames += [loaded.groups.frame] if loaded.groups is not None else []
    used = {id(_owner(f[c].to_numpy())) for f in frames for c in f.columns}

    alive = [r() for r in made]
    assert (len(loaded.checked.cameras) > 0, [a is None or id(a) in used for a in alive]) == (
        True,
        [True] * len(made),
    )


@pytest.mark.parametrize("sheet", SHEETS)
def test_the_grid_is_freed_before_the_check(monkeypatch: pytest.MonkeyPatch, sheet: str) -> None:
    """The check runs with the read grid already let go (no caller's name still holds it):
    its columns are dead but those the mapped rows use, and the check's result is the same."""
    made: list[weakref.ref[np.ndarray]] = []
    seen: list[bool] = []

    def reading(*args: Any, **kwargs: Any) -> InputBook:
        book = read_workbook(*args, **kwargs)
        for grid in book.sheets.values():
            made.extend(weakref.ref(_owner(grid[c].to_numpy())) for c in grid.columns)
        return book

    def checking(*args: Any, **kwargs: Any) -> Any:
        gc.collect()
        used = {id(_owner(f[c].to_numpy())) for f in _frames(args) for c in f.columns}
        seen.extend(r() is None or id(r()) in used for r in made)
        return check(*args, **kwargs)

    monkeypatch.setattr(loading, "read_workbook", reading)
    monkeypatch.setattr(loading, "check", checking)
    loading.load(SAMPLES / sheet, on=DAY, keep_cells=False)

    assert (len(seen), seen) == (len(made), [True] * len(made))


def _frames(args: tuple[Any, ...]) -> list[Any]:
    """The mapped frames among ``check``'s arguments (cameras, and groups if any)."""
    return [a.frame for a in args[1:] if a is not None]
