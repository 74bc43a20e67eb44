"""
The registration fields of a sheet's rows checked before anything is sent, all at once, in
the sheet's words (``check.registration`` holds the rules; this module applies them to
mapped rows), and gathered as typed values (``model.registering``) for planning.

Two passes, both called by ``check.validate.check``:
- ``check_rows`` before statuses are decided: names (a camera known by name, a group known
  by name), the one way each row registers (a stream address, VCN, RESTful or an edge
  camera, or none: then the row can only be found in the project), addresses, coordinates,
  tags, passwords only as references, one name with two addresses. A rejected row is
  marked in ``bad``.
- ``gather`` once the valid rows are known: groups over UpdateVideoGroup's 50 split into
  numbered groups or refused (as ``[registration] large_groups`` says; refused rows are
  returned to be rejected), and one ``SourceRow`` per valid row.

Pure: frames and arrays in, problems and typed values out. A row with ``camera_name`` and
no way to register is fine here: whether the project has it is planning's question.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from loader.check.inventory import MappedSheet
from loader.check.mapping import Mapping, groups_by_name
from loader.check.registration import (
    Addressed,
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
from loader.model.choices import GroupSplit
from loader.model.problems import Problem, Severity
from loader.model.registering import SheetGroup, SheetRegistration, SourceRow
from loader.model.secrets import SecretTable
from loader.model.sources import (
    REFERENCE,
    AccessType,
    EdgeCamera,
    RestfulStream,
    Stream,
    UrlStream,
    VcnStream,
)

WAYS: Final = {  # the fields that say a row registers one way, and the one it needs
    "stream_url": ("stream_url",),
    "vcn": ("vcn_ip", "vcn_port", "vcn_data_source_id", "vcn_user_name", "vcn_password"),
    "restful": ("restful_url", "restful_rtsp_url"),
    "edge": ("edge_camera_id",),
}


@dataclass(frozen=True)
class Rows:
    """The mapped rows registration reads: the frame, its sheet, and what the mapping maps."""

    frame: pd.DataFrame
    sheet: MappedSheet
    mapped: frozenset[str]  # fields some sheet of the mapping maps
    _texts: dict[str, list[str]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def text(self, name: str) -> list[str]:
        """A field's text per row ("" when the field is not mapped), read once."""
        if name not in self._texts:
            self._texts[name] = (
                [str(v) for v in self.frame[name].tolist()]
                if name in self.frame
                else [""] * len(self.frame)
            )
        return self._texts[name]

    def column(self, name: str) -> str:
        """The header a field was read from, in the sheet's words."""
        return self.sheet.columns.get(name) or name

    @property
    def groups_by_name(self) -> bool:
        """Groups named, not given by id: they are found or registered."""
        return groups_by_name(self.mapped)


def check_rows(rows: Rows, bad: np.ndarray, mapping: Mapping) -> list[Problem]:
    """Every registration problem of the rows not yet rejected; rejected ones marked."""
    problems: list[Problem] = []
    by_name = mapping.camera_key == "camera_name"
    for check in _row_checks(rows, by_name):
        for position, problem in check():
            if not bad[position]:
                problems.append(problem)
                if problem.severity is Severity.ERROR:
                    bad[position] = True
    return problems + _conflicts(rows, bad)


def _row_checks(rows: Rows, by_name: bool) -> list[Callable[[], list[tuple[int, Problem]]]]:
    """The checks that apply to these rows, each giving (position, problem) pairs."""
    checks: list[Callable[[], list[tuple[int, Problem]]]] = []
    if by_name:
        checks.append(lambda: _names(rows, "camera_name", NameKind.SOURCE))
    if rows.groups_by_name:
        checks.append(lambda: _names(rows, "group_name", NameKind.GROUP))
    return [*checks, lambda: _ways(rows), lambda: _places(rows), lambda: _tags(rows)]


def _problem(
    rows: Rows, position: int, code: str, message: str, fix: str, name: str, value: str
) -> tuple[int, Problem]:
    """An error on one row and field."""
    place = rows.sheet.place_at(position)
    column = rows.column(name)
    return position, Problem.at(
        place, Severity.ERROR, code, message, fix=fix, column=column, value=value
    )


