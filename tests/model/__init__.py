"""The types every stage shares (``loader.model``, ``loader.bulk``)."""
