"""The registration rules: names (with the transform that fixes them), addresses,
coordinates, tags, one name with two addresses, and groups larger than VIAS allows."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loader.check.registration import (
    Addressed,
    GroupPart,
    NameKind,
    address_conflicts,
    coordinate_problems,
    degrees,
    group_size_problems,
    name_fault,
    name_problem,
    split_group,
    stream_url_problem,
    tag_problems,
)
from loader.check.transforms import replace
from loader.model.choices import GroupSplit
from loader.model.problems import Place, Severity
from loader.sim.source_rules import GROUP_NAME, SOURCE_NAME

PLACE = Place("cams.xlsx", "Cameras", 7)


def test_the_issues_example_names_the_at_sign_and_its_transform() -> None:
    """'I-35 @ Ashworth Ave': '@' at fault, fixed by { replace = "@", with = "at" }."""
    fault = name_fault("I-35 @ Ashworth Ave", NameKind.SOURCE)

    assert fault is not None
    problem = name_problem(fault, PLACE, "Camera")
    assert fault.characters == ("@",)
    assert fault.transforms == ['{ replace = "@", with = "at" }']
    assert fault.fixed == "I-35 at Ashworth Ave"
    assert (problem.code, problem.severity, problem.row, problem.column) == (
        "source-name",
        Severity.ERROR,
        7,
        "Camera",
    )
    assert problem.message == (
        "camera name 'I-35 @ Ashworth Ave' may not hold '@' (VIAS takes letters, digits,"
        " Chinese, space and . - _ ( ) （ ）, 1 to 100, no space at either end)"
    )
    assert problem.fix == 'add to the column\'s transforms: { replace = "@", with = "at" }'


@pytest.mark.parametrize(
    ("name", "kind", "transforms"),
    [
        ("Cam 1/North", NameKind.SOURCE, ['{ replace = "/", with = "-" }']),
        ("Gate+Lot", NameKind.SOURCE, ['{ replace = "\\\\+", with = "plus" }']),
        ("Café", NameKind.SOURCE, ['{ replace = "é", with = "e" }']),
        ("北门，一号", NameKind.SOURCE, ['{ replace = "，", with = "-" }']),
        ("Site-1", NameKind.GROUP, ['{ replace = "\\\\-", with = "" }']),
        ("Site 1", NameKind.GROUP, ['{ replace = "\\\\ ", with = "" }']),
    ],
    ids=["slash", "plus-escaped", "accent", "chinese-comma", "group-dash", "group-space"],
)
def test_each_character_at_fault_gets_a_transform(
    name: str, kind: NameKind, transforms: list[str]
) -> None:
    """Regex specials are escaped (TOML-escaped again); groups drop what they cannot hold."""
    fault = name_fault(name, kind)

    assert fault is not None
    assert fault.transforms == transforms


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("东门 摄像头（一）_1.2-(b)", NameKind.SOURCE),
        ("x" * 100, NameKind.SOURCE),
        ("南门01", NameKind.GROUP),
        ("A" * 20, NameKind.GROUP),
    ],
    ids=["source-alphabet", "source-100", "group-chinese", "group-20"],
)
def test_names_within_the_rules_have_no_fault(name: str, kind: NameKind) -> None:
    """The documented alphabets and lengths pass."""
    assert name_fault(name, kind) is None


def test_length_outer_spaces_and_empty_are_faults_too() -> None:
    """Too long, a space at an end, or nothing: each said, with what to do."""
    long_group = name_fault("A" * 21, NameKind.GROUP)
    spaced = name_fault(" Gate", NameKind.SOURCE)
    empty = name_fault("", NameKind.SOURCE)

    assert long_group is not None
    assert spaced is not None
    assert empty is not None
    assert name_problem(long_group).fix == "shorten it to 20 characters"
    assert spaced.transforms == ['"strip"']
    assert name_problem(empty).fix == "fill in the camera name"


NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@given(NAMES)
def test_a_source_name_fault_agrees_with_the_simulators_reading(name: str) -> None:
    """No fault exactly when the simulator's pattern (written apart) takes the name."""
    assert (name_fault(name, NameKind.SOURCE) is None) == bool(SOURCE_NAME.fullmatch(name))


@given(NAMES)
def test_a_group_name_fault_agrees_with_the_simulators_reading(name: str) -> None:
    """The same for group names."""
    assert (name_fault(name, NameKind.GROUP) is None) == bool(GROUP_NAME.fullmatch(name))


