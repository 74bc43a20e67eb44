"""
ListVideoSources (``GET /v2/{project_id}/source/sources``) over the video sources the
project knows: every ``video_source_id`` a valid create body named, in the groups that
named it. Field names are the SDK's (ListVideoSourcesRequest, ListVideoSourcesResponse,
ListVideoSourceInfoDto, VideoGroupInfoDto).

Readings of ours: ``total_number`` counts the sources that match (all pages) and
``video_source_number`` those on this page (the SDK says "number of video sources" and
"total number of video sources"); ``quota_number`` is ``SimConfig.source_quota``.
``video_group_id`` is an array parameter (repeated, as the SDK sends a list), each id matching
``^[0-9a-zA-Z-_]{1,36}$``; ``scope`` with ``scope_name`` ``source_name`` (default) or
``group_name`` matches part of a name. ``sort_name`` is create_at (default), num_task or
num_template; ``order_by`` desc (default) or asc; ``page_size`` 5..200 (default 10) and
``page_num`` 1..100000, unless ``is_paged`` is false. A source's name is
``SimConfig.source_names``' or one derived from its id: every source has one, unique in
the project (VIAS.00010010). Registered sources (``loader.sim.registration``) are listed
beside them with every field of the DTO; their ``video_packages`` are their registered
groups' VideoGroupInfoDto, then (id and name only, as for the implicit ones) any group a
batch body named them in.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from loader.sim.errors import vias_response
from loader.sim.invalid import Invalid, require
from loader.sim.registration import Registration, source_fields
from loader.sim.service import Handlers, ListQuery, Service, gated

# sort_name's values (ListVideoSourcesRequest) and the response fields they sort by.
SORTS = {
    "create_at": "create_at",
    "num_task": "num_tasks",
    "num_template": "num_service_config_templates",
}
_GROUP_ID = re.compile(r"^[0-9a-zA-Z_-]{1,36}$")


class Sources(Handlers):
    """The video source handlers over one service."""

    def __init__(self, service: Service) -> None:
        super().__init__(service)
        self.registration = Registration(service)

    @gated
    async def list_sources(self, request: Request) -> Response:
        """ListVideoSources: filtered by group and name, sorted, paged."""
        query = request.query_params
        groups = query.getlist("video_group_id")
        scope_name = query.get("scope_name", "source_name")
        try:
            asked = ListQuery.of(request, SORTS)
            require(
                scope_name in ("source_name", "group_name"),
                f"scope_name {scope_name!r} must be source_name or group_name",
            )
            for group in groups:
                require(bool(_GROUP_ID.match(group)), f"video_group_id {group!r} is not an id")
        except Invalid as exc:
            return vias_response("VIAS.00010001", str(exc))
        rows = self._rows(set(groups))
        scope = query.get("scope", "")
        if scope:
            rows = [r for r in rows if scope in _scoped(r, scope_name)]
        shown = asked.shown(rows, SORTS[asked.sort], "video_source_id")
        return JSONResponse(
            {
                "total_number": len(rows),
                "video_source_number": len(shown),
                "quota_number": self.service.config.source_quota,
                "video_source_list": shown,
            }
        )

    def _rows(self, groups: set[str]) -> list[dict[str, Any]]:
        """Each known source (in ``groups``, if any) as a ListVideoSourceInfoDto."""
        self.state.sweep()
        with self.state.lock:
            tasks = Counter(
                t.video_source_id for t in self.state.tasks.values() if t.deleting_at is None
            )
            seen = list(self.state.groups.items())
        first: dict[str, float] = {}
        packages: dict[str, list[dict[str, str]]] = {}
        every: dict[str, list[dict[str, str]]] = {}  # unfiltered, for registered sources
        for group_id, group in seen:
            for source in group.sources:
                package = {
                    "video_group_id": group_id,
                    "video_group_name": self.service.group_name(group_id),
                }
                every.setdefault(source, []).append(package)
                if groups and group_id not in groups:
                    continue
                first[source] = min(first.get(source, group.first), group.first)
                packages.setdefault(source, []).append(package)
        registered = {s.id for s in self.state.registry.snapshot()[0]}
        return [
            {
                "video_source_id": source,
                "video_source_name": self.service.source_name(source),
                "access_type": "cloud",
                "type": "camera",
                "create_at": int(first[source] * 1000),
                "video_packages": sorted(packages[source], key=lambda p: p["video_group_id"]),
                "num_tasks": tasks[source],
                "num_service_config_templates": 0,
            }
            for source in first
            if source not in registered
        ] + self._registered_rows(groups, every, tasks)

    def _registered_rows(
        self,
        groups: set[str],
        implicit: dict[str, list[dict[str, str]]],
        tasks: Counter[str],
    ) -> list[dict[str, Any]]:
        """Each registered source (in ``groups``, if any) as a ListVideoSourceInfoDto."""
        rows = []
        for source in self.state.registry.snapshot()[0]:
            packages = self.registration.packages(source.id)
            known = {p["video_group_id"] for p in packages}
            packages += [p for p in implicit.get(source.id, []) if p["video_group_id"] not in known]
            if groups and not groups & {p["video_group_id"] for p in packages}:
                continue
            rows.append(
                {
                    "video_source_id": source.id,
                    **source_fields(source, packages),
                    "num_tasks": tasks[source.id],
                    "num_service_config_templates": 0,
                }
            )
        return rows


def _scoped(row: dict[str, Any], scope_name: str) -> str:
    """The text ``scope`` matches part of: the source's name, or its groups' names."""
    if scope_name == "group_name":
        return " ".join(p["video_group_name"] for p in row["video_packages"])
    return str(row["video_source_name"])
