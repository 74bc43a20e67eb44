"""Transforms over a whole column give, value for value and error for error, what the
transforms give one value at a time."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from loader.check import column_steps, columnwise, transforms
from loader.check.codes import ColumnCodes
from loader.check.mapping import INTRINSIC, ColumnSpec
from loader.check.transforms import TransformError

# Texts near the shapes the column forms look for, and far from them: digits (ASCII and
# not), the points' punctuation, spaces of every kind, the separator, cased letters.
_NEAR = st.text(
    alphabet=st.sampled_from(list("0123456789,,;;; \t\u3000\x00\x1f٣Σσİß'aZ\n|[]{}")),
    max_size=14,
)
_POINTS = st.lists(
    st.tuples(st.integers(0, 2_000), st.integers(0, 2_000)), min_size=1, max_size=6
).map(lambda points: ";".join(f"{x},{y}" for x, y in points))
# Texts made of numbers (a zero in front at times, or none): points "x,y" apart by ";",
# and numbers apart by "," and ";" in any order: plain points and the near misses a
# check of the whole column must still see.
_NUMBER = st.from_regex(r"0|[1-9][0-9]{0,3}|0[0-9]{1,2}|", fullmatch=True)
_NEARLY_POINTS = st.one_of(
    st.lists(st.tuples(_NUMBER, _NUMBER), min_size=1, max_size=5).map(
        lambda points: ";".join(f"{x},{y}" for x, y in points)
    ),
    st.lists(st.tuples(_NUMBER, st.sampled_from(",;")), min_size=1, max_size=6).map(
        lambda parts: "".join(n + p for n, p in parts)[:-1]
    ),
)
_TEXT = st.one_of(_NEAR, _POINTS, st.text(max_size=10))
_COLUMN = st.lists(_TEXT, max_size=40).flatmap(
    lambda texts: st.lists(st.sampled_from(texts), max_size=60) if texts else st.just([])
)  # repeated values, as a column of groups has them

_STEPS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "strip": str.strip,
    "number": transforms.number_text,
    "roi": transforms.roi,
    "int": transforms.integer,
    "map": transforms.value_map({"1,2;3,4": "", "a": "B"}, strict=True),
    "extract": transforms.extract(r"(\d+)"),
    "zfill": transforms.zfill(4),
    "lookup": transforms.Lookup({"a": "b", "b": "", "1,2;3,4": "L", "0": "zero"}, source="t.csv"),
}


def _one_by_one(
    values: list[str], steps: list[Callable[[str], str]]
) -> tuple[list[str], list[tuple[int, str, str]]]:
    """The definition: each value through every step while it is not empty."""
    results, errors = [], []
    for position, value in enumerate(values):
        text = value
        try:
            for step in steps:
                if text:
                    text = step(text)
        except TransformError as exc:
            errors.append((position, str(exc), exc.fix))
            text = ""
        results.append(text)
    return results, errors


def _column(values: list[str]) -> np.ndarray:
    """Values as the object column a mapped sheet holds."""
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(_NEAR, _POINTS, _NEARLY_POINTS).filter(bool), min_size=1, max_size=30)
    | st.lists(st.one_of(_POINTS, _NEARLY_POINTS).filter(bool), min_size=1, max_size=4)
)
def test_plain_rois_are_what_roi_gives(texts: list[str]) -> None:
    """Every ROI the column form gives is roi's own, and it leaves no plain text out."""
    results, done = columnwise.plain_rois(_column(texts))

    joinable = "\x00" not in "".join(texts)
    for text, result, given_here in zip(texts, results, done, strict=True):
        plain = transforms.PLAIN_POINTS.fullmatch(text) is not None and text.isascii()
        assert given_here == (plain and joinable)
        if given_here:
            assert result == transforms.roi(text)


@given(
    st.binary(max_size=30).map(lambda b: bytes(c % 4 + ord("a") for c in b)),
    st.lists(st.binary(min_size=1, max_size=3).map(lambda b: bytes(c % 5 + ord("a") for c in b))),
)
def test_holds_is_any_pattern_in_the_text(text: bytes, patterns: list[bytes]) -> None:
    """The patterns found by comparing bytes at offsets are those ``in`` finds."""
    assert columnwise._holds(text, tuple(patterns)) == any(p in text for p in patterns)


