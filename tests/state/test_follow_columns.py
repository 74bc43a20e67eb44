"""The follower's entries and writes over columns give what a step per camera gave: the
earlier implementations are kept here and compared on generated runs."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader.model.cameras import (
    Camera,
    Cameras,
    CameraStatus,
    LedgerEntry,
    LedgerKey,
    LedgerState,
)
from loader.state.follow import LedgerFollower
from loader.state.outcomes import Outcomes
from loader.state.runstate import BatchState, BatchStatus, RunState

ROWS = 12  # input rows the generated outcomes cover (positions 0..11)
BATCHES = ("b0", "b1", "b2", "")
SOURCES = ("cam-a", "cam-b", "cam-c", "cam-d")


# The earlier implementation, a Python step per camera (reference for ``entries``).
def entries_a_camera_at_a_time(
    follower: Any, result: Outcomes, cameras: Iterable[Camera]
) -> list[LedgerEntry]:
    delta, cameras = follower.delta, list(cameras)
    status_of, batch_of, fingerprints = result.status, result.batch, delta.fingerprints
    names = {str(batch_of[c.position]) for c in cameras}
    found = [(n, b) for n in names if (b := follower.state.batches.get(n)) is not None]
    maybe = (BatchStatus.ACCEPTED, BatchStatus.IN_DOUBT)
    maybe_created = {n for n, b in found if b.status in maybe}
    never_sent = {n for n, b in found if b.status == BatchStatus.REJECTED and not b.attempts}
    created = {}
    for batch in names:
        state = follower.state.batches.get(batch)
        for source, tasks in ((state.task_ids or {}) if state is not None else {}).items():
            if tasks:
                task_name = follower.state.task_names.get(tasks[0][0], "")
                created[(batch, source)] = (tasks[0][0], task_name)
    exists = (CameraStatus.LOADED, CameraStatus.REPLACED)
    run, inventory, services = follower.run, follower.inventory, follower.services
    entries = []
    for camera in cameras:
        at, source = camera.position, camera.video_source_id
        status, batch = status_of[at], str(batch_of[at])
        if batch in never_sent:
            continue
        task_id, task_name = created.get((batch, source), ("", ""))
        if status in exists or (at in delta.replaces and task_id):
            ledger_state = LedgerState.LOADED
        elif status == CameraStatus.FAILED:
            ledger_state = LedgerState.FAILED
        elif status == CameraStatus.UNKNOWN and batch in maybe_created:
            ledger_state = LedgerState.UNKNOWN
        else:
            continue
        entries.append(
            LedgerEntry(
                camera.group,
                source,
                services[camera.settings_class],
                fingerprints[at],
                ledger_state,
                run,
                batch,
                str(result.batch_id[at]),
                str(result.message[at]),
                "",
                inventory,
                task_id,
                task_name,
                str(result.task_state[at]),
            )
        )
    return entries


# The earlier ``_write``, over one dict whose None entries are taken back (reference).
def write_an_entry_at_a_time(
    follower: Any, wanted: dict[LedgerKey, LedgerEntry | None]
) -> tuple[Any, ...] | None:
    recorded = follower.recorded
    changed = [e for k, e in wanted.items() if e is not None and recorded.get(k) != e]
    gone = [k for k, e in wanted.items() if e is None and k in follower.recorded]
    if not changed and not gone:
        return None
    earlier = [follower.delta.earlier[k] for k in gone if k in follower.delta.earlier]
    dropping = [(k, follower.run) for k in gone if k not in follower.delta.earlier]
    marks = {e.fingerprint for e in changed} - follower.documented
    documents = {m: d for m, d in follower.delta.documents.items() if m in marks}
    written = ([*changed, *earlier], documents, dropping)
    follower.recorded.update((e.key, e) for e in changed)
    for key in gone:
        del follower.recorded[key]
    follower.documented |= marks
    return written


class Recording:
    """A ledger that keeps what it is asked to record."""

    def __init__(self) -> None:
        self.written: list[tuple[Any, ...]] = []

    def record(self, endpoint: str, project: str, entries: Any, documents: Any, **k: Any) -> int:
        self.written.append((list(entries), documents, list(k["dropping"])))
        return len(entries)

    def wait_for_locks(self, seconds: float) -> None:
        pass


def follower_of(
    state: RunState,
    *,
    replaces: Iterable[int] = (),
    recorded: dict[LedgerKey, LedgerEntry] | None = None,
    earlier: dict[LedgerKey, LedgerEntry] | None = None,
    documented: Iterable[str] = (),
) -> LedgerFollower:
    """A follower of a run of two algorithms, without a ledger file (``Recording``)."""
    follower = object.__new__(LedgerFollower)
    fingerprints = {at: f"f{at % 3}" for at in range(ROWS)}
    follower.delta = SimpleNamespace(  # type: ignore[assignment]
        fingerprints=fingerprints,
        fingerprints_at=lambda at: [fingerprints[p] for p in at.tolist()],
        replaces=dict.fromkeys(replaces),
        earlier=earlier or {},
        documents={"f0": {"a": 0}, "f1": {"a": 1}, "f2": {"a": 2}},
    )
    follower.state, follower.run, follower.inventory = state, "run-1", "sheet.csv"
    follower.services = ["c-smoke", "c-fire"]
    follower.classes = [
        SimpleNamespace(task_settings=SimpleNamespace(service_name=s))  # type: ignore[misc]
        for s in follower.services
    ]
    follower.recorded = dict(recorded or {})
    follower.documented = set(documented)
    follower.ledger = Recording()  # type: ignore[assignment]
    follower._writing = threading.Lock()
    follower.endpoint, follower.project = "http://127.0.0.1:9", "p1"
    return follower


def conclude_an_entry_at_a_time(
    follower: Any, entries: list[LedgerEntry], sent: set[LedgerKey]
) -> tuple[Any, ...] | None:
    """The earlier ``conclude`` (reference): one dict, None for what is taken back."""
    wanted: dict[LedgerKey, LedgerEntry | None] = {e[:3]: e for e in entries}
    lacking = [k for k in follower.recorded if k not in wanted]
    if lacking:
        wanted.update((k, None) for k in lacking if k in sent)
    return write_an_entry_at_a_time(follower, wanted)


TEXTS = st.text(alphabet="ab\x00é", max_size=2)
STATUSES = st.sampled_from(["", "loaded", "failed", "unknown", *CameraStatus])
TASKS = st.lists(st.tuples(st.sampled_from(["t1", "t2", "t3"]), TEXTS), max_size=2)


@st.composite
def runs(draw: st.DrawFn) -> tuple[RunState, Outcomes, list[Camera], list[int]]:
    """A run's fold, its outcomes by row, the cameras asked about, and the replacing rows."""
    state = RunState(task_names=draw(st.dictionaries(st.sampled_from(["t1", "t2"]), TEXTS)))
    for name in draw(st.lists(st.sampled_from(BATCHES[:3]), unique=True)):
        batch = state.batches[name] = BatchState(name)
        batch.status = draw(st.sampled_from(list(BatchStatus)))
        batch.attempts = draw(st.integers(0, 1))
        batch.task_ids = draw(st.none() | st.dictionaries(st.sampled_from(SOURCES), TASKS))
    result = Outcomes(
        status=np.array(draw(st.lists(STATUSES, min_size=ROWS, max_size=ROWS)), dtype=object),
        batch=np.array(draw(st.lists(st.sampled_from(BATCHES), min_size=ROWS, max_size=ROWS))),
        batch_id=np.array(draw(st.lists(TEXTS, min_size=ROWS, max_size=ROWS)), dtype=object),
        task_state=np.array(draw(st.lists(TEXTS, min_size=ROWS, max_size=ROWS)), dtype=object),
        message=np.array(draw(st.lists(TEXTS, min_size=ROWS, max_size=ROWS)), dtype=object),
    )
    result.batch = result.batch.astype(object)
    positions = draw(st.lists(st.integers(0, ROWS - 1), unique=True))
    cameras = [
        Camera(
            at,
            at + 2,
            draw(st.sampled_from(["g1", "g2"])),
            draw(st.sampled_from(SOURCES)),
            None,
            draw(st.integers(0, 1)),
        )
        for at in positions
    ]
    replaces = draw(st.lists(st.integers(0, ROWS - 1), unique=True))
    return state, result, cameras, replaces


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_entries_over_columns_are_the_entries_camera_by_camera(
    run: tuple[RunState, Outcomes, list[Camera], list[int]],
) -> None:
    """Same entries, in the same order, each field of the same type."""
    state, result, cameras, replaces = run
    follower = follower_of(state, replaces=replaces)

    found = follower.entries(result, Cameras.of(cameras))

    expected = entries_a_camera_at_a_time(follower, result, cameras)
    assert found == expected
    assert [tuple(map(type, e)) for e in found] == [tuple(map(type, e)) for e in expected]


