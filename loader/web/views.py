"""
What the Plan and Send pages show, as data: the batches (``format_plan``), the cameras
per algorithm and schedule, the diff against the ledger in the sheet's words (each
changed field named by its column, ``words.spoken_fields``), the cameras held
back and why, what a run would replace, stop or delete (and the token that confirms
exactly that list), and how a run would authenticate, named without any secret.

``plan_view`` plans through ``run.plan`` (as ``bulkload plan`` does, against the ledger
when BULKLOAD_ENDPOINT and BULKLOAD_PROJECT_ID are set) and renders its ``PlanReport``;
the rest only shows what it found. [I/O: reads the ledger]
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Final

from loader.check.load import Loaded
from loader.errors import ConfigError
from loader.model.changes import Change
from loader.planning.delta import Delta, Earlier, TaskChange
from loader.planning.registration import RegistrationPlan
from loader.report.changes import diff_data
from loader.report.summaries import format_plan
from loader.run.options import LedgerScope, RunOptions
from loader.run.plan import PlanReport, plan_sheet
from loader.run.registration import as_planned
from loader.run.runner import Wiring
from loader.web.outcomes import reason_words
from loader.web.registering import registration_view
from loader.web.words import spoken_fields, typed_in_sheet

# What a run's exit code means, for the technical fold (the page says it in words).
EXIT_MEANINGS: Final = {
    0: "every row loaded",
    1: "some rows were rejected or some cameras failed at the API",
    2: "nothing was sent: a usage, mapping, credentials or input error",
    3: "interrupted, or some outcome is unknown: resume finishes it",
}
_METHODS: Final = {
    "token": "an IAM token (BULKLOAD_AUTH_TOKEN)",
    "aksk": "AK/SK signing (BULKLOAD_AK, BULKLOAD_SK)",
    "iam": "IAM user and password (BULKLOAD_IAM_USER, BULKLOAD_IAM_PASSWORD)",
}
CHANGES_SHOWN: Final = 200  # changes listed per kind on the page
PRUNE_WORDS: Final = {"": "keep them running", "stop": "stop them", "delete": "delete them"}


def plan_view(
    loaded: Loaded,
    options: RunOptions,
    registration: RegistrationPlan | None = None,
    wiring: Wiring | None = None,
) -> dict[str, Any]:
    """Everything the Plan and Send pages show of a sheet's plan with these options, as
    ``bulkload plan`` makes it (prune, retry-failed, payload cap; against the ledger when
    the server's environment names the endpoint and project); ``registration``: what
    registering the sheet's cameras sends (else found in the project, when the server's
    environment names it, as ``bulkload plan`` finds it, through ``wiring``)."""
    if registration is None:
        plugged = wiring or Wiring()
        loaded, registration = as_planned(
            loaded, options, clock=plugged.clock, transport=plugged.transport
        )
    planned = plan_sheet(loaded, options.plan_choices, options.ledger_scope())
    return present(PlanReport(planned, registration=registration), prune=options.prune)


def against_words(scope: LedgerScope | None) -> str:
    """What the diff is against, in the page's words (the URL is on the Send page)."""
    if scope is not None:
        return f"what bulkload loaded before into project {scope.project}"
    return (
        "an empty project: the server's environment names no endpoint and project"
        " (BULKLOAD_ENDPOINT, BULKLOAD_PROJECT_ID), so every camera counts as new"
    )


def present(report: PlanReport, *, prune: str = "") -> dict[str, Any]:
    """A plan report as the pages show it, in the sheet's words."""
    planned = report.planned
    loaded, delta, rows = planned.loaded, planned.delta, planned.rows
    checked = loaded.checked
    names = _camera_names(loaded)
    summary = format_plan(planned.plan, checked, registration=report.registration)
    diff = diff_data(delta, checked.cameras, rows, inventory=planned.inventory)
    for kind in ("update", "replace", "remove", "restart"):
        for item, change in zip(diff[kind], _changes(delta, kind), strict=True):
            item["fields"] = spoken_fields(item["fields"], loaded.mapping)
            item["camera_name"] = names.get(change.position, "")
            item["since"] = change.entry.at
    going = going_list(delta, names, rows, prune)
    for item, replaced in zip(going, diff["replace"], strict=False):  # replaces come first
        item["becomes"] = "; ".join(
            f"{f['column']}: {f['old']} → {f['new']}" for f in replaced["fields"]
        )
    held = held_lists(delta, names, rows)
    changed = (i for k in ("update", "replace", "remove", "restart") for i in diff[k])
    for item in [*going, *changed, *(i for items in held.values() for i in items)]:
        item["algorithm"] = typed_in_sheet(loaded.mapping, "service_name", item["service_name"])
    algorithms = by_algorithm(summary["batches"])
    for row in algorithms:
        row["algorithm"] = typed_in_sheet(loaded.mapping, "service_name", row["service_name"])
    return {
        "plan": summary,
        "algorithms": algorithms,
        "diff": {"against": against_words(planned.scope), **diff},
        "held": held,
        "going": going,
        "confirm": confirm_token(going),
        "registration": registration_view(
            loaded, report.registration, planned.scope.project if planned.scope else None
        ),
        "prune": prune,
        "shown": CHANGES_SHOWN,
    }


