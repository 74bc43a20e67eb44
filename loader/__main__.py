"""``python -m loader``: the same as the ``bulkload`` command."""

from __future__ import annotations

from loader.cli import main

main()
