"""The first create leaves before the run's payload files are written: a crash between
the two resumes with every camera once and every payload file whole."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import anyio
import httpx
import pytest

from loader.planning.batches import Plan
from loader.report import files
from loader.run.runner import Wiring, resume_run, start_run
from loader.sim import SimConfig
from loader.sim.app import create_app
from loader.state.events import BatchPlanned
from loader.state.journal import read_events
from tests.conftest import FakeClock, write_inventory
from tests.run.test_run import expected_cameras, settings_for


class Crash(BaseException):
    """The process dying (nothing catches it, as nothing outlives a kill)."""


class FirstCreateOnly(httpx.AsyncBaseTransport):
    """The simulator's transport that answers the first create, then holds every other
    create until the run ends: the crash meets the rest unsent."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.answered = threading.Event()  # the first create's answer came back

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and self.answered.is_set():
            await anyio.sleep_forever()
        response = await self.inner.handle_async_request(request)
        if request.method == "POST":
            self.answered.set()
        return response


def crashing_writer(transport: FirstCreateOnly, written: list[str]) -> object:
    """A payload writer that, once the first create is answered, writes the first file
    and a torn part of the second, then dies."""

    def write(directory: Path, plan: Plan, names: list[str]) -> None:
        assert transport.answered.wait(timeout=30)  # the first create left before the files
        directory.mkdir(parents=True, exist_ok=True)
        (directory / names[0]).write_bytes(plan.batches[0].content())
        (directory / f"{names[1]}.part").write_bytes(plan.batches[1].content()[:10])
        written.extend(p.name for p in directory.iterdir())
        raise Crash

    return write


def test_a_crash_before_the_payload_files_are_written_resumes_once(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Crash after the first create, before the rest of the files: resume, each camera once."""
    sheet = write_inventory(tmp_path, groups=500, per_group=1)  # 5 batches
    app = create_app(SimConfig())
    transport = FirstCreateOnly(httpx.ASGITransport(app=app))
    options = settings_for("http://sim.test", tmp_path)
    written: list[str] = []
    monkeypatch.setattr(files, "write_payloads", crashing_writer(transport, written))

    with pytest.raises(BaseExceptionGroup) as crashed:
        start_run(sheet, options, wiring=Wiring(clock=clock, transport=transport))
    created_at_crash = sum(app.state.sim.task_counts().values())
    monkeypatch.undo()
    report = resume_run(
        tmp_path / "run", options, wiring=Wiring(clock=clock, transport=transport.inner)
    )

    planned = [r.event for r in read_events(tmp_path / "run" / "journal.sqlite")]
    names = sorted(e.file for e in planned if isinstance(e, BatchPlanned))
    payloads = tmp_path / "run" / "payloads"
    bodies = [json.loads((payloads / n).read_bytes()) for n in names]
    assert crashed.group_contains(Crash)
    assert (created_at_crash, len(written), report.exit_code) == (100, 2, 0)
    assert app.state.sim.task_counts() == expected_cameras(500, 1)
    assert (sorted(p.name for p in payloads.iterdir()), len(bodies)) == (names, 5)
