"""Request ids: every answer's X-Request-Id (or a gateway body's request_id) in the journal,
the log, the Batches sheet and every message a user reads."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openpyxl
import pytest

from loader.run.runner import Wiring, start_run
from loader.sim import SimConfig
from loader.sim.app import create_app, new_state
from loader.state.events import BatchAccepted, Event, decode
from loader.state.journal import Journal
from loader.state.runstate import replay
from tests.conftest import FakeClock, write_inventory
from tests.run.test_run import settings_for
from tests.send.test_submit import FakeApi, settle

ANSWERED = {"BatchAccepted", "BatchRejected", "BatchAmbiguous", "BatchLookedUp", "BatchRetrying"}


def unsubscribed_rows(sheet: Path, count: int) -> None:
    """Cameras of a service the simulator refuses (400 VIAS.00010001), in a batch of their own."""
    rows = "".join(f"cam-x-{n},grp-x,c-unsubscribed\n" for n in range(count))
    sheet.write_text(sheet.read_text() + rows)


def sheet_rows(path: Path, name: str) -> list[dict[str, object]]:
    """A results sheet as dicts by header."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = book[name].iter_rows(values_only=True)
        header = [str(h) for h in next(rows)]
        return [dict(zip(header, row, strict=False)) for row in rows]
    finally:
        book.close()


def journal_events(folder: Path) -> list[Event]:
    """Every event of a run's journal."""
    journal = Journal(folder / "journal.sqlite")
    try:
        return list(journal.events())
    finally:
        journal.close()


@pytest.fixture
def run_dir(tmp_path: Path, clock: FakeClock) -> tuple[Path, set[str]]:
    """A run on the in-process simulator: a lost answer, an accepted batch, a refused one.

    Returns the run directory and the request ids the simulator gave its answers.
    """
    sheet = write_inventory(tmp_path, groups=150, per_group=1)
    unsubscribed_rows(sheet, 3)
    config = SimConfig(refuse_services=frozenset({"c-unsubscribed"}), fault_sequence=["5xx-after"])
    state = new_state(config)
    state.clock = clock.now
    wiring = Wiring(clock=clock, transport=httpx.ASGITransport(app=create_app(config, state)))

    report = start_run(sheet, settings_for("http://sim.test", tmp_path), wiring=wiring)

    assert report.exit_code == 1
    return report.run_dir, {r.request_id for r in state.requests}


def test_every_answer_event_carries_the_simulators_request_id(
    run_dir: tuple[Path, set[str]],
) -> None:
    """Accepted, refused, ambiguous and looked-up events name an answer the server gave."""
    folder, issued = run_dir
    events = [e for e in journal_events(folder) if e.kind in ANSWERED]

    ids = [getattr(e, "request_id", "") for e in events]
    assert {e.kind for e in events} >= {"BatchAccepted", "BatchRejected", "BatchAmbiguous"}
    assert "" not in ids
    assert set(ids) <= issued


def test_log_lines_carry_request_ids(run_dir: tuple[Path, set[str]]) -> None:
    """The structlog lines of answered events have the same request_id field."""
    folder, issued = run_dir
    lines = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]

    logged = [x for x in lines if x["event"] == "bulkload.batch_accepted"]
    assert logged
    assert all(x["request_id"] in issued for x in logged)


def test_batches_sheet_and_messages_show_the_request_id(run_dir: tuple[Path, set[str]]) -> None:
    """Batches: a Request ID per batch, the settling answer's; the refusal quotes its id."""
    folder, issued = run_dir
    state = replay(journal_events(folder))
    batches = sheet_rows(folder / "results.xlsx", "Batches")
    cameras = sheet_rows(folder / "results.xlsx", "Cameras")

    by_name = {str(b["Batch"]): str(b["Request ID"]) for b in batches}
    assert by_name == {name: b.request_id for name, b in state.batches.items()}
    assert set(by_name.values()) <= issued
    refused = next(b for b in state.batches.values() if b.status == "rejected")
    assert refused.message == (
        "400 VIAS.00010001 The parameters are invalid.: service c-unsubscribed is not"
        f" subscribed (request id {refused.request_id})"
    )
    failed = {str(c["Message"]) for c in cameras if c["Status"] == "failed"}
    assert failed == {f"the API refused the batch: {refused.message}"}


@pytest.mark.anyio
async def test_give_up_reason_quotes_the_last_answer(clock: FakeClock) -> None:
    """Attempts used up: the reason names the last answer and its request id."""
    throttled = [
        httpx.Response(
            429,
            json={"error_code": "APIG.0308", "error_msg": "x"},
            headers={"X-Request-Id": f"r{i}"},
        )
        for i in (1, 2)
    ]
    from loader.send.engine import SubmitOptions

    events, _, jobs = await settle(
        FakeApi(throttled), clock, ["n1"], options=SubmitOptions(concurrency=1, max_attempts=2)
    )

    assert jobs[0].state.gave_up == (
        "2 attempts without a clear answer; last: 429 APIG.0308 x (request id r2)"
    )
    assert [getattr(e, "request_id", None) for e in events if e.kind == "BatchRetrying"] == [
        "r1",
        "r2",
    ]


def test_journals_written_before_request_ids_still_read() -> None:
    """An event without a request_id field decodes with an empty one."""
    event = decode("BatchAccepted", "b1", '{"batch_id":"x","total":1}')

    assert event == BatchAccepted(batch="b1", batch_id="x", total=1, request_id="")


def test_a_settled_batch_keeps_the_id_of_the_answer_that_settled_it() -> None:
    """A later lookup failure (reconcile) does not replace the settling answer's id."""
    from loader.state.events import BatchSending, LookupFailed

    state = replay(
        [
            BatchSending(batch="b", attempt=1),
            BatchAccepted(batch="b", batch_id="id", request_id="settled"),
            LookupFailed(batch="b", what="task list", reason="500", request_id="later"),
        ]
    )

    assert state.batches["b"].request_id == "settled"
