"""
A mapping's transforms applied to a column: each step once per distinct value (the column
factorized once, its codes shared through ``ColumnCodes``), a whole column at C speed
where ``columnwise`` has an exact form, cell by cell only where nothing else is exact;
a value a step refuses is reported on its row. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping as MappingABC

import numpy as np
import pandas as pd

from loader.check import columnwise, transforms
from loader.check.codes import ColumnCodes
from loader.check.mapping import (
    AffixSpec,
    ColumnSpec,
    ExtractSpec,
    LookupSpec,
    MapSpec,
    ReplaceSpec,
    TransformSpec,
    ZfillSpec,
)

Lookups = MappingABC[str, MappingABC[str, str]]  # each lookup table by its lookup_key


def lookup_key(spec: LookupSpec) -> str:
    """The key under which a lookup's table is handed to ``map_sheet``."""
    table = spec.lookup
    return f"{table.file or ''}|{table.sheet or ''}|{table.key}|{table.value}"


def transform(
    raw: pd.Series,
    spec: ColumnSpec,
    lookups: Lookups,
    intrinsic: Callable[[str], str] | None,
    codes: ColumnCodes,
) -> tuple[np.ndarray, list[tuple[int, str, str]]]:
    """Apply the field's transforms to its non-empty cells; errors as (position, why, fix).

    Steps that would leave every value as they are (ids already in lower case) are known
    so in C and dropped: the column is kept as it is, its strings shared, not copied.
    The codes of a whole column, and of its results, are kept in ``codes``.
    """
    steps = [_build(t, lookups) for t in spec.transforms]
    if intrinsic is not None:
        steps.append(intrinsic)
    values = raw.to_numpy(dtype=object)
    if not steps:
        return values, []
    filled = values != ""
    whole = bool(filled.all())
    texts = values if whole else values[filled]
    known = codes.known(texts) if whole else None  # a step is per value: its distinct
    distinct = texts if known is None else known.distinct  # ones tell (20,000 groups)
    while steps and len(texts) and columnwise.unchanged(steps[0], distinct):
        steps = steps[1:]
    if not steps or not len(texts):
        return values, []
    results, failures = _distinct_applied(texts, steps, codes if whole else ColumnCodes())
    if whole:
        return results, [(p, *failures[p]) for p in sorted(failures)]
    transformed = values.copy()
    transformed[filled] = results
    positions = np.flatnonzero(filled)
    return transformed, [(int(positions[p]), *failures[p]) for p in sorted(failures)]


def _distinct_applied(
    texts: np.ndarray, steps: list[Callable[[str], str]], codes: ColumnCodes
) -> tuple[np.ndarray, dict[int, tuple[str, str]]]:
    """``_applied`` once per distinct value, factorized in C (a group column holds a few
    thousand), but for a column of ids (a table of them would cost more than it saves).
    The results' codes are known from the distinct results: kept in ``codes`` with the
    texts', for validation to group by without hashing the column again."""
    if looks_distinct(texts) and codes.known(texts) is None:
        return applied(texts, steps)
    factorized = codes.of(texts)
    once, failures = applied(factorized.distinct, steps)
    results = codes.mapped(factorized, once)
    if not failures:
        return results, {}
    failing = np.zeros(len(once), dtype=bool)
    failing[list(failures)] = True
    at = factorized.codes
    return results, {int(p): failures[int(at[p])] for p in np.flatnonzero(failing[at])}


def repeating_filled(values: np.ndarray, sample: int = 4_096) -> bool:
    """Whether a column looks like one whose codes will be shared: values repeat, and
    none of ``sample`` spread over it is empty (a column with empty cells has its filled
    ones transformed apart, and is seldom grouped by: its codes would go unused)."""
    drawn = values[:: max(len(values) // sample, 1)].tolist()
    return not looks_distinct(values, sample) and "" not in drawn


def looks_distinct(values: np.ndarray, sample: int = 4_096) -> bool:
    """Whether a column looks like ids: no value repeats in ``sample`` spread over it.

    Any column of repeating values (groups, days, algorithms) repeats within a few
    thousand draws (the birthday bound: 20,000 groups give about 400 repeats in 4,096).
    """
    if len(values) < 4 * sample:
        return False
    drawn = values[:: len(values) // sample].tolist()
    return len(set(drawn)) == len(drawn)


def applied(
    texts: np.ndarray, steps: list[Callable[[str], str]]
) -> tuple[np.ndarray, dict[int, tuple[str, str]]]:
    """Each text through every step (one that becomes empty stops), and by position why
    one failed: a step at a time over the whole column (the steps are pure), so a step
    with a column form (``columnwise``) takes it in C."""
    results, failures = _stepped(steps[0], texts)
    live = np.flatnonzero(results != "")
    for step in steps[1:]:
        if not len(live):
            break
        whole = len(live) == len(results)
        stepped, failed = _stepped(step, results if whole else results[live])
        if whole:
            results = stepped
        else:
            results[live] = stepped
        failures.update((int(live[p]), why) for p, why in failed.items())
        live = live[stepped != ""]
    return results, failures


def _stepped(
    step: Callable[[str], str], texts: np.ndarray
) -> tuple[np.ndarray, dict[int, tuple[str, str]]]:
    """One step over non-empty texts, in a new column: its column form first, the step
    itself for what that leaves (``map`` calls it from C); a failing text becomes empty."""
    given = columnwise.over_column(step, texts)
    if given is None:
        results = np.empty(len(texts), dtype=object)
        results[:], failed = _each(step, texts.tolist())
        return results, failed
    results, done = given
    if done.all():
        return results, {}
    left = np.flatnonzero(~done)
    results[left], failed = _each(step, texts[left].tolist())
    return results, {int(left[p]): why for p, why in failed.items()}


def _each(
    step: Callable[[str], str], texts: list[str]
) -> tuple[list[str], dict[int, tuple[str, str]]]:
    """The step of each text; only where some text fails, again one at a time to know
    which and why (a failing one gives "")."""
    try:
        return list(map(step, texts)), {}
    except transforms.TransformError:
        pass
    results: list[str] = []
    failures: dict[int, tuple[str, str]] = {}
    for position, text in enumerate(texts):
        try:
            results.append(step(text))
        except transforms.TransformError as exc:
            failures[position] = (str(exc), exc.fix)
            results.append("")
    return results, failures


def _build(spec: TransformSpec, lookups: Lookups) -> Callable[[str], str]:
    """The callable of one transform entry of a mapping."""
    match spec:
        case str():
            return transforms.SIMPLE[spec]
        case MapSpec():
            return transforms.value_map(spec.map, strict=spec.strict)
        case LookupSpec():
            place = spec.lookup.file or f"sheet {spec.lookup.sheet}"
            return transforms.Lookup(
                lookups[lookup_key(spec)], source=f"{place} ({spec.lookup.key})"
            )
        case ZfillSpec():
            return transforms.zfill(spec.zfill)
        case ReplaceSpec():
            return transforms.replace(spec.replace, spec.replacement, must_match=spec.must_match)
        case ExtractSpec():
            return transforms.extract(spec.extract)
        case AffixSpec():
            return transforms.affix(spec.prefix, spec.suffix)
    raise AssertionError(spec)  # pragma: no cover - the union is exhaustive
