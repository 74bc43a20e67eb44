"""
The video source and group calls of ``shared/reference/vias-sources-groups.md``:
CreateVideoSource (``POST /source``), UpdateVideoSource and DeleteVideoSource
(``PUT``/``DELETE /source/{id}``), ShowVideoSourceDetail (``GET /source/sources/{id}``),
CreateVideoGroup (``POST /video-group``), UpdateVideoGroup, DeleteVideoGroup and
ShowVideoGroupDetail (``PUT``/``DELETE``/``GET /video-group/{id}``). Bodies are checked by
``loader.sim.source_rules``; what the project holds decides the rest (``loader.sim.registry``).
Every call that changes something draws a registration fault (``loader.sim.config``).

Answers as the SDK's response models: a create gives the new id only; UpdateVideoSource and
ShowVideoSourceDetail the source's detail without its id; UpdateVideoGroup, DeleteVideoGroup
and DeleteVideoSource a 200 with an empty body. A path id must be 4-36 of a-z, 0-9, - and _
(400 VIAS.00010001), and name a registered object (400 VIAS.00010002).

Readings of ours, where the reference says "not documented":
- ``type_config`` and ``stream_path`` come back with a password's text as ``******``
  (section 15.3); ``stream_path`` is a url source's address, a restful one's RTSP URL, else
  empty; ``image`` is empty (no screenshot is taken);
- every registered source is online: ``status`` ``{"status": "1", "name": "在线", "level":
  "1"}``, and its group counts it in ``num_online``;
- a group only batch bodies named (never registered) shows in ShowVideoGroupDetail but
  cannot be updated or deleted (500 VIAS.00010012: there is nothing registered to change).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from loader.sim.errors import vias_response
from loader.sim.invalid import Invalid
from loader.sim.registry import SimGroup, SimSource
from loader.sim.service import Handlers, Service, checked_body, gated
from loader.sim.source_rules import (
    OBJECT_ID,
    TYPE_CONFIG_FORMATS,
    check_group_create,
    check_group_update,
    check_source_create,
    check_source_update,
    config_elements,
)

ONLINE = {"status": "1", "name": "在线", "level": "1"}
_SECRET = re.compile(r"(<(PASSWORD|password)>)(.*?)(</\2>)", re.DOTALL)
MASK = "******"


class Registration(Handlers):
    """The registration handlers over one service."""

    def __init__(self, service: Service) -> None:
        super().__init__(service)
        self.registry = service.state.registry
        self.formats = frozenset(service.config.type_config_formats)

    def routes(self, base: str) -> list[Route]:
        """Every route of this module, under ``base`` (``/v2/{project_id}``)."""
        source, group = (
            f"{base}/source/{{video_source_id}}",
            f"{base}/video-group/{{video_group_id}}",
        )
        return [
            Route(f"{base}/source", self.create_source, methods=["POST"]),
            Route(f"{base}/source/sources/{{video_source_id}}", self.show_source, methods=["GET"]),
            Route(source, self.update_source, methods=["PUT"]),
            Route(source, self.delete_source, methods=["DELETE"]),
            Route(f"{base}/video-group", self.create_group, methods=["POST"]),
            Route(group, self.show_group, methods=["GET"]),
            Route(group, self.update_group, methods=["PUT"]),
            Route(group, self.delete_group, methods=["DELETE"]),
        ]

    # ---- sources --------------------------------------------------------------------------

    async def create_source(self, request: Request) -> Response:
        """CreateVideoSource: ``{"video_source_id": ...}``."""
        return await self._changing(request, self._create_source)

    def _create_source(self, request: Request, raw: bytes) -> Response:
        body = checked_body(raw, lambda b: check_source_create(b, self.formats))
        if isinstance(body, Response):
            return body
        implicit = self.implicit_sources()
        if body["video_source_name"] in {self.service.source_name(s) for s in implicit}:
            name = body["video_source_name"]
            return vias_response("VIAS.00010010", f"a video source named {name} exists already")
        made = self.registry.create_source(body, self.state.clock(), implicit)
        if isinstance(made, tuple):
            return vias_response(*made)
        return JSONResponse({"video_source_id": made.id})

    async def update_source(self, request: Request) -> Response:
        """UpdateVideoSource: the source's detail, as it is now."""
        return await self._changing(request, self._update_source)

    def _update_source(self, request: Request, raw: bytes) -> Response:
        source = self._source(request)
        if isinstance(source, Response):
            return source
        body = checked_body(raw, lambda b: check_source_update(b, source.type, self.formats))
        if isinstance(body, Response):
            return body
        refusal = self.registry.update_source(source, body)
        if refusal is not None:
            return vias_response(*refusal)
        return JSONResponse(self.source_detail(source))

    async def delete_source(self, request: Request) -> Response:
        """DeleteVideoSource: refused while a task runs on it."""
        return await self._changing(request, self._delete_source)

    def _delete_source(self, request: Request, raw: bytes) -> Response:
        source = self._source(request)
        if isinstance(source, Response):
            return source
        if self.state.in_use(source_id=source.id):
            return vias_response("VIAS.00010012", f"video source {source.id} has tasks")
        self.registry.delete_source(source.id, self.state.clock())
        return Response(status_code=200)

    @gated
    async def show_source(self, request: Request) -> Response:
        """ShowVideoSourceDetail: the detail, without the id."""
        source = self._source(request)
        if isinstance(source, Response):
            return source
        return JSONResponse(self.source_detail(source))

    def _source(self, request: Request) -> SimSource | Response:
        """The registered source the path names, or the refusal."""
        source_id = request.path_params["video_source_id"]
        if OBJECT_ID.fullmatch(source_id) is None:
            return vias_response("VIAS.00010001", f"{source_id!r} is not a video source id")
        with self.registry.lock:
            source = self.registry.sources.get(source_id)
        if source is None:
            return vias_response("VIAS.00010002", f"no video source has the id {source_id}")
        return source

    # ---- groups ---------------------------------------------------------------------------

    async def create_group(self, request: Request) -> Response:
        """CreateVideoGroup: ``{"video_group_id": ...}``."""
        return await self._changing(request, self._create_group)

    def _create_group(self, request: Request, raw: bytes) -> Response:
        body = checked_body(raw, check_group_create)
        if isinstance(body, Response):
            return body
        made = self.registry.create_group(body, self.state.clock())
        if isinstance(made, tuple):
            return vias_response(*made)
        return JSONResponse({"video_group_id": made.id})

    async def update_group(self, request: Request) -> Response:
        """UpdateVideoGroup: the membership becomes the list sent."""
        return await self._changing(request, self._update_group)

    def _update_group(self, request: Request, raw: bytes) -> Response:
        group = self._group(request)
        if isinstance(group, Response):
            return group
        body = checked_body(raw, check_group_update)
        if isinstance(body, Response):
            return body
        refusal = self.registry.update_group(group, body, self.state.clock())
        return vias_response(*refusal) if refusal else Response(status_code=200)

    async def delete_group(self, request: Request) -> Response:
        """DeleteVideoGroup: refused while a task runs in it; its sources stay."""
        return await self._changing(request, self._delete_group)

    def _delete_group(self, request: Request, raw: bytes) -> Response:
        group = self._group(request)
        if isinstance(group, Response):
            return group
        if self.state.in_use(group_id=group.id):
            return vias_response("VIAS.00010012", f"video group {group.id} has tasks")
        self.registry.delete_group(group.id)
        return Response(status_code=200)

    @gated
    async def show_group(self, request: Request) -> Response:
        """ShowVideoGroupDetail: no member list (the reference: ListVideoSources has it)."""
        group_id = request.path_params["video_group_id"]
        group = self._group(request)
        if isinstance(group, Response):
            seen = self.state.groups.get(group_id)
            if seen is None or OBJECT_ID.fullmatch(group_id) is None:
                return group
            return JSONResponse(self._implicit_group(group_id))
        return JSONResponse(self.group_detail(group))

    def _group(self, request: Request) -> SimGroup | Response:
        """The registered group the path names, or the refusal."""
        group_id = request.path_params["video_group_id"]
        if OBJECT_ID.fullmatch(group_id) is None:
            return vias_response("VIAS.00010001", f"{group_id!r} is not a video group id")
        with self.registry.lock:
            group = self.registry.groups.get(group_id)
        if group is not None:
            return group
        if group_id in self.state.groups:
            detail = f"video group {group_id} was never registered: nothing to change"
            return vias_response("VIAS.00010012", detail)
        return vias_response("VIAS.00010002", f"no video group has the id {group_id}")

    # ---- answers --------------------------------------------------------------------------

    async def _changing(
        self, request: Request, change: Callable[[Request, bytes], Response]
    ) -> Response:
        """A registering call: the gateway, then the change under a registration fault."""
        refused = await self.service.gate(request)
        if refused is not None:
            return refused
        raw = await request.body()
        draw = self.service.registration_faults
        return await self.service.mutate(request, lambda: change(request, raw), draw)

    def implicit_sources(self) -> set[str]:
        """Ids of the sources batch bodies named."""
        with self.state.lock:
            return {source for group in self.state.groups.values() for source in group.sources}

    def source_detail(self, source: SimSource) -> dict[str, Any]:
        """ShowVideoSourceDetail's (and UpdateVideoSource's) answer."""
        return {
            **source_fields(source, self.packages(source.id)),
            "service_config_templates": [],
            "image": "",
        }

    def packages(self, source_id: str) -> list[dict[str, Any]]:
        """The VideoGroupInfoDto of each registered group the source is in."""
        return [self.group_detail(g) for g in self.registry.groups_of(source_id)]

    def group_detail(self, group: SimGroup) -> dict[str, Any]:
        """ShowVideoGroupDetail's answer (and a VideoGroupInfoDto)."""
        with self.state.lock:
            batches = sum(1 for b in self.state.batches.values() if group.id in b.group_ids)
        return {
            "video_group_id": group.id,
            "video_group_name": group.name,
            "description": group.description,
            "access_type": group.access_type,
            "create_at": int(group.created_at * 1000),
            "modify_at": int(group.modified_at * 1000),
            "num_video_source": len(group.members),
            "group_status": {
                "num_online": len(group.members),
                "num_exception": 0,
                "num_offline": 0,
            },
            "num_batch_task": batches,
        }

    def _implicit_group(self, group_id: str) -> dict[str, Any]:
        """The detail of a group only batch bodies named."""
        seen = self.state.groups[group_id]
        with self.state.lock:
            batches = sum(1 for b in self.state.batches.values() if group_id in b.group_ids)
        return {
            "video_group_id": group_id,
            "video_group_name": self.service.group_name(group_id),
            "description": "",
            "access_type": "cloud",
            "create_at": int(seen.first * 1000),
            "modify_at": int(seen.last * 1000),
            "num_video_source": len(seen.sources),
            "group_status": {"num_online": len(seen.sources), "num_exception": 0, "num_offline": 0},
            "num_batch_task": batches,
        }


