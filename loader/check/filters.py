"""
Row filters of a mapping (``skip`` and ``keep``): rows that are not cameras (UPS devices,
a VMS's pseudo-camera, paused cameras) left out by a column's values before any field is
read, each left-out row reported under its reason, so that every row stays accounted for.
Pure: works on ``layout.Table`` values.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd

from loader.check.mapping import RowRule, SheetSpec, did_you_mean
from loader.errors import InputError
from loader.model.problems import Problem, Severity
from loader.read.layout import Table
from loader.read.names import header_key, loose_key

FILTERED = "filtered"  # the problem code of a row a rule left out


def apply_rules(table: Table, spec: SheetSpec) -> Table:
    """``table`` without the rows a ``skip`` rule matches or a ``keep`` rule misses."""
    if not spec.skip and not spec.keep:
        return table
    out = np.zeros(len(table.body), dtype=bool)
    problems: list[Problem] = []
    for rule, skipping in [*((r, True) for r in spec.skip), *((r, False) for r in spec.keep)]:
        cells = _cells(table, rule)
        hit = _matches(cells, rule)
        left_out = (hit if skipping else ~hit) & ~out
        out |= left_out
        problems += [
            Problem.at(
                table.place(int(table.rows[p])),
                Severity.INFO,
                FILTERED,
                f"skipped: {rule.reason or _default_reason(rule, skipping=skipping)}",
                column=rule.column,
                value=str(cells[p]),
            )
            for p in np.flatnonzero(left_out)
        ]
    if not out.any():
        return table
    problems.sort(key=lambda p: p.row or 0)
    return replace(
        table,
        body=table.body[~out],
        rows=table.rows[~out],
        skipped=[*table.skipped, *problems],
    )


def _cells(table: Table, rule: RowRule) -> np.ndarray:
    """The rule's column of the table; an InputError naming the headers if it has none."""
    folded = [header_key(h) for h in table.headers]
    if header_key(rule.column) not in folded:
        headers = [h for h in table.headers if h]
        raise InputError(
            f"a row rule reads column {rule.column!r}{did_you_mean(rule.column, headers)},"
            f" which sheet {table.sheet!r} of {table.file} does not have",
            path=table.file,
            hint=f"the sheet's headers are: {', '.join(headers) or '(none)'}",
        )
    cells: np.ndarray = table.body.iloc[:, folded.index(header_key(rule.column))].to_numpy(
        dtype=object
    )
    return cells


def _matches(cells: np.ndarray, rule: RowRule) -> np.ndarray:
    """Which cells the rule matches: one of its values, or a find of its pattern; each
    distinct cell tried once (a Type or Status column holds a handful), factorized in C."""
    wanted = {loose_key(v) for v in rule.values}
    pattern = re.compile(rule.pattern, re.IGNORECASE) if rule.pattern is not None else None
    codes, distinct = pd.factorize(cells)  # text, never NA
    matched = np.fromiter(
        (
            loose_key(str(c)) in wanted or (pattern is not None and bool(pattern.search(str(c))))
            for c in distinct.tolist()
        ),
        dtype=bool,
        count=len(distinct),
    )
    hit: np.ndarray = matched[codes]
    return hit


def _default_reason(rule: RowRule, *, skipping: bool) -> str:
    """``Type is UPS or Video Push`` / ``Status is not active``: a rule in the sheet's words."""
    tests = [repr(v) for v in rule.values]
    if rule.pattern is not None:
        tests.append(f"matching {rule.pattern!r}")
    verb = "is" if skipping else "is not"
    return f"{rule.column} {verb} {' or '.join(tests)} ({'skip' if skipping else 'keep'} rule)"
