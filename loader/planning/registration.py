"""
Registration planned: what a sheet that knows cameras (or groups) by name needs from the
project before its batches can name ids. Pure: the checked sheet's ``SheetRegistration``
and the project's two listings (``SourceRegistry.sources()`` and ``.groups()``, listed
once) in, a ``RegistrationPlan`` out.

How a run uses it (in this order; each step's result feeds the next):

1. ``plan = plan_registration(checked.registration, sources, groups, project=P)``;
   ``plan.rejections`` are row problems (report them; ``fill_ids`` rejects their rows).
2. ``check_quota(plan, sources, groups)`` before any create: ConfigError (exit 2) when the
   project's total plus the planned creates passes ``quota_number``; nothing is created.
3. Groups first: ``plan.groups`` (``GroupCreate.body``; ``SourceRegistry.register_group``).
4. Sources next: ``create.body(group_ids)`` with every group id known so far
   (``plan.found_groups`` + the groups just registered), through ``register_source``.
5. Joins: ``join.update(source_ids)`` (UpdateVideoGroup with the WHOLE membership),
   ``source_ids`` = ``plan.found_sources`` + the sources just registered.
6. ``fill_ids(checked, sources=..., groups=...)``: the camera rows with their ids, so the
   diff and batching run unchanged (batch names hash ids: plan batches after this).

``plan.counts()`` gives ``+ N video sources``, ``+ M groups``, ``~ K cameras joining
groups`` for the plan output and ``--json``; ``plan.bodies()`` the bodies ``plan --out``
writes (secrets as references: the sheet's values never reach them).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from loader.check.validate import STATUS, Checked
from loader.errors import ConfigError
from loader.model.cameras import Cameras, RowStatus
from loader.model.problems import Place, Problem, Severity, shown
from loader.model.registering import (
    GroupListing,
    SheetGroup,
    SheetRegistration,
    SourceListing,
    SourceRow,
)
from loader.model.sources import (
    MAX_GROUP_MEMBERS,
    AccessType,
    CreateVideoGroup,
    CreateVideoSource,
    UpdateVideoGroup,
)

PENDING: Final = "${group:%s}"  # a new group's id in a body written before it exists


@dataclass(frozen=True)
class GroupCreate:
    """A group the project lacks: CreateVideoGroup, with the existing sources joining it."""

    name: str
    body: CreateVideoGroup
    sheet_name: str = ""  # the sheet's group when this is a numbered part of it


@dataclass(frozen=True)
class SourceCreate:
    """A camera the project lacks, registered from its first row, into its groups."""

    name: str
    rows: tuple[int, ...]  # positions in Checked.rows
    create: CreateVideoSource  # video_group_ids empty: ``body`` fills them
    groups: tuple[tuple[str, str], ...] = ()  # (name, id) of each group it joins; id "" if new

    def body(self, group_ids: Mapping[str, str]) -> CreateVideoSource:
        """The CreateVideoSource to send, new groups' ids taken from ``group_ids`` (by
        name); a group not registered yet shows as ``${group:NAME}`` (``plan --out``)."""
        ids = tuple(
            dict.fromkeys(gid or group_ids.get(name) or PENDING % name for name, gid in self.groups)
        )
        return dataclasses.replace(self.create, video_group_ids=ids)


@dataclass(frozen=True)
class GroupJoin:
    """Existing sources joining a group the project has: UpdateVideoGroup replaces the
    membership, so the body holds the current members and the new ones (at most 50)."""

    group_name: str
    group_id: str
    current: tuple[str, ...]  # the group's member ids as listed
    joining: tuple[str, ...]  # camera names of existing sources that join
    created: tuple[str, ...] = ()  # camera names created into it (they join by their create)

    def update(self, source_ids: Mapping[str, str]) -> UpdateVideoGroup:
        """The whole membership: current, the created ones' and the joining ones' ids."""
        ids = dict.fromkeys(self.current)
        ids.update(dict.fromkeys(source_ids[n] for n in (*self.created, *self.joining)))
        return UpdateVideoGroup(tuple(ids))


@dataclass(frozen=True)
class RegistrationPlan:
    """What registration sends, what it found, and the rows it cannot help."""

    project: str
    groups: tuple[GroupCreate, ...]
    sources: tuple[SourceCreate, ...]
    joins: tuple[GroupJoin, ...]
    found_sources: dict[str, str]  # camera name -> id, in the project already
    found_groups: dict[str, str]  # group name -> id, in the project already
    rejections: tuple[Problem, ...]
    rejected_rows: frozenset[int] = field(default_factory=frozenset)  # positions

    @property
    def empty(self) -> bool:
        """Nothing to register or join (a second plan of the same sheet)."""
        return not (self.groups or self.sources or self.joins)

    def counts(self) -> dict[str, int]:
        """For the plan output: ``+ N video sources``, ``+ M groups``, ``~ K cameras
        joining groups`` (a camera joining two groups counts twice)."""
        return {
            "video_sources": len(self.sources),
            "groups": len(self.groups),
            "cameras_joining_groups": sum(len(j.joining) for j in self.joins)
            + sum(len(g.body.video_source_ids) for g in self.groups),
        }

    def lines(self) -> list[str]:
        """The counts as the plan prints them, the non-zero ones: ``+ 2 video sources``."""
        words = {
            "video_sources": ("+", "video source", "video sources"),
            "groups": ("+", "group", "groups"),
            "cameras_joining_groups": ("~", "camera joining a group", "cameras joining groups"),
        }
        return [
            f"{words[k][0]} {n:,} {words[k][1] if n == 1 else words[k][2]}"
            for k, n in self.counts().items()
            if n
        ]

    def bodies(self) -> dict[str, Any]:
        """The bodies ``plan --out`` writes: JSON-ready, secrets as references, new groups'
        ids as ``${group:NAME}``, joining sources' ids as ``${source:NAME}`` when new."""
        pending = {s.name: f"${{source:{s.name}}}" for s in self.sources}
        ids = {**self.found_sources, **pending}
        return {
            "create_video_groups": [json.loads(g.body.content()) for g in self.groups],
            "create_video_sources": [
                json.loads(s.body(self.found_groups).content()) for s in self.sources
            ],
            "update_video_groups": [
                {"video_group_id": j.group_id, "body": json.loads(j.update(ids).content())}
                for j in self.joins
            ],
        }