def test_plain_points_too_long_for_the_api_are_left_to_roi() -> None:
    """Plain points whose JSON is over the API's limit are left to roi, which refuses
    them with its own message."""
    long = ";".join(f"{n},{n}" for n in range(1_000, 1_200))
    _, done = columnwise.plain_rois(_column([long, "1,2;3,4"]))

    assert done.tolist() == [False, True]
    with pytest.raises(TransformError, match="characters as JSON"):
        transforms.roi(long)


@pytest.mark.parametrize(
    "text",
    [
        "00,1;2,3",
        "01,1;2,3",
        "1,2;3,04",
        "1,2;3,0",
        "0,0;0,0",
        "1,2",
        "1",
        "1,2;3",
        "1;2,3,4",
        ",1,2;3,4",
        "1,2;3,4;",
        "1,,2;3,4",
        "1,2;;3,4",
        "1,2;3,4,5;6,7",
        "1,2;3;4,5",
        "1;2,3;4",
        "1;2,3;4,5",
        "1,2;3,4\n5,6;7,8",
        "1,2;3,٤",
        " 1,2;3,4",
    ],
)
@pytest.mark.parametrize("beside", [[], ["5,6;7,8;9,10"]], ids=["alone", "beside-plain"])
def test_near_misses_of_plain_points_are_roi_own(text: str, beside: list[str]) -> None:
    """A near miss of plain points, alone or beside plain points, gets roi's own answer."""
    texts = [*beside, text, *beside]

    results, done = columnwise.plain_rois(_column(texts))

    for position, value in enumerate(texts):
        if done[position]:
            assert results[position] == transforms.roi(value)
    plain = transforms.PLAIN_POINTS.fullmatch(text) is not None and text.isascii()
    assert done[len(beside)] == plain


def test_a_column_holding_the_separator_is_left_to_roi() -> None:
    """A value holding the separator keeps the column from being joined: roi takes all."""
    _, done = columnwise.plain_rois(_column(["1,2;3,4", "5,6;7,8\x00"]))

    assert not done.any()


@pytest.mark.parametrize("name", ["lower", "upper", "strip", "number"])
@given(texts=st.lists(st.one_of(_NEAR, st.text()).filter(bool), min_size=1, max_size=30))
@example(texts=["abc", "a\x1c"])
@example(texts=["\x85a", "b"])
@example(texts=["ab", "ΑΣ", "ς"])
@example(texts=["ab"] * 70 + ["Ab"])
def test_unchanged_only_when_every_value_stays(name: str, texts: list[str]) -> None:
    """``unchanged`` holds exactly when the step leaves each value as it is (or the
    column holds the separator: then it is not known, and the step runs)."""
    step = _STEPS[name]

    expected = all(step(t) == t for t in texts) and (
        name in ("strip", "number") or "\x00" not in "".join(texts)
    )
    assert columnwise.unchanged(step, _column(texts)) == expected


