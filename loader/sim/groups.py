"""
ListVideoGroups (``GET /v2/{project_id}/video-group/groups``) over the groups the project
knows: every ``video_source_group_id`` a valid create body named. Field names are the SDK's
(ListVideoGroupsResponse, VideoGroupListInfoDto).

Readings of ours: ``total_number`` counts the groups that match (all pages) and
``video_group_number`` those on this page (the SDK describes both as a number of groups);
``quota_number`` is ``SimConfig.group_quota`` (no default is published). ``create_at`` and
``modify_at`` are when a create body first and last named the group; ``num_video_source``
counts the sources bodies named in it; ``num_batch_task`` the batches naming it. ``name``
matches part of a group name; ``sort_name`` is create_at (default), modify_at,
num_video_source or num_task; ``order_by`` desc (default) or asc; paging as ListBatchTasks
(``page_num`` up to 100000). A group's name is ``SimConfig.group_names``' or one derived
from its id. Registered groups (``loader.sim.registration``) are listed beside them with
every field of the DTO (``group_status`` and ``type`` too: their members' one type, or ""
for none or several); a registered group a batch body named is listed once, as registered.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from loader.sim.errors import vias_response
from loader.sim.invalid import Invalid
from loader.sim.service import Handlers, ListQuery, gated

SORTS = ("create_at", "modify_at", "num_video_source", "num_task")


class Groups(Handlers):
    """The video group handlers over one service."""

    @gated
    async def list_groups(self, request: Request) -> Response:
        """ListVideoGroups: filtered by name, sorted, paged."""
        try:
            asked = ListQuery.of(request, SORTS)
        except Invalid as exc:
            return vias_response("VIAS.00010001", str(exc))
        name = request.query_params.get("name", "")
        rows = [r for r in self._rows() if name in r["video_group_name"]]
        shown = asked.shown(rows, asked.sort, "video_group_id")
        return JSONResponse(
            {
                "total_number": len(rows),
                "video_group_number": len(shown),
                "quota_number": self.service.config.group_quota,
                "video_group_list": [
                    {k: v for k, v in row.items() if k != "num_task"} for row in shown
                ],
            }
        )

    def _rows(self) -> list[dict[str, Any]]:
        """Each known group as a VideoGroupListInfoDto, with ``num_task`` to sort by."""
        self.state.sweep()
        with self.state.lock:
            tasks = Counter(t.group_id for t in self.state.tasks.values() if t.deleting_at is None)
            batches = [b.group_ids for b in self.state.batches.values()]
            groups = list(self.state.groups.items())
        registered = self._registered(tasks, batches)
        return [
            *registered.values(),
            *(
                {
                    "video_group_id": group_id,
                    "video_group_name": self.service.group_name(group_id),
                    "num_video_source": len(seen.sources),
                    "access_type": "cloud",
                    "create_at": int(seen.first * 1000),
                    "modify_at": int(seen.last * 1000),
                    "num_batch_task": sum(1 for named in batches if group_id in named),
                    "num_task": tasks[group_id],
                }
                for group_id, seen in groups
                if group_id not in registered
            ),
        ]

    def _registered(self, tasks: Counter[str], batches: list[tuple[str, ...]]) -> dict[str, Any]:
        """Each registered group as a VideoGroupListInfoDto, with ``num_task``, by id."""
        sources, groups = self.state.registry.snapshot()
        types = {s.id: s.type for s in sources}
        rows: dict[str, Any] = {}
        for group in groups:
            kinds = {types[m] for m in group.members if m in types}
            rows[group.id] = {
                "video_group_id": group.id,
                "video_group_name": group.name,
                "num_video_source": len(group.members),
                "group_status": {
                    "num_online": len(group.members),
                    "num_exception": 0,
                    "num_offline": 0,
                },
                "access_type": group.access_type,
                "create_at": int(group.created_at * 1000),
                "modify_at": int(group.modified_at * 1000),
                "num_batch_task": sum(1 for named in batches if group.id in named),
                "type": kinds.pop() if len(kinds) == 1 else "",
                "num_task": tasks[group.id],
            }
        return rows
