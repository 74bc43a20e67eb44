"""The template round trip, and re-importing a results workbook (with --only)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from loader.check.load import load
from loader.cli import app
from loader.model.vias import OFFSET_PATTERN
from loader.run.runner import start_run
from loader.sim import SimConfig, running_simulator
from tests.conftest import write_inventory
from tests.run.test_run import settings_for

runner = CliRunner()


def test_filled_template_validates(tmp_path: Path) -> None:
    """Write the template, add a group and two cameras below the examples: all valid."""
    path = tmp_path / "template.xlsx"
    assert runner.invoke(app, ["template", "--out", str(path)]).exit_code == 0
    book = openpyxl.load_workbook(path)
    cameras, groups = book["Cameras"], book["Groups"]
    camera_header = [c.value for c in cameras[1]]
    group_header = [c.value for c in groups[1]]
    groups.append(
        {
            group_header.index("Group ID") + 1: "grp-real-01",
            group_header.index("Service") + 1: "c-smoke-and-fire-cloud",
            group_header.index("Days") + 1: "Mon-Fri",
            group_header.index("Hours") + 1: "08:00-18:00",
        }
    )
    for camera in ("cam-real-0001", "cam-real-0002"):
        cameras.append(
            {
                camera_header.index("Video Source ID") + 1: camera,
                camera_header.index("Group ID") + 1: "grp-real-01",
            }
        )
    book.save(path)

    result = runner.invoke(app, ["validate", str(path), "--json"])

    assert (result.exit_code, result.stdout.count('"comment-row"')) == (0, 2), result.stderr
    loaded = load(path)
    assert [(c.group, c.video_source_id) for c in loaded.checked.cameras] == [
        ("grp-real-01", "cam-real-0001"),
        ("grp-real-01", "cam-real-0002"),
    ]


def test_template_has_help_and_dropdowns(tmp_path: Path) -> None:
    """Every header has a comment; enumerated columns have list validation; instructions first."""
    path = tmp_path / "template.xlsx"
    runner.invoke(app, ["template", "--out", str(path)])

    book = openpyxl.load_workbook(path)
    groups = book["Groups"]
    validated = {str(v.sqref).split(":")[0] for v in groups.data_validations.dataValidation}
    header = {c.column_letter: c.value for c in groups[1]}
    assert book.sheetnames[:3] == ["Instructions", "Cameras", "Groups"]
    assert all(c.comment is not None for c in groups[1])
    assert sorted(header[ref[0]] for ref in validated) == [
        "Days",
        "Event Center",
        "Hours",
        "Service",
        "Timezone",
    ]


def test_template_offers_documented_time_zones_in_text_columns(tmp_path: Path) -> None:
    """The Timezone dropdown lists +08:00 first, every choice a documented offset; kept as text."""
    path = tmp_path / "template.xlsx"
    runner.invoke(app, ["template", "--out", str(path)])

    book = openpyxl.load_workbook(path)
    groups, lists = book["Groups"], book["Lists"]
    header = [c.value for c in groups[1]]
    column = header.index("Timezone") + 1
    rule = next(
        v
        for v in groups.data_validations.dataValidation
        if str(v.sqref).startswith(openpyxl.utils.get_column_letter(column))
    )
    letter = rule.formula1.split("!$")[1][0]
    choices = [c.value for c in lists[letter] if c.value]
    formats = {
        n: d.number_format
        for d in groups.column_dimensions.values()
        for n in range(d.min or 0, (d.max or 0) + 1)
    }
    assert (choices[0], len(choices), groups.cell(2, column).value) == ("+08:00", 27, "+08:00")
    assert all(re.fullmatch(OFFSET_PATTERN, c) for c in choices)
    assert [formats.get(header.index(h) + 1) for h in ("Days", "Hours", "Timezone")] == ["@"] * 3


@pytest.mark.slow
def test_results_workbook_is_valid_input_and_only_selects_failed(tmp_path: Path) -> None:
    """A run's Cameras sheet re-imports with the bundled mapping; --only failed picks 2 rows."""
    sheet = write_inventory(tmp_path, groups=4, per_group=3)
    config = SimConfig(unknown_sources=frozenset({"cam-00001-002", "cam-00003-000"}))
    with running_simulator(config) as sim:
        start_run(sheet, settings_for(sim.url, tmp_path))
    results = tmp_path / "run" / "results.xlsx"

    everything = load(results)
    failed_only = load(results, only=frozenset({"failed"}))

    assert (
        everything.mapping.name,
        len(everything.checked.cameras),
        everything.checked.count("rejected"),
    ) == ("results", 12, 0)  # type: ignore[arg-type]
    assert sorted(c.video_source_id for c in failed_only.checked.cameras) == [
        "cam-00001-002",
        "cam-00003-000",
    ]
    assert Counter(p.code for p in failed_only.checked.problems) == Counter({"not-selected": 1})


@pytest.mark.slow
def test_reimport_plans_the_same_bodies_as_the_original(tmp_path: Path) -> None:
    """What the results workbook carries is enough to send exactly what was sent."""
    sheet = write_inventory(tmp_path, groups=3, per_group=2)
    with running_simulator() as sim:
        start_run(sheet, settings_for(sim.url, tmp_path))
    original = load(sheet, str(tmp_path / "flat-test.toml"))

    again = load(tmp_path / "run" / "results.xlsx", "results")

    def bodies(loaded: object) -> list[dict[str, object]]:
        from loader.planning.batches import plan

        checked = loaded.checked  # type: ignore[attr-defined]
        return [
            {k: v for k, v in b.body.items() if k != "name"}
            for b in plan(checked.cameras, checked.settings_classes).batches
        ]

    assert bodies(again) == bodies(original)