KEYS = st.tuples(
    st.sampled_from(["g1", "g2"]), st.sampled_from(SOURCES), st.sampled_from(["c-smoke", "c-fire"])
)
ENTRIES = st.builds(
    lambda key, mark, state: LedgerEntry(*key, mark, state, "run-1", "b0", "", "", "", "s"),
    KEYS,
    st.sampled_from(["f0", "f1"]),
    st.sampled_from([LedgerState.LOADED, LedgerState.UNKNOWN]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(ENTRIES, max_size=10),
    st.data(),
    st.dictionaries(KEYS, ENTRIES),
    st.lists(st.sampled_from(["f0", "f1"])),
)
def test_the_conclusion_writes_what_an_entry_at_a_time_wrote(
    recorded: list[LedgerEntry],
    data: st.DataObject,
    earlier: dict[LedgerKey, LedgerEntry],
    documented: list[str],
) -> None:
    """Same rows, documents and drops written, same entries and documents recorded after;
    the conclusion's entries repeat recorded ones, and some keys twice (the last stands)."""
    recorded_by_key = {e.key: e for e in recorded}
    pool = st.sampled_from(recorded) | ENTRIES if recorded else ENTRIES
    entries = data.draw(st.lists(pool, max_size=12))
    sent = data.draw(
        st.lists(st.tuples(st.sampled_from(["g1", "g2"]), st.sampled_from(SOURCES)), unique=True)
    )
    cameras = [Camera(at, at, g, s, None, at % 2) for at, (g, s) in enumerate(sent)]
    keys = {(g, s, ("c-smoke", "c-fire")[c]) for _, _, g, s, _, c in cameras}
    mine = follower_of(RunState(), recorded=recorded_by_key, earlier=earlier, documented=documented)
    theirs = follower_of(
        RunState(), recorded=recorded_by_key, earlier=earlier, documented=documented
    )

    mine.write_differences(entries, Cameras.of(cameras))

    expected = conclude_an_entry_at_a_time(theirs, entries, keys)
    assert mine.ledger.written == ([] if expected is None else [expected])  # type: ignore[attr-defined]
    assert list(mine.recorded.items()) == list(theirs.recorded.items())
    assert mine.documented == theirs.documented


@settings(max_examples=200, deadline=None)
@given(st.lists(KEYS, unique=True), st.data(), st.dictionaries(KEYS, ENTRIES))
def test_a_batch_written_after_an_event_is_what_an_entry_at_a_time_wrote(
    keys: list[LedgerKey], data: st.DataObject, recorded: dict[LedgerKey, LedgerEntry]
) -> None:
    """The batch's cameras without an entry are taken back, the changed ones written."""
    found = {
        k: data.draw(
            ENTRIES.map(
                lambda e, k=k: e._replace(group_id=k[0], video_source_id=k[1], service_name=k[2])
            )
        )
        for k in keys
        if data.draw(st.booleans())
    }
    mine, theirs = (
        follower_of(RunState(), recorded=recorded),
        follower_of(RunState(), recorded=recorded),
    )

    mine._write(found, [k for k in keys if k not in found])

    expected = write_an_entry_at_a_time(theirs, {k: found.get(k) for k in keys})
    assert mine.ledger.written == ([] if expected is None else [expected])  # type: ignore[attr-defined]
    assert list(mine.recorded.items()) == list(theirs.recorded.items())


def _outcomes(*rows: tuple[str, str, str]) -> Outcomes:
    """Outcomes of these (status, batch, task state) rows, batch id "id-" + batch."""
    result = Outcomes.empty(len(rows))
    for at, (status, batch, task_state) in enumerate(rows):
        result.set(at, status, batch, f"id-{batch}", task_state, "")
    return result


def test_cameras_of_one_batch_take_its_first_task_of_their_camera_and_its_name() -> None:
    """The same camera in two groups of a batch: both get the first task listed for it; a
    replacing camera still unknown is loaded once its new task is seen; one without is left."""
    state = RunState(task_names={"t1": "task-one"})
    state.batches["b0"] = BatchState("b0", status=BatchStatus.IN_DOUBT, attempts=1)
    state.batches["b0"].task_ids = {"cam-a": [("t1", "RUNNING"), ("t2", "RUNNING")], "cam-b": []}
    cameras = [
        Camera(0, 2, "g1", "cam-a", None, 0),
        Camera(1, 3, "g2", "cam-a", None, 1),
        Camera(2, 4, "g2", "cam-b", None, 0),
    ]
    result = _outcomes(("held", "b0", ""), ("unknown", "b0", "RUNNING"), ("held", "b0", ""))
    follower = follower_of(state, replaces=[0, 2])

    found = follower.entries(result, Cameras.of(cameras))

    assert found == [
        LedgerEntry(
            "g1", "cam-a", "c-smoke", "f0", LedgerState.LOADED, "run-1", "b0", "id-b0", "",
            "", "sheet.csv", "t1", "task-one", "",
        ),
        LedgerEntry(
            "g2", "cam-a", "c-fire", "f1", LedgerState.UNKNOWN, "run-1", "b0", "id-b0", "",
            "", "sheet.csv", "t1", "task-one", "RUNNING",
        ),
    ]  # fmt: skip


def test_a_batch_given_up_unsent_and_one_never_seen_give_no_entries() -> None:
    """Rejected without an attempt: left out even where its cameras failed; a batch the
    fold has not seen is not maybe created: its unknown cameras are left out, its failed
    ones recorded."""
    state = RunState()
    state.batches["b0"] = BatchState("b0", status=BatchStatus.REJECTED)
    cameras = [Camera(at, at, "g1", f"cam-{at}", None, 0) for at in range(3)]
    result = _outcomes(("failed", "b0", ""), ("unknown", "b1", ""), ("failed", "b1", ""))

    found = follower_of(state).entries(result, Cameras.of(cameras))

    assert [(e.video_source_id, e.state, e.batch) for e in found] == [
        ("cam-2", LedgerState.FAILED, "b1")
    ]


def test_no_cameras_give_no_entries() -> None:
    """An empty batch (or a run that sent nothing) asks about no camera."""
    found = follower_of(RunState()).entries(_outcomes(), Cameras.of([]))

    assert found == []
