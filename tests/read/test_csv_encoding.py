"""A CSV read as UTF-8 first, without a scan of the whole file beforehand, reads as the
encoding found by that scan read it: the same grid, encoding and delimiter, or the same
error, for UTF-8, other encodings, a stray byte past the sniffed head, and binary."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loader.errors import InputError
from loader.read import sheets

_CELL = st.text(alphabet=st.sampled_from('ab;,"\n é组\x00'), max_size=6)
_ENCODING = st.sampled_from(["utf-8", "cp1252", "gb18030", "utf-16", "utf-8-sig"])


def _outcome(read: object) -> tuple[object, ...]:
    """What a read gives: its grids, encoding and delimiter; or its error's words."""
    try:
        book = read()  # type: ignore[operator]
    except InputError as exc:
        return ("error", str(exc), exc.hint)
    grids = {name: grid.to_dict("split") for name, grid in book.sheets.items()}
    return ("book", grids, book.encoding, book.delimiter)


def _exact(path: Path) -> tuple[object, ...]:
    """The read with the encoding found first, by the scan of the whole file."""
    with path.open("rb") as stream:
        sample = stream.read(sheets._SNIFF_BYTES)
    return _outcome(lambda: sheets._read_csv_as(path, sample, sheets.detect_encoding(path, sample)))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(_CELL, min_size=1, max_size=4), max_size=6), _ENCODING, st.binary(max_size=3)
)
def test_utf8_first_reads_as_the_scan_found(
    rows: list[list[str]], encoding: str, tail: bytes
) -> None:
    """Any rows, in any of these encodings, with any bytes after them."""
    text = "\n".join(";".join(row) for row in rows)
    data = text.encode(encoding, errors="replace") + tail
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cams.csv"
        path.write_bytes(data)

        assert _outcome(lambda: sheets._read_csv(path, None)) == _exact(path)


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        pytest.param(b"", ("book", "utf-8"), id="utf-8"),
        pytest.param(
            "caf\u00e9;x\n".encode("cp1252"),
            ("error", "cams.csv is not valid ascii text: 'ascii' codec can't decode byte 0xe9"),
            id="latin-past-the-head",
        ),
    ],
)
def test_a_byte_past_the_sniffed_head_is_found_as_before(
    tmp_path: Path, tail: bytes, expected: tuple[str, str]
) -> None:
    """The head is ASCII in both; a cp1252 byte far past it is not UTF-8: the head's
    encoding (ASCII) is tried then, and refused with the same words as before."""
    head = b"Device UUID;Name\n" + b"".join(b"cam-%06d;n\n" % n for n in range(30_000))
    path = tmp_path / "cams.csv"
    path.write_bytes(head + tail)

    outcome = _outcome(lambda: sheets._read_csv(path, None))

    assert outcome == _exact(path)
    said = outcome[2] if outcome[0] == "book" else str(outcome[1])[: len(expected[1])]
    assert (outcome[0], said) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(b"id;name\ncam-1;caf\xc3\xa9\n", True, id="utf-8"),
        pytest.param(b"id;name\ncam-1;caf\xc3", True, id="a-character-cut-at-the-end"),
        pytest.param(b"id;name\ncam-1;caf\xe9\n", False, id="cp1252"),
    ],
)
def test_a_head_is_utf8_with_its_last_character_cut(head: bytes, expected: bool) -> None:
    """Only a head that is not UTF-8 but for a character cut at its end skips the UTF-8
    read: the file is not UTF-8."""
    assert sheets._utf8_head(head) is expected


def test_a_file_whose_head_is_not_utf8_is_parsed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cp1252 head goes straight to the encoding found: one parse, in that encoding."""
    path = tmp_path / "cams.csv"
    path.write_bytes("Device UUID;Name\ncam-000001;caf\u00e9\n".encode("cp1252"))
    parses: list[str] = []
    parse = sheets._parse_csv

    def counted(path: Path, encoding: str, delimiter: str, width: int) -> object:
        parses.append(encoding)
        return parse(path, encoding, delimiter, width)

    monkeypatch.setattr(sheets, "_parse_csv", counted)

    book = sheets.read_workbook(path)

    assert (parses, book.encoding, book.sheets["cams"].iloc[1, 1]) == (
        [book.encoding],
        book.encoding,
        "caf\u00e9",
    )