def plan_registration(
    sheet: SheetRegistration,
    sources: SourceListing,
    groups: GroupListing,
    *,
    project: str,
) -> RegistrationPlan:
    """The registration a checked sheet needs in ``project``, given its listings."""
    rejections: list[Problem] = []
    rejected: set[int] = set()
    found_groups, refused_groups = _find_groups(sheet, groups, project, rejections, rejected)
    creates, found_sources = _sources(sheet, sources, found_groups, project, rejections, rejected)
    group_creates = _group_creates(sheet, sources, found_groups, refused_groups, rejected)
    joins = _joins(sheet, sources, found_groups, creates, rejections, rejected)
    kept = tuple(c for c in creates if not set(c.rows) <= rejected)
    return RegistrationPlan(
        project,
        group_creates,
        kept,
        joins,
        found_sources,
        found_groups,
        tuple(rejections),
        frozenset(rejected),
    )


def _find_groups(
    sheet: SheetRegistration,
    groups: GroupListing,
    project: str,
    rejections: list[Problem],
    rejected: set[int],
) -> tuple[dict[str, str], set[str]]:
    """Group names the project has (name -> id), and those two groups share (refused)."""
    found: dict[str, str] = {}
    shared: set[str] = set()
    for group in sheet.groups:
        listed = list(groups.by_name.get(group.name, ()))
        if len(listed) == 1:
            found[group.name] = listed[0].id
        elif len(listed) > 1:
            shared.add(group.name)
            ids = ", ".join(g.id for g in listed)
            for row in _rows_of_group(sheet, group.name):
                rejected.add(row.position)
                rejections.append(
                    _rejection(
                        row.place,
                        "shared-group-name",
                        f"group {shown(group.name)} is the name of {len(listed)} groups in"
                        f" project {project} ({ids})",
                        "rename all but one in the console, or give the group's id",
                        group.name,
                    )
                )
    return found, shared


def _sources(
    sheet: SheetRegistration,
    sources: SourceListing,
    found_groups: Mapping[str, str],
    project: str,
    rejections: list[Problem],
    rejected: set[int],
) -> tuple[list[SourceCreate], dict[str, str]]:
    """Cameras found by name (name -> id), and the creates of those the project lacks."""
    found: dict[str, str] = {}
    rows: dict[str, list[SourceRow]] = {}
    for row in sheet.sources:
        if row.position not in rejected:
            rows.setdefault(row.name, []).append(row)
    creates = []
    for name, named in rows.items():
        first = named[0]
        if first.video_source_id:
            continue  # the sheet gives the id: nothing to find
        listed = sources.by_name.get(name)
        if listed is not None:
            found[name] = listed.id
        elif first.stream is None:
            for row in named:
                rejected.add(row.position)
                rejections.append(_not_in_project(row, project))
        else:
            creates.append(_create(named, sheet, found_groups))
    return creates, found


