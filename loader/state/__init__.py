"""
What a run remembers and what it means: its events (``events``), their fold into a state
(``runstate``), the append-only SQLite journal (``journal``), the files of a run directory
(``rundir``), the ledger of earlier runs (``ledger``), each camera row's outcome decided
from them (``outcomes``: pure), and the ledger kept in step with a run's journal
(``follow``). SQLite errors become
``StorageError`` here. [I/O: SQLite]

May import: ``planning``, ``check``, ``read``, ``model``, ``errors``.
"""
