"""A sheet of names and stream addresses, registered and loaded end to end against the
loopback simulator: exactly once, quota first, lost answers looked up, secrets kept out
of every file of the run directory."""

from __future__ import annotations

import json
import shutil
import threading
import zipfile
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest

from loader.commands.plan import report_plan
from loader.errors import ConfigError
from loader.model.registering import GroupListing, SourceListing
from loader.planning.registration import RegistrationPlan, check_quota
from loader.report.summaries import format_run
from loader.run import registrar, registration
from loader.run.options import RunOptions
from loader.run.runner import Wiring, resume_run, start_run
from loader.send.credentials import Credentials
from loader.sim import SimConfig, running_simulator
from loader.sim.registry import SimGroup, SimSource
from loader.sim.server import RunningSim
from loader.state.events import RegistrationDone
from loader.state.journal import Journal
from loader.state.ledger import Ledger
from loader.state.rundir import JOURNAL, RESULTS
from tests.conftest import SAMPLES

STREETS = [f"Demo Street {n}" for n in range(1, 9)]


def options_for(url: str, folder: Path, run: str = "run", **overrides: object) -> RunOptions:
    """RunOptions at the simulator; the mapping chosen by the sheet's headers."""
    values: dict[str, object] = {
        "endpoint": url,
        "project_id": "sim-project",
        "run_dir": folder / run,
        "ledger": folder / "ledger.sqlite",
        "credentials": Credentials(token="sim-token"),
        "rate": 200.0,
        "timeout": 2.0,
        "settle": 0.1,
    }
    values.update(overrides)
    return RunOptions.of(**values)


def sheet_in(folder: Path, name: str = "stream_list.csv") -> Path:
    """A bundled sample sheet copied into ``folder``."""
    return Path(shutil.copy(SAMPLES / name, folder / name))


def registered(sim: RunningSim) -> tuple[Counter[str], Counter[str]]:
    """How many sources and groups the simulator holds per name."""
    registry = sim.state.registry
    return (
        Counter(s.name for s in registry.sources.values()),
        Counter(g.name for g in registry.groups.values()),
    )


def creates(sim: RunningSim) -> Counter[str]:
    """The registering creates the simulator answered, by path."""
    return Counter(
        r.path.rsplit("/", 1)[1]
        for r in sim.state.requests
        if r.method == "POST" and r.path.endswith(("/source", "/video-group"))
    )


def test_a_sheet_of_names_and_urls_is_registered_then_loaded(tmp_path: Path) -> None:
    """Eight names and URLs: eight sources in one new group, then their eight tasks,
    accepted by a simulator that refuses tasks of sources not registered in the group."""
    sheet = sheet_in(tmp_path)

    with running_simulator(SimConfig(registered_only=True)) as sim:
        report = start_run(sheet, options_for(sim.url, tmp_path))
        sources, groups = registered(sim)
        tasks = sum(sim.state.task_counts().values())
        ids = {s.name: s.id for s in sim.state.registry.sources.values()}
        group_id = next(iter(sim.state.registry.groups))
    results = tmp_path / "run" / RESULTS
    cameras = pd.read_excel(results, sheet_name="Cameras", dtype=str, engine="openpyxl")
    listed = pd.read_excel(results, sheet_name="Registered", dtype=str, engine="openpyxl")

    assert (report.exit_code, tasks) == (0, 8)
    assert report.registered == {"groups": 1, "sources": 8}
    assert format_run(report)["registered"] == {"groups": 1, "sources": 8}
    assert (sources, groups) == (Counter(STREETS), Counter({"bulkload": 1}))
    assert cameras[["Camera", "api.video_source_id", "api.group"]].values.tolist() == [
        [name, ids[name], group_id] for name in STREETS
    ]
    assert listed[["What", "Name", "How"]].values.tolist() == [
        ["group", "bulkload", "registered"],
        *(["source", name, "registered"] for name in STREETS),
    ]


