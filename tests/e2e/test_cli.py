"""The command line: output, files and exit codes (0 fine, 1 rows rejected, 2 unusable input)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from loader.cli import app
from loader.commands import fast_exit
from loader.errors import ConfigError
from loader.model.vias import BatchTaskRequest
from tests.conftest import FLAT_MAPPING, SAMPLES

runner = CliRunner()


@pytest.mark.parametrize(
    ("sample", "code"),
    [
        ("site_rollout.xlsx", 0),
        ("legacy_vms_export.xlsx", 1),
        ("legacy_two_sheet.xlsx", 0),
        ("nvr_export.csv", 0),
    ],
)
def test_validate_exit_codes_on_samples(sample: str, code: int) -> None:
    """0 when every row can be sent, 1 when some are rejected."""
    result = runner.invoke(app, ["validate", str(SAMPLES / sample)])

    assert result.exit_code == code


def test_validate_json_lists_counts_and_every_problem() -> None:
    """--json: one object on stdout with row counts and all problems; tables on stderr."""
    result = runner.invoke(app, ["validate", str(SAMPLES / "legacy_vms_export.xlsx"), "--json"])

    summary = json.loads(result.stdout)
    assert summary["rows"] == {"total": 128, "valid": 120, "rejected": 7, "duplicate": 1}
    assert (summary["mapping"], summary["exit_code"], len(summary["problems"])) == (
        "vms-flat",
        1,
        14,
    )
    assert summary["problems"][4] == {
        "severity": "error",
        "code": "bad-days_of_week",
        "file": "legacy_vms_export.xlsx",
        "sheet": "Camera Export",
        "row": 129,
        "column": "Detect Days",
        "value": "Funday",
        "message": "'Funday' is not a day of the week",
        "fix": "write days as Mon-Fri, Mon,Wed,Fri, 1-5, 周一至周五, weekdays, weekends or daily",
    }
    assert "Camera Export!129" in result.stderr


def test_plan_out_writes_exact_bodies_and_a_summary(tmp_path: Path) -> None:
    """plan --out: one file per batch holding the exact body, plus plan.json."""
    out = tmp_path / "plan"

    result = runner.invoke(
        app, ["plan", str(SAMPLES / "site_rollout.xlsx"), "--out", str(out), "--json"]
    )

    summary = json.loads(result.stdout)
    files = sorted(p.name for p in out.iterdir())
    batches = summary["plan"]["batches"]
    assert (result.exit_code, files) == (0, sorted([b["file"] for b in batches] + ["plan.json"]))
    assert summary["plan"]["batch_count"] == summary["plan"]["minimum_batches"] == 3
    assert sum(b["cameras"] for b in batches) == 637
    for batch in batches:
        content = (out / batch["file"]).read_bytes()
        assert (len(content), BatchTaskRequest.model_validate_json(content).name) == (
            batch["bytes"],
            batch["name"],
        )


def test_plan_json_lists_the_creates_by_batch_in_each_files_order(tmp_path: Path) -> None:
    """plan.json is --json's summary, but for diff.create: per batch, its file and the rows
    of the cameras it creates in that file's order (--json lists one object per camera)."""
    out = tmp_path / "plan"

    result = runner.invoke(
        app, ["plan", str(SAMPLES / "site_rollout.xlsx"), "--out", str(out), "--json"]
    )

    printed = json.loads(result.stdout)
    written = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    by_batch = written["diff"].pop("create")
    creates = printed["diff"].pop("create")
    assert written == printed
    row_of = {(c["group_id"], c["video_source_id"]): c["row"] for c in creates}
    for item in by_batch:
        body = json.loads((out / item["file"]).read_bytes())
        cameras = [
            (entry["video_source_group_id"], source["video_source_id"])
            for entry in body["batch_input"]["video_source_group"]
            for source in entry["video_source_list"]
        ]
        assert (item["batch"], item["rows"]) == (body["name"], [row_of[c] for c in cameras])
    assert sum(len(item["rows"]) for item in by_batch) == len(creates) == 637


