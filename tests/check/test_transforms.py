"""Named transforms: day lists, time windows, ROI point lists, booleans, numbers, zones."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loader.check import transforms
from loader.check.transforms import TransformError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Mon-Fri", "1,2,3,4,5", id="range"),
        pytest.param("mon, wed ,FRI", "1,3,5", id="list"),
        pytest.param("1-5", "1,2,3,4,5", id="numbers"),
        pytest.param("6,7", "6,7", id="number-list"),
        pytest.param("Sat-Mon", "1,6,7", id="wraps-past-sunday"),
        pytest.param("Monday to Friday", "1,2,3,4,5", id="words"),
        pytest.param("weekdays", "1,2,3,4,5", id="weekdays"),
        pytest.param("Weekends", "6,7", id="weekends"),
        pytest.param("daily", "1,2,3,4,5,6,7", id="daily"),
        pytest.param("周一至周五", "1,2,3,4,5", id="chinese-range"),
        pytest.param("星期六、星期日", "6,7", id="chinese-list"),
        pytest.param("每天", "1,2,3,4,5,6,7", id="chinese-daily"),
        pytest.param("Mon-Wed, Fri", "1,2,3,5", id="range-and-day"),
        pytest.param("1,2,3,4,5", "1,2,3,4,5", id="canonical-is-fixed-point"),
    ],
)
def test_days(text: str, expected: str) -> None:
    """Day lists people write become the API's 1-7 list."""
    assert transforms.days(text) == expected


@pytest.mark.parametrize("text", ["Funday", "8", "Mon-Fri-Sun", "0-3", "-"])
def test_days_refuses_non_days(text: str) -> None:
    """A word that is not a day is an error that says how to write days."""
    with pytest.raises(TransformError) as caught:
        transforms.days(text)

    assert caught.value.fix.startswith("write days as Mon-Fri")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("08:00-18:00", "08:00:00-18:00:00", id="hh:mm"),
        pytest.param("8:00 - 18:00", "08:00:00-18:00:00", id="spaces"),
        pytest.param("08:00:00-18:00:00", "08:00:00-18:00:00", id="canonical"),
        pytest.param("8am-6pm", "08:00:00-18:00:00", id="am-pm"),
        pytest.param("12am-12pm", "00:00:00-12:00:00", id="midnight-noon"),
        pytest.param("22:00~24:00", "22:00:00-23:59:00", id="to-midnight"),
        pytest.param("22:00-06:00", "22:00:00-06:00:00", id="crosses-midnight"),
        pytest.param("08:00-12:00, 13:00-18:00", "08:00:00-12:00:00,13:00:00-18:00:00", id="two"),
        pytest.param(
            "08:00-12:00 13:00-18:00", "08:00:00-12:00:00,13:00:00-18:00:00", id="two-spaced"
        ),
        pytest.param("all day", "00:00:00-23:59:00", id="all-day"),
        pytest.param("全天", "00:00:00-23:59:00", id="chinese-all-day"),
        pytest.param("22:00:00-06:00:00", "22:00:00-06:00:00", id="canonical-crossing"),
    ],
)
def test_periods(text: str, expected: str) -> None:
    """Time windows become hh:mm:ss pairs; the end of the day is 23:59:00, as documented."""
    assert transforms.periods(text) == expected


@pytest.mark.parametrize("text", ["25:00-26:00", "08:00", "08:61-09:00", "soon-later", "8-9-10"])
def test_periods_refuses_non_windows(text: str) -> None:
    """A window that is not two times of day is an error that says how to write windows."""
    with pytest.raises(TransformError) as caught:
        transforms.periods(text)

    assert caught.value.fix.startswith("write windows as 08:00-18:00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "204,64;90,321;511,319",
            {"polygons": [{"data": [[204, 64], [90, 321], [511, 319]]}]},
            id="points",
        ),
        pytest.param("(10, 20) (30, 40)", {"lines": [{"data": [[10, 20], [30, 40]]}]}, id="line"),
        pytest.param(
            "1,2;3,4;5,6 | 7,8;9,10",
            {
                "polygons": [{"data": [[1, 2], [3, 4], [5, 6]]}],
                "lines": [{"data": [[7, 8], [9, 10]]}],
            },
            id="two-shapes",
        ),
        pytest.param(
            "[[0,0],[10,0],[10,10]]",
            {"polygons": [{"data": [[0, 0], [10, 0], [10, 10]]}]},
            id="json-points",
        ),
        pytest.param(
            "[[[0,0],[1,0],[1,1]],[[5,5],[6,6]]]",
            {
                "polygons": [{"data": [[0, 0], [1, 0], [1, 1]]}],
                "lines": [{"data": [[5, 5], [6, 6]]}],
            },
            id="json-shapes",
        ),
        pytest.param(
            '{ "polygons": [ {"data": [[1,2],[3,4],[5,6]], "name": "门口"} ] }',
            {"polygons": [{"data": [[1, 2], [3, 4], [5, 6]], "name": "门口"}]},
            id="api-json",
        ),
        pytest.param(
            "204.0,64.0;90,321;511,319",
            {"polygons": [{"data": [[204, 64], [90, 321], [511, 319]]}]},
            id="whole-floats",
        ),
    ],
)
def test_roi(text: str, expected: dict[str, object]) -> None:
    """Point lists become the API's compact ROI JSON string."""
    result = transforms.roi(text)

    assert (json.loads(result), " " in result.replace("门口", "")) == (expected, False)


