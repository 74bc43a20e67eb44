"""A run directory's files, named in one place: what a page offers and what it calls
technical."""

from __future__ import annotations

from pathlib import Path

import pytest

from loader.state.rundir import RunDir, offered, technical


def test_a_run_directory_offers_its_results_first_then_the_technical_files(
    tmp_path: Path,
) -> None:
    """Only the files that exist, the workbook first, payloads last and in name order;
    the journal is never offered."""
    run = RunDir.at(tmp_path)
    for path in (run.journal, run.results, run.log, run.summary):
        path.write_text("x")
    run.payloads.mkdir()
    for name in ("0002-b.json", "0001-a.json", "notes.txt"):
        (run.payloads / name).write_text("{}")

    assert (run.is_run(), run.offered()) == (
        True,
        [
            "results.xlsx",
            "summary.json",
            "log.jsonl",
            "payloads/0001-a.json",
            "payloads/0002-b.json",
        ],
    )


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        pytest.param("results.xlsx", (True, False), id="results"),
        pytest.param("diff.json", (True, True), id="diff"),
        pytest.param("payloads/0001-a.json", (True, True), id="payload"),
        pytest.param("journal.sqlite", (False, False), id="journal"),
        pytest.param("payloads/a/b.json", (False, True), id="nested"),
        pytest.param("payloads/notes.txt", (False, True), id="not-json"),
    ],
)
def test_a_page_offers_only_the_listed_kinds_of_file(
    relative: str, expected: tuple[bool, bool]
) -> None:
    """offered: top files and payload bodies only; technical: all but the workbook."""
    assert (offered(relative), technical(relative)) == expected
