"""
The bodies that register cameras: CreateVideoSource, UpdateVideoSource, CreateVideoGroup
and UpdateVideoGroup, field names as the SDK's DTOs (CreateVideoSourceDto,
UpdateVideoSourceDto, CreateVideoGroupDto, UpdateVideoGroupDto in huaweicloud-sdk-java-v3
``services/vias``), read from ``shared/reference/vias-sources-groups.md``.

``type_config`` is XML inside a JSON string, written in one of the two formats the reference
shows (section 2.3): the SDK's (``TypeConfigFormat.SDK``, the default: ``<type>URL</type>
<config><URL_ADDRESS>…</URL_ADDRESS></config>``) or the newest Chinese pages'
(``TypeConfigFormat.ZH``: ``<type_config><url_address>…</url_address></type_config>``).
Which one the server takes is not documented, so a run may choose. Values are XML-escaped.

Secrets: a password (VCN's, or one inside a stream address) is carried only as a ``${VAR}``
reference, so a body can be written to disk, journaled and shown without it; the sender
resolves references inside ``type_config`` at send time (``loader.send.registry``).

Readings of ours where the reference is silent: an edge camera in the newest pages' format
is ``<device_id>`` (the edge camera id) with an empty ``<name>``; optional fields left empty
are not sent; ``video_group_ids`` holds the groups a new source joins.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit

from loader.model.choices import TypeConfigFormat

MAX_TYPE_CONFIG_CHARS: Final = 1024
MAX_GROUP_MEMBERS: Final = 50  # UpdateVideoGroup's 1..50 ids (the whole membership)
MAX_TAGS: Final = 4
REFERENCE: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class AccessType(StrEnum):
    """Where the algorithm runs: in the cloud (the default) or on an edge node."""

    CLOUD = "cloud"
    EDGE = "edge"


def reference(name: str) -> str:
    """``${name}``: how a secret travels in a body."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"{name!r} is no variable name (letters, digits, _)")
    return f"${{{name}}}"


def _secret(value: str, what: str) -> str:
    """A secret must be empty or exactly one ``${VAR}`` reference."""
    if value and REFERENCE.fullmatch(value) is None:
        raise ValueError(f"{what} must be a ${{VAR}} reference, never the secret itself")
    return value


@dataclass(frozen=True)
class UrlStream:
    """A ``url`` source: a stream address (cloud access only)."""

    address: str
    type: ClassVar[str] = "url"

    def __post_init__(self) -> None:
        try:
            password = urlsplit(self.address).password
        except ValueError:  # not a URL at all: ``check.registration`` reports it
            return
        if password is not None:
            _secret(password, "a password inside a stream address")

    def elements(self) -> list[tuple[str, str]]:
        return [("url_address", self.address)]


@dataclass(frozen=True)
class VcnStream:
    """A ``vcn`` source: a camera of a Huawei VCN server (its address and credentials)."""

    data_source_id: str
    ip: str
    port: str
    user_name: str
    password: str = ""  # a ${VAR} reference
    stream_type: str = ""
    type: ClassVar[str] = "vcn"

    def __post_init__(self) -> None:
        _secret(self.password, "a VCN password")

    def elements(self) -> list[tuple[str, str]]:
        return [
            ("data_source_id", self.data_source_id),
            ("stream_type", self.stream_type),
            ("ip", self.ip),
            ("port", self.port),
            ("user_name", self.user_name),
            ("password", self.password),
        ]


@dataclass(frozen=True)
class RestfulStream:
    """A ``restful`` source: VIAS asks ``url`` and reads the stream address at ``rtsp_url``."""

    url: str
    rtsp_url: str
    http_check: str = ""
    type: ClassVar[str] = "restful"

    def elements(self) -> list[tuple[str, str]]:
        return [("http_check", self.http_check), ("url", self.url), ("rtsp_url", self.rtsp_url)]


@dataclass(frozen=True)
class EdgeCamera:
    """A ``camera`` source: a camera bound to an IEF edge node (edge access only)."""

    edge_camera_id: str
    type: ClassVar[str] = "camera"

    def elements(self) -> list[tuple[str, str]]:
        return [("edge_camera_id", self.edge_camera_id)]


