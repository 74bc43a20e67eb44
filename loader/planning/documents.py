"""
One camera task's settings as a document: what the ledger keeps, what a diff compares, and
what UpdateTask sends. Pure.

The document is the task's whole configuration as a single task carries it: the settings
class's body fields (algorithm, version, schedule, output, config...) with the camera's ROI
in ``config.common.target_roi`` (where a single task keeps it, per the SDK's models), and
webhook header values masked (``***``): they are often secrets, and they rotate through the
environment without being a change of the task. Its fingerprint is a short hash of its
canonical JSON, so the same settings give the same fingerprint whether they come from the
sheet or from ShowTaskInfo.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

from loader.check.schedule import ScheduleError, describe
from loader.model.changes import FieldChange
from loader.model.vias import TaskSettings

MASK: Final = "***"
# Fields an UpdateTask cannot change: another algorithm or version is another task.
REPLACING_FIELDS: Final = ("service_name", "service_version")
# Fields ShowTaskInfo does not report: a learned document without them is not different.
UNREPORTED: Final = ("service_version", "is_saved_as_template")
_EMPTY_DROPPED: Final = ("description", "resource_order_id")  # "" is the same as not given
_UPDATE_FIELDS: Final = (
    "description",
    "schedule",
    "output",
    "config",
    "is_saved_as_template",
    "resource_order_id",
)
Document = dict[str, Any]


def document(settings: TaskSettings, roi: str | None) -> Document:
    """The document of a camera task with these settings and ROI (secrets masked)."""
    dumped = settings.model_dump(mode="json", exclude_none=True)
    for key in _EMPTY_DROPPED:
        if dumped.get(key) == "":
            del dumped[key]
    return masked(_with_roi(dumped, roi))


class ClassDocuments:
    """The documents and fingerprints of one settings class's camera tasks, ROI by ROI.

    A million cameras may carry as many ROIs: the class's settings are dumped and encoded
    once, and a ROI's fingerprint hashes that canonical text with the ROI spliced in (the
    same text ``canonical`` writes: ``target_roi`` has one place under sorted keys, and a
    string encodes alone as it does inside the document). A document is built only when
    asked for, sharing the class's parts.
    """

    def __init__(self, settings: TaskSettings) -> None:
        self.base = document(settings, None)
        self.plain = fingerprint(self.base)
        placeholder = json.dumps(_SPLICE, ensure_ascii=False)
        text = canonical(_with_roi(self.base, _SPLICE))
        head, found, tail = text.partition(placeholder)
        self._around = (head, tail) if found and placeholder not in tail else None

    def fingerprint(self, roi: str | None) -> str:
        """The fingerprint of ``document(settings, roi)``."""
        if not roi:
            return self.plain
        if self._around is None:  # the settings hold the placeholder's text themselves
            return fingerprint(self.document(roi))
        head, tail = self._around
        text = f"{head}{json.dumps(roi, ensure_ascii=False)}{tail}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def document(self, roi: str | None) -> Document:
        """``document(settings, roi)``: equal to it, sharing the class's parts."""
        return _with_roi(self.base, roi)


_SPLICE: Final = "\x00roi\x00"  # stands for the ROI in a class's canonical text


def canonical(doc: Mapping[str, Any]) -> str:
    """Compact JSON with sorted keys: equal documents give equal text."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(doc: Mapping[str, Any]) -> str:
    """A short hash of a document's canonical JSON."""
    return hashlib.sha256(canonical(doc).encode()).hexdigest()[:16]


def update_body(
    settings: TaskSettings, roi: str | None, name: str, video_source_id: str
) -> Document:
    """UpdateTask's body: the task's whole new configuration (``${VAR}`` references kept:
    the sender resolves them), its name unchanged, its one video source as input."""
    dumped = _with_roi(settings.model_dump(mode="json", exclude_none=True), roi)
    body: Document = {"name": name}
    body |= {k: dumped[k] for k in _UPDATE_FIELDS if k in dumped}
    body["input"] = {"type": "video_source", "data": [{"video_source_id": video_source_id}]}
    return body


def needs_replacing(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True if an update cannot turn ``old`` into ``new`` (another algorithm or version).

    A field ``old`` lacks is unknown, not different: ShowTaskInfo reports no version.
    """
    return any(k in old and old[k] != new.get(k) for k in REPLACING_FIELDS)


def differences(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[FieldChange]:
    """The fields that differ, by dotted path (``schedule`` whole, ``config.common.x``...).

    ``old`` None (settings recorded before documents were kept): one line that says so.
    Fields the API does not report (the algorithm's version...) are compared only when
    ``old`` has them.
    """
    if old is None:
        return [FieldChange("settings", "(not recorded)", _text(new))]
    before, after = flatten(old), flatten(new)
    unknown = {k for k in UNREPORTED if k not in before}
    return [
        FieldChange(path, _text(before.get(path), path), _text(after.get(path), path))
        for path in sorted((before.keys() | after.keys()) - unknown)
        if before.get(path) != after.get(path)
    ]


def flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Leaves by dotted path; a schedule and lists stay whole (they change as one)."""
    leaves: dict[str, Any] = {}
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and path != "schedule":
            leaves |= flatten(value, f"{path}.")
        else:
            leaves[path] = value
    return leaves


def masked(doc: Document) -> Document:
    """The document with webhook header values replaced by ``***``."""
    hook = (doc.get("output") or {}).get("webhook")
    if not isinstance(hook, dict) or not isinstance(hook.get("headers"), dict):
        return doc
    masked_hook = {**hook, "headers": dict.fromkeys(hook["headers"], MASK)}
    return {**doc, "output": {**doc["output"], "webhook": masked_hook}}


def _with_roi(dumped: Document, roi: str | None) -> Document:
    """A single task carries its ROI in ``config.common.target_roi``."""
    if not roi:
        return dumped
    config = dict(dumped.get("config") or {})
    config["common"] = {**(config.get("common") or {}), "target_roi": roi}
    return {**dumped, "config": config}


def _text(value: Any, path: str = "") -> str:
    """A value as a person reads it: strings bare, absent as (none), a schedule as
    ``Mon-Fri 08:00-18:00 (UTC+08:00)``, the rest as JSON."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    if path == "schedule" and isinstance(value, Mapping):
        try:
            return describe(value)
        except ScheduleError:  # a learned schedule outside the documented shape: as it is
            pass
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