def _names(rows: Rows, name: str, kind: NameKind) -> list[tuple[int, Problem]]:
    """A name breaking its documented rule (or empty), with the transform that mends it."""
    found = []
    faults: dict[str, Problem | None] = {}
    for position, value in enumerate(rows.text(name)):
        if value not in faults:
            fault = name_fault(value, kind)
            faults[value] = None if fault is None else name_problem(fault)
        problem = faults[value]
        if problem is None:
            continue
        place = rows.sheet.place_at(position)
        found.append(
            (
                position,
                Problem.at(
                    place,
                    Severity.ERROR,
                    f"missing-{name}" if not value else problem.code,
                    problem.message,
                    fix=problem.fix,
                    column=rows.column(name),
                    value=value,
                ),
            )
        )
    return found


def _ways(rows: Rows) -> list[tuple[int, Problem]]:
    """One way to register at most, complete, with addresses that parse and passwords hidden."""
    found = []
    texts = {f: rows.text(f) for fs in WAYS.values() for f in fs}
    access = rows.text("access_type")
    for position in range(len(rows.frame)):
        given = [w for w, fs in WAYS.items() if any(texts[f][position] for f in fs)]
        if len(given) > 1:
            fields = ", ".join(rows.column(WAYS[w][0]) for w in given)
            found.append(
                _problem(
                    rows,
                    position,
                    "two-ways",
                    f"the row gives {len(given)} ways to reach the camera ({fields})",
                    "keep one of them for this camera",
                    WAYS[given[0]][0],
                    "",
                )
            )
            continue
        for way in given:
            values = {f: texts[f][position] for f in WAYS[way]}
            found += [
                _problem(rows, position, code, message, fix, field, values.get(field, ""))
                for code, message, fix, field in _way_faults(way, values, access[position])
            ]
    return found


def _way_faults(way: str, values: dict[str, str], access: str) -> list[tuple[str, str, str, str]]:
    """What is wrong with one way's values, as (code, message, fix, field)."""
    faults: list[tuple[str, str, str, str]] = []
    for field in ("stream_url", "restful_url", "restful_rtsp_url"):
        if field in values:
            why = stream_url_problem(values[field]) if values[field] else f"{field} is empty"
            if why:
                faults.append((f"bad-{field}", why, "write the camera's full address", field))
    if way == "vcn":
        for field in ("vcn_ip", "vcn_port"):
            if not values[field]:
                faults.append((f"missing-{field}", f"{field} is empty", "fill it in", field))
        password = values["vcn_password"]
        if password and REFERENCE.fullmatch(password) is None:
            faults.append(
                (
                    "plain-password",
                    "the VCN password is written in the sheet",
                    "mark its column secret = true in the mapping, or write ${VAR}",
                    "vcn_password",
                )
            )
    wanted = AccessType.EDGE if way == "edge" else AccessType.CLOUD
    if access and access != wanted and way in ("stream_url", "edge"):
        first = WAYS[way][0]
        message = f"a {way.replace('_', ' ')} camera is registered with {wanted} access only"
        faults.append(("bad-access_type", message, f"write {wanted}", first))
    return faults


def _places(rows: Rows) -> list[tuple[int, Problem]]:
    """Coordinates in range, both or neither."""
    found = []
    for position, (lat, lon) in enumerate(
        zip(rows.text("latitude"), rows.text("longitude"), strict=True)
    ):
        for why in coordinate_problems(lat, lon):
            field = "longitude" if why.startswith("longitude") else "latitude"
            fix = "write degrees as a number, both of them"
            found.append(_problem(rows, position, "bad-coordinates", why, fix, field, lat or lon))
    return found


def _tags(rows: Rows) -> list[tuple[int, Problem]]:
    """At most four tags, each of its rule."""
    found = []
    for position, text in enumerate(rows.text("tags")):
        for why in tag_problems(text.split(",") if text else []):
            fix = "keep at most 4 tags of 1-10 letters, digits, Chinese, - and _"
            found.append(_problem(rows, position, "bad-tags", why, fix, "tags", text))
    return found


def _conflicts(rows: Rows, bad: np.ndarray) -> list[Problem]:
    """One camera name with two different addresses: the later rows rejected."""
    names = rows.text("camera_name")
    positions = [p for p in range(len(rows.frame)) if not bad[p] and names[p] and _address(rows, p)]
    places = [rows.sheet.place_at(p) for p in positions]
    addressed = [Addressed(names[p], _address(rows, p), places[n]) for n, p in enumerate(positions)]
    problems = address_conflicts(addressed, column=rows.column("stream_url"))
    at = {(place.sheet, place.row): p for place, p in zip(places, positions, strict=True)}
    for problem in problems:
        bad[at[(problem.sheet, problem.row or 0)]] = True
    return problems


