"""Batches and the diff (``loader.planning``)."""
