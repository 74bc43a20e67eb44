"""
From grids to cameras: mapping files (``mapping``), the named transforms (``transforms``),
mapping a located table to fields (``inventory``), the documented schedule (``schedule``)
and time zones (``zones``), resolving and checking task settings (``task_settings``),
checking every row (``validate``) with its ids (``ids``) and, for cameras known by name,
registration's rules (``registration``) applied to the rows (``sources``); a starter
mapping from a file's headers (``starter``); ``load`` is the stage's main flow,
read + map + check of one input file. Pure but for ``load`` and reading mapping files.

May import: ``read``, ``model``, ``errors``.
"""
