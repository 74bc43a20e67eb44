"""Reading input files (``loader.read``)."""
