"""
The simulator's check of a CreateBatchTask body, written from the API page
(``shared/reference/seed-create-batch-task.txt``) apart from ``loader.model.vias``, so that a
mistake in the loader's models cannot hide behind the same mistake here. Plain code over
plain JSON; the first broken rule is reported, as the service would.

Readings of ours, where the page is unclear: fields the tables do not list are refused
(the page's own example sends ``manufacturer`` and ``priority``); ``video_source_group`` is
required although the table marks it optional, since a batch without input creates
nothing; ``target_roi`` may be empty (its minimum length is 0) and is otherwise a JSON
object of ``lines`` and ``polygons``; the OBS path pattern as printed does not compile, so
its evident intent is applied; the bucket pattern compiles and is applied as printed.

Updates (research notes section 6): UpdateTask's body is UpdateTasksRequestBody (``name`` of
letters, digits, Chinese, ``-`` and ``_``; ``input`` required, exactly one ``video_source``
item naming the task's own source; ``output`` required; no ``service_name`` or
``service_version``); UpdateBatchTask's is the create body without the algorithm fields.
Both are checked by the create's rules wherever the fields are the same. A single task's
``config.common.target_roi`` is checked as a batch entry's ``target_roi`` is.
"""

from __future__ import annotations

import json
import re
from typing import Any

from loader.sim.invalid import Invalid, require
from loader.sim.schedule import check_schedule

__all__ = ["Invalid", "check_batch_update", "check_body", "check_task_update"]

_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
_TASK_NAME = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9_-]{1,100}")
_SERVICE = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9_-]{1,100}")
_VERSION = re.compile(r"[a-z0-9.]{3,32}")
_ORDER = re.compile(r"[a-z0-9_-]{4,36}")
_BUCKET = re.compile(r"^[a-z0-9](?!.[-.][-.].)([a-z0-9-.]{1,61})[a-z0-9]$")
_OBS_PATH = re.compile(r"(?![/.\s])(?!.*//)[^:*?\"<>|\\]{0,1023}(?<![.\s])", re.DOTALL)
_STREAM = re.compile(r"[-A-Za-z0-9_]{1,64}")
_TOP = {
    "name",
    "description",
    "schedule",
    "batch_input",
    "output",
    "config",
    "service_name",
    "service_version",
    "is_saved_as_template",
    "resource_order_id",
}
_ALGORITHM = {"service_name", "service_version"}
_BATCH_UPDATE = _TOP - _ALGORITHM
_TASK_UPDATE = (_BATCH_UPDATE - {"batch_input"}) | {"input"}
_MODES = {
    "obs": {"bucket", "path", "data_category"},
    "dis": {"stream_name", "data_category"},
    "webhook": {"url", "headers", "data_category"},
}


def check_body(body: Any) -> None:
    """Raise Invalid naming the first documented rule ``body`` breaks."""
    require(isinstance(body, dict), "the body must be a JSON object")
    _fields(body, _TOP, "the body")
    _text(body, "name", _NAME, "1-100 letters, digits, '-' or '_'")
    _text(body, "service_name", _SERVICE, "1-100 Chinese letters, letters, digits, '_' or '-'")
    _text(body, "service_version", _VERSION, "3-32 of a-z, 0-9 and '.'")
    _batch_settings(body)


def check_task_update(body: Any, video_source_id: str) -> None:
    """Raise Invalid naming the first rule an UpdateTask body for this task's source breaks."""
    require(isinstance(body, dict), "the body must be a JSON object")
    _no_algorithm(body)
    _fields(body, _TASK_UPDATE, "the body")
    _text(body, "name", _TASK_NAME, "1-100 Chinese letters, letters, digits, '-' or '_'")
    _optional(body)
    _input(body.get("input"), video_source_id)
    _output(body.get("output"))
    if "config" in body:
        _config(body["config"])
        roi = body["config"].get("common", {}).get("target_roi")
        if roi is not None:
            _roi(roi, "config.common.target_roi")


