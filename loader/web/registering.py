"""
What the Plan, Send and confirmation pages say about registration, in the sheet's words:
a sheet that names its cameras (no video source ids) has them found in the project by
name and the missing ones registered before their tasks. With the project's listing
planned (``RegistrationPlan``) the pages show its counts (``+ N video sources``, ``+ M
groups``, ``~ K cameras joining groups``); without it, what the sheet gives (how many
cameras, which column names them, which gives their addresses). Either way the Send page
asks once before a run registers anything, with a token of exactly what it was shown.
Pure.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from loader.check.load import Loaded
from loader.check.mapping import Mapping as MappingFile
from loader.planning.registration import RegistrationPlan
from loader.report.summaries import format_registration

# What says where a camera's video comes from, one field per access type (a VCN camera by
# its VCN's address).
ADDRESS_FIELDS = ("stream_url", "restful_url", "restful_rtsp_url", "edge_camera_id", "vcn_ip")


def registration_view(
    loaded: Loaded, registration: RegistrationPlan | None, project: str | None
) -> dict[str, Any] | None:
    """The registration facts a page shows (None: the sheet carries ids, nothing to
    register), and ``token``, the confirmation of exactly them ("" when nothing is sent)."""
    sheet = loaded.checked.registration
    if sheet is None:
        return None
    names = sheet.by_name()
    counts = format_registration(registration) if registration is not None else None
    view: dict[str, Any] = {
        "project": registration.project if registration is not None else project,
        "counts": counts,
        "cameras": len(names),
        "registrable": sum(1 for row in names.values() if row.stream is not None),
        "groups": len(sheet.groups),
        "camera_column": column_words(loaded.mapping, ("camera_name",)),
        "address_column": column_words(loaded.mapping, ADDRESS_FIELDS),
    }
    sends = counts is None or any(
        counts[k] for k in ("video_sources", "groups", "cameras_joining_groups")
    )
    view["token"] = _token(view) if sends else ""
    return view


def column_words(mapping: MappingFile, fields: tuple[str, ...]) -> str:
    """The columns (or templates) of the sheet that give these fields, as the mapping names
    them ("Camera", "rtsp://{Address}:554/..."); "" when none does."""
    found = []
    for field in fields:
        spec = mapping.cameras.columns.get(field)
        if spec is not None and (text := spec.column or spec.template or ""):
            found.append(text)
    return " / ".join(dict.fromkeys(found))


def _token(view: dict[str, Any]) -> str:
    """A short hash of what the page said registration does: a confirmation holds for it."""
    said = json.dumps(view, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(said.encode()).hexdigest()[:16]
