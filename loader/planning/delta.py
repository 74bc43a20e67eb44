"""
What a run sends, given the ledger: new camera tasks go out; ones loaded earlier with the
same settings are ``unchanged``; with other settings ``changed`` (sent only with
``--force``); ones that failed earlier with the same settings stay ``failed`` (sent again
only with ``--retry-failed``). Pure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from loader.model.cameras import Camera, CameraStatus, LedgerEntry, LedgerKey, SettingsClass


class Earlier(StrEnum):
    """What the ledger says of a camera task."""

    UNCHANGED = "unchanged"
    CHANGED = "changed"
    FAILED = "failed"
    UNKNOWN = "unknown"  # its batch was created, its own fate not yet known


@dataclass
class Delta:
    """The cameras to send, and for the others, what an earlier run did."""

    send: list[Camera]
    held: dict[int, tuple[Earlier, LedgerEntry]] = field(default_factory=dict)  # by position
    fingerprints: dict[int, str] = field(default_factory=dict)  # by position, sent or not
    earlier: Mapping[LedgerKey, LedgerEntry] = field(default_factory=dict)  # the ledger read


def camera_key(camera: Camera, settings_classes: Sequence[SettingsClass]) -> LedgerKey:
    """A camera task's identity: the camera in its group under one algorithm."""
    service = settings_classes[camera.settings_class].task_settings.service_name
    return (camera.group, camera.video_source_id, service)


def fingerprints_of(settings_classes: Sequence[SettingsClass]) -> list[str]:
    """A short hash of each settings class's body (everything but the name and cameras)."""
    return [
        hashlib.sha256(
            json.dumps(
                s.task_settings.model_dump(mode="json", exclude_none=True), sort_keys=True
            ).encode()
        ).hexdigest()[:16]
        for s in settings_classes
    ]


def fingerprint(camera: Camera, settings_prints: Sequence[str]) -> str:
    """Settings and ROI of one camera task, as a short hash."""
    text = f"{settings_prints[camera.settings_class]}|{camera.target_roi or ''}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def partition(
    cameras: Sequence[Camera],
    settings_classes: Sequence[SettingsClass],
    ledger: Mapping[LedgerKey, LedgerEntry],
    *,
    force: bool = False,
    retry_failed: bool = False,
) -> Delta:
    """Split ``cameras`` into what to send and what the ledger already accounts for."""
    prints = fingerprints_of(settings_classes)
    send_anyway = {
        Earlier.UNCHANGED: False,
        Earlier.CHANGED: force,
        Earlier.FAILED: retry_failed,
        Earlier.UNKNOWN: False,
    }
    delta = Delta(send=[], earlier=ledger)
    marks: dict[tuple[int, str | None], str] = {}  # most cameras share a class and an ROI
    for camera in cameras:
        shared = (camera.settings_class, camera.target_roi)
        mark = marks.get(shared) or marks.setdefault(shared, fingerprint(camera, prints))
        delta.fingerprints[camera.position] = mark
        entry = ledger.get(camera_key(camera, settings_classes))
        earlier = _earlier(entry, mark) if entry is not None else None
        if entry is None or earlier is None or send_anyway[earlier]:
            delta.send.append(camera)
        else:
            delta.held[camera.position] = (earlier, entry)
    return delta


def _earlier(entry: LedgerEntry, mark: str) -> Earlier | None:
    """How an earlier outcome bears on sending this camera task now (None: send it)."""
    if entry.state == CameraStatus.LOADED:
        return Earlier.UNCHANGED if entry.fingerprint == mark else Earlier.CHANGED
    if entry.state == CameraStatus.UNKNOWN:
        return Earlier.UNKNOWN if entry.fingerprint == mark else Earlier.CHANGED
    return Earlier.FAILED if entry.fingerprint == mark else None
