"""
What a checked sheet says about registering its cameras, as typed values between
``check`` (which builds them) and ``planning.registration`` (which turns them into calls).

A sheet that knows its cameras by name (``camera_name`` without ``video_source_id``) or its
groups by name (``group_name`` without an id) carries one ``SourceRow`` per valid camera
row and one ``SheetGroup`` per group it registers (a group over UpdateVideoGroup's 50 is
already split into numbered ``SheetGroup`` values here, or refused by the check). Secrets
are references (``${VAR}``, ``${BULKLOAD_SHEET_SECRET_n}``); the values stay in
``secrets``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from loader.model.choices import TypeConfigFormat
from loader.model.problems import Place
from loader.model.secrets import SecretTable
from loader.model.sources import AccessType, Stream


@dataclass(frozen=True)
class SourceRow:
    """One valid camera row as registration sees it."""

    position: int  # into Checked.rows
    place: Place  # where the row is, for messages
    name: str  # the video source name (camera_name)
    video_source_id: str = ""  # given by the sheet: nothing to find
    group_id: str = ""  # given by the sheet: nothing to find
    group_name: str = ""  # the registered group (a part's name once split); "" without one
    stream: Stream | None = None  # None: the row cannot register, only be found
    access_type: AccessType = AccessType.CLOUD
    latitude: str = ""
    longitude: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SheetGroup:
    """A group the sheet names: its members' camera names, in sheet order."""

    name: str
    members: tuple[str, ...]
    description: str = ""
    sheet_name: str = ""  # the sheet's name when it was split (Lobby for Lobby2), else ""


@dataclass(frozen=True)
class SheetRegistration:
    """Everything a checked sheet says about registering its cameras and groups."""

    sources: tuple[SourceRow, ...]
    groups: tuple[SheetGroup, ...]
    form: TypeConfigFormat = TypeConfigFormat.SDK
    secrets: SecretTable = field(default_factory=SecretTable, compare=False)

    def by_name(self) -> dict[str, SourceRow]:
        """The first row of each camera name (later rows of a name are the same camera)."""
        found: dict[str, SourceRow] = {}
        for source in self.sources:
            found.setdefault(source.name, source)
        return found


# What planning reads of the project's listings. ``loader.send.registry``'s ``SourceIndex``
# and ``GroupIndex`` (listed once per run) satisfy these; planning may not import ``send``.


class ListedSourceView(Protocol):
    """A source the project holds."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def group_ids(self) -> tuple[str, ...]: ...


class SourceListing(Protocol):
    """Every source of the project by exact name, and the quota's numbers."""

    @property
    def by_name(self) -> Mapping[str, ListedSourceView]: ...

    @property
    def total(self) -> int: ...

    @property
    def quota(self) -> int | None: ...

    def members(self, group_id: str) -> list[str]: ...


class ListedGroupView(Protocol):
    """A group the project holds."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


class GroupListing(Protocol):
    """Every group of the project by exact name (a name may be shared)."""

    @property
    def by_name(self) -> Mapping[str, Sequence[ListedGroupView]]: ...

    @property
    def quota(self) -> int | None: ...
