"""Whole runs whose Cameras sheet was made in segments ahead (as batches settled) write
the workbook a run writes wholly at its end: rejected rows, failed batches, batches in
doubt, and a week of changes (updates, replaces, prunes)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import openpyxl
import pytest
from anyio.lowlevel import checkpoint

from loader.report import segments as segments_module
from loader.report.results import ResultTables
from loader.report.segments import SheetSegments
from loader.report.workbook import Rendered, numeric_columns
from loader.run import conclude as conclude_module
from loader.run.ahead import make_cameras, make_groups, prepare_results, segment_maker
from loader.run.run import Run
from loader.run.runner import start_run
from loader.sim import SimConfig, running_simulator
from tests.conftest import TWO_SHEET_MAPPING, FakeClock, write_inventory
from tests.report.test_results import add_rows
from tests.report.test_segments import contents
from tests.run.test_run import settings_for
from tests.run.test_sync import _options, _week, write

Reused = list[dict[str, tuple[int, int]]]  # per workbook, by sheet: segments reused, in all


def make_every_due_segment(run: Run) -> None:
    """What a run makes ahead, made now: the inventory's cells, then every segment of the
    Cameras and Groups sheets whose batches (and changes) have settled, from the outcomes
    the run's state holds."""

    async def make() -> None:
        if run.ahead.prepared is None:
            await prepare_results(run.loaded, run.ahead, checkpoint)
        prepared = run.ahead.prepared
        assert prepared is not None
        maker = await segment_maker(run, prepared, checkpoint)
        await make_cameras(prepared, maker, checkpoint)
        await make_groups(prepared, maker, checkpoint)

    anyio.run(make)


@pytest.fixture
def reused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Reused:
    """Segments of 7 rows; each run's segments made just before it concludes; each
    workbook written twice, ahead (the run's) and wholly at the end (``reference.xlsx``
    beside it); what was reused, noted."""
    monkeypatch.setattr(segments_module, "SEGMENT_ROWS", 7)
    conclude = conclude_module.conclude
    write_results = conclude_module.write_results
    noted: Reused = []

    def concluding(run: Run, *args: Any) -> Any:
        make_every_due_segment(run)
        return conclude(run, *args)

    def writing(
        path: Path,
        results: ResultTables,
        rendered: Rendered | None = None,
        segments: Mapping[str, SheetSegments] | None = None,
    ) -> None:
        assert segments is not None
        write_results(path.with_name("reference.xlsx"), results)
        tables = {"Cameras": results.cameras, "Groups": results.groups}
        noted.append(
            {
                name: (len(made.reusable(table, numeric_columns(table))), made.count())
                for name, made in segments.items()
                for table in [tables[name]]
            }
        )
        write_results(path, results, rendered, segments)

    monkeypatch.setattr(conclude_module, "conclude", concluding)
    monkeypatch.setattr(conclude_module, "write_results", writing)
    return noted


def assert_same_workbook(results: Path) -> None:
    """The run's workbook holds the parts of the one written at the end, and reads."""
    assert contents(results) == contents(results.with_name("reference.xlsx"))
    openpyxl.load_workbook(results, read_only=True).close()


@pytest.mark.slow
def test_rejected_rows_and_failed_cameras(tmp_path: Path, reused: Reused) -> None:
    """Rejected, duplicate and failed rows among loaded ones: every segment made ahead is
    reused, and the workbook is the one written at the end."""
    sheet = write_inventory(tmp_path, groups=12, per_group=5)
    add_rows(sheet, ["cam-00001-001,grp-00001,c-smoke", ",grp-00002,c-smoke", "bad,g,c-smoke"])
    config = SimConfig(unknown_sources=frozenset({"cam-00004-000", "cam-00009-003"}))

    with running_simulator(config) as sim:
        report = start_run(sheet, settings_for(sim.url, tmp_path))

    assert report.statuses["failed"] == 2
    assert reused == [{"Cameras": (9, 9), "Groups": (2, 2)}]
    assert_same_workbook(report.results)