@pytest.mark.parametrize(
    "text", ["10,20;30", "1,2", "[[1,2],[3,-4]]", "{bad json", "[[1.5,2],[3,4]]"]
)
def test_roi_refuses_malformed(text: str) -> None:
    """Odd counts, single points, negative or fractional pixels, broken JSON are errors."""
    with pytest.raises(TransformError):
        transforms.roi(text)


@given(st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 4000)), min_size=3, max_size=30))
def test_roi_points_round_trip(points: list[tuple[int, int]]) -> None:
    """Any polygon written as x,y;x,y;... comes back as exactly those points."""
    text = ";".join(f"{x},{y}" for x, y in points)

    assert json.loads(transforms.roi(text)) == {"polygons": [{"data": [list(p) for p in points]}]}


@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=300),
    st.sampled_from(["", " ", "0"]),
)
def test_roi_plain_points_read_as_any_point_text(points: list[tuple[int, int]], pad: str) -> None:
    """x,y;x,y text (the short way through) gives what the general reader gives, or its error:
    lines and polygons, zeros in front, spaces around, over the length limit."""
    text = pad + ";".join(f"{x},{y}" for x, y in points) + pad.strip("0")

    def general() -> str:
        shapes = transforms._text_shapes(text.strip())
        result = transforms._roi_json(shapes, text)
        if len(result) > transforms.MAX_ROI_CHARS:
            raise TransformError("too long")
        return result

    try:
        expected: str | type[TransformError] = general()
    except TransformError:
        expected = TransformError
    try:
        found: str | type[TransformError] = transforms.roi(text)
    except TransformError:
        found = TransformError

    assert found == expected


@given(st.sets(st.integers(1, 7), min_size=1))
def test_days_round_trip(days: set[int]) -> None:
    """Any set of days written as numbers comes back sorted, and is a fixed point."""
    text = ",".join(str(d) for d in sorted(days, reverse=True))
    expected = ",".join(str(d) for d in sorted(days))

    assert (transforms.days(text), transforms.days(expected)) == (expected, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", "true"),
        ("Y", "true"),
        ("1", "true"),
        ("是", "true"),
        ("No", "false"),
        ("0", "false"),
        ("", "false"),
    ],
)
def test_boolean(text: str, expected: str) -> None:
    """Yes/no words become true/false."""
    assert transforms.boolean(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("12.0", "12"), ("1,200", "1200"), (" 7 ", "7"), ("0012", "12")]
)
def test_integer(text: str, expected: str) -> None:
    """Numbers as Excel stores them become digits."""
    assert transforms.integer(text) == expected


@pytest.mark.parametrize("text", ["1.5", "abc"])
def test_integer_refuses(text: str) -> None:
    """Fractions and words are not whole numbers."""
    with pytest.raises(TransformError):
        transforms.integer(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("+8", "+08:00", id="+8"),
        pytest.param("UTC+8", "+08:00", id="UTC+8"),
        pytest.param("+0800", "+08:00", id="+0800"),
        pytest.param("GMT+08:00", "+08:00", id="old-GMT-spelling"),
        pytest.param("GMT-5:30", "-05:30", id="GMT-5:30"),
        pytest.param("utc", "+00:00", id="utc"),
        pytest.param("北京时间", "+08:00", id="beijing-time"),
        pytest.param("Asia/Shanghai", "Asia/Shanghai", id="zone"),
        pytest.param("europe/BERLIN", "Europe/Berlin", id="zone-any-case"),
        pytest.param("CST", "CST", id="word-with-a-warning-kept"),
    ],
)
def test_timezone(text: str, expected: str) -> None:
    """Offsets become the documented +hh:mm; zone names their IANA spelling, resolved later."""
    assert transforms.timezone(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("8", "'8' has no sign, so it could be east or west of UTC", id="no-sign"),
        pytest.param(
            "Mars/Base", "'Mars/Base' is neither a UTC offset nor a time zone name", id="unknown"
        ),
        pytest.param("+15", "'+15' is not a UTC offset between -12:00 and +14:00", id="plus-15"),
    ],
)
def test_timezone_refuses_with_the_fix(text: str, message: str) -> None:
    """A zone that is not an offset or a known name is an error that says how to write one."""
    with pytest.raises(TransformError) as caught:
        transforms.timezone(text)

    assert (str(caught.value), "+08:00" in caught.value.fix) == (message, True)


def test_value_map_ignores_case_and_spaces_and_strict_refuses_unknown() -> None:
    """A value map matches loosely; a strict one lists the known values when it misses."""
    mapper = transforms.value_map({"Smoke / Fire": "c-smoke"}, strict=True)

    assert mapper("smoke/fire") == "c-smoke"
    with pytest.raises(TransformError) as caught:
        mapper("Face Blur")
    assert caught.value.fix == "use one of: Smoke / Fire"


def test_lookup_and_zfill_and_affix_and_replace() -> None:
    """The table-driven transforms."""
    assert transforms.Lookup({"L1": "v1"}, source="ids.csv")("L1") == "v1"
    assert transforms.zfill(6)("123") == "000123"
    assert transforms.affix("cam-", "-x")("7") == "cam-7-x"
    assert transforms.replace(r"^CH(\d+)$", r"ch-\1")("CH12") == "ch-12"
    with pytest.raises(TransformError, match=r"'L2' is not in ids\.csv"):
        transforms.Lookup({"L1": "v1"}, source="ids.csv")("L2")


def test_a_long_value_is_shown_by_its_start_and_length() -> None:
    """An over-long cell is not repeated whole in the message: its first characters and length."""
    with pytest.raises(TransformError) as error:
        transforms.roi("x" * 2049)

    assert str(error.value.args[0]) == (
        "no ROI points in 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'… (2,049 characters)"
    )
