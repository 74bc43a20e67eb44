"""
The simulator's check of the video source and group bodies (CreateVideoSourceDto,
UpdateVideoSourceDto, CreateVideoGroupDto, UpdateVideoGroupDto), written from
``shared/reference/vias-sources-groups.md`` and apart from the loader's own rules
(``loader.check.registration``, ``loader.model.sources``), so that a mistake there cannot
hide behind the same mistake here. The first broken rule is reported, as the service would.

Readings of ours, where the reference says "not documented":
- fields the DTOs do not list are refused (as the batch body's are);
- ``type`` takes every value any page generation lists (obs, vcn, url, restful, camera,
  ivm, vcn_restful); ``type_config`` is checked against the formats ``SimConfig`` admits
  (both by default: which one the server takes is open, reference section 15.1). A type
  whose XML a format does not show (obs, ivm, vcn_restful in the SDK's format) is refused
  in that format; vcn_restful in the newest pages' format takes vcn's elements;
- elements may be empty (the pages show empty elements) except the address of a ``url``
  source: a url source with no address streams nothing. No URL scheme is checked;
- a DOCTYPE or entity in ``type_config`` is refused (the XML stays data); a list of ids
  naming one id twice is refused (a set of members has no repeats);
- the update rule of a group name is the EN page's (letters, digits, Chinese, ``-``, ``_``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any, Final

from loader.sim.invalid import Invalid, require

__all__ = [
    "SOURCE_TYPES",
    "TYPE_CONFIG_FORMATS",
    "Invalid",
    "check_group_create",
    "check_group_update",
    "check_source_create",
    "check_source_update",
    "check_type_config",
    "config_elements",
]

TYPE_CONFIG_FORMATS: Final = ("sdk", "zh")
SOURCE_TYPES: Final = ("obs", "vcn", "url", "restful", "camera", "ivm", "vcn_restful")
SOURCE_NAME = re.compile(r"(?! )[\u4e00-\u9fa5A-Za-z0-9 .\-_()（）]{1,100}(?<! )")
GROUP_NAME = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9]{1,20}")
GROUP_RENAME = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9_-]{1,20}")
OBJECT_ID = re.compile(r"[a-z0-9_-]{4,36}")
TAG = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9_-]{1,10}")
_DEGREES = re.compile(r"-?\d{1,3}(\.\d{1,5})?")
_VCN = ("data_source_id", "stream_type", "ip", "port", "user_name", "password")
# Format A (the SDK's): <type>TYPE</type><config>ELEMENTS</config>, element names uppercase.
SDK_ELEMENTS: Final[dict[str, tuple[str, ...]]] = {
    "url": ("URL_ADDRESS",),
    "vcn": tuple(e.upper() for e in _VCN),
    "restful": ("HTTP_CHECK", "URL", "RTSP_URL"),
    "camera": ("EDGE_CAMERA_ID",),
}
# Format B (the newest Chinese pages'): <type_config>ELEMENTS</type_config>, lowercase.
ZH_ELEMENTS: Final[dict[str, tuple[str, ...]]] = {
    "url": ("url_address",),
    "vcn": _VCN,
    "restful": ("http_check", "url", "rtsp_url"),
    "ivm": ("device_id", "channel_id"),
    "obs": ("bucket", "path"),
    "camera": ("device_id", "name"),
    "vcn_restful": _VCN,
}
MAX_TYPE_CONFIG: Final = 1024
_CREATE_SOURCE = {
    "video_source_name",
    "access_type",
    "type",
    "latitude",
    "longitude",
    "video_group_ids",
    "type_config",
    "tag",
}
_UPDATE_SOURCE = {"video_source_name", "latitude", "longitude", "type_config", "tag"}
_CREATE_GROUP = {"video_group_name", "description", "access_type", "video_source_ids"}
_UPDATE_GROUP = {"video_group_name", "description", "video_source_ids"}


def check_source_create(body: Any, formats: frozenset[str]) -> None:
    """CreateVideoSourceDto: name, access, type and its XML required; the rest as documented."""
    _object(body, _CREATE_SOURCE, "the body")
    _source_name(body)
    require(body.get("access_type") in ("cloud", "edge"), "access_type must be cloud or edge")
    require(body.get("type") in SOURCE_TYPES, f"type must be one of {', '.join(SOURCE_TYPES)}")
    check_type_config(body.get("type_config"), body["type"], formats)
    _place_and_tags(body)
    if "video_group_ids" in body:
        _ids(body["video_group_ids"], "video_group_ids", 0, None)


def check_source_update(body: Any, source_type: str, formats: frozenset[str]) -> None:
    """UpdateVideoSourceDto: name and XML required (of the source's own type), no groups."""
    _object(body, _UPDATE_SOURCE, "the body")
    _source_name(body)
    check_type_config(body.get("type_config"), source_type, formats)
    _place_and_tags(body)


def check_group_create(body: Any) -> None:
    """CreateVideoGroupDto: a name of Chinese, letters and digits, an access type."""
    _object(body, _CREATE_GROUP, "the body")
    name = body.get("video_group_name")
    require(
        isinstance(name, str) and GROUP_NAME.fullmatch(name) is not None,
        "video_group_name must be 1-20 of Chinese, a-z, A-Z and 0-9",
    )
    _description(body)
    require(body.get("access_type") in ("cloud", "edge"), "access_type must be cloud or edge")
    if "video_source_ids" in body:
        _ids(body["video_source_ids"], "video_source_ids", 0, None)


def check_group_update(body: Any) -> None:
    """UpdateVideoGroupDto: the whole membership (1-50 ids); name, description optional."""
    _object(body, _UPDATE_GROUP, "the body")
    if "video_group_name" in body:
        name = body["video_group_name"]
        require(
            isinstance(name, str) and GROUP_RENAME.fullmatch(name) is not None,
            "video_group_name must be 1-20 of Chinese, a-z, A-Z, 0-9, - and _",
        )
    _description(body)
    require("video_source_ids" in body, "video_source_ids is required")
    _ids(body["video_source_ids"], "video_source_ids", 1, 50)


def check_type_config(xml: Any, source_type: str, formats: frozenset[str]) -> None:
    """``type_config``: text of at most 1024 characters, in one of the admitted formats."""
    require(isinstance(xml, str) and xml != "", "type_config is required")
    require(len(xml) <= MAX_TYPE_CONFIG, f"type_config is over {MAX_TYPE_CONFIG} characters")
    require("<!" not in xml, "type_config may hold no DOCTYPE, entity or CDATA")
    errors = []
    for kind in TYPE_CONFIG_FORMATS:
        if kind not in formats:
            continue
        try:
            config_elements(xml, source_type, kind)
        except Invalid as exc:
            errors.append(str(exc))
        else:
            return
    raise Invalid("type_config: " + "; ".join(errors))


def config_elements(xml: str, source_type: str, kind: str) -> dict[str, str]:
    """The elements of a ``type_config`` in format ``kind`` (lowercased names); Invalid if not."""
    try:
        root = ET.fromstring(f"<r>{xml}</r>")
    except ET.ParseError as exc:
        raise Invalid(f"not well-formed XML ({exc})") from None
    if kind == "sdk":
        allowed = SDK_ELEMENTS.get(source_type)
        require(allowed is not None, f"the SDK's format shows no XML for type {source_type}")
        parts = [child.tag for child in root]
        require(parts == ["type", "config"], "the SDK's format is <type>…</type><config>…</config>")
        require(
            (root[0].text or "") == source_type.upper(),
            f"<type> must be {source_type.upper()}",
        )
        config = root[1]
    else:
        allowed = ZH_ELEMENTS.get(source_type)
        require(allowed is not None, f"the newest pages' format shows no XML for {source_type}")
        parts = [child.tag for child in root]
        require(
            parts == ["type_config"], "the newest pages' format is <type_config>…</type_config>"
        )
        config = root[0]
    assert allowed is not None  # for mypy: require() above
    found = {child.tag: (child.text or "") for child in config}
    unknown = sorted(set(found) - set(allowed))
    require(not unknown, f"elements {unknown} are not among {', '.join(allowed)}")
    elements = {tag.lower(): text for tag, text in found.items()}
    if source_type == "url":
        require(elements.get("url_address", "") != "", "a url source needs its address")
    return elements


def _object(body: Any, allowed: set[str], where: str) -> None:
    require(isinstance(body, dict), f"{where} must be a JSON object")
    unknown = set(body) - allowed
    require(not unknown, f"{where} has undocumented fields {sorted(unknown)}")


def _source_name(body: dict[str, Any]) -> None:
    name = body.get("video_source_name")
    require(
        isinstance(name, str) and SOURCE_NAME.fullmatch(name) is not None,
        "video_source_name must be 1-100 of Chinese, a-z, A-Z, 0-9, space . - _ ( ) （ ）,"
        " neither starting nor ending with a space",
    )


def _place_and_tags(body: dict[str, Any]) -> None:
    for key, bound in (("latitude", 90), ("longitude", 180)):
        if key in body:
            value = body[key]
            require(
                isinstance(value, str)
                and _DEGREES.fullmatch(value) is not None
                and abs(float(value)) <= bound,
                f"{key} must be text from -{bound}.00000 to {bound}.00000",
            )
    if "tag" in body:
        tags = body["tag"]
        require(isinstance(tags, list) and len(tags) <= 4, "tag must be a list of at most 4")
        for tag in tags:
            require(
                isinstance(tag, str) and TAG.fullmatch(tag) is not None,
                "each tag must be 1-10 of Chinese, a-z, A-Z, 0-9, - and _",
            )


def _description(body: dict[str, Any]) -> None:
    if "description" in body:
        text = body["description"]
        require(isinstance(text, str) and len(text) <= 100, "description must be 0-100 characters")


def _ids(ids: Any, key: str, low: int, high: int | None) -> None:
    require(isinstance(ids, list), f"{key} must be a list of ids")
    require(
        len(ids) >= low and (high is None or len(ids) <= high),
        f"{key} must hold {low}-{high} ids" if high else f"{key} must hold ids",
    )
    for value in ids:
        require(
            isinstance(value, str) and OBJECT_ID.fullmatch(value) is not None,
            f"{key}: {value!r} is not an id (4-36 of a-z, 0-9, - and _)",
        )
    require(len(set(ids)) == len(ids), f"{key} names an id twice")
