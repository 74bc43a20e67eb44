"""bulkload: camera inventories in spreadsheets -> Huawei Cloud VIAS batch tasks."""

from __future__ import annotations

from loader.errors import ConfigError, InputError, LoaderError, SubmitError
from loader.mapping import Mapping, find_mapping
from loader.pipeline import Loaded, load
from loader.plan import Batch, Plan, plan
from loader.problems import Problem, Severity
from loader.runner import RunReport, reconcile_run, resume_run, start_run
from loader.settings import Credentials, Settings
from loader.validate import Camera, Checked

__all__ = [
    "Batch",
    "Camera",
    "Checked",
    "ConfigError",
    "Credentials",
    "InputError",
    "Loaded",
    "LoaderError",
    "Mapping",
    "Plan",
    "Problem",
    "RunReport",
    "Settings",
    "Severity",
    "SubmitError",
    "find_mapping",
    "load",
    "plan",
    "reconcile_run",
    "resume_run",
    "start_run",
]
