"""Talking to VIAS (``loader.send``)."""
