"""The Groups sheet's counts over columns give exactly the frame the groupby gave."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loader.check.codes import Factorized, narrowed
from loader.model.cameras import STATUSES
from loader.report.groups import NUMBER_COLUMNS, GroupCodes, camera_counts, segment_pairs

NAN = float("nan")


def counted_by_groupby(
    groups: np.ndarray, names: np.ndarray | None, statuses: np.ndarray
) -> pd.DataFrame:
    """The reference: ``_camera_counts`` as it was, a groupby of (group, status) pairs."""
    frame = pd.DataFrame({"Group ID": groups, "Status": statuses})
    if names is not None:
        frame["Group Name"] = names
    table = (
        frame.groupby(["Group ID", "Status"], sort=True)
        .size()
        .unstack(fill_value=0)
        .reindex(columns=list(STATUSES), fill_value=0)
    )
    table.columns.name = None
    table.insert(0, "Cameras", table.sum(axis=1))
    table = table.reset_index()
    if "Group Name" in frame:
        first = frame.drop_duplicates("Group ID").set_index("Group ID")["Group Name"]
        table.insert(1, "Group Name", table["Group ID"].map(first).fillna(""))
    return table


GROUP = st.one_of(
    st.sampled_from(["grp-1", "grp-2", "g", "", "Grp-1", "中"]),
    st.text(max_size=3),
    st.none(),
)
NAME = st.one_of(st.sampled_from(["north", "", "=1+1"]), st.none(), st.just(NAN), st.integers())
STATUS = st.one_of(st.sampled_from(STATUSES), st.just("unheard-of"), st.none())


# names all missing are a float column filled with "": pandas warns, then and now
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(GROUP, NAME, STATUS), min_size=1, max_size=40),
    st.booleans(),
)
def test_counts_over_codes_equal_the_groupby(
    rows: list[tuple[str | None, object, str | None]], named: bool
) -> None:
    """Any mix of groups (texts, as mapped cells are, or missing), names (empty, missing, numbers) and statuses (missing,
    unknown): the same frame, values, dtypes, order and index."""
    groups = np.array([g for g, _, _ in rows], dtype=object)
    names = np.array([n for _, n, _ in rows], dtype=object) if named else None
    statuses = np.array([s for _, _, s in rows], dtype=object)

    expected = counted_by_groupby(groups, names, statuses)

    pd.testing.assert_frame_equal(camera_counts(groups, names, statuses), expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(GROUP, st.integers(-2, 2)), STATUS), min_size=1, max_size=20))
def test_numbers_among_the_groups_count_the_same(rows: list[tuple[object, str | None]]) -> None:
    """Group ids that are not all texts (no mapped column gives them): the same counts in the
    same order (pandas' own order when numbers and texts mix); the id column's dtype is
    left to pandas' inference, which a groupby made over other values."""
    groups = np.array([g for g, _ in rows], dtype=object)
    statuses = np.array([s for _, s in rows], dtype=object)

    expected = counted_by_groupby(groups, None, statuses)

    actual = camera_counts(groups, None, statuses)
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)


@pytest.mark.parametrize(
    ("groups", "statuses"),
    [
        (["b", "a", "b", "a", "c"], ["loaded", "failed", "loaded", "loaded", "rejected"]),
        (["a", None, "b", NAN], ["loaded", "loaded", None, "failed"]),
        (["a", "b"], ["unheard-of", "loaded"]),
    ],
    ids=["sorted-by-id", "missing-group-or-status", "unknown-status-only"],
)
def test_edge_cases_count_as_the_groupby_did(groups: list[object], statuses: list[object]) -> None:
    """Rows without a group or a status count nowhere; a group whose rows are all in an
    unknown status stays, with no camera; ids come out sorted."""
    group_ids = np.array(groups, dtype=object)
    names = np.array([f"name of {g}" for g in groups], dtype=object)
    status_column = np.array(statuses, dtype=object)

    actual = camera_counts(group_ids, names, status_column)

    pd.testing.assert_frame_equal(actual, counted_by_groupby(group_ids, names, status_column))


def test_exact_counts_of_groups_of_one_and_two() -> None:
    """Three groups: each one's cameras, by status, in id order, with the first row's name."""
    groups = np.array(["g2", "g1", "g1", "g3", "g3"], dtype=object)
    names = np.array(["two", "one", "one again", "", None], dtype=object)
    statuses = np.array(["loaded", "failed", "loaded", "rejected", "rejected"], dtype=object)

    table = camera_counts(groups, names, statuses)

    zero = dict.fromkeys(STATUSES, 0)
    assert table.to_dict("records") == [
        {"Group ID": "g1", "Group Name": "one", "Cameras": 2, **zero, "loaded": 1, "failed": 1},
        {"Group ID": "g2", "Group Name": "two", "Cameras": 1, **zero, "loaded": 1},
        {"Group ID": "g3", "Group Name": "", "Cameras": 2, **zero, "rejected": 2},
    ]


