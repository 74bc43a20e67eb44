"""
What a person reads: each row's outcome and the results tables (``results``), the
results workbook (``workbook``), the blank input template (``template``), summaries as
data (``summaries``), their rendering on the console (``console``), progress bars
(``progress``) and the files a dry run writes (``files``). [I/O out]

May import: every stage below it (``send`` included), ``model``, ``errors``.
"""