@given(NAMES, st.sampled_from(list(NameKind)))
def test_the_transforms_leave_no_character_at_fault(name: str, kind: NameKind) -> None:
    """Run as the mapping would run them, the fixes leave only length (or emptiness)."""
    fault = name_fault(name, kind)
    if fault is None:
        return
    text = name
    for character, word in fault.replacements:
        text = replace(re.escape(character), word)(text)
    text = text.strip() if fault.outer_space else text
    after = name_fault(text, kind)

    assert text == fault.fixed
    assert after is None or (after.characters, after.outer_space) == ((), False)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("rtsp://10.0.0.1:554/Streaming/Channels/101", None),
        ("https://cams.example/live/4.m3u8", None),
        ("rtmp://media.example/live/cam4", None),
        ("rtsp://admin:${CAM_PW}@10.0.0.1/ch1", None),
        (
            "ftp://10.0.0.1/x",
            "must start with one of rtsp://, rtsps://, rtmp://, http://, https://",
        ),
        ("10.0.0.1:554/live", "must start with one of"),
        ("rtsp:///live", "names no host"),
        ("rtsp://10.0.0.1:99999/x", "does not parse"),
        ("rtsp://10.0.0.1/a b", "holds spaces"),
        ("rtsp://h/" + "a" * 900, "VIAS stores at most 900"),
    ],
    ids=[
        "rtsp",
        "hls",
        "rtmp",
        "reference",
        "ftp",
        "no-scheme",
        "no-host",
        "port",
        "space",
        "long",
    ],
)
def test_stream_addresses(address: str, problem: str | None) -> None:
    """Addresses that parse, with a host and a known scheme, fitting type_config."""
    found = stream_url_problem(address)

    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    ("latitude", "longitude", "problems"),
    [
        ("30.26745", "-97.74306", []),
        ("", "", []),
        ("91", "0", ["latitude '91' must be a number from -90 to 90"]),
        ("0", "-180.5", ["longitude '-180.5' must be a number from -180 to 180"]),
        ("N30", "0", ["latitude 'N30' must be a number from -90 to 90"]),
        ("30", "", ["give both latitude and longitude, or neither"]),
    ],
    ids=["austin", "none", "lat-range", "lon-range", "not-a-number", "lone"],
)
def test_coordinates(latitude: str, longitude: str, problems: list[str]) -> None:
    """In range, numbers, both or neither."""
    assert coordinate_problems(latitude, longitude) == problems


def test_degrees_are_text_with_at_most_five_decimals() -> None:
    """The API takes coordinates as text, -90.00000 to 90.00000."""
    assert [degrees("30.2674512"), degrees("-97"), degrees("1.50")] == ["30.26745", "-97", "1.5"]


def test_tags() -> None:
    """At most four, each 1-10 of letters, digits, Chinese, - and _."""
    assert tag_problems(["north", "gate-1"]) == []
    assert tag_problems(["a", "b", "c", "d", "toolongatag"]) == [
        "5 tags; VIAS takes at most 4",
        "tag 'toolongatag' must be 1 to 10 of letters, digits, Chinese, - and _",
    ]


def test_one_name_with_two_addresses_is_refused_at_its_second_row() -> None:
    """The same camera twice with one address is fine; with another, the later row errs."""
    rows = [
        Addressed("Gate A", "rtsp://h/1", Place("c.csv", "c", 2)),
        Addressed("Gate A", "rtsp://h/1", Place("c.csv", "c", 3)),
        Addressed("Gate A", "rtsp://h/2", Place("c.csv", "c", 4)),
    ]

    [problem] = address_conflicts(rows, column="URL")

    assert (problem.code, problem.row, problem.value) == ("address-conflict", 4, "rtsp://h/2")
    assert problem.message == (
        "camera 'Gate A' has stream address 'rtsp://h/2' here and 'rtsp://h/1' earlier (row 2)"
    )


def test_a_large_group_splits_into_numbered_groups_within_twenty_characters() -> None:
    """121 cameras: parts of 50, 50 and 21; numbers replace the name's end when needed."""
    members = [f"cam{n}" for n in range(121)]

    parts = split_group("A" * 20, members)

    assert [(p.name, len(p.members)) for p in parts] == [
        ("A" * 20, 50),
        ("A" * 19 + "2", 50),
        ("A" * 19 + "3", 21),
    ]
    assert split_group("Lobby", []) == [GroupPart("Lobby", ())]


def test_group_size_problems_follow_the_policy() -> None:
    """refuse: an error; split: noted, or an error when a part's name is a sheet group."""
    groups = {
        "Lobby": [f"c{n}" for n in range(51)],
        "Hall": ["c"],
        "Dock": ["d"] * 60,
        "Dock2": ["e"],
    }

    refused = group_size_problems(groups, GroupSplit.REFUSE)
    split = group_size_problems(groups, GroupSplit.SPLIT)

    assert [(p.code, p.severity, p.value) for p in refused] == [
        ("group-too-large", Severity.ERROR, "Lobby"),
        ("group-too-large", Severity.ERROR, "Dock"),
    ]
    assert [(p.code, p.severity, p.message) for p in split] == [
        ("group-split", Severity.INFO, "group 'Lobby' has 51 cameras: registered as Lobby, Lobby2"),
        (
            "group-split",
            Severity.ERROR,
            "group 'Dock' has 60 cameras: registered as Dock, Dock2;"
            " Dock2 is a group of the sheet already",
        ),
    ]