TEXT_GROUP = st.sampled_from(["grp-1", "grp-2", "g", "", "Grp-1", "中", "b", "a"])
KNOWN_STATUS = st.one_of(st.sampled_from(STATUSES), st.just("unheard-of"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(TEXT_GROUP, st.one_of(STATUS, KNOWN_STATUS)), min_size=1, max_size=40))
def test_codes_from_the_loads_factorization_count_the_same(
    rows: list[tuple[str, str | None]],
) -> None:
    """Groups numbered from the factorization a load made of the column (first-seen
    order, narrow codes): the very frame hashing them here gives."""
    groups = np.array([g for g, _ in rows], dtype=object)
    statuses = np.array([s for _, s in rows], dtype=object)
    codes, distinct = pd.factorize(groups)
    known = Factorized(narrowed(codes, len(distinct)), distinct)

    counted = GroupCodes.of(groups, None, known).counts(statuses)

    pd.testing.assert_frame_equal(counted, camera_counts(groups, None, statuses))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(TEXT_GROUP, KNOWN_STATUS), min_size=1, max_size=40),
    st.integers(1, 5),
)
def test_a_segments_counts_are_the_whole_tables_rows(
    rows: list[tuple[str, str]], segment_rows: int
) -> None:
    """Every camera row with a status: the layout has the table's rows, and each segment
    of it, counted from its groups' camera rows alone, has the table's counts."""
    groups = np.array([g for g, _ in rows], dtype=object)
    statuses = np.array([s for _, s in rows], dtype=object)
    codes = GroupCodes.of(groups, None)
    table = codes.counts(statuses)
    layout = codes.layout()
    shown = codes.named()
    cameras, segment = segment_pairs(codes, shown, segment_rows)

    assert layout["Group ID"].tolist() == table["Group ID"].tolist()
    assert (layout[list(NUMBER_COLUMNS)] == 0).all().all()
    for index, start in enumerate(range(0, len(layout), segment_rows)):
        mine = cameras[segment == index]
        stop = start + segment_rows
        counts = codes.segment_counts(mine, statuses[mine], shown[start:stop])
        expected = table[list(NUMBER_COLUMNS)].iloc[start:stop].to_numpy().T
        np.testing.assert_array_equal(counts, expected)


def test_segment_pairs_count_a_group_on_each_of_its_rows() -> None:
    """A group on two rows of the sheet (segments 0 and 1) counts its cameras on both; a
    row of no camera's group (-1) counts none."""
    codes = GroupCodes.of(np.array(["b", "a", "b", "c"], dtype=object), None)

    cameras, segment = segment_pairs(codes, np.array([1, -1, 0, 1]), 2)

    assert sorted(zip(cameras.tolist(), segment.tolist(), strict=True)) == [
        (0, 0),
        (0, 1),
        (1, 1),
        (2, 0),
        (2, 1),
    ]
    counts = codes.segment_counts(
        np.array([0, 2]), np.array(["loaded", "failed"], dtype=object), np.array([1, -1])
    )
    assert counts[:, 0].tolist() == [2, *(1 if s in ("loaded", "failed") else 0 for s in STATUSES)]
    assert counts[:, 1].tolist() == [0] * (len(STATUSES) + 1)


# names all missing are a float column filled with "": pandas warns, then and now
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(TEXT_GROUP, NAME, STATUS), min_size=1, max_size=40))
def test_names_from_the_loads_factorization_are_the_first_rows(
    rows: list[tuple[str, object, str | None]],
) -> None:
    """Each group's name from its first row, found from the load's codes (no hashing):
    the frame hashing the groups gives, names of any kind."""
    groups = np.array([g for g, _, _ in rows], dtype=object)
    names = np.array([n for _, n, _ in rows], dtype=object)
    statuses = np.array([s for _, _, s in rows], dtype=object)
    codes, distinct = pd.factorize(groups)
    known = Factorized(narrowed(codes, len(distinct)), distinct)

    counted = GroupCodes.of(groups, names, known).counts(statuses)

    pd.testing.assert_frame_equal(counted, camera_counts(groups, names, statuses))
