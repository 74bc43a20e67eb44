"""
Checks on an input file before any parser sees its bytes: its size, and for a zip
(xlsx) its entry count, unpacked size and compression ratios, and that its XML declares
no DTD or entities (defusedxml parses the package's own parts). A file that fails is an
InputError saying what and how to proceed. [I/O: reads the file's head and zip index]
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from loader.errors import InputError

MB: Final = 1 << 20
PACKAGE_PARTS: Final = ("[Content_Types].xml", "xl/workbook.xml", "_rels/.rels")
_HEAD: Final = 4096


@dataclass(frozen=True, kw_only=True)
class Limits:
    """What an input may be; ``--max-input-mb`` raises ``max_bytes`` for big inventories."""

    max_bytes: int = 64 * MB
    max_entries: int = 10_000
    max_unpacked: int = 1024 * MB
    max_ratio: float = 200.0  # unpacked / packed, for entries over 1 MB unpacked


DEFAULT_LIMITS: Final = Limits()


def check_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse files too big to read safely, zip bombs and XML entity tricks."""
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise InputError(
            f"{path.name} is {size / MB:.0f} MB; the limit is {limits.max_bytes / MB:.0f} MB",
            path=str(path),
            hint="for a real inventory this large, raise it with --max-input-mb",
        )
    with path.open("rb") as stream:
        head = stream.read(4)
    if head == b"PK\x03\x04":
        check_zip(path, limits)


def check_zip(path: Path, limits: Limits) -> None:
    """Entry count, unpacked size, ratios, and the XML of the package parts."""
    try:
        with zipfile.ZipFile(path) as package:
            entries = package.infolist()
            _check_entries(path, entries, limits)
            for part in PACKAGE_PARTS:
                if part in package.NameToInfo:
                    _check_xml(path, part, package.read(part))
            for entry in entries:
                if entry.filename.endswith(".xml") and entry.filename not in PACKAGE_PARTS:
                    with package.open(entry) as stream:
                        _check_head(path, entry.filename, stream.read(_HEAD))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise InputError(
            f"{path.name} is a damaged or truncated spreadsheet ({exc})",
            path=str(path),
            hint="export the inventory again; check that the upload or copy completed",
        ) from exc


def _check_entries(path: Path, entries: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Too many entries, too much unpacked data, or a suspicious ratio: refuse."""
    if len(entries) > limits.max_entries:
        raise InputError(
            f"{path.name} holds {len(entries)} files; a spreadsheet holds far fewer"
            f" (limit {limits.max_entries})",
            path=str(path),
            hint="this is not an ordinary xlsx; save the inventory again from Excel",
        )
    unpacked = sum(e.file_size for e in entries)
    if unpacked > limits.max_unpacked:
        raise InputError(
            f"{path.name} unpacks to {unpacked / MB:.0f} MB"
            f" (limit {limits.max_unpacked / MB:.0f} MB)",
            path=str(path),
            hint="split the inventory into smaller files",
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > MB and ratio > limits.max_ratio:
            raise InputError(
                f"{path.name}: {entry.filename} unpacks {ratio:.0f} times its packed size"
                " (a zip bomb?)",
                path=str(path),
                hint="this is not an ordinary xlsx; save the inventory again from Excel",
            )


def _check_xml(path: Path, part: str, content: bytes) -> None:
    """A package part parsed with defusedxml: DTDs, entities and external references refused."""
    # Imported here (with ElementTree and expat, 0.01 s): a CSV sheet never needs them.
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        fromstring(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InputError(
            f"{path.name}: {part} declares XML entities or a DTD ({type(exc).__name__})",
            path=str(path),
            hint="spreadsheets never need these; this file was crafted or damaged",
        ) from exc
    except SyntaxError as exc:  # ElementTree's ParseError
        raise InputError(
            f"{path.name}: {part} is not well-formed XML", path=str(path), hint="save it again"
        ) from exc


def _check_head(path: Path, part: str, head: bytes) -> None:
    """Sheet XML is too big to parse twice: its head alone must declare no DTD or entity."""
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise InputError(
            f"{path.name}: {part} declares XML entities or a DTD",
            path=str(path),
            hint="spreadsheets never need these; this file was crafted or damaged",
        )
