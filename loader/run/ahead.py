"""
The results workbook's cells that no outcome changes (the Cameras sheet's inventory
columns), made and rendered while the run waits on the network, so that its end only
adds what the outcomes decide. [no I/O: renders in memory]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from loader.check.load import Loaded
    from loader.report.results import CameraColumns
    from loader.report.workbook import Rendered

PREPARE_PAUSE = 0.002  # seconds between two steps of the rendering: requests go first


@dataclass(frozen=True)
class PreparedResults:
    """What the results workbook holds that no outcome changes, made and rendered ahead."""

    columns: CameraColumns
    rendered: Rendered


class ResultsAhead:
    """Where a pass keeps the results made ahead (None until they are)."""

    def __init__(self) -> None:
        self.prepared: PreparedResults | None = None


async def prepare_results(loaded: Loaded, ahead: ResultsAhead) -> None:
    """Make the Cameras sheet's inventory columns and render their cells. A run awaits it
    while it waits on the network: the columns are made in one step, the cells rendered in
    steps of a few thousand (about a millisecond each, requests go between them), and it
    reads only the loaded inventory. The workbook's
    modules are imported here, when the first answer came (``runner``), not before the
    first request (xlsxwriter alone takes 0.03 s)."""
    from loader.report.results import camera_columns
    from loader.report.workbook import render_ahead

    # One pandas step over every row, on the loop (0.4 s at 600,000 cameras: no request
    # goes meanwhile). A worker thread would take the second core while requests go; a
    # 600,000-camera run measured each way (92% of R both) did not tell them apart.
    columns = camera_columns(loaded)
    rendered: dict[str, dict[str, list[str]]] = {}
    for _ in render_ahead("Cameras", columns.named(), rendered):
        await anyio.sleep(PREPARE_PAUSE)
    ahead.prepared = PreparedResults(columns, rendered)
