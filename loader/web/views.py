"""
What the Plan and Send pages show, as data: the batches (``format_plan``), the cameras
per algorithm and schedule, the diff against the ledger (``diff_data``, as ``bulkload
plan`` computes it when BULKLOAD_ENDPOINT and BULKLOAD_PROJECT_ID are set), and how a run
would authenticate, named without any secret. [I/O: reads the ledger]
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Final

from loader.check.load import Loaded
from loader.errors import ConfigError
from loader.report.changes import diff_data
from loader.report.summaries import format_plan
from loader.run.options import RunOptions
from loader.run.plan import plan_sheet, target_of

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
CHANGES_SHOWN: Final = 200  # changes listed per kind on the page (plan.json lists all)


def plan_view(loaded: Loaded, base: RunOptions) -> dict[str, Any]:
    """The batches, cameras per algorithm and schedule, and the diff, as ``bulkload plan``."""
    checked = loaded.checked
    target = target_of(base)
    step = plan_sheet(loaded, base, target)
    if target is not None:
        against = f"the ledger {target.ledger} ({target.endpoint}, project {target.project})"
    else:
        against = (
            "an empty project (BULKLOAD_ENDPOINT and BULKLOAD_PROJECT_ID are not set in the"
            " server's environment: every camera is new)"
        )
    summary = format_plan(step.plan, checked)
    diff = diff_data(step.delta, checked.cameras, step.rows, step.inventory)
    return {
        "plan": summary,
        "algorithms": by_algorithm(summary["batches"]),
        "diff": {"against": against, **diff},
        "shown": CHANGES_SHOWN,
    }


def by_algorithm(batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
    except ConfigError as exc:
        endpoint, project, missing = "", "", f"{exc.message} in the server's environment"
    else:
        missing = ""
    try:
        method = _METHODS[base.credentials.method()]
    except ConfigError as exc:
        method, missing = "", missing or exc.message
    return {"endpoint": endpoint, "project": project, "method": method, "missing": missing}
