"""
``bulkload mappings --init FILE``: the sheet read, its starter mapping (``check.starter``,
pure) written to ``--out`` (never over a mapping) or to standard output.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from loader.check.starter import starter_mapping
from loader.errors import ConfigError
from loader.read.sheets import read_workbook


def write_starter(sheet: Path, out: Path | None, stdout: TextIO | None = None) -> str:
    """Read ``sheet`` and write its starter mapping to ``out`` (refused if it exists) or
    to ``stdout`` (this process's by default); the line the command shows on stderr."""
    text = starter_mapping(read_workbook(sheet))
    if out is None:
        (stdout or sys.stdout).write(text)
        return f"starter mapping for {sheet.name} written above; check it before use"
    if out.exists():
        raise ConfigError(
            f"{out} exists; a starter never overwrites a mapping", hint="name another --out"
        )
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc}") from exc
    return f"starter mapping written: {out}  (then: bulkload validate {sheet} -m {out})"
