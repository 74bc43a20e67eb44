"""
Size limits of the API that a plan keeps to and the options bound, in a module that
imports nothing: ``run.options`` reads them at start-up, before any stage that needs
pandas (``bulkload --help`` must stay fast).
"""

from __future__ import annotations

from typing import Final

# The API gateway refuses a body over 12 MB with 413 APIG.0201 ("Request entity too large",
# research notes section 6); AK/SK signing has the same limit. 10 MiB leaves room for
# headers and for webhook header values resolved at send time.
DEFAULT_MAX_PAYLOAD_BYTES: Final = 10 * 1024 * 1024
