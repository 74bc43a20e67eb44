"""
What a person reads, rendered from what ``state.outcomes`` decided: the results tables
(``results``), the results workbook (``workbook``, written by ``sheet_xml``), the Changes
sheet and the plan's diff (``changes``), the blank input template (``template``),
summaries as data (``summaries``), their rendering on the console (``console``), progress
bars (``progress``) and the files a dry run writes (``files``). It decides nothing: no
stage below it, and nothing in ``state``, imports it. [I/O out]

May import: every stage below it (``send`` included), ``model``, ``errors``.
"""