def test_plan_again_replaces_the_previous_payload_files(tmp_path: Path) -> None:
    """A second plan into the same folder leaves only its own payload files."""
    out = tmp_path / "plan"
    runner.invoke(app, ["plan", str(SAMPLES / "site_rollout.xlsx"), "--out", str(out)])
    (out / "notes.txt").write_text("mine")

    runner.invoke(app, ["plan", str(SAMPLES / "nvr_export.csv"), "--out", str(out)])

    names = sorted(p.name for p in out.iterdir())
    assert [n for n in names if n.endswith(".json") and n != "plan.json"] == sorted(
        b["file"] for b in json.loads((out / "plan.json").read_text())["plan"]["batches"]
    )
    assert "notes.txt" in names


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["validate", "nope.xlsx"], "nope.xlsx does not exist", id="missing-file"),
        pytest.param(
            ["validate", str(SAMPLES / "site_rollout.xlsx"), "-m", "defualt"],
            "did you mean 'default'?",
            id="mapping-typo",
        ),
        pytest.param(
            ["validate", str(SAMPLES / "site_rollout.xlsx"), "-m", "vms-flat"],
            "lacks required columns",
            id="wrong-mapping",
        ),
        pytest.param(
            ["validate", str(SAMPLES / "site_rollout.xlsx"), "--engine", "xlrd"],
            "--engine must be calamine or openpyxl",
            id="bad-engine",
        ),
    ],
)
def test_unusable_input_exits_2_with_a_message_and_no_traceback(
    arguments: list[str], message: str
) -> None:
    """Usage, configuration and input errors: a message on stderr, exit 2, no traceback."""
    result = runner.invoke(app, arguments)

    assert (
        result.exit_code,
        message in " ".join(result.stderr.split()),
        "Traceback" in result.stderr,
    ) == (2, True, False)


def test_report_writes_every_problem_as_csv(tmp_path: Path) -> None:
    """--report FILE.csv: all problems, with a header, readable by Excel (BOM)."""
    report = tmp_path / "problems.csv"

    runner.invoke(
        app, ["validate", str(SAMPLES / "legacy_vms_export.xlsx"), "--report", str(report)]
    )

    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert (lines[0], len(lines)) == ("severity,code,file,sheet,row,column,value,message,fix", 15)


def test_mappings_lists_bundled_and_shows_one() -> None:
    """`mappings` lists every bundled file, the vendor exports known by name among them;
    `mappings NAME` shows its columns."""
    listing = runner.invoke(app, ["mappings"])
    shown = runner.invoke(app, ["mappings", "vms-flat"])
    names = ("default", "vms-flat", "legacy-two-sheet", "nvr-csv")
    vendors = ("milestone-pstools", "hikvision-ivms", "streams")

    assert all(n in listing.stderr for n in (*names, *vendors))
    assert ("Device UUID" in shown.stderr, shown.exit_code) == (True, 0)


@pytest.mark.slow
def test_demo_runs_the_samples_end_to_end(tmp_path: Path) -> None:
    """The demo sends both samples to its simulator and exits 0; each run has its files;
    the third inventory (names and stream URLs) is registered, then loaded."""
    result = runner.invoke(app, ["demo", "--runs", str(tmp_path)])

    runs = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    registered = [p for p in runs if p.name.startswith("demo-stream_list-")]
    assert (result.exit_code, len(runs), (tmp_path / "ledger.sqlite").is_file()) == (
        0,
        3,
        True,
    )
    assert len(registered) == 1
    for run in (p for p in runs if p not in registered):
        assert sorted(p.name for p in run.iterdir()) == [
            "diff.json",
            "journal.sqlite",
            "log.jsonl",
            "payloads",
            "results.xlsx",
            "summary.json",
        ]
    assert "cameras with two tasks: 0" in result.stderr


