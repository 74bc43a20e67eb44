"""Runs wired together (``loader.run``)."""
