"""
An uploaded sheet: its body streamed to ``<runs>/uploads/<random id>/<safe name>`` and
cut off at the cap (nothing of a refused upload is kept), then the input guard of the CLI
(``read/guard.check_file``) before any parser sees it. The folder also keeps
``upload.json``: the file's name, when it came, the mapping picked on the page, which
upload it is a new version of (and the family of versions it belongs to), the counts its
check found, and the runs that sent it (such an upload is kept: a resume reads it
again). [I/O: files]
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote

from starlette.requests import ClientDisconnect, Request

from loader.errors import InputError
from loader.read.guard import MB, Limits, check_file
from loader.web.security import Refused, safe_name

UPLOAD_ID: Final = re.compile(r"[0-9a-f]{16}")
NAME_HEADER: Final = "x-file-name"  # percent-encoded: headers carry Latin-1 only
META: Final = "upload.json"


class TooLarge(Exception):
    """The body passed the cap (413)."""

    def __init__(self, name: str, cap: int) -> None:
        super().__init__(
            f"{name} is larger than the upload limit of {size_text(cap)}; nothing was kept"
        )
        self.name, self.cap = name, cap


async def receive(
    request: Request, folder: Path, cap: int, *, previous: Path | None = None
) -> Path:
    """Stream the body to a new upload folder under ``folder``; its path.

    ``previous``: the folder of the upload this is a new version of; the new one keeps
    its mapping, its family and the files beside it (lookup tables).

    A declared length over the cap is refused before a byte is read; a body that passes
    it while streaming is cut off there. Either way the folder is removed.
    """
    name = file_name(request)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise TooLarge(name, cap)
    home = folder / secrets.token_hex(8)
    home.mkdir(parents=True)
    target = home / name
    meta: dict[str, Any] = {"file": name, "mapping": None, "uploaded": _now(), "family": name}
    try:
        await _write(request, target, cap)
        if previous is not None:
            before = read_meta(previous)
            meta |= {
                "version_of": previous.name,
                "family": before.get("family") or before.get("file") or name,
                "mapping": before.get("mapping"),
            }
            for other in beside(previous):
                if other != name:
                    shutil.copyfile(previous / other, home / other)
    except (TooLarge, Refused, ClientDisconnect, OSError):
        shutil.rmtree(home, ignore_errors=True)
        raise
    write_meta(home, meta)
    return target


def file_name(request: Request) -> str:
    """The name the browser gave the uploaded file, made safe to store (400 if it is none)."""
    return safe_name(unquote(request.headers.get(NAME_HEADER, "")))


async def receive_beside(request: Request, home: Path, cap: int) -> Path:
    """A file a mapping reads beside the sheet (a lookup table), into the sheet's upload
    folder under its own name; guarded like the sheet, replacing one of the same name."""
    name = file_name(request)
    if name == read_meta(home).get("file"):
        raise Refused(400, f"{name} is the sheet itself: load it as a new version")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise TooLarge(name, cap)
    part = home / f".part-{secrets.token_hex(4)}"
    try:
        await _write(request, part, cap)
        check_file(part, Limits(max_bytes=cap))
    except (TooLarge, Refused, ClientDisconnect, OSError, InputError):
        part.unlink(missing_ok=True)
        raise
    return part.replace(home / name)


def beside(home: Path) -> list[str]:
    """The files uploaded beside a sheet (what a mapping's lookups may read)."""
    sheet = read_meta(home).get("file")
    return sorted(
        p.name
        for p in home.iterdir()
        if p.is_file() and p.name not in (sheet, META) and not p.name.startswith(".")
    )


async def _write(request: Request, target: Path, cap: int) -> None:
    """The body into a new file, cut off past ``cap``; an empty body is refused."""
    written = 0
    with target.open("xb") as stream:
        async for chunk in request.stream():
            written += len(chunk)
            if written > cap:
                raise TooLarge(target.name, cap)
            stream.write(chunk)
    if written == 0:
        raise Refused(400, "the file is empty: choose it again")


def guard(path: Path, cap: int) -> None:
    """The CLI's input guard (size, zip bomb, XML entities); a refused file is removed."""
    try:
        check_file(path, Limits(max_bytes=cap))
    except InputError:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise


def upload_file(folder: Path, upload_id: str) -> Path:
    """The stored sheet of an upload id (404 for an unknown or malformed id)."""
    if not UPLOAD_ID.fullmatch(upload_id):
        raise Refused(404, "no such upload")
    meta = read_meta(folder / upload_id)
    name = meta.get("file")
    if not isinstance(name, str) or safe_name(name) != name:
        raise Refused(404, "no such upload")
    path = folder / upload_id / name
    if not path.is_file():
        raise Refused(404, "no such upload")
    return path


def read_meta(home: Path) -> dict[str, Any]:
    """An upload's ``upload.json`` ({} when missing or damaged)."""
    try:
        meta = json.loads((home / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def write_meta(home: Path, meta: dict[str, Any]) -> None:
    """Keep an upload's facts beside it."""
    (home / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def update_meta(home: Path, **changes: Any) -> None:
    """Change some of an upload's facts (a missing folder is left alone: it was removed)."""
    if home.is_dir():
        write_meta(home, {**read_meta(home), **changes})


def note_run(home: Path, run: str) -> None:
    """Remember that a run sent this upload (it is kept from then on)."""
    runs = [r for r in read_meta(home).get("runs") or [] if isinstance(r, str)]
    update_meta(home, runs=[*runs, run])


def remove(folder: Path, upload_id: str) -> str:
    """Delete an upload no run sent (a junk or superseded one); its file's name.

    One a run sent is refused (409): resuming or checking that run reads it again.
    """
    home = upload_file(folder, upload_id).parent
    meta = read_meta(home)
    runs = [r for r in meta.get("runs") or [] if isinstance(r, str)]
    if runs:
        raise Refused(
            409,
            f"{meta.get('file')} was sent by a run ({runs[-1]}): it is kept so that"
            " the run can be resumed or its tasks checked",
        )
    shutil.rmtree(home)
    return str(meta.get("file") or "")


def size_text(size: int) -> str:
    """A byte count as people read a limit: ``64 MB``, or ``1,024 bytes`` below one MB."""
    return f"{size // MB} MB" if size >= MB and size % MB == 0 else f"{size:,} bytes"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
