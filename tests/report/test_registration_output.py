"""What a plan shows and writes of registration (issue 23, point 6): the counts on the
terminal and in ``--json``/plan.json, the bodies in ``--out``, and nothing new for a
sheet that needs no registration."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from loader.check.load import Loaded, load
from loader.commands.plan import plan_summary, write_plan_json
from loader.planning.batches import Plan
from loader.planning.registration import RegistrationPlan, plan_registration
from loader.report.console import show_plan
from loader.report.files import REGISTRATION_FILE, write_registration
from loader.report.summaries import format_plan, registration_lines
from loader.run.options import PlanChoices
from loader.run.plan import PlanReport, plan_sheet
from loader.send.registry import GroupIndex, ListedSource, SourceIndex
from tests.conftest import SAMPLES


def _report(sample: str, *listed: ListedSource) -> PlanReport:
    """The plan of a bundled sample against a project holding ``listed`` and no group."""
    loaded: Loaded = load(SAMPLES / sample)
    assert loaded.checked.registration is not None
    sources = SourceIndex({s.name: s for s in listed}, len(listed), 5000)
    registration = plan_registration(
        loaded.checked.registration, sources, GroupIndex({}, None), project="p-7"
    )
    return PlanReport(plan_sheet(loaded, PlanChoices(), None), registration=registration)


@pytest.fixture
def streams() -> PlanReport:
    """stream_list.csv (8 cameras by name and URL) against a project holding two of them."""
    return _report(
        "stream_list.csv",
        ListedSource("src-1", "Demo Street 1"),
        ListedSource("src-2", "Demo Street 2"),
    )


def test_the_plan_summary_carries_the_registration_counts(streams: PlanReport) -> None:
    """--json and plan.json: what registration sends and finds, in the project named."""
    summary = plan_summary(streams, creates=False, detailed=False)

    assert summary["plan"]["registration"] == {
        "project": "p-7",
        "video_sources": 6,
        "groups": 1,
        "cameras_joining_groups": 2,
        "found_video_sources": 2,
        "found_groups": 0,
        "rejected_rows": 0,
    }


def test_the_terminal_shows_the_counts_before_the_batches(streams: PlanReport) -> None:
    """``+ N video sources``, ``+ M groups``, ``~ K cameras joining groups`` under a line
    naming the project, then the batches as before."""
    screen = io.StringIO()
    summary = plan_summary(streams, creates=False, detailed=False)

    show_plan(Console(file=screen, width=200), streams.planned.plan, summary["plan"], None)

    assert screen.getvalue().splitlines()[:4] == [
        "registration in project p-7: 2 cameras found by name",
        "  + 6 video sources",
        "  + 1 group",
        "  ~ 2 cameras joining groups",
    ]


def test_a_second_plan_says_there_is_nothing_to_register() -> None:
    """Every camera and group in the project: one line, no counts."""
    registration = RegistrationPlan("p-7", (), (), (), {"Gate": "src-1"}, {"Yard": "g-1"}, ())
    summary = format_plan(
        Plan([], []), load(SAMPLES / "stream_list.csv").checked, registration=registration
    )

    assert registration_lines(summary["registration"]) == [
        "registration in project p-7: 1 camera found by name; nothing to register"
    ]


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param((1, 1, 1), id="one-each"),
        pytest.param((2, 0, 3), id="many"),
        pytest.param((0, 0, 0), id="none"),
    ],
)
def test_the_terminal_words_are_the_plans_own(counts: tuple[int, int, int]) -> None:
    """The lines under the heading are ``RegistrationPlan.lines()``, word for word."""
    sources, groups, joining = counts
    data = {
        "project": "p",
        "video_sources": sources,
        "groups": groups,
        "cameras_joining_groups": joining,
        "found_video_sources": 0,
    }

    class Counted(RegistrationPlan):
        def counts(self) -> dict[str, int]:
            return {k: data[k] for k in ("video_sources", "groups", "cameras_joining_groups")}

    lines = Counted("p", (), (), (), {}, {}, ()).lines()

    assert [line.strip() for line in registration_lines(data)[1:]] == lines


def test_without_registration_the_summary_has_no_key() -> None:
    """A sheet with ids: the plan summary is as it was (the goldens hold it byte for byte)."""
    checked = load(SAMPLES / "site_rollout.xlsx").checked

    assert "registration" not in format_plan(Plan([], []), checked)


def test_plan_out_writes_the_bodies_with_secrets_as_references(tmp_path: Path) -> None:
    """iVMS-4200's passwords: registration.json holds ``${BULKLOAD_SHEET_SECRET_n}``, never
    the sheet's value; plan.json carries the counts."""
    report = _report("ivms4200_devices.csv")
    summary = plan_summary(report, creates=False, detailed=False)

    write_registration(tmp_path, report.registration)  # as report_plan does with --out
    write_plan_json(tmp_path, report, summary)

    text = (tmp_path / REGISTRATION_FILE).read_text(encoding="utf-8")
    bodies = json.loads(text)
    plan_json = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert (len(bodies["create_video_sources"]), len(bodies["create_video_groups"])) == (12, 1)
    assert ("Hik299981!" in text, "${BULKLOAD_SHEET_SECRET_1}" in text) == (False, True)
    assert plan_json["plan"]["registration"]["video_sources"] == 12


def test_a_plan_without_registration_removes_an_earlier_registration_file(
    tmp_path: Path,
) -> None:
    """The folder never mixes two plans: an earlier plan's registration.json goes."""
    (tmp_path / REGISTRATION_FILE).write_text("{}", encoding="utf-8")

    written = write_registration(tmp_path, None)

    assert (written, list(tmp_path.iterdir())) == (None, [])
