"""The simulated VIAS server (``loader.sim``)."""