def _create(
    named: Sequence[SourceRow], sheet: SheetRegistration, found_groups: Mapping[str, str]
) -> SourceCreate:
    """The create of a camera the project lacks, from its first row, into every group its
    rows name (a create may join several)."""
    first = named[0]
    assert first.stream is not None  # the caller looked
    create = CreateVideoSource(
        first.name,
        first.stream,
        first.access_type,
        first.latitude,
        first.longitude,
        (),
        first.tags,
        sheet.form,
    )
    groups = {
        (r.group_name, r.group_id or found_groups.get(r.group_name, ""))
        for r in named
        if r.group_id or r.group_name
    }
    return SourceCreate(first.name, tuple(r.position for r in named), create, tuple(sorted(groups)))


def _group_creates(
    sheet: SheetRegistration,
    sources: SourceListing,
    found_groups: Mapping[str, str],
    refused: set[str],
    rejected: set[int],
) -> tuple[GroupCreate, ...]:
    """Groups the project lacks, with the existing sources that join them."""
    creates = []
    for group in sheet.groups:
        if group.name in found_groups or group.name in refused:
            continue
        existing = [
            listed.id
            for name in group.members
            if (listed := sources.by_name.get(name)) is not None
            and not _all_rejected(sheet, name, rejected)
        ]
        body = CreateVideoGroup(
            group.name, _access(sheet, group), group.description, tuple(existing)
        )
        creates.append(GroupCreate(group.name, body, group.sheet_name))
    return tuple(creates)


def _joins(
    sheet: SheetRegistration,
    sources: SourceListing,
    found_groups: Mapping[str, str],
    creates: Sequence[SourceCreate],
    rejections: list[Problem],
    rejected: set[int],
) -> tuple[GroupJoin, ...]:
    """Existing sources joining existing groups (an UpdateVideoGroup each, holding the
    created ones too: it replaces the list); a group the sheet would grow past 50 rejects
    the rows that grow it."""
    names: dict[str, str] = {}  # group id -> its name in the sheet
    joining: dict[str, list[str]] = {}
    for row in sheet.sources:
        group_id = row.group_id or found_groups.get(row.group_name, "")
        listed = sources.by_name.get(row.name)
        if group_id and listed is not None and row.position not in rejected:
            names.setdefault(group_id, row.group_name or group_id)
            if group_id not in listed.group_ids and row.name not in joining.get(group_id, []):
                joining.setdefault(group_id, []).append(row.name)
    created: dict[str, list[str]] = {}
    for create in creates:
        for name, group_id in create.groups:
            if group_id:
                names.setdefault(group_id, name or group_id)
                created.setdefault(group_id, []).append(create.name)
    joins = []
    for group_id in [g for g in names if g in joining or g in created]:
        join = GroupJoin(
            names[group_id],
            group_id,
            tuple(sources.members(group_id)),
            tuple(joining.get(group_id, ())),
            tuple(created.get(group_id, ())),
        )
        total = len(set(join.current)) + len(join.created) + len(join.joining)
        if total > MAX_GROUP_MEMBERS:
            _reject_group(sheet, join, total, rejections, rejected)
        elif join.joining:
            joins.append(join)
    return tuple(joins)


def _reject_group(
    sheet: SheetRegistration,
    join: GroupJoin,
    total: int,
    rejections: list[Problem],
    rejected: set[int],
) -> None:
    """The rows that would grow a group past 50: rejected, naming the numbers."""
    growing = {*join.joining, *join.created}
    for row in sheet.sources:
        if row.name in growing and row.position not in rejected:
            rejected.add(row.position)
            rejections.append(
                _rejection(
                    row.place,
                    "group-full",
                    f"group {shown(join.group_name)} ({join.group_id}) has"
                    f" {len(join.current)} sources; with this sheet's it would have {total},"
                    f" and a VIAS group holds at most {MAX_GROUP_MEMBERS}",
                    "put these cameras in another group of the sheet",
                    row.name,
                )
            )


def _access(sheet: SheetRegistration, group: SheetGroup) -> AccessType:
    """A group's access type: its first member's."""
    rows = sheet.by_name()
    first = next((rows[n] for n in group.members if n in rows), None)
    return first.access_type if first is not None else AccessType.CLOUD


def _rows_of_group(sheet: SheetRegistration, name: str) -> list[SourceRow]:
    """The rows that join the group named ``name``."""
    return [row for row in sheet.sources if row.group_name == name]