def check_batch_update(body: Any) -> None:
    """Raise Invalid naming the first rule an UpdateBatchTask body breaks."""
    require(isinstance(body, dict), "the body must be a JSON object")
    _no_algorithm(body)
    _fields(body, _BATCH_UPDATE, "the body")
    _text(body, "name", _NAME, "1-100 letters, digits, '-' or '_'")
    _batch_settings(body)


def _batch_settings(body: dict[str, Any]) -> None:
    """What a create and an update of a batch both check, after its name: the optional
    fields, the cameras, the output and the config."""
    _optional(body)
    _batch_input(body.get("batch_input"))
    _output(body.get("output"))
    if "config" in body:
        _config(body["config"])


def _no_algorithm(body: dict[str, Any]) -> None:
    """An update keeps the task's algorithm: another one or another version is a new task."""
    named = sorted(_ALGORITHM & set(body))
    require(
        not named,
        f"the body has {named}: an update cannot change the algorithm or its version"
        " (another one is a new task)",
    )


def _optional(body: dict[str, Any]) -> None:
    """The optional fields a create and an update share."""
    if "resource_order_id" in body:
        _text(body, "resource_order_id", _ORDER, "4-36 of a-z, 0-9, '-' and '_'")
    if "description" in body:
        description = body["description"]
        require(
            isinstance(description, str) and len(description) <= 500,
            "description must be text of at most 500 characters",
        )
    if "is_saved_as_template" in body:
        require(
            isinstance(body["is_saved_as_template"], bool),
            "is_saved_as_template must be true or false",
        )
    if "schedule" in body:
        check_schedule(body["schedule"])


def _input(task_input: Any, video_source_id: str) -> None:
    """Exactly one video_source item, the task's own source: an update cannot move a task."""
    require(isinstance(task_input, dict), "input is required: an object")
    _fields(task_input, {"type", "data"}, "input")
    kind = task_input.get("type")
    require(
        kind == "video_source",
        f"input.type {_show(kind)} must be 'video_source': a video_source input cannot change type",
    )
    data = task_input.get("data")
    require(isinstance(data, list), "input.data is required: a list of one video source")
    require(
        len(data) == 1,
        f"input.data holds {len(data)} items: an update takes exactly one video source",
    )
    require(isinstance(data[0], dict), "input.data[0] must be an object")
    _fields(data[0], {"video_source_id"}, "input.data[0]")
    named = data[0].get("video_source_id")
    require(
        named == video_source_id,
        f"input.data[0].video_source_id {_show(named)} is not the task's video source"
        f" {video_source_id!r}: a task's video source cannot change",
    )