Stream = UrlStream | VcnStream | RestfulStream | EdgeCamera


def type_config(stream: Stream, form: TypeConfigFormat = TypeConfigFormat.SDK) -> str:
    """The stream's ``type_config`` XML in ``form``, values escaped."""
    from xml.sax.saxutils import escape  # the xml package: only for a run that registers

    elements = stream.elements()
    if form is TypeConfigFormat.ZH:
        if isinstance(stream, EdgeCamera):
            elements = [("device_id", stream.edge_camera_id), ("name", "")]
        inner = "".join(f"<{tag}>{escape(value)}</{tag}>" for tag, value in elements)
        return f"<type_config>{inner}</type_config>"
    inner = "".join(f"<{tag.upper()}>{escape(value)}</{tag.upper()}>" for tag, value in elements)
    return f"<type>{stream.type.upper()}</type><config>{inner}</config>"


class _Body:
    """A registering call's body: ``body`` its JSON, ``content`` its bytes as sent and
    written (compact JSON, UTF-8, an empty optional field left out)."""

    def body(self) -> dict[str, Any]:
        raise NotImplementedError

    def content(self) -> bytes:
        kept = {k: v for k, v in self.body().items() if v not in (None, "", [], ())}
        return json.dumps(kept, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class CreateVideoSource(_Body):
    """CreateVideoSourceDto: a new source, in the groups it joins."""

    video_source_name: str
    stream: Stream
    access_type: AccessType = AccessType.CLOUD
    latitude: str = ""
    longitude: str = ""
    video_group_ids: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    form: TypeConfigFormat = TypeConfigFormat.SDK

    def body(self) -> dict[str, Any]:
        """The JSON body (optional fields left out when empty)."""
        return {
            "video_source_name": self.video_source_name,
            "access_type": str(self.access_type),
            "type": self.stream.type,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "video_group_ids": list(self.video_group_ids),
            "type_config": type_config(self.stream, self.form),
            "tag": list(self.tag),
        }


@dataclass(frozen=True)
class UpdateVideoSource(_Body):
    """UpdateVideoSourceDto: name and XML always (both mandatory), place and tags."""

    video_source_name: str
    stream: Stream
    latitude: str = ""
    longitude: str = ""
    tag: tuple[str, ...] = ()
    form: TypeConfigFormat = TypeConfigFormat.SDK

    def body(self) -> dict[str, Any]:
        return {
            "video_source_name": self.video_source_name,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "type_config": type_config(self.stream, self.form),
            "tag": list(self.tag),
        }


@dataclass(frozen=True)
class CreateVideoGroup(_Body):
    """CreateVideoGroupDto: a group, empty or with sources that exist already."""

    video_group_name: str
    access_type: AccessType = AccessType.CLOUD
    description: str = ""
    video_source_ids: tuple[str, ...] = ()

    def body(self) -> dict[str, Any]:
        return {
            "video_group_name": self.video_group_name,
            "description": self.description,
            "access_type": str(self.access_type),
            "video_source_ids": list(self.video_source_ids),
        }


@dataclass(frozen=True)
class UpdateVideoGroup(_Body):
    """UpdateVideoGroupDto: the group's WHOLE membership (it replaces the list), 1..50 ids."""

    video_source_ids: tuple[str, ...]
    video_group_name: str = ""  # empty: the name stays
    description: str | None = None  # None: the description stays

    def __post_init__(self) -> None:
        if not 1 <= len(self.video_source_ids) <= MAX_GROUP_MEMBERS:
            raise ValueError(
                f"a group's membership is 1 to {MAX_GROUP_MEMBERS} sources,"
                f" not {len(self.video_source_ids)}"
            )

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"video_source_ids": list(self.video_source_ids)}
        if self.video_group_name:
            body["video_group_name"] = self.video_group_name
        if self.description is not None:
            body["description"] = self.description  # "" clears it
        return body

    def content(self) -> bytes:  # every field it holds is sent: "" clears the description
        return json.dumps(self.body(), ensure_ascii=False, separators=(",", ":")).encode()
