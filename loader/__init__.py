"""bulkload: camera inventories in spreadsheets -> Huawei Cloud VIAS batch tasks."""

from __future__ import annotations

from loader.errors import ConfigError, InputError, LoaderError
from loader.mapping import Mapping, find_mapping
from loader.pipeline import Loaded, load
from loader.plan import Batch, Plan, plan
from loader.problems import Problem, Severity
from loader.validate import Camera, Checked

__all__ = [
    "Batch",
    "Camera",
    "Checked",
    "ConfigError",
    "InputError",
    "Loaded",
    "LoaderError",
    "Mapping",
    "Plan",
    "Problem",
    "Severity",
    "find_mapping",
    "load",
    "plan",
]
