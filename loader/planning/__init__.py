"""
From cameras to requests: the minimum number of batches under the API's rules with
deterministic names (``batches``), a camera task's settings as a document
(``documents``), and the diff of the sheet against the ledger: create, update, replace,
remove, restart, unchanged (``delta``). Pure.

May import: ``check``, ``read``, ``model``, ``errors``.
"""
