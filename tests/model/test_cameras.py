"""The valid cameras as columns: rows made on demand equal the rows they were made of."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loader.model.cameras import Camera, Cameras

ROWS = [
    Camera(0, 2, "g1", "cam-1", None, 0),
    Camera(3, 5, "g2", "cam-2", '{"polygons":[]}', 1),
    Camera(4, 6, "g1", "cam-3", None, 0),
]

cameras_strategy = st.lists(
    st.builds(
        Camera,
        st.integers(0, 10**6),
        st.integers(1, 10**6),
        st.text(max_size=4),
        st.text(max_size=4),
        st.one_of(st.none(), st.text(min_size=1, max_size=4)),
        st.integers(0, 5),
    ),
    max_size=30,
)


@given(cameras_strategy)
def test_rows_back_from_columns_are_the_rows_given(rows: list[Camera]) -> None:
    """Iteration, indexing and length give back the very rows, with Python ints."""
    cameras = Cameras.of(rows)

    assert (list(cameras), [cameras[n] for n in range(len(rows))], len(cameras)) == (
        rows,
        rows,
        len(rows),
    )
    assert all(type(c.position) is int and type(c.settings_class) is int for c in cameras)


def test_a_slice_shares_the_columns_and_take_picks_in_order() -> None:
    """A slice is a view of the columns; ``take`` follows its indices; -1 is the last."""
    cameras = Cameras.of(ROWS)

    part = cameras[1:]
    taken = cameras.take(np.array([2, 0]))

    assert (list(part), list(taken), cameras[-1]) == (ROWS[1:], [ROWS[2], ROWS[0]], ROWS[2])
    assert np.shares_memory(part.video_source_id, cameras.video_source_id)


def test_out_of_range_is_an_index_error() -> None:
    """Past either end, as a list."""
    with pytest.raises(IndexError):
        Cameras.of(ROWS)[3]


def test_at_positions_finds_the_rows_of_positions_in_their_order() -> None:
    """Row positions back to cameras, in the order asked; an unknown one is a KeyError."""
    cameras = Cameras.of(ROWS)

    found = cameras.at_positions(np.array([4, 0], dtype=np.int64))

    assert list(found) == [ROWS[2], ROWS[0]]
    with pytest.raises(KeyError):
        cameras.at_positions(np.array([1], dtype=np.int64))


def test_equal_columns_are_equal_cameras() -> None:
    """Equality compares the columns, ROIs and all; a list of rows is not a Cameras."""
    assert (Cameras.of(ROWS) == Cameras.of(ROWS), Cameras.of(ROWS) == Cameras.of(ROWS[:2])) == (
        True,
        False,
    )
    assert Cameras.of(ROWS) != ROWS


def test_columns_of_different_lengths_are_refused() -> None:
    """Every column has one value a camera."""
    one = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="differ in length"):
        Cameras(
            position=one,
            row=np.zeros(2, dtype=np.int64),
            group=one.astype(object),
            video_source_id=one.astype(object),
            target_roi=one.astype(object),
            settings_class=one,
        )
