"""The diff of a sheet against the ledger (pure): exact cases, and properties over any sheet."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from loader.model.cameras import Camera, Cameras, LedgerEntry, LedgerState, SettingsClass
from loader.model.changes import Change, FieldChange
from loader.model.vias import TaskOutput, TaskSettings
from loader.planning.delta import (
    Delta,
    Earlier,
    camera_key,
    camera_keys,
    from_data,
    partition,
    to_data,
)
from loader.planning.documents import ClassDocuments, differences, document, fingerprint

SMOKE = TaskSettings(
    service_name="c-smoke", service_version="3.0", output=TaskOutput(event_center=True)
)
FIRE = SMOKE.model_copy(update={"service_name": "c-fire"})
NEWER = SMOKE.model_copy(update={"service_version": "3.1"})
DESCRIBED = SMOKE.model_copy(update={"description": "gate"})
CLASSES = [
    SettingsClass(SMOKE, "site"),
    SettingsClass(FIRE, "site"),
    SettingsClass(NEWER, "site"),
    SettingsClass(DESCRIBED, "site"),
]


def camera(position: int, group: str = "g1", source: str = "", settings: int = 0) -> Camera:
    return Camera(position, position + 2, group, source or f"cam-{position}", None, settings)


def loaded(cam: Camera, settings: int | None = None, **fields: str) -> LedgerEntry:
    """The ledger's entry of a camera task created by an earlier run of ``site.csv``."""
    chosen = cam.settings_class if settings is None else settings
    mark = fingerprint(document(CLASSES[chosen].task_settings, cam.target_roi))
    key = camera_key(cam._replace(settings_class=chosen), CLASSES)
    values = {
        "state": LedgerState.LOADED,
        "run": "r1",
        "batch": "site-0123456789ab",
        "batch_id": "b1",
        "inventory": "site.csv",
        "task_id": f"t-{cam.position}",
        "task_name": f"task-{cam.position}",
        "task_state": "RUNNING",
    } | fields
    return LedgerEntry(*key, fingerprint=mark, **values)  # type: ignore[arg-type]


def documents() -> dict[str, dict[str, object]]:
    docs = [document(c.task_settings, None) for c in CLASSES]
    return {fingerprint(d): d for d in docs}


def diff(cameras: list[Camera], entries: list[LedgerEntry], **options: object) -> Delta:
    ledger = {e.key: e for e in entries}
    return partition(
        Cameras.of(cameras),
        CLASSES,
        ledger,
        documents(),
        inventory="site.csv",
        **options,  # type: ignore[arg-type]
    )


def test_each_kind_of_change_in_one_diff() -> None:
    """New, same, other description, other algorithm, other version, gone, stopped."""
    cams = [camera(n) for n in range(6)]
    entries = [
        loaded(cams[1]),  # unchanged
        loaded(cams[2], settings=0),  # the sheet now says description "gate"
        loaded(cams[3], settings=0),  # the sheet now says c-fire: another key
        loaded(cams[4], settings=0),  # the sheet now says version 3.1: same key
        loaded(camera(9)),  # left the sheet
        loaded(cams[5], state=LedgerState.STOPPED),  # stopped by a prune, wanted again
    ]
    wanted = [
        cams[0],
        cams[1],
        cams[2]._replace(settings_class=3),
        cams[3]._replace(settings_class=1),
        cams[4]._replace(settings_class=2),
        cams[5],
    ]

    delta = diff(wanted, entries)

    assert [c.position for c in delta.send] == [0, 3, 4]  # the new camera and two replaces
    assert delta.kept == {1: (Earlier.UNCHANGED, entries[0])}
    assert [(c.position, c.fields) for c in delta.updates] == [
        (2, (FieldChange("description", "(none)", "gate"),))
    ]
    assert {at: (c.key[2], c.entry.task_id) for at, c in delta.replaces.items()} == {
        3: ("c-smoke", "t-3"),
        4: ("c-smoke", "t-4"),
    }
    assert [(c.key, c.entry.task_id) for c in delta.removes] == [
        (("g1", "cam-9", "c-smoke"), "t-9")
    ]
    assert [(c.position, c.change) for c in delta.restarts] == [(5, Change.RESTART)]
    assert delta.counts()["create"] == 1


def test_removal_is_scoped_to_the_sheets_prefixes_and_to_live_tasks() -> None:
    """Tasks under another prefix (another site), failed creations and deleted tasks are
    never removed; last week's file under this sheet's prefix is this sheet's."""
    gone = [
        loaded(camera(1), inventory="last-week.csv"),  # same prefix, another file name
        loaded(camera(2), state=LedgerState.FAILED),
        loaded(camera(3), state=LedgerState.DELETED),
        loaded(camera(4), state=LedgerState.STOPPED),
        loaded(camera(5), inventory="", batch="site-0123456789ab"),  # learned by refresh
        loaded(camera(6), inventory="other.csv", batch="elsewhere-0123456789ab"),
        loaded(camera(7), batch="elsewhere-0123456789ab"),  # this file, another prefix
    ]

    stopping = diff([], gone)
    deleting = diff([], gone, deleting=True)

    assert [c.entry.task_id for c in stopping.removes] == ["t-1", "t-5", "t-7"]
    assert [c.entry.task_id for c in deleting.removes] == ["t-1", "t-4", "t-5", "t-7"]


def test_a_version_the_api_does_not_report_is_not_a_change() -> None:
    """A learned document has no service_version: the same settings otherwise are unchanged."""
    learned = {k: v for k, v in document(SMOKE, None).items() if k != "service_version"}
    cam = camera(1)
    entry = loaded(cam)._replace(fingerprint=fingerprint(learned), inventory="")
    ledger = {entry.key: entry}

    delta = partition(
        Cameras.of([cam]), CLASSES, ledger, {fingerprint(learned): learned}, inventory="site.csv"
    )

    assert delta.kept == {1: (Earlier.UNCHANGED, entry)}
    assert (delta.updates, delta.replaces) == ([], {})


