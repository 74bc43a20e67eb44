"""A column's codes, hashed once and shared, give what hashing it again gives: the same
factorization, the same combinations of settings, the same duplicates on the same rows
and the same group numbers as the simple definitions they replace."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from loader.check import duplicates, validate
from loader.check.codes import ColumnCodes, narrowed
from loader.check.inventory import ROW, SHEET, MappedSheet
from loader.model.cameras import RowStatus
from loader.read.layout import Table

# Texts that tell strings apart only by what a careless hash or comparison would lose:
# case, unicode spaces, quotes, control characters, the empty text.
_TEXT = st.sampled_from(["", "a", "A", " a", "a\u3000", "'a", '"a"', "a\x00", "\x1f", "ß", "ss"])
_COLUMN = st.lists(_TEXT, max_size=40)


def _objects(texts: list[str]) -> np.ndarray:
    column = np.empty(len(texts), dtype=object)
    column[:] = texts
    return column


@given(_COLUMN)
def test_codes_are_pandas_factorize_and_hashed_once(texts: list[str]) -> None:
    """``of`` gives pandas' factorization; asked again over the same buffer (a new view
    of it, as ``to_numpy`` makes), it gives the one it kept."""
    column = _objects(texts)
    codes = ColumnCodes()

    first = codes.of(column)
    again = codes.of(column[:])
    expected_codes, expected_distinct = pd.factorize(column)

    assert first.codes.tolist() == expected_codes.tolist()
    assert first.distinct.tolist() == expected_distinct.tolist()
    assert again is first
    assert codes.known(column.copy()) is None


@given(_COLUMN, st.lists(_TEXT, min_size=11, max_size=11))
def test_a_mapped_column_has_the_codes_of_its_values(texts: list[str], images: list[str]) -> None:
    """The column each of whose distinct values becomes an image (two may become one) is
    known with the codes factorizing it would give."""
    codes = ColumnCodes()
    source = codes.of(_objects(texts))
    distinct_images = _objects(images[: len(source.distinct)])

    mapped = codes.mapped(source, distinct_images)
    known = codes.known(mapped)
    expected_codes, expected_distinct = pd.factorize(mapped)

    assert mapped.tolist() == [images[source.distinct.tolist().index(t)] for t in texts]
    assert known is not None
    assert known.codes.tolist() == expected_codes.tolist()
    assert known.distinct.tolist() == expected_distinct.tolist()


@given(_COLUMN)
def test_the_longest_is_counted_value_by_value_or_from_the_distinct(texts: list[str]) -> None:
    """``longest`` is the longest text's length, whether its codes are known or not."""
    column = _objects(texts)
    factorized = ColumnCodes()
    factorized.of(column)

    expected = max(map(len, texts), default=0)

    assert (ColumnCodes().longest(column), factorized.longest(column)) == (expected, expected)


@given(st.integers(0, 2**40))
def test_narrowed_codes_hold_every_code_and_minus_one(count: int) -> None:
    """The narrowed type holds 0..count-1 and -1."""
    kind = narrowed(np.zeros(1, dtype=np.int64), count).dtype

    assert np.iinfo(kind).min <= -1
    assert np.iinfo(kind).max >= count - 1


def _rows() -> st.SearchStrategy[pd.DataFrame]:
    """Checked rows: groups, ids and settings fields with repeats, settings classes."""
    return (
        st.integers(0, 30)
        .flatmap(
            lambda n: st.fixed_dictionaries(
                {
                    "group": st.lists(
                        st.sampled_from(["g1", "G1", "g2", ""]), min_size=n, max_size=n
                    ),
                    "video_source_id": st.lists(_TEXT, min_size=n, max_size=n),
                    "days_of_week": st.lists(_TEXT, min_size=n, max_size=n),
                    "periods": st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n),
                    validate.SETTINGS_CLASS: st.lists(st.integers(-1, 2), min_size=n, max_size=n),
                    "status": st.lists(
                        st.sampled_from(["valid", "valid", "rejected"]), min_size=n, max_size=n
                    ),
                }
            )
        )
        .map(_frame)
    )


def _frame(columns: dict[str, list[object]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            name: _objects(values) if name != validate.SETTINGS_CLASS else values  # type: ignore[arg-type]
            for name, values in columns.items()
        }
    )
    frame[SHEET] = _objects(["Cameras"] * len(frame))
    frame[ROW] = np.arange(2, len(frame) + 2)
    return frame


def _sheet(frame: pd.DataFrame) -> MappedSheet:
    table = Table("f.csv", "Cameras", 1, [], pd.DataFrame(), np.arange(len(frame)), [])
    return MappedSheet([table], frame, np.zeros(len(frame), dtype=bool), {})