def test_final_sigma_keeps_its_form_across_the_separator() -> None:
    """Lower-casing the joined column gives each value's own final sigma (the separator
    ends a word as the end of a value does)."""
    texts = ["ΑΣ", "Σ", "ΑΣ'", "'Σ"]

    assert columnwise.unchanged(str.lower, _column([t.lower() for t in texts]))
    assert [t.lower() for t in texts] == columnwise.SEPARATOR.join(texts).lower().split("\x00")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=_COLUMN,
    names=st.lists(st.sampled_from(sorted(_STEPS)), min_size=1, max_size=3),
)
def test_applied_over_a_column_is_each_value_one_by_one(
    values: list[str], names: list[str]
) -> None:
    """Steps over a column (the path of a column of ids) give each value's result and
    each failing value's error, in row order, as one value at a time does."""
    steps = [_STEPS[n] for n in names]
    texts = [v for v in values if v]

    results, failures = column_steps.applied(_column(texts), steps)

    expected, errors = _one_by_one(texts, steps)
    assert results.tolist() == expected
    assert [(p, *failures[p]) for p in sorted(failures)] == errors


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=_COLUMN,
    transforms_=st.lists(st.sampled_from(["lower", "upper", "strip", "int"]), max_size=2),
    intrinsic=st.sampled_from([None, "target_roi", "latitude", "days_of_week"]),
)
def test_transform_is_each_cell_one_by_one(
    values: list[str], transforms_: list[str], intrinsic: str | None
) -> None:
    """A field's transforms and its own parser, over a column with repeats and empty
    cells, give what each cell gives alone, with the same errors on the same rows."""
    spec = ColumnSpec(column="x", transforms=transforms_)
    parse = INTRINSIC[intrinsic] if intrinsic else None
    steps = [transforms.SIMPLE[t] for t in transforms_] + ([parse] if parse else [])

    results, errors = column_steps.transform(
        pd.Series(values, dtype=object), spec, {}, parse, ColumnCodes()
    )

    expected, expected_errors = _one_by_one(values, steps)
    assert list(results) == expected
    assert errors == expected_errors


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=_COLUMN,
    transforms_=st.lists(st.sampled_from(["lower", "upper", "strip", "int"]), max_size=2),
)
def test_transform_of_a_column_with_known_codes_is_each_cell_one_by_one(
    values: list[str], transforms_: list[str]
) -> None:
    """A column already factorized (a group column is, before its transforms) has the
    steps it leaves unchanged told from its distinct values: the same results and errors."""
    column = _column(values)
    codes = ColumnCodes()
    codes.of(column)
    spec = ColumnSpec(column="x", transforms=transforms_)
    steps = [transforms.SIMPLE[t] for t in transforms_]

    results, errors = column_steps.transform(pd.Series(column, copy=False), spec, {}, None, codes)

    expected, expected_errors = _one_by_one(values, steps)
    assert list(results) == expected
    assert errors == expected_errors


def test_a_column_of_ids_already_lower_case_is_kept_as_it_is() -> None:
    """``lower`` on ids already in lower case is known in C: the column comes back as it
    was, its strings shared rather than copied."""
    values = _column([f"id-{n:05d}" for n in range(20_000)])

    results, errors = column_steps.transform(
        pd.Series(values, copy=False),
        ColumnSpec(column="x", transforms=["lower"]),
        {},
        None,
        ColumnCodes(),
    )

    assert (results is values, errors) == (True, [])


def test_a_column_of_distinct_rois_with_a_bad_one_reports_it_on_its_row() -> None:
    """A column of distinct ROIs (taken as ids are, without a table of distinct values)
    gives each one's JSON and the error of the one roi refuses, on its row."""
    values = [f"{n},1;{n},2;{n},3" if n != 17_000 else "1,2;3" for n in range(20_000)]
    values[5] = "4,5;6,7"

    results, errors = column_steps.transform(
        pd.Series(values, dtype=object), ColumnSpec(column="x"), {}, transforms.roi, ColumnCodes()
    )

    expected, expected_errors = _one_by_one(values, [transforms.roi])
    assert (list(results), errors) == (expected, expected_errors)
    assert results[5] == '{"lines":[{"data":[[4,5],[6,7]]}]}'


@pytest.mark.parametrize(
    ("last", "expected"),
    [pytest.param("id-z", True, id="all-lower"), pytest.param("ID-Z", False, id="last-upper")],
)
def test_unchanged_looks_at_every_slice_of_a_long_column(last: str, expected: bool) -> None:
    """A column longer than one slice is checked to its last value (the first values and
    the first slice alone would not see it)."""
    texts = _column([f"id-{n}" for n in range(70_000)] + [last])

    assert columnwise.unchanged(str.lower, texts) is expected


def test_a_column_of_distinct_keys_is_looked_up_with_the_missing_one_refused() -> None:
    """A lookup over a column of distinct legacy ids gives each one's id, and the error of
    the one the table lacks on its row, as one value at a time does."""
    table = {f"L{n}": f"cam-{n:05d}" for n in range(20_000)}
    values = [f"L{n}" for n in range(20_000)]
    values[123] = "L-missing"
    step = transforms.Lookup(table, source="ids.csv (legacy_id)")

    results, errors = column_steps.transform(
        pd.Series(values, dtype=object), ColumnSpec(column="x"), {}, step, ColumnCodes()
    )

    expected, expected_errors = _one_by_one(values, [step])
    assert (list(results), errors) == (expected, expected_errors)
    assert errors[0][:2] == (123, "'L-missing' is not in ids.csv (legacy_id)")