def _changes(delta: Delta, kind: str) -> list[TaskChange]:
    """The diff's changes of one kind, in ``diff_data``'s order."""
    return {
        "update": delta.updates,
        "replace": list(delta.replaces.values()),
        "remove": delta.removes,
        "restart": delta.restarts,
    }[kind]


def _camera_names(loaded: Loaded) -> dict[int, str]:
    """Camera names by row position (empty when the mapping reads none)."""
    rows = loaded.checked.rows
    if "camera_name" not in rows:
        return {}
    return {at: str(name) for at, name in enumerate(rows["camera_name"].tolist()) if name}


def held_lists(
    delta: Delta, names: Mapping[int, str], rows: Mapping[int, int]
) -> dict[str, list[dict[str, Any]]]:
    """The cameras held back this time, by why: failed earlier, of unknown outcome, or
    changed with tasks bulkload does not know (each with its row, camera and earlier run)."""
    found: dict[str, list[dict[str, Any]]] = {"failed": [], "unknown": [], "changed": []}
    for at, (earlier, entry) in sorted(delta.kept.items(), key=lambda item: rows.get(item[0], 0)):
        if earlier == Earlier.UNCHANGED:
            continue
        found[str(earlier)].append(
            {
                "row": rows.get(at),
                "video_source_id": entry.video_source_id,
                "camera_name": names.get(at, ""),
                "group_id": entry.group_id,
                "service_name": entry.service_name,
                "run": entry.run,
                "reason": reason_words(str(earlier), entry.message, entry.task_state),
                "since": entry.at,
            }
        )
    return found


def going_list(
    delta: Delta, names: Mapping[int, str], rows: Mapping[int, int], prune: str
) -> list[dict[str, Any]]:
    """The live tasks a run would take away: the old task of each replace (deleted once
    the new one exists), and with ``prune`` the tasks of cameras that left the sheet."""
    going = [
        {
            "action": "delete",
            "why": "replaced",
            "row": rows.get(change.position),
            "video_source_id": change.key[1],
            "camera_name": names.get(change.position, ""),
            "group_id": change.key[0],
            "service_name": change.key[2],
            "task_id": change.entry.task_id,
            "since": change.entry.at,
        }
        for change in delta.replaces.values()
    ]
    if prune:
        going += [
            {
                "action": "delete" if prune == "delete" else "stop",
                "why": "left the sheet",
                "row": None,
                "video_source_id": change.key[1],
                "camera_name": "",
                "group_id": change.key[0],
                "service_name": change.key[2],
                "task_id": change.entry.task_id,
                "since": change.entry.at,
            }
            for change in delta.removes
        ]
    return going


def confirm_token(going: Sequence[Mapping[str, Any]]) -> str:
    """A short hash of exactly what would go: a confirmation holds for that list only."""
    if not going:
        return ""
    keys = sorted(
        f"{g['action']}|{g['group_id']}|{g['video_source_id']}|{g['service_name']}|{g['task_id']}"
        for g in going
    )
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def going_of(delta: Delta, prune: str) -> str:
    """The confirmation token of what a diff would take away (a run's own check)."""
    return confirm_token(going_list(delta, {}, {}, prune))


def by_algorithm(batches: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Batches, groups and cameras per algorithm, version and schedule."""
    totals: dict[tuple[str, str, str], dict[str, int]] = defaultdict(
        lambda: {"batches": 0, "groups": 0, "cameras": 0}
    )
    for batch in batches:
        key = (batch["service_name"], batch["service_version"], batch["schedule"])
        totals[key]["batches"] += 1
        totals[key]["groups"] += batch["groups"]
        totals[key]["cameras"] += batch["cameras"]
    return [
        {"service_name": s, "service_version": v, "schedule": t or "(none)", **counts}
        for (s, v, t), counts in sorted(totals.items())
    ]


def target_view(base: RunOptions) -> dict[str, str]:
    """Where a run would send and how it would authenticate; what is missing, said so.

    Names the credential variables in use, never their values.
    """
    try:
        endpoint, project = base.api_target()
    except ConfigError as exc:  # named as the server's environment sets them, not as flags
        named = exc.message.replace("--endpoint / ", "").replace("--project-id / ", "")
        endpoint, project, missing = "", "", f"{named} in the server's environment"
    else:
        missing = ""
    try:
        method = _METHODS[base.credentials.method()]
    except ConfigError as exc:
        method, missing = "", missing or exc.message
    return {"endpoint": endpoint, "project": project, "method": method, "missing": missing}


def counts_line(counts: Mapping[str, int]) -> str:
    """What a diff does, in words: ``3 to create, 2 to replace``."""
    words = (
        (Change.CREATE, "to create"),
        (Change.UPDATE, "to update"),
        (Change.REPLACE, "to replace"),
        (Change.RESTART, "to restart"),
    )
    return ", ".join(f"{counts[k]:,} {w}" for k, w in words if counts.get(k))
