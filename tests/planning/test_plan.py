"""The planner: every camera exactly once, every payload valid, the minimum count, stable names."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader.check.schedule import weekly_schedule_from_rules
from loader.errors import ConfigError
from loader.model.cameras import Camera, Cameras, SettingsClass
from loader.model.vias import BatchTaskRequest, TaskSettings
from loader.planning import payload_text
from loader.planning.batches import (
    GroupEntry,
    Plan,
    dumps,
    minimum_batches,
    plan,
    planned_minimum,
)
from loader.planning.payload_text import Texts, batch_texts

NIGHTS = weekly_schedule_from_rules(
    [((5,), (("22:00:00", "06:00:00"),)), ((7,), (("23:00:00", "01:30:00"),))], "+08:00"
)
SETTINGS = [
    SettingsClass(
        TaskSettings.model_validate(
            {"service_name": name, "service_version": "3.0", "output": {"event_center": True}}
            | ({"schedule": NIGHTS} if prefix == "nights" else {})
        ),
        prefix,
    )
    for name, prefix in (
        ("c-smoke", "rollout"),
        ("c-intrusion", "rollout"),
        ("c-smoke", "site b"),
        ("c-smoke", "nights"),  # the documented schedule, windows crossing midnight
    )
]
ROI = '{"polygons":[{"data":[[0,0],[100,0],[100,100]]}]}'


def _cameras(sizes: list[tuple[int, int]]) -> Cameras:
    """Cameras for (settings index, camera count) per group, groups g0, g1, ..."""
    cameras = []
    row = 2
    for group, (settings_index, count) in enumerate(sizes):
        for number in range(count):
            roi = ROI if number % 3 == 0 else None
            camera = Camera(row - 2, row, f"g{group}", f"cam-{group}-{number}", roi, settings_index)
            cameras.append(camera)
            row += 1
    return Cameras.of(cameras)


def _placed(result: Plan) -> Counter[tuple[int, str, str]]:
    """(settings, group, source) of every camera in every batch."""
    return Counter(
        (batch.settings_class, entry.group, camera.video_source_id)
        for batch in result.batches
        for entry in batch.entries
        for camera in entry.cameras
    )


groups_strategy = st.lists(
    st.tuples(st.integers(0, len(SETTINGS) - 1), st.integers(1, 260)), min_size=1, max_size=160
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups_strategy)
def test_every_camera_once_every_payload_valid_minimum_count(sizes: list[tuple[int, int]]) -> None:
    """The planner's contract, for any mix of group sizes and settings."""
    cameras = _cameras(sizes)

    result = plan(cameras, SETTINGS)

    assert _placed(result) == Counter(
        (c.settings_class, c.group, c.video_source_id) for c in cameras
    )
    for batch in result.batches:
        body = json.loads(batch.content())
        assert BatchTaskRequest.model_validate(body).name == batch.name
        assert batch.content() == dumps(body)  # the spliced name gives the canonical bytes
        assert {c.settings_class for e in batch.entries for c in e.cameras} == {
            batch.settings_class
        }
    assert len(result.batches) == minimum_batches(cameras)


@settings(max_examples=25, deadline=None)
@given(groups_strategy, st.integers(4_000, 60_000))
def test_byte_cap_is_respected_and_nothing_lost(sizes: list[tuple[int, int]], cap: int) -> None:
    """With --max-payload-bytes every body fits, every camera is still placed once."""
    cameras = _cameras(sizes)

    result = plan(cameras, SETTINGS, max_payload_bytes=cap)

    assert max(len(b.content()) for b in result.batches) <= cap
    assert _placed(result) == Counter(
        (c.settings_class, c.group, c.video_source_id) for c in cameras
    )
    assert all(BatchTaskRequest.model_validate(json.loads(b.content())) for b in result.batches)


@settings(max_examples=20, deadline=None)
@given(groups_strategy)
def test_same_input_same_names_and_bodies(sizes: list[tuple[int, int]]) -> None:
    """Planning twice gives byte-identical payloads and names; names never repeat."""
    first = plan(_cameras(sizes), SETTINGS)
    second = plan(_cameras(sizes), SETTINGS)

    assert [(b.name, b.content()) for b in first.batches] == [
        (b.name, b.content()) for b in second.batches
    ]
    assert len({b.name for b in first.batches}) == len(first.batches)


def test_group_over_100_is_split_into_entries_that_share_a_batch() -> None:
    """250 cameras of one group: entries of 100, 100, 50, all in one batch."""
    result = plan(_cameras([(0, 250)]), SETTINGS)

    assert [[len(e.cameras) for e in b.entries] for b in result.batches] == [[100, 100, 50]]
    assert [e.group for e in result.batches[0].entries] == ["g0", "g0", "g0"]