def _all_rejected(sheet: SheetRegistration, name: str, rejected: set[int]) -> bool:
    """Whether every row of a camera name is rejected."""
    return all(r.position in rejected for r in sheet.sources if r.name == name)


def _not_in_project(row: SourceRow, project: str) -> Problem:
    """A camera to be found that the project lacks, and no way to register it."""
    return _rejection(
        row.place,
        "not-in-project",
        f"camera {row.name!r} is not in project {project}: register it in the console, or"
        " add a stream address column so bulkload registers it",
        "add a stream_url column (or VCN, RESTful or edge camera fields) to the mapping",
        row.name,
    )


def _rejection(place: Place, code: str, message: str, fix: str, value: str) -> Problem:
    """An error on a row, found against the project."""
    return Problem.at(place, Severity.ERROR, code, message, fix=fix, value=value)


def check_quota(plan: RegistrationPlan, sources: SourceListing, groups: GroupListing) -> None:
    """ConfigError (exit 2, nothing created) when the planned creates pass a quota: the
    project's total, the creates and ``quota_number`` named. An unknown quota passes."""
    if sources.quota is not None and sources.total + len(plan.sources) > sources.quota:
        raise ConfigError(
            f"project {plan.project} holds {sources.total:,} video sources and the plan"
            f" registers {len(plan.sources):,} more, over its quota of {sources.quota:,}",
            hint="delete unused video sources, ask for a larger quota, or load part of the"
            " sheet (row filters)",
        )
    listed = sum(len(g) for g in groups.by_name.values())
    if groups.quota is not None and listed + len(plan.groups) > groups.quota:
        raise ConfigError(
            f"project {plan.project} holds {listed:,} video groups and the plan registers"
            f" {len(plan.groups):,} more, over its quota of {groups.quota:,}",
            hint="delete unused groups, or put the sheet's cameras in fewer groups",
        )


def fill_ids(
    checked: Checked,
    *,
    sources: Mapping[str, str],
    groups: Mapping[str, str],
    rejected: Collection[int] = frozenset(),
    rejections: Sequence[Problem] = (),
) -> Checked:
    """``checked`` with each camera row's video source and group ids filled from
    ``sources`` (camera name -> id: found + registered) and ``groups`` (group name -> id),
    so the diff and batching run unchanged. Rows at ``rejected`` positions (the plan's
    ``rejected_rows``) are rejected and ``rejections`` (its problems) added; rows whose ids
    are still unknown (a create that failed) are rejected with a problem each. A sheet
    without registration comes back as it was."""
    sheet = checked.registration
    if sheet is None:
        return checked
    frame = checked.rows.copy()
    source_ids = frame["video_source_id"].to_numpy(dtype=object).copy()
    group_ids = frame["group"].to_numpy(dtype=object).copy()
    status = frame[STATUS].to_numpy(dtype=object).copy()
    problems = list(checked.problems) + list(rejections)
    for row in sheet.sources:
        source_ids[row.position] = row.video_source_id or sources.get(row.name, "")
        group_ids[row.position] = row.group_id or groups.get(row.group_name, "")
        if status[row.position] == RowStatus.REJECTED.value:
            continue
        if row.position in rejected:
            status[row.position] = RowStatus.REJECTED.value
        elif not source_ids[row.position] or not group_ids[row.position]:
            status[row.position] = RowStatus.REJECTED.value
            problems.append(_unregistered(row, bool(source_ids[row.position])))
    frame["video_source_id"] = source_ids
    frame["group"] = group_ids
    frame[STATUS] = status
    kept = checked.cameras.take(status[checked.cameras.position] == RowStatus.VALID.value)
    cameras = Cameras(
        position=kept.position,
        row=kept.row,
        group=np.fromiter(map(str, group_ids[kept.position]), dtype=object, count=len(kept)),
        video_source_id=np.fromiter(
            map(str, source_ids[kept.position]), dtype=object, count=len(kept)
        ),
        target_roi=kept.target_roi,
        settings_class=kept.settings_class,
    )
    return dataclasses.replace(checked, cameras=cameras, rows=frame, problems=problems)


def _unregistered(row: SourceRow, has_source: bool) -> Problem:
    """A row whose camera or group has no id after registration (its create failed)."""
    what = f"group {row.group_name!r}" if has_source else f"camera {row.name!r}"
    return _rejection(
        row.place,
        "not-registered",
        f"{what} has no id: it was not found or registered",
        "see the registration's messages above; run again to retry",
        row.name,
    )
