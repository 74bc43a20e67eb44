"""
What a run remembers and what it means: its events (``events``), their fold into a state
(``runstate``), the append-only SQLite journal (``journal``), the files of a run directory
(``rundir``), the ledger of earlier runs (``ledger``), each camera row's outcome decided
from them (``outcomes``: pure), the counts a person watches as a run goes (``tally``:
the terminal's bars and the run's page render the same), and the ledger kept in step
with a run's journal (``follow``); the fold of a sheet of names' registration
(``registered``). SQLite errors become ``StorageError`` here.
[I/O: SQLite]

May import: ``planning``, ``check``, ``read``, ``model``, ``errors``.
"""
