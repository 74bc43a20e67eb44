"""
Summaries of a checked inventory, of a plan and of a finished run, as data: the CLI
renders them as tables and JSON, ``summary.json`` holds the run's, the tests compare them.
A batch's schedule is shown as a person checks it (``schedule.describe``). Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from loader.check.load import Loaded
from loader.check.schedule import describe
from loader.check.validate import Checked
from loader.model.cameras import RowStatus
from loader.model.problems import Problem, Severity
from loader.model.vias import TaskSettings
from loader.planning.batches import Plan, planned_minimum
from loader.state.events import Event
from loader.state.runstate import RunState

if TYPE_CHECKING:  # a run whose sheet registers nothing never imports registration
    from loader.planning.registration import RegistrationPlan


class Observer(Protocol):
    """Sees every event of a run after it is recorded (progress bars, a page)."""

    def __call__(self, event: Event, state: RunState) -> None: ...


@dataclass(kw_only=True)
class RunReport:
    """How a run ended: computed once, shown by the console, written to summary.json."""

    run_dir: Path
    results: Path
    state: RunState
    loaded: Loaded
    exit_code: int
    stop_reason: str = ""
    seconds: float = 0.0
    retries: int = 0
    lookups: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)  # cameras gone from the sheet
    # What registering the sheet's names did (``Registration.counts``; a sheet of ids: {}).
    registered: dict[str, int] = field(default_factory=dict)


SKIPPED_CODES = frozenset(
    {
        "blank-rows",
        "footer",
        "repeated-header",
        "title-rows",
        "comment-row",
        "not-selected",
        "filtered",  # a mapping's skip/keep rule (issue 25)
    }
)


def exit_code(checked: Checked) -> int:
    """0 when every row can be sent (duplicates included), 1 when some are rejected."""
    return 1 if checked.count(RowStatus.REJECTED) else 0


def format_validation(checked: Checked, *, mapping_chosen: str) -> dict[str, Any]:
    """The validate summary (the ``--json`` contract of ``bulkload validate``)."""
    severities = Counter(str(p.severity) for p in checked.problems)
    return {
        "file": checked.file,
        "sheet": checked.sheet,
        "mapping": checked.mapping,
        "mapping_chosen": mapping_chosen,
        "rows": {
            "total": len(checked.rows),
            "valid": checked.count(RowStatus.VALID),
            "rejected": checked.count(RowStatus.REJECTED),
            "duplicate": checked.count(RowStatus.DUPLICATE),
        },
        "group_rows": checked.group_rows,
        "skipped_rows": sum(1 for p in checked.problems if p.code in SKIPPED_CODES),
        "problem_counts": {s.value: severities.get(s.value, 0) for s in Severity},
        "problems": [p.as_dict() for p in checked.problems],
        "exit_code": exit_code(checked),
    }


def format_plan(
    plan: Plan,
    checked: Checked,
    files: Sequence[str] = (),
    *,
    registration: RegistrationPlan | None = None,
) -> dict[str, Any]:
    """The plan summary (``plan.json`` and the ``--json`` of ``bulkload plan``); its minimum
    batch count is that of the cameras planned (sent), not of the whole sheet. With a
    ``registration`` (a sheet that knows cameras by name, planned against its project) it
    carries what registration sends; without one, not even the key (outputs as before)."""
    batches = []
    schedules: dict[int, str] = {}  # a settings class's schedule, described once, not per batch
    for number, batch in enumerate(plan.batches):
        settings = plan.settings_classes[batch.settings_class].task_settings
        if batch.settings_class not in schedules:
            schedules[batch.settings_class] = schedule_text(settings)
        batches.append(
            {
                "number": number + 1,
                "name": batch.name,
                "file": files[number] if files else None,
                "service_name": settings.service_name,
                "service_version": settings.service_version,
                "schedule": schedules[batch.settings_class],
                "groups": batch.group_count,
                "entries": batch.entry_count,
                "cameras": batch.camera_count,
                "bytes": len(batch.content()),
            }
        )
    summary: dict[str, Any] = (
        {} if registration is None else {"registration": format_registration(registration)}
    )
    return {
        **summary,
        "batches": batches,
        "batch_count": len(plan.batches),
        "minimum_batches": planned_minimum(plan),  # of what is sent, not the whole sheet
        "cameras": plan.camera_count,
        "entries": plan.entry_count,
        "settings_classes": len(plan.settings_classes),
        "max_payload_bytes": plan.max_payload_bytes,
    }


def more_batches_line(batches: Sequence[Mapping[str, Any]], shown: int) -> str:
    """What a table of the first ``shown`` batches leaves out: how many more, of which
    services (a count per service and version, in plan order), and where all are listed;
    "" when it leaves none out."""
    rest = batches[shown:]
    if not rest:
        return ""
    services = Counter(f"{b['service_name']} {b['service_version']}" for b in rest)
    tally = ", ".join(f"{count:,} {service}" for service, count in services.items())
    return (
        f"... and {len(rest):,} more {'batch' if len(rest) == 1 else 'batches'} ({tally}):"
        " plan.json (--out DIR) and --json list every batch"
    )


def format_registration(registration: RegistrationPlan) -> dict[str, Any]:
    """What registration sends (``RegistrationPlan.counts``: ``+ N video sources``, ``+ M
    groups``, ``~ K cameras joining groups``) and what it found, in the project named."""
    return {
        "project": registration.project,
        **registration.counts(),
        "found_video_sources": len(registration.found_sources),
        "found_groups": len(registration.found_groups),
        "rejected_rows": len(registration.rejected_rows),
    }


# The counts of ``format_registration`` as a plan prints them (``RegistrationPlan.lines``'s
# words: a test keeps the two the same): sign, one, many.
REGISTRATION_WORDS: Final = {
    "video_sources": ("+", "video source", "video sources"),
    "groups": ("+", "group", "groups"),
    "cameras_joining_groups": ("~", "camera joining a group", "cameras joining groups"),
}


def registration_lines(registration: Mapping[str, Any] | None) -> list[str]:
    """The plan's registration for a terminal: a heading naming the project and what was
    found by name, then the non-zero counts, or that there is nothing to register."""
    if registration is None:
        return []
    found = registration["found_video_sources"]
    head = (
        f"registration in project {registration['project']}: {found:,}"
        f" {'camera' if found == 1 else 'cameras'} found by name"
    )
    lines = [
        f"  {sign} {n:,} {one if n == 1 else many}"
        for key, (sign, one, many) in REGISTRATION_WORDS.items()
        if (n := registration[key])
    ]
    return [head, *lines] if lines else [f"{head}; nothing to register"]


def drift_lines(drift: Mapping[str, Any] | None) -> list[str]:
    """The drift check of a plan, for a terminal: the sheet's batches whose tasks are not
    all running, and what ``--restart-failed`` or ``bulkload refresh`` would do."""
    if drift is None:
        return []
    if not drift["checked"]:
        return [f"drift: not checked ({drift['reason']}); the plan knows only the ledger"]
    requests = drift["requests"]
    cost = f"{requests:,} ListBatchTasks request{'s' if requests != 1 else ''}"
    cost += f", {drift['seconds']:.2f} s"
    batches = drift["batches"]
    plural = f"{batches:,} batch" + ("" if batches == 1 else "es")
    if not batches and not drift["missing"]:
        return [f"drift: none; the project holds no batch of the sheet yet ({cost})"]
    if not drift["drifted"] and not drift["missing"]:
        stopped = drift["stopped_by_bulkload"]
        but = f" but the {stopped:,} --prune stopped" if stopped else ""
        return [f"drift: none; every task of the sheet's {plural} runs{but} ({cost})"]
    drifted = len(drift["drifted"])
    lines = [
        f"drift ({cost}): {drifted:,} of the sheet's {plural}"
        f" {'has' if drifted == 1 else 'have'} tasks that are not running"
    ]
    for batch in drift["drifted"]:
        states = ", ".join(f"{n:,} {state}" for state, n in batch["states"].items())
        lines.append(
            f"  {batch['name']} ({batch['service_name'] or batch['id']}): {batch['tasks']:,}"
            f" tasks, {batch['running']:,} running" + (f", {states}" if states else "")
        )
        lines += [f"      {text}" for text in _drift_advice(batch)]
    for name, batch_id in ((m["name"], m["id"]) for m in drift["missing"]):
        lines.append(
            f"  {name} ({batch_id}): the ledger holds it, the API lists it no more (deleted"
            " outside bulkload?): bulkload refresh records that, then a run creates its"
            " cameras again"
        )
    return lines


def _drift_advice(batch: Mapping[str, Any]) -> list[str]:
    """What helps one drifted batch, a line per kind of task."""
    advice = []
    if batch["restart_known"]:
        advice.append(
            f"{batch['restart_known']:,} known to the ledger: --restart-failed starts them"
            " (listed under Restart)"
        )
    if batch["restart_unknown"]:
        advice.append(
            f"{batch['restart_unknown']:,} failed or stopped that the ledger does not know of:"
            " bulkload refresh (or plan --refresh) learns which, then --restart-failed starts"
            " them"
        )
    if batch["on_the_way"]:
        advice.append(f"{batch['on_the_way']:,} on their way: a later plan sees where they went")
    if batch["not_restartable"]:
        advice.append(
            f"{batch['not_restartable']:,} a start does not bring back (--restart-failed starts"
            " START_FAILED, ABNORMAL and STOPPED tasks only): see them in the console"
        )
    if batch["gone"]:
        advice.append(
            f"{batch['gone']:,} tasks the ledger holds are gone from the batch (deleted outside"
            " bulkload?): bulkload refresh records that, then a run creates them again"
        )
    if batch["stopped_by_bulkload"]:
        advice.append(
            f"({batch['stopped_by_bulkload']:,} stopped by --prune: their cameras left the sheet)"
        )
    return advice


def schedule_text(settings: TaskSettings) -> str:
    """The schedule as a person checks it (``Mon-Fri 08:00-18:00 (UTC+08:00)``); "" if none."""
    if settings.schedule is None:
        return ""
    return describe(settings.schedule.model_dump(mode="json", exclude_none=True))


def problem_rows(problems: Iterable[Problem]) -> list[list[str]]:
    """Problems as table rows: severity, where, column, value, message, fix."""
    return [
        [
            str(p.severity),
            f"{p.sheet}!{p.row}" if p.row is not None else p.sheet or p.file,
            p.column,
            _clip(p.value, 40),
            p.message,
            p.fix,
        ]
        for p in problems
    ]


def _clip(text: str, width: int) -> str:
    """Text cut to ``width`` characters with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


