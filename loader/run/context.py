"""
Where a run's context used to be: what callers outside ``run/`` still import from here
(the run directory's file names, ``load_sheet``). A run is now opened in ``open``, held in
``run.Run`` and concluded in ``conclude``.
"""

from __future__ import annotations

from loader.run.open import DIFF, JOURNAL, RESULTS, load_sheet

__all__ = ["DIFF", "JOURNAL", "RESULTS", "load_sheet"]
