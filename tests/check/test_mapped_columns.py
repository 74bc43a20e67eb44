"""The column-at-once parts of mapping a sheet (row rules, secrets, stream passwords,
results-workbook quotes) give what the simple per-cell definition gives."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
from hypothesis import example, given
from hypothesis import strategies as st

from loader.check import filters, inventory, sheet_secrets
from loader.check.mapping import RowRule
from loader.model.problems import Problem, Severity
from loader.model.secrets import SecretTable
from loader.read.names import loose_key

# Cells that repeat, as a Type, Status or password column's do, and odd ones among them.
_CELL = st.one_of(
    st.sampled_from(["UPS", " ups ", "Camera", "", "Video Push 1", "'=1+2", "'-x", "'", "'@a"]),
    st.sampled_from(["rtsp://u:pw@h/1", "rtsp://u:p@w@h", "http://h/x", "a@b", "s3cret"]),
    st.text(max_size=8),
)
_COLUMN = st.lists(_CELL, max_size=40)


def _column(values: list[str]) -> np.ndarray:
    """Values as the object column of a sheet's grid."""
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


@given(values=_COLUMN, pattern=st.sampled_from([None, "^video push", "x|\\d"]))
def test_a_row_rule_matches_as_each_cell_alone(values: list[str], pattern: str | None) -> None:
    """A rule's values and pattern match the cells each cell alone matches."""
    rule = RowRule(column="Type", values=["UPS", "Camera "], pattern=pattern)
    wanted = {loose_key(v) for v in rule.values}

    hit = filters._matches(_column(values), rule)

    found = re.compile(pattern, re.IGNORECASE).search if pattern is not None else None
    expected = [loose_key(v) in wanted or (found is not None and bool(found(v))) for v in values]
    assert hit.tolist() == expected


@given(_COLUMN)
@example(["b", "a", "", "b", "c", "a"])
def test_secret_cells_are_referred_in_the_order_they_first_appear(values: list[str]) -> None:
    """Each distinct secret gets the reference (and number) it gets cell by cell."""
    secrets, one_by_one = SecretTable(), SecretTable()

    referred = sheet_secrets.referred(_column(values), secrets)

    assert referred.tolist() == [one_by_one.refer(v) for v in values]
    assert dict(secrets) == dict(one_by_one)


@given(_COLUMN)
@example(["rtsp://u:a@h", "x", "rtsp://u:b@h", "rtsp://u:a@h"])
def test_stream_passwords_are_hidden_as_cell_by_cell(values: list[str]) -> None:
    """Only addresses holding an ``@`` can hold a password: hiding them alone gives the
    same addresses and the same references as hiding each cell."""
    secrets, one_by_one = SecretTable(), SecretTable()

    hidden = sheet_secrets.hide_url_passwords(_column(values), secrets)

    assert hidden.tolist() == [sheet_secrets.hide_url_password(v, one_by_one) for v in values]
    assert dict(secrets) == dict(one_by_one)


@given(_COLUMN)
def test_quotes_of_the_results_workbook_are_undone_as_cell_by_cell(values: list[str]) -> None:
    """``'=x`` (and ``'+``, ``'-``, ``'@``) lose their quote; nothing else changes."""
    series = pd.Series(_column(values), index=range(5, 5 + len(values)), dtype=object)

    unquoted = inventory._unquote(series)

    expected = [v[1:] if v[:1] == "'" and v[1:2] in ("=", "+", "-", "@") else v for v in values]
    assert (unquoted.tolist(), unquoted.index.tolist()) == (expected, series.index.tolist())


def test_a_problem_loses_its_secrets_and_one_naming_none_is_kept() -> None:
    """Message and value name the reference, not the password; a problem that names no
    secret is returned itself, not a copy."""
    secrets = SecretTable()
    reference = secrets.refer("hunter22")
    naming = Problem(
        Severity.ERROR,
        "bad-stream_url",
        "stream address 'rtsp://u:hunter22@h x' holds spaces",
        value="rtsp://u:hunter22@h x",
    )
    other = Problem(Severity.ERROR, "missing-camera_name", "camera_name is empty")

    hidden = [sheet_secrets.hidden(p, secrets) for p in (naming, other)]

    assert hidden[0] == dataclasses.replace(
        naming,
        message=f"stream address 'rtsp://u:{reference}@h x' holds spaces",
        value=f"rtsp://u:{reference}@h x",
    )
    assert hidden[1] is other
