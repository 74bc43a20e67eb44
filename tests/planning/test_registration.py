"""Registration planned against the project's listings: found, created, joined, rejected,
the quota, the plan's counts and bodies, and the ids filled into the camera rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loader.check.load import load
from loader.errors import ConfigError
from loader.model.problems import Place
from loader.model.registering import SheetGroup, SheetRegistration, SourceRow
from loader.model.sources import UrlStream
from loader.planning.registration import check_quota, fill_ids, plan_registration
from loader.send.registry import GroupIndex, ListedGroup, ListedSource, SourceIndex, resolve
from tests.conftest import SAMPLES


def _row(n: int, name: str, group: str = "Yard", *, address: bool = True) -> SourceRow:
    """A camera row of sheet 'Cams' at Excel row n + 2."""
    stream = UrlStream(f"rtsp://10.0.0.{n}/live") if address else None
    return SourceRow(n, Place("cams.csv", "Cams", n + 2), name, group_name=group, stream=stream)


def _sheet(rows: list[SourceRow]) -> SheetRegistration:
    """The registration of these rows, their groups gathered."""
    members: dict[str, list[str]] = {}
    for row in rows:
        members.setdefault(row.group_name, []).append(row.name)
    return SheetRegistration(
        tuple(rows), tuple(SheetGroup(g, tuple(m)) for g, m in members.items())
    )


def _sources(*listed: ListedSource, quota: int | None = 5000) -> SourceIndex:
    return SourceIndex({s.name: s for s in listed}, len(listed), quota)


def _groups(*listed: ListedGroup, quota: int | None = None) -> GroupIndex:
    by_name: dict[str, list[ListedGroup]] = {}
    for group in listed:
        by_name.setdefault(group.name, []).append(group)
    return GroupIndex(by_name, quota)


def test_a_camera_the_project_lacks_without_an_address_is_rejected_in_words() -> None:
    """The issue's words: register it in the console, or add a stream address column."""
    plan = plan_registration(
        _sheet([_row(0, "Lobby", address=False)]), _sources(), _groups(), project="p-17"
    )

    assert [(p.row, p.code, p.message) for p in plan.rejections] == [
        (
            2,
            "not-in-project",
            "camera 'Lobby' is not in project p-17: register it in the console, or add a"
            " stream address column so bulkload registers it",
        )
    ]
    assert (plan.sources, plan.rejected_rows) == ((), frozenset({0}))


@given(
    cameras=st.lists(
        st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=30
    )  # (in the project, has an address)
)
def test_every_named_camera_is_found_created_or_rejected_exactly_once(
    cameras: list[tuple[bool, bool]],
) -> None:
    """Each name lands in one of found, created or rejected, by what the project and the
    row hold; the counts say as much."""
    rows = [_row(n, f"Cam {n}", address=has) for n, (_, has) in enumerate(cameras)]
    listed = [ListedSource(f"src-{n:04d}", f"Cam {n}") for n, (i, _) in enumerate(cameras) if i]
    plan = plan_registration(_sheet(rows), _sources(*listed), _groups(), project="p")

    found = set(plan.found_sources)
    created = {s.name for s in plan.sources}
    rejected = {p.value for p in plan.rejections}
    expected_found = {f"Cam {n}" for n, (i, _) in enumerate(cameras) if i}
    expected_created = {f"Cam {n}" for n, (i, has) in enumerate(cameras) if not i and has}
    assert (found, created, rejected, plan.counts()["video_sources"]) == (
        expected_found,
        expected_created,
        {f"Cam {n}" for n, _ in enumerate(cameras)} - expected_found - expected_created,
        len(expected_created),
    )


def test_a_group_name_two_groups_share_is_rejected_naming_both_ids() -> None:
    """A name shared by two groups is never guessed between: its rows are rejected."""
    plan = plan_registration(
        _sheet([_row(0, "Gate")]),
        _sources(),
        _groups(ListedGroup("grp-a1", "Yard"), ListedGroup("grp-b2", "Yard")),
        project="p",
    )

    assert [(p.code, p.message) for p in plan.rejections] == [
        ("shared-group-name", "group 'Yard' is the name of 2 groups in project p (grp-a1, grp-b2)")
    ]
    assert (plan.groups, plan.sources) == ((), ())


def test_an_existing_group_gets_its_whole_membership_with_created_and_joining() -> None:
    """UpdateVideoGroup replaces the list: current members, the created and the joining."""
    sources = _sources(
        ListedSource("src-old1", "Old", group_ids=("grp-yard",)),
        ListedSource("src-gate", "Gate"),
    )
    plan = plan_registration(
        _sheet([_row(0, "Gate"), _row(1, "Dock")]),
        sources,
        _groups(ListedGroup("grp-yard", "Yard")),
        project="p",
    )

    (join,) = plan.joins
    update = join.update({"Gate": "src-gate", "Dock": "src-dock"})
    assert update.video_source_ids == ("src-old1", "src-dock", "src-gate")
    assert plan.sources[0].body({}).video_group_ids == ("grp-yard",)
    assert plan.lines() == ["+ 1 video source", "~ 1 camera joining a group"]


