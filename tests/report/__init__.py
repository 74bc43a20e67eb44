"""What a person reads (``loader.report``)."""
