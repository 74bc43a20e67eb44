"""The valid cameras' columns: the checked rows' own arrays when every row is valid (no
second copy of a million ids), the valid rows' values otherwise; an empty ROI is none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loader.check import validate
from loader.check.duplicates import SETTINGS_CLASS
from loader.check.inventory import ROW


def _frame() -> pd.DataFrame:
    """Three checked rows, as ``check`` leaves them."""
    frame = pd.DataFrame(index=range(3))
    columns = {
        ROW: np.array([5, 6, 8], dtype=np.int64),
        "group": np.array(["g1", "g1", "g2"], dtype=object),
        "video_source_id": np.array(["cam-a", "cam-b", "cam-c"], dtype=object),
        "target_roi": np.array(["", "r", ""], dtype=object),
        SETTINGS_CLASS: np.array([0, 0, 1], dtype=np.int64),
    }
    for name, values in columns.items():
        frame[name] = pd.Series(values, index=frame.index, copy=False)
    return frame


@pytest.mark.parametrize(
    ("positions", "expected"),
    [
        pytest.param(
            [0, 1, 2],
            [
                (0, 5, "g1", "cam-a", None, 0),
                (1, 6, "g1", "cam-b", "r", 0),
                (2, 8, "g2", "cam-c", None, 1),
            ],
            id="every-row",
        ),
        pytest.param(
            [1, 2], [(1, 6, "g1", "cam-b", "r", 0), (2, 8, "g2", "cam-c", None, 1)], id="some"
        ),
    ],
)
def test_valid_cameras_are_the_rows_at_their_positions(
    positions: list[int], expected: list[tuple[object, ...]]
) -> None:
    """Each valid camera's position, row, group, id, ROI (none when empty) and class."""
    cameras = validate._cameras(_frame(), np.array(positions, dtype=np.intp))

    assert [tuple(c) for c in cameras] == expected


def test_every_row_valid_shares_the_rows_arrays() -> None:
    """Every row valid: the ids, groups, rows and classes are the frame's own arrays."""
    frame = _frame()

    cameras = validate._cameras(frame, np.arange(3))

    shared = [
        np.shares_memory(cameras.video_source_id, frame["video_source_id"].to_numpy()),
        np.shares_memory(cameras.group, frame["group"].to_numpy()),
        np.shares_memory(cameras.row, frame[ROW].to_numpy()),
        np.shares_memory(cameras.settings_class, frame[SETTINGS_CLASS].to_numpy()),
        np.shares_memory(cameras.target_roi, frame["target_roi"].to_numpy()),
    ]
    assert shared == [True, True, True, True, False]
