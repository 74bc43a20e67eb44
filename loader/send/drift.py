"""
The batches' per-state counts a plan reads to see drift (``planning.drift`` judges them):
ListBatchTasks paged, 200 batches and their ``batch_task_status_info`` a request, until a
short page (or a page with nothing new: a server that ignores paging answers every page
alike). A page that gets no answer is asked once more after a pause; a refused one is
not. Nothing is changed and no ledger is written. [I/O: HTTP, through the client]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from loader.errors import SubmitError
from loader.send.client import LIST_PAGE_SIZE, ReadRefused, RunRefused, ViasClient
from loader.send.pacing import Clock

MAX_PAGES: Final = 10_000  # ListBatchTasks' page_num is 1..10000
RETRY_PAUSE: Final = 1.0  # seconds before a page that got no answer is asked again


@dataclass
class Listing:
    """Every batch listed, the requests it took and the time; ``failure``: why it stopped."""

    items: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    failure: str = ""


async def list_batches(client: ViasClient, clock: Clock) -> Listing:
    """Every batch of the project with its per-state counts (see the module)."""
    listing = Listing()
    began = clock.now()
    seen: set[str] = set()
    try:
        for page in range(1, MAX_PAGES + 1):
            items = await _page(client, clock, page, listing)
            fresh = [i for i in items if str(i.get("id") or "") not in seen]
            seen |= {str(i.get("id") or "") for i in fresh}
            listing.items += fresh
            if len(items) < LIST_PAGE_SIZE or not fresh:
                break
    except SubmitError as exc:
        listing.failure = f"ListBatchTasks: {client.refusal or exc.message}"
    listing.seconds = clock.now() - began
    return listing


async def _page(
    client: ViasClient, clock: Clock, page: int, listing: Listing
) -> list[dict[str, Any]]:
    """One page, asked once more after a pause when no answer came (a refusal is final)."""
    listing.requests += 1
    try:
        return await client.list_batches_page(page)
    except (RunRefused, ReadRefused):
        raise
    except SubmitError:
        await clock.sleep(RETRY_PAUSE)
    listing.requests += 1
    return await client.list_batches_page(page)