def format_run(report: RunReport) -> dict[str, Any]:
    """The run summary (``summary.json`` and ``--json``); ``registered`` only for a sheet
    whose names were registered."""
    registered = {"registered": report.registered} if report.registered else {}
    return {
        "run_dir": str(report.run_dir),
        "results": str(report.results),
        "exit_code": report.exit_code,
        "statuses": report.statuses,
        "removed": report.removed,
        "counts": report.counts,
        "seconds": round(report.seconds, 2),
        "retries": report.retries,
        "lookups": report.lookups,
        "stop_reason": report.stop_reason,
        "resume": f"bulkload resume {report.run_dir}" if report.counts.get("unsettled") else None,
        **registered,
    }


def format_refresh(summary: Mapping[str, Any]) -> str:
    """What ``bulkload refresh`` learned, for a terminal."""
    lines = [
        f"ledger {summary['ledger']} ({summary['endpoint']}, project {summary['project_id']}):",
        f"  batches: {summary['batches_managed']:,} managed, {summary['batches_unmanaged']:,}"
        f" unmanaged (never touched), {summary['batches_left']:,} left for the next refresh",
        f"  tasks: {summary['tasks_learned']:,} learned, {summary['tasks_updated']:,} brought"
        f" up to date, {summary['tasks_gone']:,} gone, {summary['tasks_unresolved']:,} unresolved",
        f"  {summary['requests']:,} requests in {summary['seconds']:.1f} s",
    ]
    if summary.get("stop_reason"):
        lines.append(f"  stopped: {summary['stop_reason']} (bulkload refresh resumes)")
    return "\n".join(lines)