def test_the_diff_survives_its_json_form() -> None:
    """diff.json: a resume applies the very same diff."""
    cams = [camera(n) for n in range(3)]
    entries = [loaded(cams[1], settings=3), loaded(camera(7))]
    delta = diff(cams, entries)

    back = from_data(to_data(delta), Cameras.of(cams), delta.earlier)

    assert to_data(back) == to_data(delta)
    assert (back.updates, back.removes) == (delta.updates, delta.removes)


def test_differences_name_each_field() -> None:
    old = document(SMOKE, None)
    new = document(DESCRIBED, '{"polygons":[]}')

    assert differences(old, new) == [
        FieldChange("config.common.target_roi", "(none)", '{"polygons":[]}'),
        FieldChange("description", "(none)", "gate"),
    ]
    assert differences(None, new)[0].old == "(not recorded)"


sheets = st.lists(
    st.tuples(st.sampled_from(["g1", "g2", "g3"]), st.integers(0, 30), st.integers(0, 3)),
    max_size=40,
    unique_by=lambda t: (t[0], t[1], CLASSES[t[2]].task_settings.service_name),
)


@given(sheets)
def test_a_sheet_against_its_own_ledger_changes_nothing(rows: list[tuple[str, int, int]]) -> None:
    """Loaded as it is: every camera unchanged, nothing created, updated or removed."""
    cams = [camera(n, g, f"cam-{s}", c) for n, (g, s, c) in enumerate(rows)]

    delta = diff(cams, [loaded(c) for c in cams])

    assert (list(delta.send), delta.updates, delta.removes, delta.restarts) == ([], [], [], [])
    assert sorted(delta.kept) == [c.position for c in cams]


@given(sheets, sheets)
def test_every_camera_task_has_exactly_one_fate(
    before: list[tuple[str, int, int]], after: list[tuple[str, int, int]]
) -> None:
    """Any earlier sheet, any new one: each wanted camera is created, replaced, updated,
    restarted or held exactly once; each earlier task left behind is removed or replaced."""
    old = [camera(100 + n, g, f"cam-{s}", c) for n, (g, s, c) in enumerate(before)]
    new = [camera(n, g, f"cam-{s}", c) for n, (g, s, c) in enumerate(after)]

    delta = diff(new, [loaded(c) for c in old])

    fates = (
        [c.position for c in delta.send] + [c.position for c in delta.updates] + list(delta.kept)
    )
    assert sorted(fates) == [c.position for c in new]
    wanted = {camera_key(c, CLASSES) for c in new}
    left = {camera_key(c, CLASSES) for c in old} - wanted
    taken = {c.key for c in delta.removes} | {
        c.key for c in delta.replaces.values() if c.key not in wanted
    }
    assert taken == left


HOOKED = TaskSettings.model_validate(
    {
        "service_name": "c-smoke",
        "service_version": "3.0",
        "output": {"webhook": {"url": "https://example.com/hook", "headers": {"X-Key": "k"}}},
        "config": {"common": {"sensitivity": 0.5, "target_roi": "{}"}},
    }
)


@given(
    st.sampled_from([SMOKE, DESCRIBED, HOOKED]),
    st.one_of(st.none(), st.just(""), st.just("\x00roi\x00"), st.text(max_size=60)),
)
def test_a_class_documents_each_roi_as_document_and_fingerprint_do(
    settings: TaskSettings, roi: str | None
) -> None:
    """The ROI spliced into a class's canonical text: the same fingerprint and document as
    made whole, for any ROI text (quotes, control characters, the splice's own marker)."""
    made = ClassDocuments(settings)

    assert (made.fingerprint(roi), made.document(roi)) == (
        fingerprint(document(settings, roi)),
        document(settings, roi),
    )


by_task = st.lists(
    st.tuples(st.sampled_from(["g1", "g2"]), st.integers(0, 6), st.sampled_from([0, 1, 3])),
    max_size=30,
)


@given(by_task)
def test_against_an_empty_ledger_every_camera_task_is_created_once(
    rows: list[tuple[str, int, int]],
) -> None:
    """One camera per camera task (two classes of one algorithm share a task: its first
    row's place, its last row's camera), and each one's fingerprint when asked for."""
    cams = [
        camera(n, g, f"cam-{s}", c)._replace(target_roi=f"{s},1;2,3;4,5" if s % 2 else None)
        for n, (g, s, c) in enumerate(rows)
    ]

    delta = partition(Cameras.of(cams), CLASSES, {})

    expected = list({camera_key(c, CLASSES): c for c in cams}.values())
    assert (list(delta.send), delta.creates) == (expected, len(expected))
    marks = {
        c.position: fingerprint(document(CLASSES[c.settings_class].task_settings, c.target_roi))
        for c in cams
    }
    assert delta.fingerprints == marks
    assert all(
        delta.documents[marks[c.position]]
        == document(CLASSES[c.settings_class].task_settings, c.target_roi)
        for c in cams
    )


@given(by_task)
def test_the_keys_from_columns_are_each_cameras_key(rows: list[tuple[str, int, int]]) -> None:
    """``camera_keys`` zips the columns into what ``camera_key`` makes of each camera."""
    cams = [camera(n, g, f"cam-{s}", c) for n, (g, s, c) in enumerate(rows)]

    assert camera_keys(Cameras.of(cams), CLASSES) == [camera_key(c, CLASSES) for c in cams]
