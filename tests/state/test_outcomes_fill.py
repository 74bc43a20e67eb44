"""Outcomes.fill: many rows set at once, as ``set`` sets them one by one."""

from __future__ import annotations

from loader.model.cameras import CameraStatus
from loader.state.outcomes import Outcomes


def test_fill_sets_the_rows_as_set_does() -> None:
    """fill of some positions leaves the same arrays as set of each, and the others empty."""
    filled, one_by_one = Outcomes.empty(5), Outcomes.empty(5)
    filled.fill([3, 1], CameraStatus.LOADED, "b1", "id1", "RUNNING", "note")
    for position in (3, 1):
        one_by_one.set(position, CameraStatus.LOADED, "b1", "id1", "RUNNING", "note")
    for field in ("status", "batch", "batch_id", "task_state", "message"):
        assert getattr(filled, field).tolist() == getattr(one_by_one, field).tolist()
    assert filled.status.tolist() == ["", "loaded", "", "loaded", ""]
    assert filled.counts()["loaded"] == 2
