"""
Finding a sheet's cameras and groups by name, shared by ``bulkload plan`` and a run: the
project's sources and groups listed once (``SourceRegistry``), the registration planned
against them (``planning.registration``), and the sheet's ids filled from what was found
and registered (``filled``), so that the diff and the batches run as for a sheet of ids.

``plan`` fills the ids still to register with placeholders (``${source:NAME}``,
``${group:NAME}``, as ``plan --out`` writes the registration bodies): it shows the tasks a
run would create, and registers nothing. A run registers first (``run.register``), then
plans its batches with the real ids (batch names hash them). [I/O: HTTP]
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace

import anyio
import httpx

from loader.check.load import Loaded
from loader.model.choices import TypeConfigFormat
from loader.model.registering import SheetRegistration, SourceRow
from loader.model.sources import CreateVideoSource
from loader.planning.registration import (
    RegistrationPlan,
    check_quota,
    fill_ids,
    plan_registration,
)
from loader.run.options import RunOptions
from loader.send.connect import Connection
from loader.send.pacing import Clock, SystemClock
from loader.send.registry import GroupIndex, SourceIndex, SourceRegistry
from loader.state.ledger import RegisteredEntry


@dataclass(frozen=True)
class Found:
    """The project's listings, read once, and the registration planned against them."""

    plan: RegistrationPlan
    sources: SourceIndex
    groups: GroupIndex


async def find(loaded: Loaded, registry: SourceRegistry, project: str) -> Found | None:
    """The sheet's names found in the project, listed once; None: a sheet of ids."""
    sheet = loaded.checked.registration
    if sheet is None:
        return None
    sources = await registry.sources()
    groups = await registry.groups()
    return Found(plan_registration(sheet, sources, groups, project=project), sources, groups)


def find_and_plan(
    loaded: Loaded,
    connection: Connection,
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Found | None:
    """``find`` with a client of its own, and the registration's quota checked on what it
    found (``bulkload plan``, and a run before it opens its directory: a quota it would
    pass stops it, exit 2, before anything is written)."""
    if loaded.checked.registration is None:
        return None

    async def listing() -> Found | None:
        async with connection.open(clock, transport) as client:
            registry = SourceRegistry(client, environment(loaded, {}))
            return await find(loaded, registry, connection.project_id)

    found = anyio.run(listing)
    if found is not None:
        check_quota(found.plan, found.sources, found.groups)
    return found


def environment(loaded: Loaded, base: Mapping[str, str]) -> dict[str, str]:
    """The values ``${VAR}`` references take at send time: the sheet's secret columns
    (kept in memory only) over the environment's variables."""
    return {**base, **dict(loaded.checked.secrets)}


def stream_print(row: SourceRow, form: TypeConfigFormat) -> str:
    """A fingerprint of a camera's stream as its body holds it (secrets as references:
    never a value), to tell a changed address on a weekly run."""
    if row.stream is None:
        return ""
    xml = CreateVideoSource(row.name, row.stream, form=form).body().get("type_config", "")
    return hashlib.sha256(str(xml).encode()).hexdigest()[:16]


def changed_streams(
    found: Found, sheet: SheetRegistration, known: list[RegisteredEntry]
) -> list[str]:
    """Cameras found in the project that bulkload registered with another stream than the
    sheet's now: UpdateVideoSource, in place."""
    prints = {r.name: r.stream for r in known if r.what == "source" and r.stream}
    rows = sheet.by_name()
    return [
        name
        for name in found.plan.found_sources
        if name in prints
        and name in rows
        and rows[name].stream is not None
        and stream_print(rows[name], sheet.form) != prints[name]
    ]


def found_ids(found: Found) -> tuple[dict[str, str], dict[str, str]]:
    """(camera name -> id, group name -> id) the project holds already."""
    return dict(found.plan.found_sources), dict(found.plan.found_groups)


def as_planned(
    loaded: Loaded,
    options: RunOptions,
    *,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[Loaded, RegistrationPlan | None]:
    """The sheet as ``bulkload plan`` and the Plan page show it against the project: the
    names found filled, those to register as placeholders, the registration planned and
    its quota checked (over it: refused as the run would be, exit 2). Without an endpoint
    and project, or a sheet of ids: as it is, nothing asked. ``clock`` and ``transport``:
    a run's wiring (the page's tests plug in theirs)."""
    if options.ledger_scope() is None or loaded.checked.registration is None:
        return loaded, None
    connection = options.connection()
    found = find_and_plan(loaded, connection, clock=clock or SystemClock(), transport=transport)
    if found is None:
        return loaded, None
    return previewed(loaded, found), found.plan


def previewed(loaded: Loaded, found: Found) -> Loaded:
    """The sheet as ``plan`` shows it: found ids filled, those still to register as
    placeholders (``${source:NAME}``, ``${group:NAME}``)."""
    sources, groups = found_ids(found)
    sources |= {c.name: f"${{source:{c.name}}}" for c in found.plan.sources}
    groups |= {g.name: f"${{group:{g.name}}}" for g in found.plan.groups}
    return filled(loaded, found.plan, sources, groups, rejected=found.plan.rejected_rows)


def filled(
    loaded: Loaded,
    plan: RegistrationPlan | None,
    sources: Mapping[str, str],
    groups: Mapping[str, str],
    *,
    rejected: frozenset[int] | set[int] = frozenset(),
) -> Loaded:
    """The sheet with its camera rows' ids filled (``planning.registration.fill_ids``)."""
    rejections = plan.rejections if plan is not None else ()
    checked = fill_ids(
        loaded.checked, sources=sources, groups=groups, rejected=rejected, rejections=rejections
    )
    return replace(loaded, checked=checked)
