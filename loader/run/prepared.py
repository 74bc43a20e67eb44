"""
Where a pass keeps the results workbook's parts made ahead (``ahead``), apart from the
steps that make them: the run holds the place from its start, the steps fill it in, and
the end reads it. Its own module so that the run, which holds it, imports nothing of
the steps, which read the run. [no I/O]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loader.report.groups import GroupCodes
    from loader.report.results import CameraColumns
    from loader.report.segments import SheetSegments
    from loader.report.workbook import Rendered


@dataclass(frozen=True)
class PreparedResults:
    """What the results workbook holds that no outcome changes, made and rendered ahead,
    and the table sheets' segments made so far (filled in as batches settle)."""

    columns: CameraColumns
    rendered: Rendered
    codes: GroupCodes  # the camera rows' groups, numbered for the Groups sheet's counts
    segments: dict[str, SheetSegments]  # by sheet: the Cameras sheet's, then the Groups'


class ResultsAhead:
    """Where a pass keeps the results made ahead (None until they are)."""

    def __init__(self) -> None:
        self.prepared: PreparedResults | None = None
