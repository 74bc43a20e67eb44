"""
From cameras to requests: the minimum number of batches under the API's rules with
deterministic names (``batches``), a camera task's settings as a document
(``documents``), and the diff of the sheet against the ledger: create, update, replace,
remove, restart, unchanged (``delta``), and what ``bulkload refresh`` makes of the API's
answers: the batches bulkload made and the ledger entries their tasks give (``learned``),
and what the API's per-state counts of the sheet's batches say beside the ledger
(``drift``); and the registration a sheet of cameras known by name needs: groups and
sources to create, sources joining groups, names found, rows rejected, the quota, and the
ids filled into the rows before batches are planned (``registration``). Pure.

May import: ``check``, ``read``, ``model``, ``errors``.
"""
