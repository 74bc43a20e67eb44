"""
Summaries of a checked inventory and of a plan, as data: the CLI renders them as tables
and JSON, the tests compare them. Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from loader.plan import Plan, minimum_batches
from loader.problems import Problem, Severity
from loader.validate import Checked, RowStatus

SKIPPED_CODES = frozenset(
    {"blank-rows", "footer", "repeated-header", "title-rows", "comment-row", "not-selected"}
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


def format_plan(plan: Plan, checked: Checked, files: Sequence[str] = ()) -> dict[str, Any]:
    """The plan summary (``plan.json`` and the ``--json`` of ``bulkload plan``)."""
    batches = []
    for number, batch in enumerate(plan.batches):
        settings = plan.settings[batch.settings].settings
        batches.append(
            {
                "number": number + 1,
                "name": batch.name,
                "file": files[number] if files else None,
                "service_name": settings.service_name,
                "service_version": settings.service_version,
                "groups": len({e.group for e in batch.entries}),
                "entries": len(batch.entries),
                "cameras": batch.camera_count,
                "bytes": len(batch.content()),
            }
        )
    return {
        "batches": batches,
        "batch_count": len(plan.batches),
        "minimum_batches": minimum_batches(checked.cameras),
        "cameras": plan.camera_count,
        "entries": plan.entry_count,
        "settings_classes": len(plan.settings),
        "max_payload_bytes": plan.max_payload_bytes,
    }


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