def test_101_groups_need_two_batches_and_settings_never_mix() -> None:
    """101 one-camera groups of one settings class, and one group of another class."""
    result = plan(_cameras([(0, 1)] * 101 + [(1, 1)]), SETTINGS)

    assert [(b.settings_class, len(b.entries)) for b in result.batches] == [
        (0, 100),
        (0, 1),
        (1, 1),
    ]


def test_names_carry_prefix_and_content_hash() -> None:
    """``<prefix>-<12 hex>``; an unsafe prefix is cleaned to the name pattern."""
    result = plan(_cameras([(2, 3)]), SETTINGS)

    name = result.batches[0].name
    assert (name[:7], len(name), all(c in "0123456789abcdef" for c in name[7:])) == (
        "site-b-",
        19,
        True,
    )


def test_changing_one_camera_changes_only_its_batch_name() -> None:
    """The hash covers the body: a different camera list is a different name."""
    cameras = _cameras([(0, 1)] * 150)
    before = [b.name for b in plan(cameras, SETTINGS).batches]
    cameras.video_source_id[-1], cameras.target_roi[-1] = "cam-other", None

    after = [b.name for b in plan(cameras, SETTINGS).batches]

    assert (before[0] == after[0], before[1] == after[1]) == (True, False)


def test_cap_below_one_camera_is_a_config_error() -> None:
    """A cap no single camera fits in stops with a clear message."""
    with pytest.raises(ConfigError, match="too small for camera row 2"):
        plan(_cameras([(0, 1)]), SETTINGS, max_payload_bytes=100)


def test_minimum_counts_entries_per_settings_class() -> None:
    """sum over classes of ceil(sum of ceil(group / 100) / 100)."""
    cameras = _cameras([(0, 250)] * 40 + [(1, 5)] * 3)

    assert minimum_batches(cameras) == math.ceil(120 / 100) + 1 == 3


@pytest.mark.parametrize("canary", [None, 30, 130])
def test_planned_minimum_counts_by_entry_what_minimum_batches_counts_by_camera(
    canary: int | None,
) -> None:
    """A plan's minimum, counted an entry at a time, is that of every camera it sends."""
    cameras = _cameras([(0, 250)] * 40 + [(1, 5)] * 3 + [(2, 101), (0, 7)])
    planned = plan(cameras, SETTINGS, canary=canary)
    sent = [c for b in planned.batches for e in b.entries for c in e.cameras]

    assert planned_minimum(planned) == minimum_batches(Cameras.of(sent)) == 4


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["g1", 'g-\u00e9"\\\\', "\u7ec4"]),
            st.text(min_size=1, max_size=12),
            st.one_of(st.none(), st.just(""), st.text(max_size=20)),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_a_payload_is_the_json_of_its_body_byte_for_byte(
    rows: list[tuple[str, str, str | None]],
) -> None:
    """Entries written as text are exactly what the encoder writes for the body's dicts:
    escaped quotes and backslashes, non-ASCII kept, an empty ROI left out."""
    cameras = Cameras.of(Camera(n, n + 2, g, s, r, 3) for n, (g, s, r) in enumerate(rows))
    settings = SETTINGS[3].task_settings.model_dump(mode="json", exclude_none=True)

    for batch in plan(cameras, SETTINGS).batches:
        entries = [e.body() for e in batch.entries]
        body = {"name": batch.name, **settings, "batch_input": {"video_source_group": entries}}
        assert batch.content() == dumps(body)


# Texts that make JSON escape, or look as if they might: quotes, backslashes, control
# characters, non-ASCII, the line separators JSON leaves alone, the joining noncharacter.
_TRICKY = st.text(
    alphabet=st.one_of(
        st.sampled_from(['"', "\\", "\x00", "\x1f", "\n", "\u2028", "\u2029", "\uffff", "é", "组"]),
        st.sampled_from("abc-_0"),
        st.characters(codec="utf-8"),
    ),
    max_size=8,
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["g1", 'g-"\\', "\u7ec4"]),
            st.one_of(st.text(alphabet="abc-_0", min_size=1, max_size=6), _TRICKY),
            st.one_of(st.none(), st.just(""), _TRICKY),
        ),
        min_size=1,
        max_size=150,
    )
)
def test_an_entry_written_from_columns_is_the_json_of_its_body(
    rows: list[tuple[str, str, str | None]],
) -> None:
    """The entries' text from the id and ROI columns (ids joined whole when none needs
    escaping, ROIs escaped in one call), alone or together, equals the encoder's on the
    entries' dicts."""
    cameras = Cameras.of(Camera(n, n + 2, g, s, r, 0) for n, (g, s, r) in enumerate(rows))

    texts = Texts.of(cameras)

    for batch in plan(cameras, SETTINGS).batches:
        entries = list(batch.entries)
        written = _entries_text(texts, entries).encode()
        assert written == b",".join(dumps(e.body()) for e in entries)
        for entry in entries:
            assert _entries_text(texts, [entry]).encode() == dumps(entry.body())
    assert batch_texts(texts, *_columns([]), ("[", "]")) == []


