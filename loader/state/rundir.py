"""
The files of a run directory, named once: the run writes them (``run/``), the results and
the summary name them (``report/``), the pages list, read and offer them for download
(``web/``). Here in ``state/``, the lowest stage all three may import, beside the journal
that is the directory's heart. Pure (paths only; nothing is read or written here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

JOURNAL: Final = "journal.sqlite"  # the run's events: what it did, replayed by resume
RESULTS: Final = "results.xlsx"  # what became of every camera row, for people
SUMMARY: Final = "summary.json"  # how the last pass ended (counts, exit code)
DIFF: Final = "diff.json"  # the plan against the ledger, as a resume applies it
LOG: Final = "log.jsonl"  # the run's log lines, scrubbed of secrets
PAYLOADS: Final = "payloads"  # one JSON body per batch, as sent
TECHNICAL: Final = (SUMMARY, DIFF, LOG)  # files for whoever digs into a run
TOP_FILES: Final = (RESULTS, *TECHNICAL)  # the files a page offers, results first


@dataclass(frozen=True)
class RunDir:
    """One run directory and the path of each of its files (``RunDir.at``)."""

    path: Path
    journal: Path
    results: Path
    summary: Path
    diff: Path
    log: Path
    payloads: Path

    @classmethod
    def at(cls, path: Path) -> RunDir:
        """The run directory ``path``."""
        names = (JOURNAL, RESULTS, SUMMARY, DIFF, LOG, PAYLOADS)
        return cls(path, *(path / name for name in names))

    def is_run(self) -> bool:
        """Whether a run began here (its journal exists)."""
        return self.journal.is_file()

    def offered(self) -> list[str]:
        """The files a page links to, as paths inside the directory: the results first,
        then the technical ones (summary, diff, log), then the payloads."""
        names = [n for n in TOP_FILES if (self.path / n).is_file()]
        if self.payloads.is_dir():
            names += sorted(f"{PAYLOADS}/{p.name}" for p in self.payloads.glob("*.json"))
        return names


def offered(relative: str) -> bool:
    """Whether ``relative`` names a kind of file a page may offer (a top file or a payload)."""
    head, _, rest = relative.partition("/")
    return relative in TOP_FILES or (
        head == PAYLOADS and rest.endswith(".json") and "/" not in rest
    )


def technical(relative: str) -> bool:
    """Whether an offered file is a technical one (not the results workbook)."""
    return relative in TECHNICAL or relative.startswith(f"{PAYLOADS}/")
