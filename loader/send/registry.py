"""
The video sources and groups of a project, read and registered through ``ViasClient``
(paced, authenticated, judged like every other call; ``shared/reference/
vias-sources-groups.md``).

Reading: ``sources()`` and ``groups()`` list the whole project once, 200 a page, and match
names exactly in the client, so that many sought names never cost a request each (the API
only searches names loosely). ``find_source`` and ``find_groups`` look one name up the same
way, for the lost answers.

Registering, exactly once:
- a source name is unique in the project: a create answered ``exists`` (VIAS.00010010), or
  not answered at all, is settled by looking the name up; a lost create whose name is
  absent was not made, and sending it again is safe (a second one would be ``exists``);
- a group name is not documented unique: ``register_group`` looks before the create
  (``known``: an index listed this run stands for that look) and after a lost answer; a
  name two groups share is never guessed between (``Registered.shared``);
- ``update_group`` sends a group's WHOLE membership (UpdateVideoGroup replaces it).

Secrets: bodies carry passwords as ``${VAR}`` references; ``resolve`` fills those inside
``type_config`` at send time (percent-encoded inside a stream address, XML-escaped always)
and returns the values used, so the caller's scrubber can hide them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

from loader.errors import ConfigError
from loader.model.choices import TypeConfigFormat
from loader.model.sources import (
    REFERENCE,
    CreateVideoGroup,
    CreateVideoSource,
    UpdateVideoGroup,
    UpdateVideoSource,
)
from loader.send.answers import Outcome, Verdict
from loader.send.client import ViasClient

PAGE_SIZE: Final = 200  # both lists' largest page
MAX_PAGES: Final = 100_000  # page_num's bound
_ELEMENT = re.compile(r"(<(\w+)>)([^<]*)(</\2>)")


@dataclass(frozen=True)
class ListedSource:
    """A source as ListVideoSources shows it: what registration needs of it."""

    id: str
    name: str
    type: str = ""
    access_type: str = ""
    group_ids: tuple[str, ...] = ()
    stream_path: str = ""


@dataclass(frozen=True)
class ListedGroup:
    """A group as ListVideoGroups shows it."""

    id: str
    name: str
    access_type: str = ""
    sources: int = 0


@dataclass(frozen=True)
class SourceIndex:
    """Every source of the project by exact name, with the counts the quota check needs."""

    by_name: dict[str, ListedSource]
    total: int  # the sources listed
    quota: int | None  # quota_number, when the API said it

    def members(self, group_id: str) -> list[str]:
        """Ids of the listed sources in the group, in listing order."""
        return [s.id for s in self.by_name.values() if group_id in s.group_ids]

    def headroom(self, creates: int) -> int | None:
        """Sources the quota leaves after ``creates`` more (negative: over), if known."""
        return None if self.quota is None else self.quota - self.total - creates


@dataclass(frozen=True)
class GroupIndex:
    """Every group of the project by exact name (a name may be shared: not unique)."""

    by_name: dict[str, list[ListedGroup]]
    quota: int | None

    def ids(self, name: str) -> list[str]:
        return [g.id for g in self.by_name.get(name, [])]

    def shared(self) -> dict[str, list[str]]:
        """Names two or more groups share, with their ids."""
        return {n: [g.id for g in gs] for n, gs in self.by_name.items() if len(gs) > 1}


@dataclass(frozen=True)
class Registered:
    """What became of one registration: the id (created or found), else the outcome."""

    outcome: Outcome
    id: str = ""
    created: bool = False  # this call made it (else it existed: found by name)
    shared: list[str] = field(default_factory=list)  # ids of groups sharing the name

    @property
    def done(self) -> bool:
        return bool(self.id)


def resolve(content: bytes, environment: Mapping[str, str]) -> tuple[bytes, list[str]]:
    """A body with the ``${VAR}`` references of its ``type_config`` filled; values used.

    Inside a stream address (an element holding ``://``) a value is percent-encoded; every
    value is XML-escaped. An unset variable is a ConfigError naming it, never its value.
    """
    if b"${" not in content:
        return content, []
    body = json.loads(content)
    xml = body.get("type_config")
    if not isinstance(xml, str):
        return content, []
    from xml.sax.saxutils import escape  # the xml package: only for a stream that needs it

    used: list[str] = []

    def fill(element: re.Match[str]) -> str:
        text = element[3]
        in_url = "://" in text

        def value(reference: re.Match[str]) -> str:
            name = reference[1]
            if name not in environment:
                raise ConfigError(
                    f"type_config refers to ${{{name}}}, which is not set",
                    hint=f"export {name}=... before running (it is never written anywhere)",
                )
            raw = environment[name]
            sent = escape(quote(raw, safe="") if in_url else raw)
            used.extend({raw, sent})
            return sent

        return element[1] + REFERENCE.sub(value, text) + element[4]

    body["type_config"] = _ELEMENT.sub(fill, xml)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), used


class SourceRegistry:
    """The sources and groups of one project, through one client."""

    def __init__(self, client: ViasClient, environment: Mapping[str, str]) -> None:
        self.client = client
        self.environment = environment
        self.secrets: list[str] = []  # every secret value sent: for the run's scrubber

    # ---- reading --------------------------------------------------------------------------

    async def sources(self) -> SourceIndex:
        """Every source of the project, 200 a page."""
        items, total, quota = await self._pages("/source/sources", "video_source_list", {})
        by_name: dict[str, ListedSource] = {}
        for item in items:
            source = _source(item)
            by_name.setdefault(source.name, source)
        return SourceIndex(by_name, max(total, len(items)), quota)

    async def groups(self) -> GroupIndex:
        """Every group of the project, 200 a page."""
        items, _, quota = await self._pages("/video-group/groups", "video_group_list", {})
        by_name: dict[str, list[ListedGroup]] = {}
        for item in items:
            group = _group(item)
            by_name.setdefault(group.name, []).append(group)
        return GroupIndex(by_name, quota)

    async def find_source(self, name: str) -> ListedSource | None:
        """The source named exactly ``name`` (the API's ``scope`` only searches loosely)."""
        query = {"scope": name, "scope_name": "source_name"}
        items, _, _ = await self._pages("/source/sources", "video_source_list", query)
        return next((s for s in map(_source, items) if s.name == name), None)

    async def find_groups(self, name: str) -> list[ListedGroup]:
        """Every group named exactly ``name`` (``name`` is a loose search too)."""
        items, _, _ = await self._pages("/video-group/groups", "video_group_list", {"name": name})
        return [g for g in map(_group, items) if g.name == name]

    async def members(self, group_id: str) -> list[str]:
        """Ids of the group's sources (ShowVideoGroupDetail lists none: ListVideoSources)."""
        query = {"video_group_id": group_id}
        items, _, _ = await self._pages("/source/sources", "video_source_list", query)
        return [_source(i).id for i in items]

    async def _pages(
        self, path: str, key: str, query: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], int, int | None]:
        """Every item of a paged list, ``total_number`` and ``quota_number`` of its first page."""
        items: list[dict[str, Any]] = []
        total, quota = 0, None
        for page in range(1, MAX_PAGES + 1):
            params = {**query, "is_paged": "true", "page_size": PAGE_SIZE, "page_num": page}
            listing, _ = await self.client.read(path, params)
            found = listing.get(key)
            shown = [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []
            items += shown
            if page == 1:
                total = _count(listing.get("total_number"))
                quota = _count(listing.get("quota_number")) or None
            if len(shown) < PAGE_SIZE or (total and len(items) >= total):
                break
        return items, total, quota

    # ---- registering ----------------------------------------------------------------------

    async def create_source(self, create: CreateVideoSource) -> Outcome:
        """CreateVideoSource, once; the new id in ``created_id``."""
        content = self._resolved(create.content())
        return await self.client.register("POST", "/source", content, id_field="video_source_id")

    async def update_source(self, source_id: str, update: UpdateVideoSource) -> Outcome:
        """UpdateVideoSource: name and XML resent whole (both are mandatory)."""
        content = self._resolved(update.content())
        return await self.client.register("PUT", f"/source/{source_id}", content)

    async def delete_source(self, source_id: str) -> Outcome:
        """DeleteVideoSource."""
        return await self.client.register("DELETE", f"/source/{source_id}")

    async def create_group(self, create: CreateVideoGroup) -> Outcome:
        """CreateVideoGroup, once; the new id in ``created_id``."""
        content = create.content()
        return await self.client.register(
            "POST", "/video-group", content, id_field="video_group_id"
        )

    async def update_group(self, group_id: str, update: UpdateVideoGroup) -> Outcome:
        """UpdateVideoGroup: ``update`` holds the group's whole membership (it replaces it)."""
        return await self.client.register("PUT", f"/video-group/{group_id}", update.content())

    async def register_source(self, create: CreateVideoSource) -> Registered:
        """A source created, or found by its unique name after ``exists`` or a lost answer."""
        outcome = await self.create_source(create)
        if outcome.verdict == Verdict.ACCEPTED:
            return Registered(outcome, outcome.created_id, created=True)
        if outcome.verdict not in (Verdict.EXISTS, Verdict.AMBIGUOUS):
            return Registered(outcome)
        found = await self.find_source(create.video_source_name)
        if found is None:
            return Registered(outcome)  # a lost create that was not made: safe to send again
        return Registered(outcome, found.id, created=outcome.verdict == Verdict.AMBIGUOUS)

    async def register_group(
        self, create: CreateVideoGroup, known: GroupIndex | None = None
    ) -> Registered:
        """A group found by name (looked up unless ``known``), else created; a lost answer
        looked up again. A name two groups share is not guessed between."""
        name = create.video_group_name
        ids = known.ids(name) if known is not None else [g.id for g in await self.find_groups(name)]
        if ids:
            return _existing(name, ids)
        outcome = await self.create_group(create)
        if outcome.verdict == Verdict.ACCEPTED:
            return Registered(outcome, outcome.created_id, created=True)
        if outcome.verdict != Verdict.AMBIGUOUS:
            return Registered(outcome)
        ids = [g.id for g in await self.find_groups(name)]
        if len(ids) > 1:
            return _existing(name, ids)
        return Registered(outcome, ids[0], created=True) if ids else Registered(outcome)

    def _resolved(self, content: bytes) -> bytes:
        """The body as sent: references filled, the values noted as secrets."""
        sent, used = resolve(content, self.environment)
        self.secrets += [v for v in used if v not in self.secrets]
        return sent


def format_refusal(outcome: Outcome, form: TypeConfigFormat) -> str:
    """Why registration stops when its first create is refused as invalid (VIAS.00010001):
    the server may not take this ``type_config`` format. "" for any other answer."""
    if outcome.verdict != Verdict.REJECTED or not outcome.code.endswith("10001"):
        return ""
    return (
        f"the first video source was refused ({outcome.text}); the server may not take"
        f' type_config in the {form} format: try type_config_format = "{form.other}"'
    )


def _existing(name: str, ids: list[str]) -> Registered:
    """A group found by name: its id, or (shared by several) none of them."""
    if len(ids) == 1:
        return Registered(Outcome(Verdict.EXISTS), ids[0])
    message = f"video group name {name!r} is shared by groups {', '.join(ids)}"
    return Registered(Outcome(Verdict.REJECTED, message=message), shared=list(ids))


def _source(item: dict[str, Any]) -> ListedSource:
    """A ListVideoSourceInfoDto, read leniently."""
    packages = item.get("video_packages")
    groups = [p.get("video_group_id") for p in packages or [] if isinstance(p, dict)]
    return ListedSource(
        str(item.get("video_source_id") or ""),
        str(item.get("video_source_name") or ""),
        str(item.get("type") or ""),
        str(item.get("access_type") or ""),
        tuple(str(g) for g in groups if g),
        str(item.get("stream_path") or ""),
    )


def _group(item: dict[str, Any]) -> ListedGroup:
    """A VideoGroupListInfoDto, read leniently."""
    return ListedGroup(
        str(item.get("video_group_id") or ""),
        str(item.get("video_group_name") or ""),
        str(item.get("access_type") or ""),
        _count(item.get("num_video_source")),
    )


def _count(value: Any) -> int:
    """A count the API gave, or 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