def source_fields(source: SimSource, packages: list[dict[str, Any]]) -> dict[str, Any]:
    """The fields a source's detail and its list item share (secrets masked)."""
    fields: dict[str, Any] = {
        "video_source_name": source.name,
        "access_type": source.access_type,
        "status": dict(ONLINE),
        "type": source.type,
        "create_at": int(source.created_at * 1000),
        "type_config": masked(source.type_config),
        "video_packages": packages,
        "stream_path": stream_path(source),
        "tag": list(source.tags),
        "scene_recommend": [],
        "video_source_quality": [],
    }
    if source.latitude is not None:
        fields["latitude"] = source.latitude
    if source.longitude is not None:
        fields["longitude"] = source.longitude
    return fields


def masked(xml: str) -> str:
    """``type_config`` with a password's text hidden."""
    return _SECRET.sub(lambda m: f"{m[1]}{MASK if m[3] else ''}{m[4]}", xml)


def stream_path(source: SimSource) -> str:
    """Where the source streams from, when its XML says (a url's address, RESTful's RTSP)."""
    for kind in TYPE_CONFIG_FORMATS:
        try:
            elements = config_elements(source.type_config, source.type, kind)
        except Invalid:
            continue
        return elements.get("url_address") or elements.get("rtsp_url") or ""
    return ""
