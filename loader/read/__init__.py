"""
Reading an input file: the guard that runs before any parser (``guard``), the readers
that turn xlsx, xls and csv into text grids (``sheets``), finding the table inside a sheet
(``layout``) and how names typed by people are compared (``names``). [I/O in]

May import: ``model``, ``errors``. Knows nothing of mappings or the API.
"""
