"""
The video sources and groups registered through the API (CreateVideoSource,
CreateVideoGroup), beside those a batch body names without registering (the simulator's
older, implicit ones: ``SimState.groups``). Thread-safe, on its own lock. Bodies reach it
checked (``loader.sim.source_rules``); what it refuses is what only the project's contents
can tell: a used source name (400 VIAS.00010010), the quota (400 VIAS.0010047), ids that
name nothing (400 VIAS.00010002).

Readings of ours, where the reference says "not documented":
- a source name is unique in the project, on create and on rename (section 15.4);
- group names may repeat unless ``SimConfig.unique_group_names`` (then 400 VIAS.00010003);
- the source quota counts registered and implicit sources alike; over the group quota a
  create gets 400 VIAS.00010004 (no code is published for it);
- ids named by ``video_group_ids`` / ``video_source_ids`` must be registered (400
  VIAS.00010002); a group and its members need not share an access type (section 15.13);
- deleting a source takes it out of its groups; deleting a group keeps its sources; either
  is refused with 500 VIAS.00010012 while a task (not being deleted) uses it (15.12);
- a registered group's members are in the order they joined (create, then the update's list).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

Refusal = tuple[str, str] | None  # (VIAS code, detail) or None: done


@dataclass
class SimSource:
    """A registered video source as the API stores it."""

    id: str
    name: str
    access_type: str
    type: str
    type_config: str
    created_at: float
    latitude: str | None = None
    longitude: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class SimGroup:
    """A registered video group and its members (source ids, in the order they joined)."""

    id: str
    name: str
    access_type: str
    created_at: float
    modified_at: float
    description: str = ""
    members: list[str] = field(default_factory=list)


@dataclass
class Registry:
    """Every registered source and group of the project."""

    source_quota: int = 5000
    group_quota: int = 1000
    unique_group_names: bool = False
    sources: dict[str, SimSource] = field(default_factory=dict)
    groups: dict[str, SimGroup] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create_source(
        self, body: dict[str, Any], now: float, implicit: set[str]
    ) -> SimSource | tuple[str, str]:
        """A new source from a checked body: its id, or a refusal; ``implicit``: other ids."""
        with self.lock:
            refusal = self._name_taken(body["video_source_name"], None)
            if refusal is None and len(set(self.sources) | implicit) >= self.source_quota:
                refusal = ("VIAS.0010047", f"the quota of {self.source_quota} sources is reached")
            groups = body.get("video_group_ids", [])
            refusal = refusal or self._missing(groups, self.groups, "video group")
            if refusal is not None:
                return refusal
            source = SimSource(
                str(uuid.uuid4()),
                body["video_source_name"],
                body["access_type"],
                body["type"],
                body["type_config"],
                now,
                body.get("latitude"),
                body.get("longitude"),
                list(body.get("tag", [])),
            )
            self.sources[source.id] = source
            for group_id in groups:
                self.groups[group_id].members.append(source.id)
                self.groups[group_id].modified_at = now
            return source

    def update_source(self, source: SimSource, body: dict[str, Any]) -> Refusal:
        """Name, place, tags and XML from a checked body (a rename to a used name: refused)."""
        with self.lock:
            refusal = self._name_taken(body["video_source_name"], source.id)
            if refusal is not None:
                return refusal
            source.name, source.type_config = body["video_source_name"], body["type_config"]
            source.latitude, source.longitude = body.get("latitude"), body.get("longitude")
            source.tags = list(body.get("tag", []))
        return None

    def delete_source(self, source_id: str, now: float) -> None:
        """The source goes, and out of every group."""
        with self.lock:
            self.sources.pop(source_id, None)
            for group in self.groups.values():
                if source_id in group.members:
                    group.members.remove(source_id)
                    group.modified_at = now

    def create_group(self, body: dict[str, Any], now: float) -> SimGroup | tuple[str, str]:
        """A new group from a checked body: it, or a refusal."""
        with self.lock:
            name = body["video_group_name"]
            refusal: Refusal = None
            if self.unique_group_names and any(g.name == name for g in self.groups.values()):
                refusal = ("VIAS.00010003", f"a video group named {name} exists already")
            elif len(self.groups) >= self.group_quota:
                refusal = ("VIAS.00010004", f"the quota of {self.group_quota} groups is reached")
            members = body.get("video_source_ids", [])
            refusal = refusal or self._missing(members, self.sources, "video source")
            if refusal is not None:
                return refusal
            group = SimGroup(
                str(uuid.uuid4()),
                name,
                body["access_type"],
                now,
                now,
                body.get("description", ""),
                list(members),
            )
            self.groups[group.id] = group
            return group

    def update_group(self, group: SimGroup, body: dict[str, Any], now: float) -> Refusal:
        """The membership replaced by the list sent; name, description only when sent."""
        with self.lock:
            members = body["video_source_ids"]
            refusal = self._missing(members, self.sources, "video source")
            name = body.get("video_group_name", group.name)
            clash = [g for g in self.groups.values() if g.name == name and g is not group]
            if refusal is None and self.unique_group_names and clash:
                refusal = ("VIAS.00010003", f"a video group named {name} exists already")
            if refusal is not None:
                return refusal
            group.members, group.modified_at = list(members), now
            group.name = name
            group.description = body.get("description", group.description)
        return None

    def delete_group(self, group_id: str) -> None:
        """The group goes; its sources stay."""
        with self.lock:
            self.groups.pop(group_id, None)

    def groups_of(self, source_id: str) -> list[SimGroup]:
        """The registered groups a source is in."""
        with self.lock:
            return [g for g in self.groups.values() if source_id in g.members]

    def admits(self, group_id: str, source_id: str) -> bool:
        """Whether the source is registered in the group."""
        with self.lock:
            group = self.groups.get(group_id)
            return group is not None and source_id in group.members and source_id in self.sources

    def snapshot(self) -> tuple[list[SimSource], list[SimGroup]]:
        """Every registered source and group now (their records, not copies)."""
        with self.lock:
            return list(self.sources.values()), list(self.groups.values())

    def _name_taken(self, name: str, own_id: str | None) -> Refusal:
        taken = any(s.name == name and s.id != own_id for s in self.sources.values())
        if taken:
            return ("VIAS.00010010", f"a video source named {name} exists already")
        return None

    @staticmethod
    def _missing(ids: list[str], known: dict[str, Any], what: str) -> Refusal:
        absent = [i for i in ids if i not in known]
        return ("VIAS.00010002", f"no {what} has the id {absent[0]}") if absent else None
