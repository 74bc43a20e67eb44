"""The journal, the ledger and the outcomes (``loader.state``)."""