def _address(rows: Rows, position: int) -> str:
    """What reaches the camera, as one text to compare ("" when the row gives none)."""
    parts = [rows.text(f)[position] for fs in WAYS.values() for f in fs if f != "vcn_password"]
    return " ".join(p for p in parts if p)


def gather(
    rows: Rows, valid: np.ndarray, mapping: Mapping, secrets: SecretTable
) -> tuple[SheetRegistration, list[Problem], np.ndarray]:
    """The valid rows as registration values, the group size problems, and the rows a
    refused group rejects (positions)."""
    names = rows.text("camera_name")
    group_names = rows.text("group_name") if rows.groups_by_name else [""] * len(names)
    members: dict[str, list[str]] = {}
    for position in valid.tolist():
        if group_names[position] and names[position]:
            listed = members.setdefault(group_names[position], [])
            if names[position] not in listed:
                listed.append(names[position])
    policy = mapping.registration.large_groups
    problems = group_size_problems(dict(members), policy)
    refused = {p.value for p in problems if p.severity is Severity.ERROR}
    split = _split_all(members, refused, policy)
    part_of = _parts(split)
    rejected = np.array([p for p in valid.tolist() if group_names[p] in refused], dtype=np.int64)
    descriptions = _descriptions(rows, group_names, valid)
    groups = tuple(
        SheetGroup(
            part, tuple(m), descriptions.get(sheet_name, ""), sheet_name * (part != sheet_name)
        )
        for sheet_name, parts in split.items()
        for part, m in parts
    )
    kept = [p for p in valid.tolist() if group_names[p] not in refused]
    sources = tuple(_source_row(rows, p, part_of.get((group_names[p], names[p]), "")) for p in kept)
    form = mapping.registration.type_config_format
    return SheetRegistration(sources, groups, form, secrets), problems, rejected


def _split_all(
    members: dict[str, list[str]], refused: set[str], policy: GroupSplit
) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Each kept group as its registered parts (itself, unless split)."""
    return {
        name: [(part.name, part.members) for part in split_group(name, names)]
        if policy is GroupSplit.SPLIT
        else [(name, tuple(names))]
        for name, names in members.items()
        if name not in refused
    }


def _parts(split: dict[str, list[tuple[str, tuple[str, ...]]]]) -> dict[tuple[str, str], str]:
    """(sheet group, camera name) -> the registered group the camera joins (``split``:
    ``_split_all``'s parts)."""
    return {
        (name, member): part
        for name, parts in split.items()
        for part, names in parts
        for member in names
    }


def _descriptions(rows: Rows, group_names: list[str], valid: np.ndarray) -> dict[str, str]:
    """The first description each group's rows give."""
    found: dict[str, str] = {}
    for position, text in zip(
        valid.tolist(), np.array(rows.text("group_description"), dtype=object)[valid], strict=True
    ):
        if text and group_names[position]:
            found.setdefault(group_names[position], str(text))
    return found


def _source_row(rows: Rows, position: int, group_name: str) -> SourceRow:
    """One valid row's registration values."""
    value = {f: rows.text(f)[position] for f in _READ}
    stream = _stream(value)
    access = value["access_type"] or (
        AccessType.EDGE if isinstance(stream, EdgeCamera) else AccessType.CLOUD
    )
    return SourceRow(
        position,
        rows.sheet.place_at(position),
        value["camera_name"],
        value["video_source_id"],
        value["group_id"] or value["group"],
        group_name,
        stream,
        AccessType(access),
        degrees(value["latitude"]) if value["latitude"] else "",
        degrees(value["longitude"]) if value["longitude"] else "",
        tuple(t for t in value["tags"].split(",") if t),
    )


_READ: Final = (
    "camera_name",
    "video_source_id",
    "group",
    "group_id",
    "access_type",
    "latitude",
    "longitude",
    "tags",
    *(f for fs in WAYS.values() for f in fs),
    "vcn_stream_type",
    "restful_http_check",
)


def _stream(value: dict[str, str]) -> Stream | None:
    """The one way the row registers, or None (it can only be found)."""
    if value["stream_url"]:
        return UrlStream(value["stream_url"])
    if value["vcn_ip"]:
        return VcnStream(
            value["vcn_data_source_id"],
            value["vcn_ip"],
            value["vcn_port"],
            value["vcn_user_name"],
            value["vcn_password"],
            value["vcn_stream_type"],
        )
    if value["restful_url"]:
        return RestfulStream(
            value["restful_url"], value["restful_rtsp_url"], value["restful_http_check"]
        )
    if value["edge_camera_id"]:
        return EdgeCamera(value["edge_camera_id"])
    return None
