"""
Where a run meets registration: the steps and the count that the runner and
``steps.START`` name, each nothing for a sheet of ids. Only a sheet of names imports the
registering itself (``run.registrar``: the bodies, the rules, the project's listings and
the registration plan, 0.02 s), where it first needs it; a sheet of ids never does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from loader.check.load import Loaded
from loader.run.run import Run
from loader.send.connect import Connection
from loader.send.control import Sender
from loader.send.pacing import Clock

if TYPE_CHECKING:  # a sheet of names only
    from loader.run.registration import Found


async def register_first(run: Run, sender: Sender) -> Run:
    """The run once its sheet's names are registered and its batches planned; the run as
    it was when it has nothing to register, or registration stopped (nothing planned)."""
    if not run.registering:
        return run
    from loader.run.registrar import register  # a sheet of names only: see above

    return await register(run, sender)


async def delete_sources(run: Run, sender: Sender) -> None:
    """``--delete-sources``: the sources bulkload registered for cameras that left the sheet.

    After the changes (``--prune`` removes their tasks first); each delete journaled
    before it goes, and the source dropped from the ledger.
    """
    if not run.options.delete_sources or run.loaded.checked.registration is None:
        return
    from loader.run.registrar import delete_gone  # a sheet of names only: see above

    await delete_gone(run, sender)


def calls(run: Run) -> int:
    """The registering calls a new run plans (its retry budget counts them)."""
    found = run.names_found
    if found is None:
        return 0
    plan = found.plan
    return len(plan.groups) + len(plan.sources) + len(plan.joins)


def find_for_run(
    connection: Connection, clock: Clock, transport: httpx.AsyncBaseTransport | None
) -> Callable[[Loaded], Found | None]:
    """What a new run finds its sheet's names with before it opens its directory: the
    project listed once, and a quota the registration would pass refused (exit 2)."""

    def finder(loaded: Loaded) -> Found | None:
        if loaded.checked.registration is None:  # a sheet of ids: nothing to find
            return None
        from loader.run.registration import find_and_plan  # a sheet of names only: see above

        return find_and_plan(loaded, connection, clock=clock, transport=transport)

    return finder
