"""A full disk or a locked ledger ends with a clear message and exit 2 or 3, never a traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from loader.cli import app
from loader.errors import ConfigError, StorageError
from loader.run.runner import Wiring, start_run
from loader.sim import SimConfig
from loader.sim.app import create_app
from loader.state import ledger as ledger_module
from loader.state.events import BatchPlanned, Event
from loader.state.journal import Journal
from loader.state.ledger import Ledger
from tests.conftest import FakeClock, write_inventory
from tests.run.test_run import settings_for

runner = CliRunner()


def _fill_after_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Journals take the run's plan, then no page more: SQLite's own 'database or disk is full'."""
    original = Journal.append_many

    def append_many(journal: Journal, events: list[Event]) -> None:
        original(journal, events)
        with journal._lock:  # workers append from threads: the cap must not race them
            pages = journal._db.execute("PRAGMA page_count").fetchone()[0]
            journal._db.execute(f"PRAGMA max_page_count = {pages}")

    monkeypatch.setattr(Journal, "append_many", append_many)


def test_a_full_journal_is_a_storage_error_naming_the_file(tmp_path: Path) -> None:
    """SQLITE_FULL becomes a StorageError with the file, the cause and what to do (exit 3)."""
    journal = Journal(tmp_path / "journal.sqlite")
    journal._db.execute("PRAGMA max_page_count = 4")
    events: list[Event] = [BatchPlanned(batch=f"b{n:04d}-" + "x" * 200) for n in range(200)]

    with pytest.raises(StorageError) as error:
        journal.append_many(events)
    journal.close()

    assert error.value.message == (
        f"cannot write to the run journal {tmp_path / 'journal.sqlite'}: database or disk is full"
    )
    assert f"bulkload resume {tmp_path}" in error.value.hint
    assert error.value.exit_code == 3


def test_a_run_whose_journal_fills_ends_with_the_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    """Mid-run, the workers' task group gives up the StorageError itself, not a group of them."""
    sheet = write_inventory(tmp_path, groups=3000, per_group=1)  # 30 batches: pages of events
    _fill_after_plan(monkeypatch)
    wiring = Wiring(clock=clock, transport=httpx.ASGITransport(app=create_app(SimConfig())))

    with pytest.raises(StorageError, match="database or disk is full"):
        start_run(sheet, settings_for("http://sim.test", tmp_path), wiring=wiring)


def test_a_locked_ledger_after_sending_still_writes_the_results_then_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    """Another process holds the ledger: results.xlsx is written, then the error (exit 3)."""
    sheet = write_inventory(tmp_path, groups=1, per_group=1)
    ledger = tmp_path / "ledger.sqlite"
    Ledger(ledger).close()
    holder = sqlite3.connect(ledger, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # readers go on (WAL); writers wait, then give up
    monkeypatch.setattr(ledger_module, "LOCK_WAIT", 0.05)
    wiring = Wiring(clock=clock, transport=httpx.ASGITransport(app=create_app(SimConfig())))
    options = settings_for("http://sim.test", tmp_path, ledger=ledger)

    with pytest.raises(StorageError) as error:
        start_run(sheet, options, wiring=wiring)
    holder.close()

    assert (error.value.message, error.value.exit_code) == (
        f"cannot write to the ledger {ledger}: database is locked",
        3,
    )
    assert (tmp_path / "run" / "results.xlsx").is_file()


def test_a_report_that_cannot_be_written_exits_2_with_a_message(tmp_path: Path) -> None:
    """--report under a file, not a folder: a message naming it, exit 2, no traceback."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    sheet = write_inventory(tmp_path, groups=1, per_group=1)
    arguments = ["validate", str(sheet), "-m", str(tmp_path / "flat-test.toml")]

    result = runner.invoke(app, [*arguments, "--report", str(blocker / "problems.csv")])

    assert (result.exit_code, type(result.exception)) == (2, SystemExit)
    assert f"cannot write {blocker}" in " ".join(result.output.split())


def test_an_unreadable_ssl_cert_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    """SSL_CERT_FILE naming a missing file: a message naming the variable, not a traceback."""
    sheet = write_inventory(tmp_path, groups=1, per_group=1)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))

    with pytest.raises(ConfigError, match="cannot set up TLS") as error:
        start_run(sheet, settings_for("https://vias.test", tmp_path), wiring=Wiring(clock=clock))

    assert "SSL_CERT_FILE" in error.value.hint
