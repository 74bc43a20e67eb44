"""The planner that plans a settings class from columns makes exactly the plan of the one
before it (``reference_planner``): the same payload bytes, names, canary, and entries
(each entry's group and camera indices), whatever the groups' sizes, order, settings,
ids, ROIs, canary and byte cap."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader.errors import ConfigError
from loader.model.cameras import Camera, Cameras, SettingsClass
from loader.model.vias import TaskSettings
from loader.planning import batches
from tests.planning import reference_planner as reference

SETTINGS = [
    SettingsClass(
        TaskSettings.model_validate(
            {"service_name": name, "service_version": "3.0", "output": {"event_center": True}}
        ),
        prefix,
    )
    for name, prefix in (
        ("c-smoke", "rollout"),
        ("c-intrusion", "rollout"),
        ("c-smoke", 'site "b"'),
    )
]
ROI = '{"polygons":[{"data":[[0,0],[100,0],[100,100]]}]}'
# Texts that make JSON escape, or look as if they might (the joining noncharacter too).
_TRICKY = st.text(
    alphabet=st.sampled_from(['"', "\\", "\x00", "\x1f", "\n", "\u2028", "\uffff", "é", "组", "a"]),
    max_size=4,
)
_ROIS = st.sampled_from(["none", "empty", "plain", "tricky", "mixed"])


def _shape(plan: Any) -> list[tuple[Any, ...]]:
    """What a plan sends and how: each batch's name, class, bytes and entries."""
    return [
        (
            b.name,
            b.settings_class,
            b.payload,
            [(e.group, e.at.tolist()) for e in b.entries],
            b.camera_count,
        )
        for b in plan.batches
    ] + [(plan.canary, plan.max_payload_bytes, plan.camera_count, plan.entry_count)]


def _planned(module: Any, cameras: Cameras, **options: Any) -> Any:
    """A plan's shape, or the message of the ConfigError that refused it."""
    try:
        return _shape(module.plan(cameras, SETTINGS, **options))
    except ConfigError as error:
        return ("refused", str(error), error.hint)


def _roi(mode: str, number: int, tricky: str) -> str | None:
    """A camera's ROI: none, "", the same plain one, an escaped one, or some of each."""
    if mode == "mixed":
        mode = ["none", "empty", "plain", "tricky"][number % 4]
    return {"none": None, "empty": "", "plain": ROI, "tricky": ROI + tricky}[mode]


@st.composite
def inventories(draw: st.DrawFn) -> Cameras:
    """Groups of 1 to 250 cameras in several settings classes (or up to 400 groups of one
    or two: a class of several batches), their cameras in any order; group ids and camera
    ids plain or needing escapes, ROIs of every kind."""
    small = draw(st.booleans())  # groups of one or two, as the inventories: many
    count = draw(st.integers(1, 400 if small else 40))
    most = 2 if small else 250
    sizes = draw(
        st.lists(st.tuples(st.integers(0, 2), st.integers(1, most)), min_size=count, max_size=count)
    )
    tricky_ids, tricky = draw(st.booleans()), draw(_TRICKY)
    names = draw(st.lists(_TRICKY, min_size=len(sizes), max_size=len(sizes)))
    rois = draw(_ROIS)
    rows = [
        (f"{name}g{group}", f"{tricky if tricky_ids else ''}cam-{group}-{n}", n, settings_index)
        for group, ((settings_index, count), name) in enumerate(zip(sizes, names, strict=True))
        for n in range(count)
    ]
    order = draw(st.permutations(range(len(rows)))) if draw(st.booleans()) else range(len(rows))
    return Cameras.of(
        Camera(at, at + 2, rows[i][0], rows[i][1], _roi(rois, rows[i][2], tricky), rows[i][3])
        for at, i in enumerate(order)
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    inventories(),
    st.sampled_from([None, 1, 3, 57, 150, 10_000]),
    st.sampled_from([None, None, 900, 4_000, 30_000]),
    st.booleans(),
    st.sampled_from([1, 150, 2**14]),
)
def test_the_same_plan_as_the_reference(
    cameras: Cameras, canary: int | None, cap: int | None, coded: bool, window: int
) -> None:
    """Payload bytes, names, canary and entries equal the reference planner's, with or
    without validation's group codes, a canary, a byte cap (first-fit, or refused), the
    batches' text written a batch at a time, or those of 150 or 16,384 cameras."""
    codes = pd.factorize(cameras.group)[0] if coded else None
    options = {"canary": canary, "max_payload_bytes": cap, "group_codes": codes}

    expected = _planned(reference, cameras, **options)

    with patch.object(batches, "_WINDOW_CAMERAS", window):
        assert _planned(batches, cameras, **options) == expected


@given(inventories(), st.sampled_from([None, 5]))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_planned_minimum_as_the_reference_counts_it(cameras: Cameras, canary: int | None) -> None:
    """The minimum counted from the batches' columns is the one counted entry by entry."""
    planned = batches.plan(cameras, SETTINGS, canary=canary)
    expected = reference.planned_minimum(reference.plan(cameras, SETTINGS, canary=canary))

    assert batches.planned_minimum(planned) == expected


def test_more_groups_than_a_16_bit_sort_holds() -> None:
    """70,000 groups of one (the layout sorts 64-bit keys, not 16-bit ones), a class
    between two others' groups: the reference's plan."""
    cameras = Cameras.of(
        Camera(n, n + 2, f"g{n}", f"cam-{n}", None, (n % 7 == 0) + (n % 11 == 0))
        for n in range(70_000)
    )

    assert _planned(batches, cameras, canary=7) == _planned(reference, cameras, canary=7)


@pytest.mark.parametrize(
    ("canary", "expected"),
    [
        pytest.param(1, [[("a", [0])], [("b", [1]), ("a", [2])]], id="cuts-a-group-short"),
        pytest.param(2, [[("a", [0, 2])], [("b", [1])]], id="the-first-group-whole"),
        pytest.param(9, [[("a", [0, 2]), ("b", [1])]], id="larger-than-the-inventory"),
    ],
)
def test_a_canary_cuts_the_first_groups_and_the_rest_is_planned_in_first_seen_order(
    canary: int, expected: list[list[tuple[str, list[int]]]]
) -> None:
    """The canary takes the first cameras group by group; what is left of a group it cut
    short is seen where its first remaining camera is."""
    cameras = Cameras.of(
        Camera(n, n + 2, g, f"cam-{n}", None, 0) for n, g in enumerate(["a", "b", "a"])
    )

    planned = batches.plan(cameras, SETTINGS, canary=canary)

    assert [[(e.group, e.at.tolist()) for e in b.entries] for b in planned.batches] == expected
    assert planned.canary == planned.batches[0].name


def test_a_batch_holds_its_entries_as_columns() -> None:
    """A batch's entries are made from its columns when asked for, then kept; its counts
    read the columns."""
    cameras = Cameras.of(Camera(n, n + 2, f"g{n % 2}", f"cam-{n}", None, 0) for n in range(250))

    (batch,) = batches.plan(cameras, SETTINGS).batches

    assert (batch.entry_count, batch.group_count, batch.camera_count) == (4, 2, 250)
    assert (batch.groups.tolist(), batch.ends.tolist()) == (
        ["g0", "g0", "g1", "g1"],
        [100, 125, 225, 250],
    )
    assert [(e.group, e.at.tolist()) for e in batch.entries] == [
        ("g0", list(range(0, 200, 2))),
        ("g0", list(range(200, 250, 2))),
        ("g1", list(range(1, 200, 2))),
        ("g1", list(range(201, 250, 2))),
    ]
    assert batch.entries is batch.entries
