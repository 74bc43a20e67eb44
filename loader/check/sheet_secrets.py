"""
The sheet's secrets kept out of the mapped rows: a column marked secret, and a password
written inside a stream address, become ``${BULKLOAD_SHEET_SECRET_n}`` references (the
value kept in the load's ``SecretTable``, in memory only); a problem that quotes a cell
quotes the reference. Pure.
"""

from __future__ import annotations

import dataclasses
import re
from itertools import repeat
from operator import contains

import numpy as np
import pandas as pd

from loader.check.mapping import SheetSpec
from loader.model.problems import Problem
from loader.model.secrets import SecretTable
from loader.read.layout import Table

# scheme://user:PASSWORD@host...: the password runs to the last @ before a host (it may
# hold / ? # @ that a URL would need encoded: the sender encodes the value it fills in).
_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:?#]*:)(.+)(@[^@/?#]+(?:[/?#].*)?)$")


def hide_url_password(address: str, secrets: SecretTable) -> str:
    """A stream address whose password (``rtsp://user:PASSWORD@host``) is a reference."""
    match = _URL_PASSWORD.match(address)
    if match is None or not match[2] or match[2].startswith("${"):
        return address
    return match[1] + secrets.refer(match[2]) + address[match.end(2) :]


def hide_url_passwords(values: np.ndarray, secrets: SecretTable) -> np.ndarray:
    """``hide_url_password`` of each address that may hold one (an ``@``, found in C);
    the others, most in a sheet of addresses without passwords, are kept as they are."""
    texts = values.tolist()
    if "@" not in "".join(texts):
        return values
    hidden = values.copy()
    holding = np.fromiter(map(contains, texts, repeat("@")), dtype=bool, count=len(texts))
    for position in np.flatnonzero(holding):
        hidden[position] = hide_url_password(texts[position], secrets)
    return hidden


def hide_secrets(
    table: Table,
    spec: SheetSpec,
    found: dict[str, list[int]],
    secret: set[int],
    secrets: SecretTable,
) -> Table:
    """The table with every secret column (``secret_columns``, or read by a field marked
    ``secret``) holding references, not values: templates and fields see only those."""
    positions = secret | {
        p for name, column in spec.columns.items() if column.secret for p in found.get(name, [])
    }
    if not positions:
        return table
    body = table.body.copy()
    for position in positions:
        body.isetitem(position, referred(body.iloc[:, position].to_numpy(dtype=object), secrets))
    return dataclasses.replace(table, body=body)


def referred(values: np.ndarray, secrets: SecretTable) -> np.ndarray:
    """Each value as its reference: each distinct value referred to once, in the order
    they first appear (the order the references are numbered in), factorized in C."""
    codes, distinct = pd.factorize(values)  # text, never NA
    referred = np.empty(len(distinct), dtype=object)
    referred[:] = list(map(secrets.refer, distinct.tolist()))
    taken: np.ndarray = referred[codes]
    return taken


def hidden(problem: Problem, secrets: SecretTable) -> Problem:
    """A problem whose message and value name no secret (a URL's password, say); the
    problem itself when they named none (a copy costs more than looking for them)."""
    message, value = secrets.hides(problem.message), secrets.hides(problem.value)
    if message == problem.message and value == problem.value:
        return problem
    return dataclasses.replace(problem, message=message, value=value)
