"""
A column of cells factorized as ``pandas.factorize`` does it, by object before by value.

The readers hand a repeated cell as one string object over many rows (pandas' C parser
keeps one per value and stretch of the file: a million cells of three analytics are 90
objects), so a column's distinct objects are far fewer than its cells: numbering the
objects' addresses (integers, hashed in C without a string compare) and then the values
of the distinct objects alone gives the same codes and distinct values in half the time
of hashing the strings (the 1M-row CSV's four repeating columns: 389 -> 209 ms; its
analytics column 55 -> 13 ms, its groups, 477,807 objects of 20,000 values, 238 ->
178 ms). Pure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def factorized(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pandas.factorize(values)`` of an object array: each value's code, numbered in
    order of first appearance (-1 for a missing value), and the distinct values, each
    the object of its first appearance.

    Exact: a value's first row is also the first row of its object, so the distinct
    objects in order of first appearance hold the values in theirs.
    """
    column = np.ascontiguousarray(values, dtype=object)
    objects = by_object(column)
    if objects is None:  # a numpy that lends no object buffer: by value alone
        found: tuple[np.ndarray, np.ndarray] = pd.factorize(column)
        return found
    codes, distinct = pd.factorize(column[first_rows(objects)])
    return codes[objects], distinct


def by_object(values: np.ndarray) -> np.ndarray | None:
    """Each cell of an object array numbered by its object, in order of first sight (the
    cells' addresses hashed in C, no string compared): cells of one number hold one
    value, so what is worked out from a value holds for its number. None where numpy
    lends no buffer of the array."""
    column = np.ascontiguousarray(values, dtype=object)
    try:  # the cells' addresses, read from the array's own buffer (alive while it is)
        addresses = np.frombuffer(column, dtype=np.intp)
    except (TypeError, ValueError):
        return None
    objects: np.ndarray = pd.factorize(addresses)[0]
    return objects


def first_rows(codes: np.ndarray) -> np.ndarray:
    """Each code's first row, of ``codes`` numbered by first sight (as ``factorize``
    numbers them): where a code exceeds every code before it (no reliance on the order
    of a fancy assignment, which numpy does not promise)."""
    seen = np.maximum.accumulate(np.concatenate([[-1], codes]))[:-1]
    rows: np.ndarray = np.flatnonzero(codes > seen)
    return rows