@given(st.lists(st.one_of(st.text(alphabet="abc-_0", min_size=1, max_size=6), _TRICKY), max_size=9))
def test_ids_told_plain_a_slice_at_a_time_as_all_at_once(ids: list[str]) -> None:
    """Whether the ids need escaping, told over slices of two, is what the whole column
    says (an id that needs it in any slice)."""
    cameras = Cameras.of(Camera(n, n + 2, "g", i, None, 0) for n, i in enumerate(ids))

    with patch.object(payload_text, "_SLICE", 2):
        texts = Texts.of(cameras)

    assert texts.plain_ids == payload_text._plain(ids)


def _columns(entries: list[GroupEntry]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries as ``batch_texts`` takes them: camera indices, entry ends, groups."""
    at = np.concatenate([np.empty(0, dtype=np.intp), *(e.at for e in entries)])
    ends = np.cumsum([len(e.at) for e in entries], dtype=np.intp)
    return at, ends, np.array([e.group for e in entries], dtype=object)


def _entries_text(texts: Texts, entries: list[GroupEntry]) -> str:
    """The entries' text, written as one batch."""
    return batch_texts(texts, *_columns(entries), per_batch=len(entries))[0]


_PLAIN_ID = st.text(alphabet="abcdef0123456789-_", min_size=1, max_size=6)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["g1", 'g-"\\', "\u7ec4", "g\u2028"]),
            st.one_of(_PLAIN_ID, _TRICKY),
            st.one_of(st.none(), st.just(""), _PLAIN_ID, _TRICKY),
            st.sampled_from([0, 1, 3]),
        ),
        min_size=1,
        max_size=250,
    ),
    st.booleans(),
    st.sampled_from([None, 1, 57]),
    st.sampled_from([None, 1_200, 4_000]),
)
def test_every_payload_written_from_the_columns_is_dumps_of_its_body(
    rows: list[tuple[str, str, str | None, int]],
    plain_ids: bool,
    canary: int | None,
    cap: int | None,
) -> None:
    """Whatever the ids, ROIs and groups hold (quotes, backslashes, control characters,
    non-ASCII, U+2028, the joining noncharacter, "" or None for no ROI), with or without
    ids that all go in as they are, a canary, a byte cap: every payload is ``dumps`` of
    its body, name first, and its name is the hash of the body without it."""
    if plain_ids:
        rows = [(g, f"id{n}", r, c) for n, (g, _, r, c) in enumerate(rows)]
    unique = {(g, s, SETTINGS[c].task_settings.service_name): (g, s, r, c) for g, s, r, c in rows}
    cameras = Cameras.of(Camera(n, n + 2, *row) for n, row in enumerate(unique.values()))

    planned = plan(cameras, SETTINGS, canary=canary, max_payload_bytes=cap)

    for batch in planned.batches:
        settings_body = SETTINGS[batch.settings_class].task_settings.model_dump(
            mode="json", exclude_none=True
        )
        entries = [e.body() for e in batch.entries]
        unnamed = {**settings_body, "batch_input": {"video_source_group": entries}}
        assert batch.content() == dumps({"name": batch.name, **unnamed})
        assert batch.name.endswith("-" + hashlib.sha256(dumps(unnamed)).hexdigest()[:12])


@pytest.mark.parametrize("canary", [None, 130])
def test_a_batch_indexes_the_planned_cameras_entry_after_entry(canary: int | None) -> None:
    """A batch's cameras are its entries' cameras in order, each an index into the
    cameras planned: no copy of them made in plan order."""
    cameras = _cameras([(0, 250)] * 3 + [(1, 5)] * 3)

    planned = plan(cameras, SETTINGS, canary=canary)

    for batch in planned.batches:
        each = [c for e in batch.entries for c in e.cameras]
        assert (list(batch.cameras), batch.of is cameras) == (each, True)
        assert batch.of.row[batch.at].tolist() == [c.row for c in each]