def test_a_second_plan_and_run_have_nothing_to_do(tmp_path: Path) -> None:
    """After a run, plan finds every name and plans no create; a second run sends no
    registering call and no batch."""
    sheet = sheet_in(tmp_path)

    with running_simulator(SimConfig(registered_only=True, start_fail_percent=0)) as sim:
        first = options_for(sim.url, tmp_path)
        start_run(sheet, first)
        before = len(sim.state.requests)
        plan = report_plan(sheet, first, refresh=False)
        start_run(sheet, options_for(sim.url, tmp_path, run="run2"))
        sent = [(r.method, r.path) for r in sim.state.requests[before:] if r.method != "GET"]

    assert plan.registration is not None
    assert (plan.registration.empty, plan.planned.delta.counts()["create"], plan.pending) == (
        True,
        0,
        {},
    )
    assert sent == []


def test_plan_shows_what_a_run_would_register_and_registers_nothing(tmp_path: Path) -> None:
    """Before any run: + 8 video sources, + 1 group, 8 tasks to create; nothing sent but
    reads."""
    sheet = sheet_in(tmp_path)

    with running_simulator(SimConfig()) as sim:
        plan = report_plan(sheet, options_for(sim.url, tmp_path), refresh=False)
        methods = {r.method for r in sim.state.requests}

    assert plan.registration is not None
    assert (plan.registration.lines(), plan.planned.delta.counts()["create"], methods) == (
        ["+ 8 video sources", "+ 1 group"],
        8,
        {"GET"},
    )


def test_a_quota_the_registration_would_pass_stops_before_anything(tmp_path: Path) -> None:
    """Quota 5, 8 to register: exit 2 naming 0, 8 and 5; no run directory, nothing created."""
    sheet = sheet_in(tmp_path)

    with running_simulator(SimConfig(source_quota=5)) as sim:
        with pytest.raises(ConfigError) as raised:
            start_run(sheet, options_for(sim.url, tmp_path))
        held = registered(sim)

    assert raised.value.message == (
        "project sim-project holds 0 video sources and the plan registers 8 more, over its"
        " quota of 5"
    )
    assert (held, (tmp_path / "run").exists()) == ((Counter(), Counter()), False)


