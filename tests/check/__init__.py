"""Mapping and checking rows (``loader.check``)."""