def test_a_mapping_wide_error_names_the_section_to_fix(tmp_path: Path) -> None:
    """The message names the [task] section of the mapping (it is not eaten as markup)."""
    sheet = tmp_path / "cams.csv"
    sheet.write_text("Camera,Group,Algorithm\ncam-0001,g1,c-smoke\n", encoding="utf-8")
    mapping = tmp_path / "no-output.toml"
    mapping.write_text(FLAT_MAPPING.replace("event_center = true", ""), encoding="utf-8")

    result = runner.invoke(app, ["validate", str(sheet), "-m", str(mapping)])

    assert result.exit_code == 2
    assert f"set it in [task] of {mapping}" in " ".join(result.output.split())


def test_a_usage_error_is_a_config_error_with_exit_2() -> None:
    """A bad --only value ends like every other config error: message, hint, exit 2."""
    result = runner.invoke(app, ["validate", str(SAMPLES / "nvr_export.csv"), "--only", "lost"])

    assert result.exit_code == 2
    assert "--only: unknown status lost" in result.output
    assert "how to fix: use loaded, failed, rejected" in " ".join(result.output.split())


def test_prune_without_anyone_to_confirm_sends_nothing(tmp_path: Path) -> None:
    """--prune, not interactive, no --yes: the plan's counts, exit 2, no run directory."""
    from loader.model.cameras import LedgerEntry
    from loader.state.ledger import Ledger

    sheet = tmp_path / "site.csv"
    sheet.write_text("Camera,Group,Algorithm\ncam-0001,g1,c-smoke\n", encoding="utf-8")
    (tmp_path / "flat-test.toml").write_text(FLAT_MAPPING, encoding="utf-8")
    ledger = tmp_path / "ledger.sqlite"
    gone = LedgerEntry(
        "g1",
        "cam-0009",
        "c-smoke",
        "fp",
        "loaded",
        "r1",
        "bulkload-0123456789ab",
        "b1",
        inventory="site.csv",
        task_id="t9",
    )
    with Ledger(ledger) as opened:
        opened.record("http://127.0.0.1:9", "p1", [gone])
    arguments = [
        *("run", str(sheet), "-m", str(tmp_path / "flat-test.toml")),
        *("--endpoint", "http://127.0.0.1:9", "--project-id", "p1", "--ledger", str(ledger)),
        *("--run-dir", str(tmp_path / "run"), "--prune", "delete"),
    ]

    result = runner.invoke(app, arguments, env={"BULKLOAD_AUTH_TOKEN": "t"})

    assert result.exit_code == 2
    assert "plan: create 1, update 0, replace 0, delete 1, restart 0, unchanged 0" in result.stderr
    assert "--prune would delete 1 tasks, and nobody is here to confirm it" in result.stderr
    assert not (tmp_path / "run").exists()


# --- the weekly user's path: the words bulkload prints work as typed -----------------------


def _prune_spellings() -> set[str]:
    """Every spelling of --prune that the README, the help or any message of bulkload shows."""
    root = Path(__file__).resolve().parents[2]
    texts = [(root / "README.md").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in (root / "loader").rglob("*.py")]
    texts += [p.read_text(encoding="utf-8") for p in (root / "loader").rglob("*.html")]
    texts += [runner.invoke(app, [c, "--help"]).output for c in ("plan", "run")]
    found = set()
    for text in texts:
        for match in re.finditer(
            r"--prune(\[=stop\|delete\]|=stop|=delete| stop\b| delete\b)?", text
        ):
            spelled = match.group(0)
            if "[=stop|delete]" in spelled:  # the synopsis: --prune[=stop|delete]
                found |= {"--prune", "--prune=stop", "--prune=delete"}
            elif " stop|delete" in text[match.start() : match.end() + 7]:
                found |= {"--prune stop", "--prune delete"}
            else:
                found.add(spelled)
    return found


PRUNE_SPELLINGS = {
    "--prune": "stop",
    "--prune=stop": "stop",
    "--prune stop": "stop",
    "--prune=delete": "delete",
    "--prune delete": "delete",
}


