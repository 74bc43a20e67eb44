"""
A diff's changed fields in the sheet's own words, for the Plan and Send pages: each API
field named by the column that feeds it (``config.common.target_roi`` is "Zone Points"),
its values as the cell says them (an ROI as ``4 points``, an algorithm id as the
"Helmet" its value map turns into it). The CLI's plan text is left as it is. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Final

from loader.check.mapping import ColumnSpec, MapSpec
from loader.check.mapping import Mapping as MappingFile
from loader.check.task_settings import fields_of

_ROI_PATH: Final = "config.common.target_roi"  # where a single task keeps the camera's ROI


def spoken_fields(
    fields: Sequence[Mapping[str, str]], mapping: MappingFile
) -> list[dict[str, str]]:
    """A change's fields as the sheet says them: the column each comes from and its
    values as typed there (``Zone Points: (none) -> 4 points``, ``Analytics: Helmet ->
    Intrusion``), not the API's paths (``config.common.target_roi``).

    ``fields`` are ``report.changes.diff_data``'s (``field``, ``old``, ``new``). Fields one
    column decides together (an algorithm and its version from one "Analytics" cell) become
    one line when that column's values tell them apart; a field no column gives is named as the
    mapping's default. Each line: ``column``, ``old``, ``new`` and the API ``field``s.
    """
    lines: dict[str, list[dict[str, str]]] = {}
    for item in fields:
        path = item["field"]
        names = ("target_roi",) if path == _ROI_PATH else fields_of(path)
        label, spec = _label(names, path, mapping)
        old = _value_words(path, item["old"], spec)
        new = _value_words(path, item["new"], spec)
        lines.setdefault(label, []).append({"column": label, "old": old, "new": new, "field": path})
    spoken: list[dict[str, str]] = []
    for label, found in lines.items():
        pairs = {(f["old"], f["new"]) for f in found}
        if len(pairs) == 1:  # one column, one change of its value
            paths = ", ".join(f["field"] for f in found)
            spoken.append({**found[0], "field": paths})
        else:
            spoken += [{**f, "column": f"{label} ({_words(f['field'])})"} for f in found]
    return spoken


def _label(names: Sequence[str], path: str, mapping: MappingFile) -> tuple[str, ColumnSpec | None]:
    """The sheet's name for the mapping fields an API path comes from, and the column's
    spec when exactly one column gives it."""
    specs = [mapping.cameras, *([mapping.groups] if mapping.groups else [])]
    columns: list[str] = []
    found: list[ColumnSpec] = []
    for name in names:
        for sheet in specs:
            spec = sheet.columns.get(name)
            if spec is not None and (spec.column or spec.template):
                found.append(spec)
                text = spec.column or spec.template or ""
                if text not in columns:
                    columns.append(text)
                break
    if columns:
        return " / ".join(columns), found[0] if len(found) == 1 or len(columns) == 1 else None
    if path == "settings":
        return "settings", None
    return f"{_words(names[0] if names else path)} (the mapping's setting)", None


def _words(name: str) -> str:
    """An API or mapping field name as words: ``event_center`` -> ``event center``."""
    return name.rsplit(".", 1)[-1].replace("_", " ")


def _value_words(path: str, text: str, spec: ColumnSpec | None) -> str:
    """A value as the sheet shows it: an ROI by its shapes, a mapped value by the cell
    that gives it, yes/no, lists joined."""
    if text in ("(none)", "(not recorded)"):
        return text
    if path == "settings":
        return "the sheet's settings"
    if path == _ROI_PATH:
        return roi_words(text)
    typed = _typed_as(spec, text)
    if typed:
        return typed
    if text in ("true", "false"):
        return "yes" if text == "true" else "no"
    if text.startswith("["):
        try:
            values = json.loads(text)
        except ValueError:
            return text
        if isinstance(values, list):
            return ", ".join(str(v) for v in values)
    return text


def _typed_as(spec: ColumnSpec | None, value: str) -> str:
    """The cell text a column's value map turns into ``value`` ("" when none or several)."""
    if spec is None:
        return ""
    for transform in spec.transforms:
        if isinstance(transform, MapSpec):
            cells = [cell for cell, mapped in transform.map.items() if mapped == value]
            return cells[0] if len(cells) == 1 else ""
    return ""


def roi_words(text: str) -> str:
    """An ROI as a person checks it: ``4 points``, ``2 polygons, 9 points``, ``1 line``."""
    try:
        roi = json.loads(text)
    except ValueError:
        return text
    if not isinstance(roi, Mapping):
        return text
    lines, polygons = roi.get("lines") or [], roi.get("polygons") or []
    points = sum(len(shape.get("data") or []) for shape in [*lines, *polygons])
    if not lines and len(polygons) == 1:
        return f"{points} points"
    parts = [
        f"{count} {kind if count != 1 else kind[:-1]}"
        for count, kind in ((len(polygons), "polygons"), (len(lines), "lines"))
        if count
    ]
    return f"{', '.join(parts)}, {points} points"


def typed_in_sheet(mapping: MappingFile, name: str, value: str) -> str:
    """A field's value as the sheet's cell says it (``Helmet`` for the algorithm id its
    value map turns it into), else the value itself."""
    for sheet in [mapping.cameras, *([mapping.groups] if mapping.groups else [])]:
        spec = sheet.columns.get(name)
        if spec is not None:
            return _typed_as(spec, value) or value
    return value
