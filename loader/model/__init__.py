"""
The types every stage shares, at the bottom of the import graph: the VIAS API's request
and response schema (``vias``), problems found in input rows (``problems``), and the camera,
its settings class, its statuses and the ledger's entries (``cameras``), and the results of
``bulkload doctor``'s checks (``checks``), the video source and group bodies (``sources``),
what a sheet says about registering its cameras (``registering``) and the in-memory table
of its secret values (``secrets``).

May import: the standard library, pydantic, ``loader.errors``. Nothing here does I/O.
"""
