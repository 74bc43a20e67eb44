"""
The sheet a run, a plan or the page reads: read, mapped and checked as the options say.
Apart from ``run.open`` (which opens runs and imports the whole send stack): ``bulkload
plan`` of a sheet with no endpoint reads it without importing what sends.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from loader.check.load import Loaded, load
from loader.run.options import RunOptions


def load_sheet(
    sheet: Path, options: RunOptions, *, on: date | None = None, keep_cells: bool = True
) -> Loaded:
    """Read, map and check ``sheet`` as the options say (mapping, engine, limits, --only).

    ``on`` is the plan's date (zone names take their offset on it): a resume passes its
    run's, so that a clock change since does not change what it plans. ``keep_cells``:
    False lets the input's own cells go once mapped (no results workbook to copy them).
    """
    return load(
        sheet,
        options.reading.mapping,
        engine=options.reading.engine,
        encoding=options.reading.encoding,
        only=options.reading.only,
        limits=options.reading.limits,
        on=on,
        keep_cells=keep_cells,
    )