@given(_rows(), st.booleans())
def test_combination_keys_are_those_of_factorizing_each_field_over_the_rows(
    frame: pd.DataFrame, shared: bool
) -> None:
    """The combination of each row's settings fields, from the whole columns' codes, is
    numbered as factorizing each field over the rows alone numbers it."""
    fields = ["days_of_week", "periods", "group"]
    rows = np.flatnonzero(frame["status"].to_numpy() == "valid")
    codes = ColumnCodes()
    if shared:
        codes.of(frame["days_of_week"].to_numpy(dtype=object))

    expected = np.zeros(len(rows), dtype=np.int64)
    for name in fields:
        texts, distinct = pd.factorize(frame[name].to_numpy(dtype=object)[rows])
        expected, _ = pd.factorize(expected * len(distinct) + texts)

    assert validate._combination_keys(frame, fields, rows, codes).tolist() == expected.tolist()


@given(_rows(), st.booleans(), st.booleans())
def test_duplicates_are_later_rows_of_the_same_class_group_and_id(
    frame: pd.DataFrame, shared: bool, colliding: bool
) -> None:
    """A valid row is a duplicate of the first valid row with its settings class, group
    and id, with a warning naming that row; the others keep their status (also when
    every id's hash is the same: a collision is told apart by the texts)."""
    sheet = _sheet(frame)
    if shared:
        sheet.codes.of(frame["video_source_id"].to_numpy(dtype=object))
    status = frame["status"].to_numpy(dtype=object).copy()

    expected_status = status.copy()
    first_at: dict[tuple[object, ...], int] = {}
    expected_problems = []
    triples = zip(
        frame[validate.SETTINGS_CLASS], frame["group"], frame["video_source_id"], strict=True
    )
    for position, key in enumerate(triples):
        if status[position] != RowStatus.VALID.value:
            continue
        first = first_at.setdefault(key, position)
        if first != position:
            expected_status[position] = RowStatus.DUPLICATE.value
            expected_problems.append((first + 2, position + 2, key[2]))
    with patch.object(validate, "hash", create=True, new=(lambda _: 7) if colliding else hash):
        problems = duplicates.mark_duplicates(frame, status, sheet)

    assert status.tolist() == expected_status.tolist()
    assert [(int(p.message.split("row ")[1].split(";")[0]), p.row, p.value) for p in problems] == [
        (first, row, str(value)) for first, row, value in expected_problems
    ]


@given(_rows(), st.booleans())
def test_group_codes_are_factorize_of_the_valid_cameras_groups(
    frame: pd.DataFrame, shared: bool
) -> None:
    """Each valid camera's group code is what factorizing the valid cameras' groups gives."""
    positions = np.flatnonzero(frame["status"].to_numpy() == "valid")
    codes = ColumnCodes()
    if shared:
        codes.of(frame["group"].to_numpy(dtype=object))

    expected = pd.factorize(frame["group"].to_numpy(dtype=object)[positions])[0]

    assert validate._group_codes(frame, positions, codes).tolist() == expected.tolist()


@given(st.lists(_TEXT, min_size=1, max_size=40))
def test_interning_keeps_the_texts_and_their_codes(texts: list[str]) -> None:
    """A column hashed as read becomes its distinct values' own objects, known by the same
    codes; a column made of its distinct values (``mapped``) is left as it is."""
    codes = ColumnCodes()
    read = _objects(["".join(list(t)) for t in texts])  # one object per cell, as read
    source = codes.of(read)
    mapped = codes.mapped(source, source.distinct.copy())
    frame = pd.DataFrame(index=range(len(texts)))  # columns kept as given, as mapping keeps them
    for name, column in (("read", read), ("mapped", mapped)):
        frame[name] = pd.Series(column, index=frame.index, dtype=object, copy=False)

    codes.intern(frame)
    interned = frame["read"].to_numpy()

    assert interned.tolist() == texts
    assert {id(v) for v in interned.tolist()} <= {id(v) for v in source.distinct.tolist()}
    assert codes.known(interned) is source
    assert frame["mapped"].to_numpy().ctypes.data == mapped.ctypes.data


@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.sampled_from([0, 1, -1])))
def test_repeated_integers_are_those_numbered_twice(values: list[int]) -> None:
    """The integers found repeated by a sort are those a count of their codes finds."""
    column = np.array(values, dtype=np.int64)

    found = duplicates._repeated_integers(column)

    assert found.tolist() == duplicates._repeated(pd.factorize(column)[0]).tolist()
