"""A column factorized by its objects first gives pandas' factorization exactly: the same
codes, the same distinct values, each the object of its first appearance, whether the
column shares its strings (as a reader's repeated cells do) or not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loader.read.distinct import by_object, factorized

# Texts a careless comparison would confuse, the empty text, and missing values.
_CELL = st.sampled_from(["", "a", "A", " a", "a\u3000", "ß", "ss", "\x00", None, float("nan")])


def _column(cells: list[object], shared: list[bool]) -> np.ndarray:
    """The cells, each a copy of its own or the one object of its value."""
    column = np.empty(len(cells), dtype=object)
    column[:] = [
        c if share or not isinstance(c, str) else "".join(list(c))  # an equal, new object
        for c, share in zip(cells, shared, strict=False)
    ]
    return column


@given(st.lists(_CELL, max_size=60), st.lists(st.booleans(), min_size=60, max_size=60))
def test_factorized_is_pandas_factorize(cells: list[object], shared: list[bool]) -> None:
    """Codes, distinct values and the distinct values' very objects as pandas gives them."""
    column = _column(cells, shared)

    codes, distinct = factorized(column)
    expected_codes, expected_distinct = pd.factorize(column)

    assert codes.tolist() == expected_codes.tolist()
    assert distinct.tolist() == expected_distinct.tolist()
    assert [id(v) for v in distinct] == [id(v) for v in expected_distinct]


@given(st.lists(_CELL, max_size=60), st.integers(min_value=2, max_value=3))
def test_a_strided_column_is_factorized_as_its_values(cells: list[object], step: int) -> None:
    """A view with a stride (every other row) is factorized as its own values."""
    column = _column(cells, [True] * len(cells))[::step]

    codes, distinct = factorized(column)
    expected_codes, expected_distinct = pd.factorize(column)

    assert (codes.tolist(), distinct.tolist()) == (
        expected_codes.tolist(),
        expected_distinct.tolist(),
    )


def test_repeated_objects_are_numbered_by_value() -> None:
    """Two objects of one text are one code; the distinct value is the first one's."""
    first, second = "group-1", "".join(["group-", "1"])
    column = np.array([first, "b", second, "b", first], dtype=object)

    codes, distinct = factorized(column)

    assert (codes.tolist(), distinct.tolist(), distinct[0] is first) == (
        [0, 1, 0, 1, 0],
        ["group-1", "b"],
        True,
    )


def test_a_numpy_that_lends_no_object_buffer_factorizes_by_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should ``frombuffer`` refuse an object array, the column is factorized by value:
    the same codes and values."""
    column = np.array(["b", "a", "b", None, "c"], dtype=object)

    def refuse(*_: object, **__: object) -> np.ndarray:
        raise TypeError("no buffer for objects")

    monkeypatch.setattr(np, "frombuffer", refuse)
    codes, distinct = factorized(column)

    assert codes.tolist() == [0, 1, 0, -1, 2]
    assert distinct.tolist() == ["b", "a", "c"]


def test_cells_are_numbered_by_object_in_order_of_first_sight() -> None:
    """One object over many rows is one number; an equal text in a new object another."""
    first, other = "group-1", "".join(["group-", "1"])
    column = np.array([first, "b", other, "b", first], dtype=object)

    objects = by_object(column)

    assert objects is not None
    assert objects.tolist() == [0, 1, 2, 1, 0]


def test_no_object_buffer_no_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should ``frombuffer`` refuse an object array, there is no numbering by object."""

    def refuse(*_: object, **__: object) -> np.ndarray:
        raise TypeError("no buffer for objects")

    monkeypatch.setattr(np, "frombuffer", refuse)

    assert by_object(np.array(["a", "a"], dtype=object)) is None
