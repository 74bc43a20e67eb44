"""
Files the dry run and a run write: payload bodies, plan.json, summary.json, problem
reports. An OS refusal (disk full, no permission, a folder that is a file) becomes a
StorageError with exit code 2: nothing was sent by then. [I/O]
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar

import numpy as np

from loader.errors import StorageError, storage_error
from loader.model.problems import Problem
from loader.planning.batches import Plan

if TYPE_CHECKING:  # a run whose sheet registers nothing never imports registration
    from loader.planning.registration import RegistrationPlan

P = ParamSpec("P")
R = TypeVar("R")


def _translated(write: Callable[P, R]) -> Callable[P, R]:
    """OSError from a writer as a StorageError naming the path it was given."""

    @wraps(write)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return write(*args, **kwargs)
        except OSError as exc:
            where = exc.filename or (args[0] if args else "a file")
            raise storage_error(
                "write",
                where,
                exc,
                hint="choose another place, or free disk space",
                exit_code=2,
            ) from exc

    return run


PROBLEM_COLUMNS = ("severity", "code", "file", "sheet", "row", "column", "value", "message", "fix")


@_translated
def write_plan(directory: Path, plan: Plan) -> list[str]:
    """One ``NNNN-<name>.json`` per batch, holding exactly the bytes to POST.

    Payload files a previous plan wrote here (listed in its plan.json) are removed first,
    so the folder never mixes two plans; nothing else in it is touched.
    """
    directory.mkdir(parents=True, exist_ok=True)
    _remove_previous(directory)
    names = payload_names(plan)
    for name, batch in zip(names, plan.batches, strict=True):
        (directory / name).write_bytes(batch.content())
    return names


def payload_names(plan: Plan) -> list[str]:
    """The payload file of each batch, ``NNNN-<name>.json`` (named before it is written)."""
    return [f"{number:04d}-{batch.name}.json" for number, batch in enumerate(plan.batches, 1)]


@_translated
def write_payloads(directory: Path, plan: Plan, names: list[str]) -> None:
    """Each batch's bytes to POST under its name in ``directory`` (made if missing).

    A run writes them while its first batches are sent, and a resume writes them all
    again: each file is written whole under a temporary name, then renamed, so that a
    run killed in the middle leaves no torn payload file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for name, batch in zip(names, plan.batches, strict=True):
        part = directory / f"{name}.part"
        part.write_bytes(batch.content())
        part.replace(directory / name)


def _remove_previous(directory: Path) -> None:
    """Delete the payload files named by an earlier plan.json in ``directory``."""
    previous = directory / "plan.json"
    if not previous.is_file():
        return
    try:
        batches = json.loads(previous.read_text(encoding="utf-8"))["plan"]["batches"]
    except (ValueError, KeyError, TypeError):
        return
    for batch in batches:
        name = batch.get("file") if isinstance(batch, dict) else None
        if isinstance(name, str) and "/" not in name and name.endswith(".json"):
            (directory / name).unlink(missing_ok=True)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object a run wrote (a StorageError if it cannot be read)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise storage_error("read", path, exc, hint="the run directory is damaged") from exc
    if not isinstance(document, dict):
        raise StorageError(
            f"{path} does not hold a JSON object", hint="the run directory is damaged"
        )
    return document


REGISTRATION_FILE: Final = "registration.json"


@_translated
def write_registration(directory: Path, registration: RegistrationPlan | None) -> str | None:
    """``registration.json`` beside the payload files: the bodies registration sends
    (``RegistrationPlan.bodies``: secrets as ``${VAR}``, new ids as ``${group:NAME}``), its
    name; without registration, none, and one an earlier plan wrote here is removed."""
    path = directory / REGISTRATION_FILE
    if registration is None:
        path.unlink(missing_ok=True)
        return None
    write_json(path, registration.bodies())
    return REGISTRATION_FILE


@_translated
def write_json(path: Path, document: dict[str, Any], *, compact: bool = False) -> None:
    """A JSON document, readable by people (indented, UTF-8); ``compact`` for one that only
    the program reads (written by the C encoder: ten times faster for 60,000 cameras)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    layout: dict[str, Any] = {"separators": (",", ":")} if compact else {"indent": 2}
    path.write_text(json.dumps(document, ensure_ascii=False, **layout) + "\n", encoding="utf-8")


@_translated
def write_plan_summary(
    path: Path, summary: dict[str, Any], plan: Plan, files: list[str], replacing: Collection[int]
) -> None:
    """plan.json: the plan's summary as ``bulkload plan --json`` prints it, indented, but
    for ``diff.create``, which lists the cameras to create by batch rather than one object
    per camera: each batch that creates any, its payload file, and the sheet rows of the
    cameras it creates in the order of that file, one line per batch (the C encoder writes
    a million rows in a tenth of a second; the objects took 7 s and a gigabyte).

    ``replacing``: the positions of the cameras that replace a task; each is in its batch's
    file but not in the rows (``diff.replace`` lists it).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    diff = summary["diff"]
    placeholder = f"<create {uuid.uuid4().hex}>"
    layout = {**summary, "diff": {**diff, "create": placeholder}}
    text = json.dumps(layout, ensure_ascii=False, indent=2)
    lines = [
        json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        for item in _creates_by_batch(plan, files, replacing)
    ]
    creates = "[\n      " + ",\n      ".join(lines) + "\n    ]" if lines else "[]"
    path.write_text(text.replace(json.dumps(placeholder), creates, 1) + "\n", encoding="utf-8")


def _creates_by_batch(
    plan: Plan, files: list[str], replacing: Collection[int]
) -> Iterator[dict[str, Any]]:
    """Each batch's payload file and the rows of the cameras it creates, in its order."""
    replaced = np.fromiter(replacing, dtype=np.int64, count=len(replacing))
    for number, batch in enumerate(plan.batches):  # the rows' columns, not a tuple a camera
        at = batch.at
        rows = batch.of.row[at]
        if len(replaced):
            rows = rows[~np.isin(batch.of.position[at], replaced)]
        if len(rows):
            file = files[number] if files else None
            yield {"batch": batch.name, "file": file, "rows": rows.tolist()}


@_translated
def write_problems_csv(path: Path, problems: Iterable[Problem]) -> None:
    """Every problem as a CSV row (UTF-8 with BOM, so Excel shows Chinese text right)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as stream:
        writer = csv.DictWriter(stream, fieldnames=PROBLEM_COLUMNS)
        writer.writeheader()
        for problem in problems:
            writer.writerow(problem.as_dict())
