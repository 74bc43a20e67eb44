"""
``bulkload plan``'s drift check: the sheet's batches as the API counts their tasks, read
against the plan's diff (``planning.drift`` judges, ``send.drift`` asks). One client at
``--rate``, the credentials a run would use; nothing is written. A plan that cannot ask
(no credentials, no answer) says why and plans as before. [I/O: HTTP]
"""

from __future__ import annotations

from pathlib import Path

import anyio

from loader.check.load import Loaded
from loader.errors import LoaderError
from loader.planning.batches import name_prefix
from loader.planning.delta import Delta
from loader.planning.drift import Drift, drift, unchecked
from loader.run.options import RunOptions
from loader.run.runner import Wiring
from loader.send.drift import Listing, list_batches
from loader.send.secrecy import Scrubber


def check_drift(
    loaded: Loaded,
    options: RunOptions,
    delta: Delta,
    wiring: Wiring = Wiring(),  # noqa: B008 - a frozen dataclass: one shared default is safe
) -> Drift:
    """The drift of the sheet's batches at ``options``' endpoint and project (see the module).

    Never raises for the API or the credentials: a drift that could not be read is
    ``checked=False`` with the reason (secrets masked).
    """
    checked = loaded.checked
    prefixes = {name_prefix(c.name_prefix) for c in checked.settings_classes}
    try:
        connection = options.connection()
    except LoaderError as exc:
        return unchecked(exc.message)
    scrub = Scrubber(connection.auth.secrets)

    async def work() -> Listing:
        async with connection.open(wiring.clock, wiring.transport) as client:
            return await list_batches(client, wiring.clock)

    try:
        listing = anyio.run(work)
    except LoaderError as exc:
        return unchecked(scrub(exc.message))
    if listing.failure:
        return unchecked(scrub(listing.failure))
    return drift(
        listing.items,
        delta,
        prefixes,
        Path(checked.file).name,
        requests=listing.requests,
        seconds=listing.seconds,
    )
