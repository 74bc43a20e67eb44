"""Planning takes validation's group codes for the cameras it checked (issue 24: each
column hashed once): the same batches as hashing the groups again, and a plan of the
whole sheet is given them."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from loader.check.load import load
from loader.planning import batches
from loader.run import plan as run_plan
from loader.run.options import PlanChoices
from tests.conftest import SAMPLES

DAY = date(2026, 12, 6)


@pytest.mark.parametrize("sheet", ["site_rollout.xlsx", "legacy_two_sheet.xlsx", "nvr_export.csv"])
def test_group_codes_plan_the_same_batches(sheet: str) -> None:
    """Validation's codes are factorize's, and plan the very same payloads."""
    checked = load(SAMPLES / sheet, on=DAY).checked
    cameras, classes = checked.cameras, checked.settings_classes

    hashed = batches.plan(cameras, classes, canary=3)
    codes = checked.group_codes()
    assert codes is not None
    coded = batches.plan(cameras, classes, canary=3, group_codes=codes)

    assert codes.tolist() == pd.factorize(cameras.group)[0].tolist()
    assert [b.payload for b in coded.batches] == [b.payload for b in hashed.batches]
    assert len(hashed.batches) > 0


def test_a_plan_of_every_checked_camera_is_given_validations_codes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No ledger: every checked camera is sent, and planning reads their codes."""
    given: list[Any] = []

    def planning(*args: Any, **kwargs: Any) -> batches.Plan:
        given.append(kwargs["group_codes"])
        return batches.plan(*args, **kwargs)

    monkeypatch.setattr(run_plan, "plan", planning)
    loaded = load(SAMPLES / "site_rollout.xlsx", on=DAY)
    run_plan.plan_sheet(loaded, PlanChoices(), None)

    codes = loaded.checked.group_codes()
    assert [isinstance(g, np.ndarray) and g is codes for g in given] == [True]


def test_cameras_replaced_have_no_codes() -> None:
    """Codes belong to the container they were counted on: a Checked given other cameras
    (ids filled by registration, or none yet) gives none, and planning hashes the groups."""
    checked = load(SAMPLES / "site_rollout.xlsx", on=DAY).checked
    emptied = dataclasses.replace(checked, cameras=checked.cameras[:0])

    assert (checked.group_codes() is not None, emptied.group_codes()) == (True, None)
