"""
bulkload: camera inventories in spreadsheets -> Huawei Cloud VIAS batch tasks.

The public API is ``__all__``; each name is imported from its stage on first use, so
``import loader`` (and ``bulkload --help``) stays fast.

    read/      the input file: guard, sheet readers, where the table is   [I/O in]
    check/     mapping files, transforms, validation: rows -> cameras     [pure]
    planning/  cameras -> batches; the ledger's verdict on each camera    [pure]
    state/     events, their fold, the SQLite journal and ledger          [I/O: SQLite]
    send/      auth, client, pacing, the submitter, reconciliation        [I/O: HTTP]
    report/    results, workbook, summaries, console, progress            [I/O out]
    run/       options and the wiring of a run, resume, reconcile         [all stages]
    commands/  the CLI's work beyond declaring and rendering (demo, prompts)
    model/     the types every stage shares (at the bottom)
    sim/       the simulated VIAS server (apart: imports no stage)
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loader.check.load import Loaded, load
    from loader.check.mapping import Mapping, find_mapping
    from loader.check.validate import Checked
    from loader.errors import ConfigError, InputError, LoaderError, StorageError, SubmitError
    from loader.model.cameras import Camera, Cameras, CameraStatus
    from loader.model.problems import Problem, Severity
    from loader.planning.batches import Batch, Plan, plan
    from loader.report.summaries import RunReport
    from loader.run.options import RunOptions
    from loader.run.runner import reconcile_run, resume_run, start_run
    from loader.send.credentials import Credentials

_HOMES = {
    "Batch": "loader.planning.batches",
    "Camera": "loader.model.cameras",
    "CameraStatus": "loader.model.cameras",
    "Cameras": "loader.model.cameras",
    "Checked": "loader.check.validate",
    "ConfigError": "loader.errors",
    "Credentials": "loader.send.credentials",
    "InputError": "loader.errors",
    "Loaded": "loader.check.load",
    "LoaderError": "loader.errors",
    "Mapping": "loader.check.mapping",
    "Plan": "loader.planning.batches",
    "Problem": "loader.model.problems",
    "RunOptions": "loader.run.options",
    "RunReport": "loader.report.summaries",
    "Severity": "loader.model.problems",
    "StorageError": "loader.errors",
    "SubmitError": "loader.errors",
    "find_mapping": "loader.check.mapping",
    "load": "loader.check.load",
    "plan": "loader.planning.batches",
    "reconcile_run": "loader.run.runner",
    "resume_run": "loader.run.runner",
    "start_run": "loader.run.runner",
}

__all__ = [
    "Batch",
    "Camera",
    "CameraStatus",
    "Cameras",
    "Checked",
    "ConfigError",
    "Credentials",
    "InputError",
    "Loaded",
    "LoaderError",
    "Mapping",
    "Plan",
    "Problem",
    "RunOptions",
    "RunReport",
    "Severity",
    "StorageError",
    "SubmitError",
    "find_mapping",
    "load",
    "plan",
    "reconcile_run",
    "resume_run",
    "start_run",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its stage the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'loader' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names and the stage packages imported so far."""
    stages = {name for name, value in globals().items() if isinstance(value, ModuleType)}
    return sorted(stages | set(__all__))