def test_every_prune_spelling_bulkload_shows_is_one_the_tests_run() -> None:
    """Whatever the README, the help and the messages show is among the spellings run below
    (which also keep ``--prune stop`` and ``--prune delete``, the spellings of old)."""
    shown = _prune_spellings()

    assert shown <= set(PRUNE_SPELLINGS)
    assert {"--prune", "--prune=stop", "--prune=delete"} <= shown


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """``run`` stops at start_run: what it got (--prune's mode, whether it would ask)."""
    from loader.run import runner as run_module

    seen: list[tuple[str, bool]] = []

    def start_run(sheet: Path, options: Any, progress: Any, *, confirm: Any) -> None:
        seen.append((options.prune, confirm is not None))
        raise ConfigError("stopped here by the test")

    monkeypatch.setattr(run_module, "start_run", start_run)
    return seen


@pytest.mark.parametrize("spelling", sorted(PRUNE_SPELLINGS))
@pytest.mark.parametrize("place", ["last", "before --yes", "before the sheet"])
def test_run_takes_every_prune_spelling_anywhere(
    spelling: str, place: str, started: list[tuple[str, bool]]
) -> None:
    """``run SHEET --prune``, ``--prune --yes``, ``run --prune SHEET``: as the messages say."""
    sheet = str(SAMPLES / "nvr_export.csv")
    words = spelling.split()
    arguments = {
        "last": ["run", sheet, "--yes", *words],
        "before --yes": ["run", sheet, *words, "--yes"],
        "before the sheet": ["run", *words, sheet, "--yes"],
    }[place]

    result = runner.invoke(app, arguments, env={"BULKLOAD_AUTH_TOKEN": "t"})

    assert (result.exit_code, started) == (2, [(PRUNE_SPELLINGS[spelling], False)])
    assert "stopped here by the test" in result.stderr


def test_a_bare_prune_last_on_a_run_line_asks_before_stopping(
    started: list[tuple[str, bool]],
) -> None:
    """No --yes: the run would ask (and refuse when nobody can answer), as before."""
    result = runner.invoke(app, ["run", str(SAMPLES / "nvr_export.csv"), "--prune"])

    assert (result.exit_code, started) == (2, [("stop", True)])


@pytest.mark.parametrize("spelling", sorted(PRUNE_SPELLINGS))
def test_plan_takes_every_prune_spelling(spelling: str) -> None:
    """The plan's removal line names the mode the spelling means."""
    note = {"stop": "stopped (--prune)", "delete": "deleted (--prune=delete)"}

    result = runner.invoke(app, ["plan", str(SAMPLES / "nvr_export.csv"), *spelling.split()])

    assert result.exit_code == 0
    assert f"to remove ({note[PRUNE_SPELLINGS[spelling]]})" in result.stderr


def test_a_prune_value_that_is_no_mode_is_refused_with_the_spellings() -> None:
    """``--prune delte``: refused before anything is read, naming the three spellings."""
    result = runner.invoke(app, ["plan", str(SAMPLES / "nvr_export.csv"), "--prune", "delte"])

    assert result.exit_code == 2
    assert "--prune 'delte' is not a way to remove tasks" in result.stderr
    assert "use --prune (it stops them), --prune=stop or --prune=delete" in " ".join(
        result.stderr.split()
    )


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_the_package_version(flag: str) -> None:
    """``bulkload --version`` / ``-V``: the version from the package metadata."""
    from importlib.metadata import version

    result = runner.invoke(app, [flag])

    assert (result.exit_code, result.stdout) == (0, f"bulkload {version('bulkload')}\n")


def test_the_minimum_batch_count_is_that_of_the_cameras_planned() -> None:
    """50 of site_rollout's 637 cameras to send, of one settings class: 1 batch, minimum 1
    (not the sheet's 3); nothing to send: minimum 0."""
    from loader.check.load import load
    from loader.planning.batches import plan
    from loader.report.summaries import format_plan

    checked = load(SAMPLES / "site_rollout.xlsx").checked
    first_class = checked.cameras.take(checked.cameras.settings_class == 0)
    some = plan(first_class[:50], checked.settings_classes)
    none = plan(checked.cameras[:0], checked.settings_classes)

    assert (
        format_plan(some, checked)["batch_count"],
        format_plan(some, checked)["minimum_batches"],
    ) == (1, 1)
    assert format_plan(none, checked)["minimum_batches"] == 0


