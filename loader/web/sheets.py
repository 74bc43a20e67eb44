"""
The sheets loaded on the page: each upload read, mapped and checked the way the CLI does
(``run.sheet.load_sheet``), with the mapping chosen by its headers or one of the bundled
mappings picked on the page. A few stay in memory (the most recently used); any other is
read again from its upload folder when asked for, so pages survive a restart. [I/O: files]
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from loader.check.load import Loaded
from loader.check.mapping import bundled
from loader.errors import LoaderError
from loader.model.problems import Problem
from loader.report.summaries import format_validation
from loader.run.options import RunOptions
from loader.run.sheet import load_sheet
from loader.web.security import Refused
from loader.web.uploads import read_meta, update_meta, upload_file, write_meta


@dataclass(frozen=True)
class Failure:
    """Why a sheet could not be used, as the CLI says it: the message and how to fix it."""

    message: str
    hint: str = ""


@dataclass(frozen=True)
class Sheet:
    """One uploaded inventory and what checking it found."""

    id: str
    path: Path
    picked: str | None  # the mapping picked on the page; None: chosen by the headers
    loaded: Loaded | None
    failure: Failure | None
    summary: dict[str, Any]  # format_validation's, without the problem list
    problems: tuple[Problem, ...]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def mapping(self) -> str:
        """The mapping the sheet was read with ("" when none fitted)."""
        return self.loaded.mapping.name if self.loaded is not None else (self.picked or "")

    @cached_property
    def facets(self) -> dict[str, list[str]]:
        """The sheets and columns problems name: the choices of the Check page's filters."""
        return {
            "sheet": sorted({p.sheet for p in self.problems if p.sheet}),
            "column": sorted({p.column for p in self.problems if p.column}),
        }


class SheetStore:
    """Uploads by id: loaded on first use, the ``keep`` most recent held in memory."""

    def __init__(self, folder: Path, base: RunOptions, keep: int) -> None:
        self.folder, self.base, self.keep = folder, base, keep
        self._held: OrderedDict[str, Sheet] = OrderedDict()
        self._lock = threading.Lock()
        self._mappings: list[str] | None = None

    def get(self, upload_id: str) -> Sheet:
        """The sheet of an upload, read again when it is not held (blocking: a thread)."""
        with self._lock:
            held = self._held.get(upload_id)
            if held is not None:
                self._held.move_to_end(upload_id)
                return held
        path = upload_file(self.folder, upload_id)
        picked = read_meta(path.parent).get("mapping")
        return self._load(upload_id, path, picked if isinstance(picked, str) else None)

    def load(self, upload_id: str, mapping: str | None = None) -> Sheet:
        """Read an upload with a bundled mapping, or the best match (None); remembered."""
        if mapping is not None and mapping not in self.mapping_names():
            raise Refused(400, "choose one of the bundled mappings")
        path = upload_file(self.folder, upload_id)
        meta = read_meta(path.parent)
        write_meta(path.parent, {**meta, "mapping": mapping})
        return self._load(upload_id, path, mapping)

    def reload(self, upload_id: str) -> Sheet:
        """Read an upload again with the mapping it has (a file beside it was added)."""
        path = upload_file(self.folder, upload_id)
        picked = read_meta(path.parent).get("mapping")
        return self._load(upload_id, path, picked if isinstance(picked, str) else None)

    def mapping_names(self) -> list[str]:
        """The bundled mappings, the only ones a page may pick (never a path)."""
        if self._mappings is None:
            self._mappings = sorted(m.name for m in bundled())
        return self._mappings

    def recent(self, count: int = 20) -> list[dict[str, Any]]:
        """The latest uploads on disk, newest first (``history``)."""
        homes = [h for h in self.folder.iterdir() if h.is_dir()] if self.folder.is_dir() else []
        return history({home.name: read_meta(home) for home in homes})[:count]

    def forget(self, upload_id: str) -> None:
        """Drop a removed upload from memory."""
        with self._lock:
            self._held.pop(upload_id, None)

    def _load(self, upload_id: str, path: Path, picked: str | None) -> Sheet:
        """Read, map and check; a LoaderError is kept as the sheet's failure."""
        try:
            loaded = load_sheet(path, self.base.with_mapping(picked))
        except LoaderError as exc:
            failure = Failure(_here(exc.message, path.parent), _here(exc.hint, path.parent))
            sheet = Sheet(upload_id, path, picked, None, failure, {}, ())
        else:
            checked = loaded.checked
            summary = format_validation(checked, mapping_chosen=loaded.chosen)
            summary.pop("problems")
            if picked is not None:
                summary["mapping_chosen"] = "picked on this page"
            problems = tuple(checked.problems)
            sheet = Sheet(upload_id, path, picked, loaded, None, summary, problems)
        update_meta(path.parent, counts=_counts(sheet))
        with self._lock:
            self._held[upload_id] = sheet
            self._held.move_to_end(upload_id)
            while len(self._held) > self.keep:
                self._held.popitem(last=False)
        return sheet


def _counts(sheet: Sheet) -> dict[str, Any]:
    """What an upload's history line says of its check: rows, rejected, errors; or why
    it could not be read."""
    if sheet.failure is not None:
        return {"failure": sheet.failure.message}
    rows, found = sheet.summary["rows"], sheet.summary["problem_counts"]
    return {**rows, "errors": found["error"], "warnings": found["warning"]}


def history(metas: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Uploads as the Load page lists them, newest first: id, file, when (UTC ISO), the
    counts of its check, the runs that sent it, and which is the newest version of its
    file (versions share a family: the first upload's file name, or the upload a "new
    version" was loaded from). Pure."""
    found = [
        {
            "id": upload_id,
            "file": meta["file"],
            "at": str(meta.get("uploaded") or ""),
            "family": str(meta.get("family") or meta["file"]),
            "counts": meta.get("counts") if isinstance(meta.get("counts"), dict) else {},
            "runs": [r for r in meta.get("runs") or [] if isinstance(r, str)],
        }
        for upload_id, meta in metas.items()
        if isinstance(meta.get("file"), str)
    ]
    found.sort(key=lambda item: (item["at"], item["id"]), reverse=True)
    versions: dict[str, int] = {}
    for item in reversed(found):  # oldest first: version 1, 2, ...
        versions[item["family"]] = versions.get(item["family"], 0) + 1
        item["version"] = versions[item["family"]]
    for item in found:
        item["versions"] = versions[item["family"]]
        item["newest"] = item["version"] == item["versions"]
    return found


def _here(text: str, home: Path) -> str:
    """A message without the server's folder: files are named as the person uploaded them."""
    for folder in {str(home.resolve()), str(home)}:
        text = text.replace(folder + "/", "")
    return text