@pytest.mark.slow
def test_batches_in_doubt_are_rendered_at_the_end(tmp_path: Path, reused: Reused) -> None:
    """Every answer lost, nothing found by lists: no batch settles, no segment is made
    ahead, and the end writes what it always wrote."""
    sheet = write_inventory(tmp_path, groups=30, per_group=1)
    config = SimConfig(faults={"5xx-after": 1.0}, list_failures=1.0)

    with running_simulator(config) as sim:
        report = start_run(sheet, settings_for(sim.url, tmp_path, settle=0.05))

    assert (report.exit_code, report.statuses["unknown"]) == (3, 30)
    assert reused == [{"Cameras": (0, 5), "Groups": (0, 5)}]
    assert_same_workbook(report.results)


@pytest.mark.slow
def test_some_batches_in_doubt(tmp_path: Path, reused: Reused) -> None:
    """The first create's answer lost, and no list finds it: the segments of the settled
    batches are reused (a batch touches two segments of seven rows at most: at least four
    of six), the others rendered at the end, into the workbook written at the end."""
    sheet = write_inventory(tmp_path, groups=40, per_group=1)
    config = SimConfig(fault_sequence=["5xx-after"], list_failures=1.0)

    with running_simulator(config) as sim:
        report = start_run(
            sheet, settings_for(sim.url, tmp_path, settle=0.05, max_payload_bytes=1024)
        )

    made = [0 < made < count for made, count in reused[0].values()]
    assert (report.exit_code, made) == (3, [True, True])
    assert_same_workbook(report.results)


def test_a_week_of_updates_replaces_and_prunes(
    tmp_path: Path, clock: FakeClock, reused: Reused
) -> None:
    """Week 2's sheet updates, replaces and prunes (its changes settled): segments with
    changed rows are made from the outcomes the changes leave, and reused."""
    wiring, _, edited, _, _, _ = _week(tmp_path, clock, SimConfig(start_fail_percent=0))
    sheet = write(tmp_path, edited, "site-week-2.csv")

    report = start_run(sheet, _options(tmp_path, prune="stop"), wiring=wiring)

    assert {k for k, v in report.statuses.items() if v} == {
        "loaded",
        "updated",
        "replaced",
        "unchanged",
    }
    assert [made == count for run in reused for made, count in run.values()] == [True] * 4
    assert_same_workbook(report.results)


@pytest.mark.slow
def test_a_groups_sheet_with_rows_of_no_camera_and_groups_not_on_it(
    tmp_path: Path, write_xlsx: Any, reused: Reused
) -> None:
    """An inventory with a Groups sheet: its rows (one rejected, one twice, some with no
    camera) then the groups no row names, each counted in segments made as the batches
    settled, every one reused: the workbook written at the end."""
    (tmp_path / "flat-test.toml").write_text(TWO_SHEET_MAPPING)
    cameras = [[f"cam-{n:04d}", f"g{n % 13:02d}"] for n in range(40)]
    groups = [[f"g{n:02d}", f"Site {n}", "Funday" if n == 4 else "daily"] for n in range(0, 20, 2)]
    sheet = write_xlsx(
        {
            "Cameras": [["Camera", "Group"], *cameras],
            "Groups": [["Group", "Name", "Days"], *groups, ["g06", "Site 6 again", "daily"]],
        }
    )

    with running_simulator() as sim:
        report = start_run(sheet, settings_for(sim.url, tmp_path))

    groups_sheet = openpyxl.load_workbook(report.results, read_only=True)["Groups"]
    statuses = [row[4] for row in groups_sheet.iter_rows(min_row=2, values_only=True)]
    assert statuses == [
        *("valid", "valid", "rejected"),
        *["valid"] * 7,
        "rejected",  # g06 again
        *["not on the sheet"] * 6,
    ]
    assert reused == [{"Cameras": (6, 6), "Groups": (3, 3)}]
    assert_same_workbook(report.results)
