"""The command line on inputs it cannot use: a JSON error object, the report written first,
and a file no mapping fits described with a starter mapping offered."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loader.check.mapping import load_mapping
from loader.cli import app
from tests.conftest import SAMPLES

runner = CliRunner()
ODD = "Kamera Nr;Ort;Gruppe\nk-0001;Tor;nord\nk-0002;Hof;nord\n"


def _odd(tmp_path: Path) -> Path:
    """A semicolon CSV whose headers no bundled mapping knows."""
    path = tmp_path / "odd.csv"
    path.write_text(ODD, encoding="utf-8")
    return path


def test_validate_json_prints_an_error_object_on_exit_2(tmp_path: Path) -> None:
    """--json with an unusable input: exit 2 and one JSON object naming the error and the fix."""
    result = runner.invoke(app, ["validate", str(_odd(tmp_path)), "--json"])

    printed = json.loads(result.stdout)
    assert (result.exit_code, sorted(printed), printed["error"]) == (
        2,
        ["error", "exit_code", "hint"],
        "no bundled mapping fits odd.csv (sheets: odd)",
    )


def test_no_mapping_fits_shows_what_was_found_and_offers_a_starter(tmp_path: Path) -> None:
    """The hint names the headers, encoding and delimiter, and the --init command."""
    result = runner.invoke(app, ["validate", str(_odd(tmp_path)), "--json"])

    hint = json.loads(result.stdout)["hint"]
    assert hint.startswith(
        "found headers 'Kamera Nr', 'Ort', 'Gruppe' (row 1 of sheet 'odd'); encoding utf-8;"
        " delimiter ';'. Write a starter mapping from them with `bulkload mappings --init odd.csv"
    )


def test_mappings_init_writes_a_starter_that_loads_and_reads_the_file(tmp_path: Path) -> None:
    """--init FILE --out M: a mapping that loads, maps the id and group it guessed, ignores the rest."""
    sheet, out = _odd(tmp_path), tmp_path / "odd.toml"

    result = runner.invoke(app, ["mappings", "--init", str(sheet), "--out", str(out)])

    mapping = load_mapping(out)
    assert (result.exit_code, mapping.cameras.ignore, sorted(mapping.cameras.columns)) == (
        0,
        ["Ort"],
        ["group", "video_source_id"],
    )
    assert tomllib.loads(out.read_text())["cameras"]["columns"]["video_source_id"] == {
        "column": "Kamera Nr",
        "required": True,
    }


def test_report_is_written_before_anything_is_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A console that breaks (a pipe closed early) no longer loses the --report file."""
    import loader.report.console as console

    def broken(*_: object) -> None:
        raise BrokenPipeError

    monkeypatch.setattr(console, "show_validation", broken)
    report = tmp_path / "problems.csv"

    runner.invoke(
        app, ["validate", str(SAMPLES / "legacy_vms_export.xlsx"), "--report", str(report)]
    )

    assert report.read_text(encoding="utf-8-sig").splitlines()[0].startswith("severity,")