def _fields(value: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(value) - allowed
    require(not unknown, f"{where} has undocumented fields {sorted(unknown)}")


def _text(body: dict[str, Any], key: str, pattern: re.Pattern[str], rule: str) -> None:
    require(key in body, f"{key} is required")
    value = body[key]
    require(
        isinstance(value, str) and pattern.fullmatch(value) is not None,
        f"{key} {_show(value)} must be {rule}",
    )


def _show(value: Any) -> str:
    """A value for a message, cut short: details are read by people, not parsed."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _batch_input(batch_input: Any) -> None:
    require(isinstance(batch_input, dict), "batch_input is required: an object")
    _fields(batch_input, {"video_source_group"}, "batch_input")
    groups = batch_input.get("video_source_group")
    require(
        isinstance(groups, list) and 1 <= len(groups) <= 100,
        "batch_input.video_source_group must hold 1-100 groups",
    )
    for n, group in enumerate(groups):
        where = f"batch_input.video_source_group[{n}]"
        require(isinstance(group, dict), f"{where} must be an object")
        _fields(group, {"video_source_group_id", "video_source_list"}, where)
        group_id = group.get("video_source_group_id")
        require(
            isinstance(group_id, str) and group_id != "",
            f"{where}.video_source_group_id is required",
        )
        sources = group.get("video_source_list")
        require(
            isinstance(sources, list) and len(sources) <= 100,
            f"{where}.video_source_list must hold 0-100 sources",
        )
        for m, source in enumerate(sources):
            _source(source, f"{where}.video_source_list[{m}]")


def _source(source: Any, where: str) -> None:
    require(isinstance(source, dict), f"{where} must be an object")
    _fields(source, {"video_source_id", "target_roi"}, where)
    source_id = source.get("video_source_id")
    require(isinstance(source_id, str) and source_id != "", f"{where}.video_source_id is required")
    if "target_roi" in source:
        _roi(source["target_roi"], f"{where}.target_roi")


def _roi(roi: Any, where: str) -> None:
    require(isinstance(roi, str) and len(roi) <= 2048, f"{where} must be text of at most 2048")
    if roi == "":
        return
    try:
        value = json.loads(roi)
    except ValueError:
        raise Invalid(f"{where} is not JSON") from None
    require(
        isinstance(value, dict) and set(value) <= {"lines", "polygons"},
        f"{where} must be a JSON object of lines and polygons",
    )


def _output(output: Any) -> None:
    require(isinstance(output, dict), "output is required: an object")
    _fields(output, {*_MODES, "event_center"}, "output")
    if "event_center" in output:
        flag = output["event_center"]
        require(
            type(flag) is bool or (type(flag) is int and flag in (0, 1)),
            "output.event_center must be true, false, 1 or 0",
        )
    for mode, fields in _MODES.items():
        if mode in output:
            require(isinstance(output[mode], dict), f"output.{mode} must be an object")
            _fields(output[mode], fields, f"output.{mode}")
            _data_category(output[mode], f"output.{mode}")
    require(
        any(mode in output for mode in _MODES) or output.get("event_center") in (True, 1),
        "output needs at least one mode: obs, dis, webhook or event_center",
    )
    if "obs" in output:
        _obs(output["obs"])
    if "dis" in output:
        stream = output["dis"].get("stream_name")
        require(
            isinstance(stream, str) and _STREAM.fullmatch(stream) is not None,
            f"output.dis.stream_name {_show(stream)} must be 1-64 of A-Z, a-z, 0-9, '-' and '_'",
        )
    if "webhook" in output:
        _webhook(output["webhook"])


def _obs(obs: dict[str, Any]) -> None:
    bucket = obs.get("bucket")
    require(
        isinstance(bucket, str) and len(bucket) <= 63 and _BUCKET.fullmatch(bucket) is not None,
        f"output.obs.bucket {_show(bucket)} is not a bucket name",
    )
    path = obs.get("path")
    require(
        isinstance(path, str) and _OBS_PATH.fullmatch(path) is not None,
        f'output.obs.path {_show(path)} must be at most 1023 characters, none of :*?"<>|\\,'
        " no '//', not starting with '/', '.' or a space, not ending with '.' or a space",
    )


def _webhook(hook: dict[str, Any]) -> None:
    url = hook.get("url")
    require(
        isinstance(url, str) and 0 < len(url) <= 1000,
        "output.webhook.url is required: at most 1000 characters",
    )
    headers = hook.get("headers")
    require(
        isinstance(headers, dict) and 1 <= len(headers) <= 10,
        "output.webhook.headers must hold 1-10 key-value pairs",
    )


def _data_category(mode: dict[str, Any], where: str) -> None:
    if "data_category" in mode:
        categories = mode["data_category"]
        require(
            isinstance(categories, list)
            and len(categories) <= 10
            and all(isinstance(c, str) for c in categories),
            f"{where}.data_category must be a list of at most 10 strings",
        )


def _config(config: Any) -> None:
    require(isinstance(config, dict), "config must be an object")
    _fields(config, {"common"}, "config")
    require(isinstance(config.get("common", {}), dict), "config.common must be an object")
