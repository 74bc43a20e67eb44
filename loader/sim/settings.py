"""
A task's settings as the ground truth records them, the same whether a create or an update
set them, so that tests can tell "changed" from "the same settings sent again".

Normalised: ``service_name`` and ``service_version`` (an update keeps the task's own: it
cannot change the algorithm), ``schedule`` when sent, ``output``, ``config`` without
``common.target_roi`` (and without a ``common`` or ``config`` left empty by that),
``resource_order_id`` when sent, and ``target_roi``: the batch entry's, else
``config.common.target_roi`` (where a single task carries it, research notes section 6),
else None. An empty ROI is None: both mean the whole frame (section 4, target_roi).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# The body fields that configure every task of a batch (with each camera's target_roi).
SETTING_FIELDS = ("service_name", "service_version", "schedule", "output", "config")
SETTING_FIELDS_OPTIONAL = ("resource_order_id",)
MASK = "***"

Settings = dict[str, Any]


def task_settings(body: dict[str, Any], service: tuple[str, str], roi: str | None) -> Settings:
    """The normalised settings a (validated) create or update body gives one task."""
    settings: Settings = {"service_name": service[0], "service_version": service[1]}
    if "schedule" in body:
        settings["schedule"] = body["schedule"]
    settings["output"] = body["output"]
    config = _without_roi(body.get("config"))
    if config:
        settings["config"] = config
    if "resource_order_id" in body:
        settings["resource_order_id"] = body["resource_order_id"]
    settings["target_roi"] = roi or config_roi(body) or None
    return settings


def config_roi(body: dict[str, Any]) -> str | None:
    """``config.common.target_roi`` of a body, when it is text."""
    common = (body.get("config") or {}).get("common") or {}
    roi = common.get("target_roi") if isinstance(common, dict) else None
    return roi if isinstance(roi, str) else None


def settings_key(settings: Settings) -> str:
    """A short hash of the settings' canonical JSON: equal settings, equal keys."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def masked(settings: Settings) -> Settings:
    """Settings to show: webhook header values (often secrets) hidden, the rest as sent."""
    hook = (settings.get("output") or {}).get("webhook")
    if not isinstance(hook, dict) or not isinstance(hook.get("headers"), dict):
        return settings
    masked_hook = {**hook, "headers": dict.fromkeys(hook["headers"], MASK)}
    return {**settings, "output": {**settings["output"], "webhook": masked_hook}}


def _without_roi(config: Any) -> Any:
    """``config`` less ``common.target_roi``; a ``common`` emptied by that is dropped."""
    if not isinstance(config, dict) or not isinstance(config.get("common"), dict):
        return config
    common = {k: v for k, v in config["common"].items() if k != "target_roi"}
    rest = {k: v for k, v in config.items() if k != "common"}
    return {**rest, "common": common} if common else rest
