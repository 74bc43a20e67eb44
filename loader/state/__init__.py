"""
What a run remembers: its events (``events``), their fold into a state (``runstate``),
the append-only SQLite journal (``journal``) and the ledger of earlier runs (``ledger``).
SQLite errors become ``StorageError`` here. [I/O: SQLite]

May import: ``planning``, ``check``, ``read``, ``model``, ``errors``.
"""
