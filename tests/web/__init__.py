"""The local web page (``loader.web``)."""