def test_existing_cameras_join_a_new_group_in_its_create() -> None:
    """A group the project lacks is created with the existing sources already in it; a
    new source's body names the group by ${group:NAME} until its id is known."""
    plan = plan_registration(
        _sheet([_row(0, "Gate"), _row(1, "Dock")]),
        _sources(ListedSource("src-gate", "Gate")),
        _groups(),
        project="p",
    )

    bodies = plan.bodies()
    assert bodies["create_video_groups"] == [
        {"video_group_name": "Yard", "access_type": "cloud", "video_source_ids": ["src-gate"]}
    ]
    assert bodies["create_video_sources"][0]["video_group_ids"] == ["${group:Yard}"]
    assert plan.sources[0].body({"Yard": "grp-new"}).video_group_ids == ("grp-new",)
    assert plan.counts() == {"video_sources": 1, "groups": 1, "cameras_joining_groups": 1}


def test_a_group_grown_past_fifty_rejects_the_rows_that_grow_it() -> None:
    """48 members and 3 new cameras: the 3 rows are rejected, naming the numbers."""
    members = [ListedSource(f"src-{n:04d}", f"Old {n}", group_ids=("grp-yard",)) for n in range(48)]
    plan = plan_registration(
        _sheet([_row(n, f"New {n}") for n in range(3)]),
        _sources(*members),
        _groups(ListedGroup("grp-yard", "Yard")),
        project="p",
    )

    assert (len(plan.rejections), plan.sources, plan.rejected_rows) == (
        3,
        (),
        frozenset({0, 1, 2}),
    )
    assert "has 48 sources; with this sheet's it would have 51" in plan.rejections[0].message


@pytest.mark.parametrize(
    ("total", "creates", "passes"),
    [pytest.param(4998, 2, True, id="at-quota"), pytest.param(4999, 2, False, id="over")],
)
def test_the_quota_is_checked_before_any_create(total: int, creates: int, passes: bool) -> None:
    """Total + planned creates over quota_number: a ConfigError naming the three numbers."""
    sources = SourceIndex({}, total, 5000)
    plan = plan_registration(
        _sheet([_row(n, f"Cam {n}") for n in range(creates)]), sources, _groups(), project="p"
    )

    if passes:
        check_quota(plan, sources, _groups())
        return
    with pytest.raises(ConfigError) as caught:
        check_quota(plan, sources, _groups())
    assert caught.value.message == (
        "project p holds 4,999 video sources and the plan registers 2 more, over its quota of 5,000"
    )


def test_a_second_plan_of_a_registered_sheet_has_nothing_to_do() -> None:
    """Every camera in the project and in its group: nothing to create or join."""
    plan = plan_registration(
        _sheet([_row(0, "Gate")]),
        _sources(ListedSource("src-gate", "Gate", group_ids=("grp-yard",))),
        _groups(ListedGroup("grp-yard", "Yard")),
        project="p",
    )

    assert (plan.empty, plan.lines(), plan.found_sources) == (True, [], {"Gate": "src-gate"})


def test_ids_are_filled_into_the_camera_rows_and_the_rejected_dropped(tmp_path: Path) -> None:
    """The stream list: found and registered ids in every camera and row; a rejected row
    leaves the cameras; a sheet's secret stays a reference in the bodies."""
    checked = load(SAMPLES / "stream_list.csv").checked
    assert checked.registration is not None
    plan = plan_registration(
        checked.registration,
        _sources(ListedSource("src-street1", "Demo Street 1")),
        _groups(),
        project="p",
    )
    ids = {**plan.found_sources, **{s.name: f"src-new{n}" for n, s in enumerate(plan.sources)}}
    filled = fill_ids(
        checked, sources=ids, groups={"bulkload": "grp-demo"}, rejected=frozenset({7})
    )

    assert [(c.video_source_id, c.group) for c in filled.cameras[:2]] == [
        ("src-street1", "grp-demo"),
        ("src-new0", "grp-demo"),
    ]
    assert (len(filled.cameras), filled.count("rejected"), filled.rows["group"].iat[0]) == (
        7,
        1,
        "grp-demo",
    )


def test_a_sheet_secret_is_filled_only_when_sent() -> None:
    """A body holds the reference; the sender's resolve fills it from the table."""
    checked = load(SAMPLES / "ivms4200_devices.csv").checked
    assert checked.registration is not None
    plan = plan_registration(checked.registration, _sources(), _groups(), project="p")
    content = plan.sources[0].body({"ivms4200": "grp-1"}).content()

    sent, used = resolve(content, dict(checked.secrets))
    assert (b"Hik299981" in content, b"Hik299981%21@192.168.1.64" in sent, sorted(used)) == (
        False,
        True,
        ["Hik299981!", "Hik299981%21"],
    )
