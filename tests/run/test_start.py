"""What a run does before its first request: it imports only what that request needs
(the end's modules, the results workbook and xlsxwriter, httpx's own command line and
rich's bars wait), it builds its objects with the collector off and sends with it on,
and it hashes its sheet while it reads it."""

from __future__ import annotations

import gc
import hashlib
from pathlib import Path

import httpx
import pytest

from loader.run.open import _hash_ahead
from loader.run.runner import Wiring, start_run
from loader.sim import SimConfig
from loader.sim.app import create_app
from loader.state.events import Event, RunStarted
from loader.state.runstate import RunState
from tests.conftest import FakeClock, printed, write_inventory
from tests.run.test_run import settings_for

# What ``bulkload run`` imports before its first request: the CLI, then the run path.
RUN_PATH = (
    "import sys, loader.cli\n"
    "loader.cli.import_structlog_without_rich()\n"
    "from loader.commands.prune import confirm_prune\n"
    "from loader.run.runner import start_run\n"
    "print(' '.join(sorted(m for m in sys.argv[1:] if sys.modules.get(m))))\n"
)


@pytest.mark.parametrize(
    "module",
    [
        pytest.param("xlsxwriter", id="xlsxwriter"),
        pytest.param("loader.report.workbook", id="workbook"),
        pytest.param("loader.run.conclude", id="conclude"),
        pytest.param("httpx._main", id="httpx-cli"),
        pytest.param("rich.progress", id="rich-bars"),
        pytest.param("click", id="click"),
        pytest.param("rich", id="rich-through-structlog"),
        pytest.param("pygments", id="pygments"),
        pytest.param("charset_normalizer", id="encoding-guess"),  # a UTF-8 sheet's
        pytest.param("defusedxml", id="defusedxml"),  # an xlsx sheet's
        pytest.param("python_calamine", id="calamine"),  # an xlsx sheet's
        pytest.param("xml", id="xml"),  # a registering run's (type_config)
    ],
)
def test_the_run_path_leaves_a_module_for_later(module: str) -> None:
    """The module is not imported by the time the run path is."""
    imported = printed(RUN_PATH, module)

    assert imported == []


# Bulkload's own modules that a run imports only where it needs them, and when that is.
LEFT_FOR_LATER = {
    "loader.check.sources": "a sheet of names: registration's checks",
    "loader.check.registration": "a sheet of names: the rules of names and addresses",
    "loader.model.sources": "a sheet of names: the registering bodies",
    "loader.model.registering": "a sheet of names: its registration values",
    "loader.planning.registration": "a sheet of names: the registration plan",
    "loader.send.registry": "a sheet of names: the project's listings and calls",
    "loader.run.registration": "a sheet of names: the names found",
    "loader.run.registrar": "a sheet of names: the registering step",
    "loader.report.summaries": "the end (imported with it once the run sends)",
    "loader.planning.drift": "bulkload plan and refresh",
    "loader.check.starter": "a sheet no mapping fits",
    "loader.check.zones": "a mapping with a time zone",
    "loader.send.signing": "AK/SK credentials",
    "loader.run.canary": "a run with a canary",
}


def test_the_run_path_leaves_its_own_modules_for_later() -> None:
    """None of ``LEFT_FOR_LATER`` is imported by the time the run path is (one process)."""
    imported = printed(RUN_PATH, *LEFT_FOR_LATER)

    assert {m: LEFT_FOR_LATER[m] for m in imported} == {}


@pytest.mark.parametrize(
    ("module", "model"),
    [
        pytest.param("loader.model.vias", "BatchTaskRequest", id="request"),
        pytest.param("loader.model.vias", "BatchTaskResponse", id="response"),
        pytest.param("loader.model.vias", "ErrorBody", id="error-body"),
        pytest.param("loader.model.vias", "TaskSchedule", id="settings-part"),
        pytest.param("loader.check.mapping", "ColumnSpec", id="mapping-part"),
    ],
)
def test_the_run_path_leaves_a_model_unbuilt(module: str, model: str) -> None:
    """The model's validator is built on first use, not by the run path's imports."""
    code = RUN_PATH + f"import {module}\nprint({module}.{model}.__pydantic_complete__)"
    built = printed(code)

    assert built == ["False"]


def test_the_models_validated_before_the_first_request_are_built_at_import() -> None:
    """TaskSettings and Mapping, validated for every run, are built as they are defined."""
    code = RUN_PATH + (
        "from loader.check.mapping import Mapping\n"
        "from loader.model.vias import TaskSettings\n"
        "print(Mapping.__pydantic_complete__, TaskSettings.__pydantic_complete__)"
    )
    built = printed(code)

    assert built == ["True", "True"]


def test_the_end_is_importable_beside_the_run_path() -> None:
    """``runner.END`` names the module that holds the end (imported ahead while sending)."""
    from loader.run import conclude, runner

    assert conclude.__name__ == runner.END


def test_the_sheet_is_hashed_as_before(tmp_path: Path) -> None:
    """The hash made on a thread is the file's SHA-256."""
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(b"Camera;Group\n" * 100_000)

    assert _hash_ahead(sheet).result() == hashlib.sha256(sheet.read_bytes()).hexdigest()


def test_a_run_is_built_with_the_collector_off_and_sends_with_it_on(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Off when the run is opened (its first event seen), on while it sends, restored after;
    the journal's RunStarted holds the sheet's hash."""
    sheet = write_inventory(tmp_path, groups=300, per_group=1)
    collecting: dict[str, bool] = {}

    def observer(event: Event, state: RunState) -> None:
        collecting.setdefault(event.kind, gc.isenabled())

    class Watched(httpx.ASGITransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            collecting.setdefault("request", gc.isenabled())
            return await super().handle_async_request(request)

    transport = Watched(app=create_app(SimConfig()))
    options = settings_for("http://sim.test", tmp_path)
    report = start_run(sheet, options, observer, wiring=Wiring(clock=clock, transport=transport))

    assert collecting["RunStarted"] is False
    assert collecting["request"] is True
    assert gc.isenabled()
    assert report.exit_code == 0
    started = report.state.started
    assert isinstance(started, RunStarted)
    assert started.input_sha256 == hashlib.sha256(sheet.read_bytes()).hexdigest()
