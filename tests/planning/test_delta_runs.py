"""diff.json's compact columns: positions and fingerprints as runs, read back exactly, and
the older one-pair-a-camera form still read."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loader.model.cameras import Camera, Cameras, SettingsClass
from loader.model.vias import TaskOutput, TaskSettings
from loader.planning.delta import (
    fingerprint_runs,
    from_data,
    from_fingerprint_runs,
    from_position_runs,
    partition,
    position_runs,
    to_data,
)

SMOKE = TaskSettings(
    service_name="c-smoke", service_version="3.0", output=TaskOutput(event_center=True)
)
FIRE = SMOKE.model_copy(update={"service_name": "c-fire"})


def test_positions_in_order_are_one_run_each_stretch() -> None:
    runs = position_runs(np.array([0, 1, 2, 3, 7, 8, 10, 4]))

    assert runs == [[0, 4], [7, 2], [10, 1], [4, 1]]
    assert from_position_runs(runs).tolist() == [0, 1, 2, 3, 7, 8, 10, 4]
    assert position_runs(np.array([], dtype=np.int64)) == []
    assert from_position_runs([]).tolist() == []


def test_fingerprints_are_runs_of_one_mark() -> None:
    fingerprints = {0: "a", 1: "a", 2: "b", 3: "b", 5: "b", 6: "a"}

    marks, runs = fingerprint_runs(fingerprints)

    assert marks == ["a", "b"]
    assert runs == [[0, 2, 0], [2, 2, 1], [5, 1, 1], [6, 1, 0]]
    assert from_fingerprint_runs(marks, runs) == fingerprints
    assert fingerprint_runs({}) == ([], [])


@given(st.lists(st.integers(0, 40), unique=True))
def test_any_positions_come_back_in_their_order(positions: list[int]) -> None:
    runs = position_runs(np.array(positions, dtype=np.int64))

    assert from_position_runs(json.loads(json.dumps(runs))).tolist() == positions


@given(st.dictionaries(st.integers(0, 60), st.sampled_from(["m1", "m2", "m3"])))
def test_any_fingerprints_come_back_equal(fingerprints: dict[int, str]) -> None:
    marks, runs = json.loads(json.dumps(fingerprint_runs(fingerprints)))

    back = from_fingerprint_runs(marks, runs)

    assert back == fingerprints
    assert list(back) == list(fingerprints)  # in the same order


def _diff_of(cameras: Cameras) -> dict[str, object]:
    classes = [SettingsClass(SMOKE, "site"), SettingsClass(FIRE, "site")]
    delta = partition(cameras, classes, {}, {}, inventory="site.csv")
    return to_data(delta)


def test_a_diff_of_a_thousand_cameras_keeps_two_runs() -> None:
    cameras = Cameras.of(
        [Camera(n, n + 2, f"g{n // 3}", f"cam-{n}", None, int(n >= 600)) for n in range(1000)]
    )

    data = _diff_of(cameras)

    assert data["send_runs"] == [[0, 1000]]
    assert data["fingerprint_runs"] == [[0, 600, 0], [600, 400, 1]]
    back = from_data(json.loads(json.dumps(data)), cameras, {})
    assert to_data(back) == data
    assert back.send.position.tolist() == list(range(1000))


def test_a_diff_json_of_one_pair_a_camera_is_still_read() -> None:
    """Run directories written before the runs keep ``send`` and ``fingerprints``."""
    cameras = Cameras.of([Camera(n, n + 2, "g", f"cam-{n}", None, 0) for n in range(4)])
    data = _diff_of(cameras)
    marks = data["fingerprint_marks"]
    assert isinstance(marks, list)
    older = {k: v for k, v in data.items() if k not in ("send_runs", "fingerprint_runs")}
    older.pop("fingerprint_marks")
    older["send"] = [0, 1, 3]
    older["fingerprints"] = {str(n): marks[0] for n in range(4)}

    back = from_data(older, cameras, {})

    assert back.send.position.tolist() == [0, 1, 3]
    assert back.fingerprints == dict.fromkeys(range(4), marks[0])
    assert to_data(back)["send_runs"] == [[0, 2], [3, 1]]


@given(
    st.lists(st.sampled_from(["", "[[0,0],[1,1]]", "[[2,2],[3,3]]"]), min_size=1, max_size=30),
    st.data(),
)
def test_fingerprints_at_positions_are_the_dicts(rois: list[str], data: st.DataObject) -> None:
    """``Marks.at`` (one batch's, no dict of every camera's) reads as ``fingerprints``."""
    cameras = Cameras.of(
        [
            Camera(3 * n, n + 2, f"g{n}", f"cam-{n}", roi or None, n % 2)
            for n, roi in enumerate(rois)
        ]
    )
    classes = [SettingsClass(SMOKE, "site"), SettingsClass(FIRE, "site")]
    wanted = data.draw(st.lists(st.sampled_from(cameras.position.tolist())))
    fresh = partition(cameras, classes, {}, {}, inventory="site.csv")
    made = partition(cameras, classes, {}, {}, inventory="site.csv")
    every = made.fingerprints  # the dict made first: ``at`` reads it

    assert fresh.marks.at(np.array(wanted, dtype=np.int64)) == [every[p] for p in wanted]
    assert made.marks.at(np.array(wanted, dtype=np.int64)) == [every[p] for p in wanted]


def test_fingerprints_at_a_position_of_no_camera_is_a_key_error() -> None:
    cameras = Cameras.of([Camera(n, n + 2, "g", f"cam-{n}", None, 0) for n in (0, 2, 4)])
    delta = partition(cameras, [SettingsClass(SMOKE, "site")], {}, {}, inventory="site.csv")

    with pytest.raises(KeyError):
        delta.marks.at(np.array([2, 3]))
    assert delta.marks.at(np.array([], dtype=np.int64)) == []