def test_the_quota_is_checked_once_by_a_run_and_once_by_its_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new run checks the quota on what its finder listed, not again before it
    registers; a resume cut short before registering lists the project again and checks
    that listing, once."""
    checked: list[int] = []  # the creates each check counted

    def counted(plan: RegistrationPlan, sources: SourceListing, groups: GroupListing) -> None:
        checked.append(len(plan.sources))
        check_quota(plan, sources, groups)

    monkeypatch.setattr(registration, "check_quota", counted)  # the finder's listing
    monkeypatch.setattr(registrar, "check_quota", counted)  # a resume's listing
    sheet = sheet_in(tmp_path)
    stopped = threading.Event()
    stopped.set()  # as a Ctrl-C before the first create: registration is cut short

    with running_simulator(SimConfig()) as sim:
        first = start_run(sheet, options_for(sim.url, tmp_path), wiring=Wiring(stop=stopped))
        by_the_run = list(checked)
        second = resume_run(tmp_path / "run", options_for(sim.url, tmp_path))
        sources, groups = registered(sim)

    assert (first.exit_code, by_the_run, second.exit_code, checked) == (3, [8], 0, [8, 8])
    assert (sources, groups) == (Counter(STREETS), Counter({"bulkload": 1}))


@pytest.mark.parametrize(
    ("fault", "posts"),
    [
        pytest.param("commit-reset", 1, id="made-answer-lost"),
        pytest.param("5xx-after", 1, id="made-then-500"),
        pytest.param("reset-before", 2, id="not-made"),
    ],
)
def test_a_lost_group_create_answer_is_looked_up_not_doubled(
    tmp_path: Path, fault: str, posts: int
) -> None:
    """The group's create answered unclearly: looked up by name (made: one group; not
    made: sent again), and the run goes on to register and load every camera."""
    sheet = sheet_in(tmp_path)
    config = SimConfig(registered_only=True, registration_fault_sequence=[fault])

    with running_simulator(config) as sim:
        report = start_run(sheet, options_for(sim.url, tmp_path))
        sources, groups = registered(sim)
        posted = creates(sim)
    journal = Journal(tmp_path / "run" / JOURNAL)
    done = [e for e in journal.events() if isinstance(e, RegistrationDone) and e.what == "group"]
    journal.close()

    assert (report.exit_code, groups, sources, posted["video-group"]) == (
        0,
        Counter({"bulkload": 1}),
        Counter(STREETS),
        posts,
    )
    assert [(d.name, d.created) for d in done] == [("bulkload", True)]


def test_passwords_appear_in_no_file_of_the_run_directory(tmp_path: Path) -> None:
    """The iVMS sample's passwords (a secret column, in a URL template): in no payload,
    journal, log, results or ledger byte, as written or percent-encoded."""
    sheet = sheet_in(tmp_path, "ivms4200_devices.csv")
    passwords = {row.split(",")[-1] for row in sheet.read_text("utf-8-sig").splitlines()[1:]}
    passwords.discard("")

    with running_simulator(SimConfig(registered_only=True)) as sim:
        report = start_run(sheet, options_for(sim.url, tmp_path))
        sent = {s.name for s in sim.state.registry.sources.values()}

    leaks = [
        (path.name, password)
        for path in [*(tmp_path / "run").rglob("*"), tmp_path / "ledger.sqlite"]
        if path.is_file()
        for text in _contents(path)
        for password in passwords
        if password.encode() in text or quote(password, safe="").encode() in text
    ]
    assert (report.exit_code, len(sent), leaks) == (0, 12, [])


def _contents(path: Path) -> list[bytes]:
    """A file's bytes, and each member's of a zip (an xlsx)."""
    data = path.read_bytes()
    if not zipfile.is_zipfile(path):
        return [data]
    with zipfile.ZipFile(path) as archive:
        return [data, *(archive.read(name) for name in archive.namelist())]


def test_a_changed_stream_address_is_updated_in_place_once(tmp_path: Path) -> None:
    """A week later one camera's address changed: one UpdateVideoSource (journaled), no
    create; the source holds the new address, and a third plan has nothing to do."""
    sheet = sheet_in(tmp_path)

    with running_simulator(SimConfig(registered_only=True, start_fail_percent=0)) as sim:
        start_run(sheet, options_for(sim.url, tmp_path))
        text = sheet.read_text("utf-8").replace("street-3", "street-3b")
        sheet.write_text(text, "utf-8")
        before = len(sim.state.requests)
        report = start_run(sheet, options_for(sim.url, tmp_path, run="run2"))
        sent = [(r.method, r.path.split("/")[-2]) for r in sim.state.requests[before:]]
        changed = [r for r in sent if r[0] != "GET"]
        address = next(
            s.type_config for s in sim.state.registry.sources.values() if s.name == STREETS[2]
        )
        plan = report_plan(sheet, options_for(sim.url, tmp_path), refresh=False)
    journal = Journal(tmp_path / "run2" / JOURNAL)
    done = [(e.what, e.name) for e in journal.events() if isinstance(e, RegistrationDone)]
    journal.close()

    assert (report.exit_code, changed, done) == (
        0,
        [("PUT", "source")],
        [("update", "Demo Street 3")],
    )
    assert "street-3b" in address
    assert plan.registration is not None
    assert plan.registration.empty
    assert plan.planned.delta.counts()["create"] == 0


@pytest.mark.parametrize(
    ("delete_sources", "left"),
    [pytest.param(False, 8, id="kept"), pytest.param(True, 7, id="deleted")],
)
def test_a_camera_that_left_loses_its_source_only_when_asked(
    tmp_path: Path, delete_sources: bool, left: int
) -> None:
    """A camera gone from the sheet: --prune=delete deletes its task; its video source is
    deleted only with --delete-sources (journaled), and then dropped from the ledger."""
    sheet = sheet_in(tmp_path)

    with running_simulator(SimConfig(registered_only=True, start_fail_percent=0)) as sim:
        start_run(sheet, options_for(sim.url, tmp_path))
        lines = sheet.read_text("utf-8").splitlines()
        sheet.write_text("\n".join(lines[:-1]) + "\n", "utf-8")
        second = options_for(
            sim.url, tmp_path, run="run2", prune="delete", delete_sources=delete_sources
        )
        report = start_run(sheet, second)
        sources, _ = registered(sim)
        tasks = sum(sim.state.task_counts().values())
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        known = [e.name for e in ledger.registered(sim.url, "sim-project") if e.what == "source"]

    assert (report.exit_code, tasks, len(sources), len(known)) == (0, 7, left, left)
    assert ("Demo Street 8" in sources) == (not delete_sources)


def test_the_first_source_refused_for_its_format_stops_registration(tmp_path: Path) -> None:
    """A server that takes only the zh type_config: the first create is refused, no other
    source is sent, no batch, and the stop names the other format."""
    sheet = sheet_in(tmp_path)

    with running_simulator(SimConfig(type_config_formats=frozenset({"zh"}))) as sim:
        report = start_run(sheet, options_for(sim.url, tmp_path))
        posted = creates(sim)
        batches = len(sim.state.batches)

    assert (posted, batches, report.exit_code) == (Counter({"video-group": 1, "source": 1}), 0, 3)
    assert report.stop_reason.endswith('try type_config_format = "zh"')


def test_an_existing_source_joins_an_existing_group_with_its_whole_membership(
    tmp_path: Path,
) -> None:
    """Group 'bulkload' holds 'Other Cam'; 'Demo Street 1' exists outside it: the seven
    others are created into it, then one UpdateVideoGroup sends all nine members."""
    sheet = sheet_in(tmp_path)

    with running_simulator(SimConfig(registered_only=True)) as sim:
        registry = sim.state.registry
        for source in (
            SimSource("src-other", "Other Cam", "cloud", "url", "<type>URL</type>", 1.0),
            SimSource("src-one", STREETS[0], "cloud", "url", "<type>URL</type>", 1.0),
        ):
            registry.sources[source.id] = source
        registry.groups["grp-1"] = SimGroup("grp-1", "bulkload", "cloud", 1.0, 1.0)
        registry.groups["grp-1"].members.append("src-other")
        report = start_run(sheet, options_for(sim.url, tmp_path))
        members = [registry.sources[m].name for m in registry.groups["grp-1"].members]
        puts = [r.path for r in sim.state.requests if r.method == "PUT"]
        tasks = sum(sim.state.task_counts().values())

    assert (report.exit_code, tasks, puts) == (0, 8, ["/v2/sim-project/video-group/grp-1"])
    assert sorted(members) == sorted(["Other Cam", *STREETS])


def test_plan_out_writes_the_registration_bodies_with_secrets_as_references(
    tmp_path: Path,
) -> None:
    """plan --out of the iVMS sample: registration.json holds the 12 creates and the group,
    passwords as references; no file written holds a password."""
    sheet = sheet_in(tmp_path, "ivms4200_devices.csv")
    passwords = {row.split(",")[-1] for row in sheet.read_text("utf-8-sig").splitlines()[1:]}
    passwords.discard("")
    out = tmp_path / "out"

    with running_simulator(SimConfig()) as sim:
        report_plan(sheet, options_for(sim.url, tmp_path, out=out), refresh=False)
    bodies = json.loads((out / "registration.json").read_text("utf-8"))
    written = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())

    assert (len(bodies["create_video_sources"]), len(bodies["create_video_groups"])) == (12, 1)
    assert "${BULKLOAD_SHEET_SECRET_" in bodies["create_video_sources"][0]["type_config"]
    assert [p for p in passwords if p.encode() in written] == []
