"""
A zip member's deflate stream made of pieces deflated apart: each piece is a raw deflate
stream of its own, ended by a sync flush (an empty stored block: the stream stays open
and byte-aligned), so pieces laid end to end are one valid stream, which the last piece
closes (its final block). The member's CRC is the pieces' CRCs combined. A run deflates
most of its Cameras sheet so while it waits on the network; its end only lays the pieces
down (``write_member``). [I/O: writes into an open zip package]
"""

from __future__ import annotations

import time
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from isal import isal_zlib

# Deflated by ISA-L (isal) at its level 1: on the 594 MB Cameras sheet of 600,000 cameras
# 0.6 s and 51.7 MB, where zlib's level 1 took 1.5 s for 54.8 MB (its default level 6:
# 6.2 s, 43.6 MB). It lets go of the interpreter lock as zlib does.
DEFLATE_LEVEL: Final = 1
# What ``write_member`` needs of an open zipfile.ZipFile beyond its documented surface:
# where the central directory starts, and its marks of a handle open and of a change.
_ZIPFILE_NEEDS: Final = ("fp", "filelist", "NameToInfo", "start_dir", "_writing", "_didModify")


@dataclass(frozen=True)
class Piece:
    """A piece of a member's deflate stream, with the CRC-32 and length of what it holds."""

    deflated: bytes
    crc: int
    size: int


def deflate_piece(raw: Iterable[bytes], *, last: bool = False) -> Piece:
    """``raw``'s bytes in order, deflated as one piece: sync-flushed, or closing the stream
    (``last``). A fresh compressor per piece: no piece refers back into another."""
    maker = PieceMaker()
    for data in raw:
        maker.add(data)
    return maker.piece(last=last)


class PieceMaker:
    """A piece deflated as its bytes come (a run deflates each chunk of rows as it renders
    it, in a gap of the pacer's turns: no thread of its own competes for the cores)."""

    def __init__(self) -> None:
        self._compressor = isal_zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._deflated: list[bytes] = []
        self._crc, self._size = 0, 0

    def add(self, data: bytes) -> None:
        """The piece's next bytes."""
        self._crc = isal_zlib.crc32(data, self._crc)
        self._size += len(data)
        self._deflated.append(self._compressor.compress(data))

    def piece(self, *, last: bool = False) -> Piece:
        """The piece, sync-flushed, or closing the stream (``last``)."""
        flush = isal_zlib.Z_FINISH if last else isal_zlib.Z_SYNC_FLUSH
        self._deflated.append(self._compressor.flush(flush))
        return Piece(b"".join(self._deflated), self._crc, self._size)


def combined(pieces: Sequence[Piece]) -> tuple[int, int]:
    """The CRC-32 and length of the pieces' contents laid end to end."""
    crc, size = 0, 0
    for piece in pieces:
        crc = isal_zlib.crc32_combine(crc, piece.crc, piece.size)
        size += piece.size
    return crc, size


def writes_members(target: zipfile.ZipFile) -> bool:
    """Whether this Python's zipfile keeps what ``write_member`` needs (else a member is
    deflated through zipfile's own stream, as every member was before)."""
    return all(hasattr(target, name) for name in _ZIPFILE_NEEDS)


def write_member(target: zipfile.ZipFile, name: str, pieces: Sequence[Piece]) -> None:
    """Member ``name`` of ``target``, its data the pieces' deflate stream (the last piece
    closes it), as ``ZipFile.open(name, "w")`` would have written it.

    zipfile deflates what it is given and takes no deflated data: the member is laid down
    here as zipfile's own writer does it on a seekable file (``_open_to_write``, then
    ``_ZipWriteFile.close``), its sizes and CRC known first, so its local header is
    written once; zipfile's ``ZipInfo`` makes that header (zip64 when a size needs it)
    and ``close`` the central directory from it. Check ``writes_members`` first.
    """
    package: Any = target  # zipfile's marks of an open handle and of a change: not typed
    fp = target.fp
    if package._writing or fp is None:
        raise ValueError(f"cannot write {name}: the package is closed or has a member open")
    member = zipfile.ZipInfo(name, date_time=time.localtime(time.time())[:6])
    member.compress_type = zipfile.ZIP_DEFLATED
    member.external_attr = 0o600 << 16  # zipfile's own default: ?rw-------
    member.CRC, member.file_size = combined(pieces)
    member.compress_size = sum(len(piece.deflated) for piece in pieces)
    fp.seek(target.start_dir)
    member.header_offset = fp.tell()
    package._didModify = True
    fp.write(member.FileHeader(None))  # zip64 decided by the sizes
    for piece in pieces:
        fp.write(piece.deflated)
    target.start_dir = fp.tell()
    target.filelist.append(member)
    target.NameToInfo[name] = member
