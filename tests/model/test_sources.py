"""The registration bodies: SDK field names, both type_config formats, secrets as references."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from loader.model.choices import TypeConfigFormat
from loader.model.sources import (
    CreateVideoGroup,
    CreateVideoSource,
    EdgeCamera,
    RestfulStream,
    Stream,
    UpdateVideoGroup,
    UpdateVideoSource,
    UrlStream,
    VcnStream,
    reference,
    type_config,
)
from loader.sim.source_rules import check_type_config, config_elements

STREAMS: dict[str, Stream] = {
    "url": UrlStream("rtsp://admin:${CAM_PW}@10.0.0.1:554/Streaming/Channels/101"),
    "vcn": VcnStream("7", "10.0.0.9", "9900", "admin", "${VCN_PW}", "1"),
    "restful": RestfulStream("https://cams.example/api/stream?id=4", "data/rtspurl"),
    "camera": EdgeCamera("edge-cam-01"),
}


def test_the_sdk_format_is_the_default_and_as_documented() -> None:
    """Format A: <type>URL</type><config><URL_ADDRESS>…</URL_ADDRESS></config>."""
    xml = type_config(UrlStream("rtsp://10.0.0.1/a?x=1&y=2"))

    assert xml == (
        "<type>URL</type><config><URL_ADDRESS>rtsp://10.0.0.1/a?x=1&amp;y=2</URL_ADDRESS></config>"
    )


def test_the_newest_pages_format_is_the_alternative() -> None:
    """Format B: one lowercase <type_config> root; an edge camera as device_id and name."""
    assert type_config(UrlStream("rtsp://h/1"), TypeConfigFormat.ZH) == (
        "<type_config><url_address>rtsp://h/1</url_address></type_config>"
    )
    assert type_config(EdgeCamera("c1"), TypeConfigFormat.ZH) == (
        "<type_config><device_id>c1</device_id><name></name></type_config>"
    )
    assert TypeConfigFormat.SDK.other is TypeConfigFormat.ZH


@pytest.mark.parametrize("form", list(TypeConfigFormat), ids=str)
@pytest.mark.parametrize("kind", STREAMS, ids=str)
def test_every_stream_in_either_format_passes_the_simulators_reading(
    kind: str, form: TypeConfigFormat
) -> None:
    """The simulator, written apart from the model, takes each body's XML in its format."""
    stream = STREAMS[kind]

    check_type_config(type_config(stream, form), stream.type, frozenset({str(form)}))


@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn", "Co")),
        min_size=1,
    )
)
def test_any_address_text_comes_back_whole_through_the_xml(address: str) -> None:
    """Escaping: whatever the address holds, the XML parses and gives it back (``@`` and
    ``[`` left out: they make a URL's user or host part; an empty address is refused)."""
    cleaned = address.replace("@", "").replace("[", "")
    assume(cleaned)
    xml = type_config(UrlStream(cleaned), TypeConfigFormat.SDK)

    assert config_elements(xml, "url", "sdk")["url_address"] == cleaned


@pytest.mark.parametrize(
    "build",
    [
        lambda: UrlStream("rtsp://admin:hunter2@10.0.0.1/"),
        lambda: VcnStream("7", "10.0.0.9", "9900", "admin", "hunter2"),
    ],
    ids=["password-in-url", "vcn-password"],
)
def test_a_password_must_be_a_reference(build: object) -> None:
    """A secret written in clear is refused: bodies are written to disk."""
    with pytest.raises(ValueError, match=r"\$\{VAR\} reference"):
        build()  # type: ignore[operator]


def test_create_source_body_has_the_sdk_fields_and_leaves_out_empty_ones() -> None:
    """CreateVideoSourceDto's names; coordinates as text; empty optionals not sent."""
    create = CreateVideoSource("Gate A", STREAMS["url"], latitude="31.5", video_group_ids=("g-01",))

    assert json.loads(create.content()) == {
        "video_source_name": "Gate A",
        "access_type": "cloud",
        "type": "url",
        "latitude": "31.5",
        "video_group_ids": ["g-01"],
        "type_config": type_config(STREAMS["url"]),
    }
    assert b"${CAM_PW}" in create.content()


def test_update_source_body_carries_no_type_access_or_groups() -> None:
    """UpdateVideoSourceDto: the five fields only."""
    update = UpdateVideoSource("Gate B", STREAMS["vcn"], tag=("north",), form=TypeConfigFormat.ZH)

    assert set(update.body()) == {
        "video_source_name",
        "latitude",
        "longitude",
        "type_config",
        "tag",
    }
    assert set(json.loads(update.content())) == {"video_source_name", "type_config", "tag"}


def test_group_bodies() -> None:
    """CreateVideoGroupDto and UpdateVideoGroupDto; an update's list is the whole membership."""
    create = CreateVideoGroup("Lobby", description="front door")
    update = UpdateVideoGroup(("s-0001", "s-0002"), description="")

    assert json.loads(create.content()) == {
        "video_group_name": "Lobby",
        "description": "front door",
        "access_type": "cloud",
    }
    assert json.loads(update.content()) == {
        "video_source_ids": ["s-0001", "s-0002"],
        "description": "",
    }


@pytest.mark.parametrize("count", [0, 51], ids=["empty", "fifty-one"])
def test_a_membership_is_one_to_fifty(count: int) -> None:
    """UpdateVideoGroup takes 1..50 ids."""
    with pytest.raises(ValueError, match="1 to 50"):
        UpdateVideoGroup(tuple(f"s-{n:04d}" for n in range(count)))


def test_reference_names_a_variable() -> None:
    """reference() builds ${NAME} and refuses what no shell variable could be named."""
    assert reference("CAM_PW") == "${CAM_PW}"
    with pytest.raises(ValueError, match="no variable name"):
        reference("CAM-PW")