def test_detailed_exitcode_is_2_when_changes_are_pending() -> None:
    """No endpoint: every camera is a create, so changes are pending: exit 2, --json too."""
    result = runner.invoke(
        app, ["plan", str(SAMPLES / "nvr_export.csv"), "--detailed-exitcode", "--json"]
    )

    summary = json.loads(result.stdout)
    assert (result.exit_code, summary["exit_code"], summary["pending"]) == (2, 2, {"create": 60})
    assert "exit 2: changes pending (create 60)" in result.stderr


def test_without_detailed_exitcode_plan_exits_as_before() -> None:
    """Changes pending, no flag: 0 (1 only for rejected rows), and --json says so."""
    result = runner.invoke(app, ["plan", str(SAMPLES / "nvr_export.csv"), "--json"])

    summary = json.loads(result.stdout)
    assert (result.exit_code, summary["exit_code"], summary["changes_pending"]) == (0, 0, True)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            [str(SAMPLES / "legacy_vms_export.xlsx")], '"rejected": 7', id="rows-rejected"
        ),
        pytest.param(["nope.xlsx"], '"error": "nope.xlsx does not exist', id="missing-file"),
    ],
)
def test_detailed_exitcode_is_1_on_an_error(arguments: list[str], message: str) -> None:
    """Rows rejected, or the plan could not be made: 1 (never 2, which means changes)."""
    result = runner.invoke(app, ["plan", *arguments, "--detailed-exitcode", "--json"])

    assert (result.exit_code, json.loads(result.stdout)["exit_code"]) == (1, 1)
    assert message in result.stdout


def test_detailed_exitcode_makes_a_usage_error_exit_1() -> None:
    """A misspelt option exits 2 by click's habit, which would read as changes pending."""
    result = runner.invoke(
        app, ["plan", str(SAMPLES / "nvr_export.csv"), "--detailed-exitcode", "--dry"]
    )

    assert result.exit_code == 1
    assert "No such option: --dry" in result.output


def test_detailed_exitcode_is_1_when_drift_cannot_be_checked(tmp_path: Path) -> None:
    """An endpoint without credentials: the plan is made, drift is not known: exit 1."""
    arguments = [
        *("plan", str(SAMPLES / "nvr_export.csv"), "--detailed-exitcode", "--json"),
        *("--endpoint", "http://127.0.0.1:9", "--project-id", "p1"),
        *("--ledger", str(tmp_path / "ledger.sqlite")),
    ]

    result = runner.invoke(app, arguments, env={"BULKLOAD_AUTH_TOKEN": ""})

    summary = json.loads(result.stdout)
    assert (result.exit_code, summary["drift"]["checked"]) == (1, False)
    assert "drift: not checked (no credentials: set BULKLOAD_AUTH_TOKEN" in " ".join(
        result.stderr.split()
    )


def test_a_plan_ends_at_once_with_its_output_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan marks its report shown (``fast_exit``: its process ends without freeing a
    million cameras one by one), and the process that ends so prints all it prints in a
    process that does not, and exits with the same code."""
    arguments = ["plan", str(SAMPLES / "nvr_export.csv"), "--detailed-exitcode", "--json"]
    monkeypatch.setattr(fast_exit, "_finished", False)
    in_process = runner.invoke(app, [*arguments, "--out", str(tmp_path / "a")])
    marked = fast_exit._finished

    ended = subprocess.run(
        [sys.executable, "-m", "loader", *arguments, "--out", str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert (marked, ended.returncode, in_process.exit_code) == (True, 2, 2)
    assert ended.stdout.replace(str(tmp_path / "b"), str(tmp_path / "a")) == in_process.stdout
    assert (
        ended.stderr.splitlines()[-1]
        == in_process.stderr.splitlines()[-1]
        == ("exit 2: changes pending (create 60)")
    )
    assert (tmp_path / "b" / "plan.json").read_text() == (tmp_path / "a" / "plan.json").read_text()
