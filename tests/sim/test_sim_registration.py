"""
The simulator's video source and group calls, as ``vias-sources-groups.md`` documents them:
bodies checked by the DTOs' rules, unique source names, quotas, membership replaced by
UpdateVideoGroup, faults on each registering call, and the ``registered_only`` option.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from loader.sim import SimConfig, create_app
from loader.sim.app import new_state
from tests.sim.test_sim_contract import BATCHES, NOW, PROJECT, TOKEN, send
from tests.sim.test_sim_mutations import Clock, body, create

SOURCE = f"/v2/{PROJECT}/source"
SOURCES = f"/v2/{PROJECT}/source/sources"
GROUP = f"/v2/{PROJECT}/video-group"
GROUPS = f"/v2/{PROJECT}/video-group/groups"
URL_XML = "<type>URL</type><config><URL_ADDRESS>rtsp://10.0.0.1/ch1</URL_ADDRESS></config>"
ZH_XML = "<type_config><url_address>rtsp://10.0.0.2/ch1</url_address></type_config>"
VCN_XML = (
    "<type>VCN</type><config><DATA_SOURCE_ID>7</DATA_SOURCE_ID><STREAM_TYPE>1</STREAM_TYPE>"
    "<IP>10.0.0.9</IP><PORT>9900</PORT><USER_NAME>admin</USER_NAME>"
    "<PASSWORD>s3cret</PASSWORD></config>"
)


def sim(clock: Clock, **changes: Any) -> Starlette:
    """An app on ``clock`` whose tasks all start."""
    config = SimConfig(**{"start_fail_percent": 0, "wall_clock": NOW.timestamp, **changes})
    return create_app(config, new_state(config, clock=clock))


def source_body(name: str = "Gate A", **changes: Any) -> dict[str, Any]:
    """A valid CreateVideoSource body of a url source."""
    return {
        "video_source_name": name,
        "access_type": "cloud",
        "type": "url",
        "type_config": URL_XML,
        **changes,
    }


def new_source(app: Starlette, name: str = "Gate A", **changes: Any) -> str:
    """Register a source; its id."""
    answer = send(app, "POST", SOURCE, headers=TOKEN, body=source_body(name, **changes))
    assert answer.status_code == 200, answer.text
    assert list(answer.json()) == ["video_source_id"]
    return str(answer.json()["video_source_id"])


def new_group(app: Starlette, name: str = "Lobby", **changes: Any) -> str:
    """Register a group; its id."""
    request = {"video_group_name": name, "access_type": "cloud", **changes}
    answer = send(app, "POST", GROUP, headers=TOKEN, body=request)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["video_group_id"])


def refusal(answer: httpx.Response) -> tuple[int, str]:
    """Status and VIAS code of an error answer."""
    return answer.status_code, answer.json()["error_code"]


def listed(app: Starlette, path: str, key: str, **params: str) -> dict[str, Any]:
    """One list answer (200 asserted)."""
    answer = send(app, "GET", path, headers=TOKEN, params=params)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    assert key in found
    return found


def test_a_created_source_shows_in_detail_and_list_with_its_groups() -> None:
    """CreateVideoSource into a group: ShowVideoSourceDetail has no id, the list has all."""
    clock = Clock()
    app = sim(clock)
    group = new_group(app, description="front")
    clock.now = 101.0
    source = new_source(app, video_group_ids=[group], latitude="31.5", tag=["gate"])

    detail = send(app, "GET", f"{SOURCES}/{source}", headers=TOKEN).json()
    items = listed(app, SOURCES, "video_source_list", video_group_id=group)

    assert detail["video_source_name"] == "Gate A"
    assert "video_source_id" not in detail
    assert (detail["stream_path"], detail["latitude"], detail["tag"]) == (
        "rtsp://10.0.0.1/ch1",
        "31.5",
        ["gate"],
    )
    assert detail["create_at"] == 101000
    assert [p["video_group_id"] for p in detail["video_packages"]] == [group]
    assert detail["video_packages"][0]["num_video_source"] == 1
    assert [i["video_source_id"] for i in items["video_source_list"]] == [source]
    assert "image" not in items["video_source_list"][0]
    assert (items["total_number"], items["quota_number"]) == (1, 5000)


def test_both_documented_type_config_formats_are_taken_by_default() -> None:
    """The SDK's XML and the newest pages' XML both register a url source."""
    app = sim(Clock())

    new_source(app, "A", type_config=URL_XML)
    new_source(app, "B", type_config=ZH_XML)

    names = [
        i["video_source_name"]
        for i in listed(app, SOURCES, "video_source_list")["video_source_list"]
    ]
    assert sorted(names) == ["A", "B"]


@pytest.mark.parametrize(
    ("formats", "xml"),
    [(frozenset({"zh"}), URL_XML), (frozenset({"sdk"}), ZH_XML)],
    ids=["zh-only-refuses-sdk", "sdk-only-refuses-zh"],
)
def test_a_format_the_server_does_not_take_is_refused(formats: frozenset[str], xml: str) -> None:
    """type_config_formats: a create in the other format gets 400 VIAS.00010001."""
    app = sim(Clock(), type_config_formats=formats)

    answer = send(app, "POST", SOURCE, headers=TOKEN, body=source_body(type_config=xml))

    assert refusal(answer) == (400, "VIAS.00010001")
    assert answer.json()["detail"].startswith("type_config: ")


@pytest.mark.parametrize(
    "changes",
    [
        {"video_source_name": "I-35 @ Ashworth Ave"},
        {"video_source_name": " Gate"},
        {"video_source_name": "x" * 101},
        {"access_type": "fog"},
        {"type": "rtsp"},
        {"latitude": 31.5},
        {"latitude": "91"},
        {"longitude": "-180.000001"},
        {"tag": ["a", "b", "c", "d", "e"]},
        {"tag": ["too-long-tag"]},
        {"type_config": "<type>URL</type><config><URL_ADDRESS/></config>"},
        {"type_config": "<type>VCN</type><config><URL_ADDRESS>x</URL_ADDRESS></config>"},
        {"type_config": "<type>URL</type><config>"},
        {
            "type_config": "<type>URL</type><config><URL_ADDRESS>"
            + "a" * 1000
            + "</URL_ADDRESS></config>"
        },
        {"video_group_ids": ["AB"]},
        {"vendor": "x"},
    ],
    ids=[
        "name-at",
        "name-outer-space",
        "name-101",
        "access-type",
        "type",
        "latitude-number",
        "latitude-range",
        "longitude-range",
        "five-tags",
        "tag-11",
        "empty-address",
        "elements-of-another-type",
        "not-xml",
        "xml-over-1024",
        "group-id-form",
        "undocumented-field",
    ],
)
def test_create_source_refuses_what_the_dto_does_not_allow(changes: dict[str, Any]) -> None:
    """Each broken rule of CreateVideoSourceDto: 400 VIAS.00010001, nothing registered."""
    app = sim(Clock())

    answer = send(app, "POST", SOURCE, headers=TOKEN, body=source_body(**changes))

    assert refusal(answer) == (400, "VIAS.00010001")
    assert listed(app, SOURCES, "video_source_list")["total_number"] == 0


def test_a_full_width_bracketed_chinese_name_is_a_source_name() -> None:
    """Chinese and the full-width brackets are in the documented alphabet."""
    app = sim(Clock())

    new_source(app, "东门 摄像头（一）_1.2-(b)")


def test_a_used_source_name_is_refused_on_create_and_rename() -> None:
    """VIAS.00010010 for a second source of the same name, and for a rename to it."""
    app = sim(Clock())
    new_source(app, "Gate A")
    other = new_source(app, "Gate B")

    again = send(app, "POST", SOURCE, headers=TOKEN, body=source_body("Gate A"))
    renamed = send(
        app,
        "PUT",
        f"{SOURCE}/{other}",
        headers=TOKEN,
        body={"video_source_name": "Gate A", "type_config": URL_XML},
    )

    assert refusal(again) == (400, "VIAS.00010010")
    assert refusal(renamed) == (400, "VIAS.00010010")


def test_a_source_named_as_one_batch_bodies_know_is_refused() -> None:
    """A name an implicit source holds is used too (names are unique in the project)."""
    app = sim(Clock(), source_names={"cam-a": "Gate A"})
    create(app, body())

    answer = send(app, "POST", SOURCE, headers=TOKEN, body=source_body("Gate A"))

    assert refusal(answer) == (400, "VIAS.00010010")


def test_the_source_quota_counts_every_source_and_refuses_past_it() -> None:
    """source_quota 4: three implicit and one registered fill it; the next gets VIAS.0010047."""
    app = sim(Clock(), source_quota=4)
    create(app, body())  # cam-a, cam-b in grp-1, cam-c in grp-2
    new_source(app, "One")

    answer = send(app, "POST", SOURCE, headers=TOKEN, body=source_body("Two"))

    assert refusal(answer) == (400, "VIAS.0010047")
    assert listed(app, SOURCES, "video_source_list")["quota_number"] == 4


def test_update_source_changes_name_place_and_xml_and_answers_the_detail() -> None:
    """UpdateVideoSource: the answer is the new detail, without the id; groups stay."""
    app = sim(Clock())
    group = new_group(app)
    source = new_source(app, video_group_ids=[group], latitude="1")
    update = {"video_source_name": "Gate Z", "type_config": ZH_XML, "longitude": "-12.5"}

    answer = send(app, "PUT", f"{SOURCE}/{source}", headers=TOKEN, body=update)

    detail = answer.json()
    assert answer.status_code == 200
    assert (detail["video_source_name"], detail["stream_path"]) == ("Gate Z", "rtsp://10.0.0.2/ch1")
    assert ("latitude" in detail, detail["longitude"]) == (False, "-12.5")
    assert [p["video_group_id"] for p in detail["video_packages"]] == [group]


@pytest.mark.parametrize(
    ("update", "code"),
    [
        ({"video_source_name": "Gate A"}, "VIAS.00010001"),
        ({"video_source_name": "Gate A", "type_config": URL_XML, "type": "vcn"}, "VIAS.00010001"),
        (
            {"video_source_name": "Gate A", "type_config": URL_XML, "video_group_ids": []},
            "VIAS.00010001",
        ),
        ({"video_source_name": "Gate A", "type_config": VCN_XML}, "VIAS.00010001"),
    ],
    ids=["no-type-config", "type", "groups", "xml-of-another-type"],
)
def test_update_source_takes_only_the_five_documented_fields(
    update: dict[str, Any], code: str
) -> None:
    """Name and XML are required; type, access type and groups cannot change."""
    app = sim(Clock())
    source = new_source(app)

    answer = send(app, "PUT", f"{SOURCE}/{source}", headers=TOKEN, body=update)

    assert refusal(answer) == (400, code)


def test_passwords_come_back_masked() -> None:
    """A vcn source's password is ****** in its detail and list item (our reading)."""
    app = sim(Clock())
    source = new_source(app, type="vcn", type_config=VCN_XML)

    detail = send(app, "GET", f"{SOURCES}/{source}", headers=TOKEN).json()
    [item] = listed(app, SOURCES, "video_source_list")["video_source_list"]

    assert "s3cret" not in detail["type_config"] + item["type_config"]
    assert "<PASSWORD>******</PASSWORD>" in detail["type_config"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [("UPPER-id", (400, "VIAS.00010001")), ("abcd-0000", (400, "VIAS.00010002"))],
    ids=["id-form", "unknown-id"],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_path_id_must_have_the_form_and_name_a_source(
    method: str, path: str, expected: tuple[int, str]
) -> None:
    """Path ids: 4-36 of a-z, 0-9, - and _ (400 VIAS.00010001), then known (VIAS.00010002)."""
    app = sim(Clock())
    where = f"{SOURCES}/{path}" if method == "GET" else f"{SOURCE}/{path}"
    request = source_body() if method == "PUT" else None

    answer = send(app, method, where, headers=TOKEN, body=request)

    assert refusal(answer) == expected


def test_delete_source_takes_it_out_of_its_groups_and_is_refused_while_tasks_run() -> None:
    """DeleteVideoSource: 200 with no body; a source with a task: 500 VIAS.00010012."""
    app = sim(Clock())
    group = new_group(app)
    kept, dropped = (
        new_source(app, "Kept", video_group_ids=[group]),
        new_source(app, "Gone", video_group_ids=[group]),
    )
    entry = {"video_source_group_id": group, "video_source_list": [{"video_source_id": kept}]}
    create(app, body(batch_input={"video_source_group": [entry]}))

    busy = send(app, "DELETE", f"{SOURCE}/{kept}", headers=TOKEN)
    gone = send(app, "DELETE", f"{SOURCE}/{dropped}", headers=TOKEN)

    assert refusal(busy) == (500, "VIAS.00010012")
    assert (gone.status_code, gone.content) == (200, b"")
    assert send(app, "GET", f"{GROUP}/{group}", headers=TOKEN).json()["num_video_source"] == 1


def test_update_group_replaces_the_membership_by_the_list_sent() -> None:
    """UpdateVideoGroup: members become exactly the ids sent; name kept when not sent."""
    app = sim(Clock())
    a, b, c = (new_source(app, n) for n in ("A", "B", "C"))
    group = new_group(app, video_source_ids=[a, b])

    answer = send(app, "PUT", f"{GROUP}/{group}", headers=TOKEN, body={"video_source_ids": [c]})

    items = listed(app, SOURCES, "video_source_list", video_group_id=group)["video_source_list"]
    detail = send(app, "GET", f"{GROUP}/{group}", headers=TOKEN).json()
    assert (answer.status_code, answer.content) == (200, b"")
    assert [i["video_source_id"] for i in items] == [c]
    assert (detail["video_group_name"], detail["num_video_source"]) == ("Lobby", 1)


@pytest.mark.parametrize(
    ("update", "detail"),
    [
        ({}, "video_source_ids is required"),
        ({"video_source_ids": []}, "video_source_ids must hold 1-50 ids"),
        (
            {"video_source_ids": [f"src-{n:04d}" for n in range(51)]},
            "video_source_ids must hold 1-50 ids",
        ),
        ({"video_source_ids": ["abcd"], "video_group_name": "a b"}, None),
    ],
    ids=["ids-required", "empty", "fifty-one", "name"],
)
def test_update_group_refuses_what_the_dto_does_not_allow(
    update: dict[str, Any], detail: str | None
) -> None:
    """video_source_ids is 1-50 ids, mandatory; a new name follows the update rule."""
    app = sim(Clock())
    group = new_group(app)

    answer = send(app, "PUT", f"{GROUP}/{group}", headers=TOKEN, body=update)

    assert refusal(answer) == (400, "VIAS.00010001")
    if detail is not None:
        assert answer.json()["detail"] == detail


def test_group_ids_that_name_nothing_are_refused() -> None:
    """A source into an unknown group, a group of unknown sources: 400 VIAS.00010002."""
    app = sim(Clock())
    group = new_group(app)

    into = send(app, "POST", SOURCE, headers=TOKEN, body=source_body(video_group_ids=["abcd-1234"]))
    members = send(
        app, "PUT", f"{GROUP}/{group}", headers=TOKEN, body={"video_source_ids": ["abcd-1234"]}
    )

    assert refusal(into) == (400, "VIAS.00010002")
    assert refusal(members) == (400, "VIAS.00010002")


@pytest.mark.parametrize(
    "name", ["Lobby-1", "Lobby 1", "x" * 21, ""], ids=["hyphen", "space", "twenty-one", "empty"]
)
def test_create_group_takes_chinese_letters_and_digits_only(name: str) -> None:
    """CreateVideoGroupDto's name: 1-20 of Chinese, a-z, A-Z, 0-9."""
    app = sim(Clock())

    answer = send(
        app, "POST", GROUP, headers=TOKEN, body={"video_group_name": name, "access_type": "cloud"}
    )

    assert refusal(answer) == (400, "VIAS.00010001")


def test_group_names_repeat_unless_the_option_says_unique() -> None:
    """Group-name uniqueness is undocumented: two groups of one name by default."""
    loose, strict = sim(Clock()), sim(Clock(), unique_group_names=True)
    new_group(loose), new_group(loose), new_group(strict)

    again = send(
        strict,
        "POST",
        GROUP,
        headers=TOKEN,
        body={"video_group_name": "Lobby", "access_type": "cloud"},
    )

    assert [
        g["video_group_name"] for g in listed(loose, GROUPS, "video_group_list")["video_group_list"]
    ] == ["Lobby", "Lobby"]
    assert refusal(again) == (400, "VIAS.00010003")


def test_list_groups_shows_registered_and_implicit_groups_with_the_quota() -> None:
    """A registered group has every DTO field; the implicit ones keep theirs; quota_number."""
    clock = Clock()
    app = sim(clock, group_quota=7)
    create(app, body())
    clock.now = 105.0
    source = new_source(app)
    group = new_group(app, video_source_ids=[source])

    answer = listed(app, GROUPS, "video_group_list")

    assert answer["quota_number"] == 7
    assert [g["video_group_id"] for g in answer["video_group_list"]] == [group, "grp-2", "grp-1"]
    assert answer["video_group_list"][0] == {
        "video_group_id": group,
        "video_group_name": "Lobby",
        "num_video_source": 1,
        "group_status": {"num_online": 1, "num_exception": 0, "num_offline": 0},
        "access_type": "cloud",
        "create_at": 105000,
        "modify_at": 105000,
        "num_batch_task": 0,
        "type": "url",
    }


def test_the_group_quota_refuses_one_group_more() -> None:
    """group_quota 1: the second CreateVideoGroup is refused (our code: VIAS.00010004)."""
    app = sim(Clock(), group_quota=1)
    new_group(app)

    answer = send(
        app, "POST", GROUP, headers=TOKEN, body={"video_group_name": "Hall", "access_type": "cloud"}
    )

    assert refusal(answer) == (400, "VIAS.00010004")


def test_delete_group_keeps_its_sources_and_is_refused_while_tasks_run() -> None:
    """DeleteVideoGroup: members stay registered; a group with tasks: 500 VIAS.00010012."""
    app = sim(Clock())
    source = new_source(app)
    busy, idle = (
        new_group(app, "Busy", video_source_ids=[source]),
        new_group(app, "Idle", video_source_ids=[source]),
    )
    entry = {"video_source_group_id": busy, "video_source_list": [{"video_source_id": source}]}
    create(app, body(batch_input={"video_source_group": [entry]}))

    refused = send(app, "DELETE", f"{GROUP}/{busy}", headers=TOKEN)
    deleted = send(app, "DELETE", f"{GROUP}/{idle}", headers=TOKEN)

    assert refusal(refused) == (500, "VIAS.00010012")
    assert (deleted.status_code, deleted.content) == (200, b"")
    assert refusal(send(app, "GET", f"{GROUP}/{idle}", headers=TOKEN)) == (400, "VIAS.00010002")
    assert send(app, "GET", f"{SOURCES}/{source}", headers=TOKEN).status_code == 200


def test_an_implicit_group_shows_but_cannot_be_changed() -> None:
    """A group only batch bodies named: its detail, and 500 VIAS.00010012 to a change."""
    app = sim(Clock(), group_names={"grp-1": "Lobby"})
    create(app, body())

    detail = send(app, "GET", f"{GROUP}/grp-1", headers=TOKEN).json()
    changed = send(
        app, "PUT", f"{GROUP}/grp-1", headers=TOKEN, body={"video_source_ids": ["cam-a"]}
    )

    assert (detail["video_group_name"], detail["num_video_source"], detail["num_batch_task"]) == (
        "Lobby",
        2,
        1,
    )
    assert refusal(changed) == (500, "VIAS.00010012")


@pytest.mark.parametrize(
    ("fault", "created"),
    [("5xx-before", 0), ("5xx-after", 1), ("429", 0)],
    ids=["5xx-before", "5xx-after", "throttled"],
)
def test_registration_faults_fall_before_or_after_the_create(fault: str, created: int) -> None:
    """registration_fault_sequence: a lost answer may hide a registered source."""
    app = sim(Clock(), registration_fault_sequence=[fault])

    answer = send(app, "POST", SOURCE, headers=TOKEN, body=source_body())
    retried = send(app, "POST", SOURCE, headers=TOKEN, body=source_body())

    assert answer.status_code in (429, 500)
    assert listed(app, SOURCES, "video_source_list")["total_number"] == 1
    assert retried.status_code == (400 if created else 200)


def test_registration_faults_leave_batch_faults_where_they_were() -> None:
    """The three fault draws are apart: a registration fault does not move a create's."""
    app = sim(
        Clock(), registration_fault_sequence=["5xx-before"], fault_sequence=["none", "5xx-before"]
    )

    new_group_answer = send(
        app,
        "POST",
        GROUP,
        headers=TOKEN,
        body={"video_group_name": "Lobby", "access_type": "cloud"},
    )
    first = send(app, "POST", BATCHES, headers=TOKEN, body=body("b1"))
    second = send(app, "POST", BATCHES, headers=TOKEN, body=body("b2"))

    assert [new_group_answer.status_code, first.status_code, second.status_code] == [500, 200, 500]


def test_registered_only_refuses_tasks_of_sources_not_registered_in_their_group() -> None:
    """registered_only: a task whose source is not a member of its group is in error_list."""
    app = sim(Clock(), registered_only=True)
    source = new_source(app)
    group = new_group(app, video_source_ids=[source])
    entry = {
        "video_source_group_id": group,
        "video_source_list": [{"video_source_id": source}, {"video_source_id": "cam-x"}],
    }

    answer = send(
        app, "POST", BATCHES, headers=TOKEN, body=body(batch_input={"video_source_group": [entry]})
    )

    assert (answer.json()["succeed_count"], answer.json()["error_list"]) == (
        1,
        [f"video source cam-x is not registered in video group {group} (VIAS.00010002)"],
    )


def test_without_registered_only_batch_bodies_name_any_source() -> None:
    """The default keeps today's behaviour: unregistered sources get tasks."""
    app = sim(Clock())

    answer = send(app, "POST", BATCHES, headers=TOKEN, body=body())

    assert (answer.json()["succeed_count"], answer.json()["error_list"]) == (3, [])
