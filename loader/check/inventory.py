"""
Applying a mapping to located tables: columns found by name, values transformed, and the
cameras joined to their groups. Pure: works on ``layout.Table`` values; lookups arrive as
ready tables. Every problem is a ``Problem`` with its row; a missing column is an
``InputError`` listing all that are missing at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import cached_property
from itertools import repeat
from typing import Final

import numpy as np
import pandas as pd

from loader.check import transforms
from loader.check.codes import ColumnCodes
from loader.check.column_steps import Lookups, repeating_filled, transform
from loader.check.mapping import (
    INTRINSIC,
    SETTINGS_FIELDS,
    URL_FIELDS,
    ColumnSpec,
    SheetSpec,
    did_you_mean,
)
from loader.check.sheet_secrets import hidden, hide_secrets, hide_url_passwords
from loader.errors import InputError
from loader.model.cameras import MAX_CELL_CHARS
from loader.model.problems import Place, Problem, Severity
from loader.model.secrets import SecretTable
from loader.read.layout import Table
from loader.read.names import header_key, loose_key

ROW: Final = "_row"  # Excel row number column of a mapped frame
SHEET: Final = "_sheet"  # sheet name column of a mapped frame


@dataclass
class MappedSheet:
    """The rows of one sheet (or of several alike) as API fields, with their places."""

    tables: list[Table]
    frame: pd.DataFrame  # one column per mapped field, plus SHEET and ROW
    bad: np.ndarray  # rows with an error in some cell
    columns: dict[str, str]  # field -> header it was read from ("" for defaults)
    problems: list[Problem] = field(default_factory=list)
    secrets: SecretTable = field(default_factory=SecretTable)  # values of the references
    # The codes of ``frame``'s columns hashed while mapping, for validation to share.
    codes: ColumnCodes = field(default_factory=ColumnCodes, repr=False, compare=False)

    @property
    def file(self) -> str:
        """The file the rows come from."""
        return self.tables[0].file

    @property
    def sheet(self) -> str:
        """The sheet name (names joined with "+" when several sheets are read as one)."""
        return "+".join(t.sheet for t in self.tables)

    def place_at(self, position: int) -> Place:
        """Where the row at ``position`` of ``frame`` is."""
        sheets, rows = self._places
        return Place(self.file, str(sheets[position]), int(rows[position]))

    def where(self, position: int) -> str:
        """``sheet 'Groups' row 7``: the row at ``position`` in a message's words."""
        place = self.place_at(position)
        return f"sheet {place.sheet!r} row {place.row}"

    @cached_property
    def _places(self) -> tuple[np.ndarray, np.ndarray]:
        """Sheet and row columns as arrays, for cheap positional access."""
        return self.frame[SHEET].to_numpy(dtype=object), self.frame[ROW].to_numpy()


def combine(sheets: list[MappedSheet]) -> MappedSheet:
    """Several sheets of one layout (one per site, say) read as one list of rows."""
    if len(sheets) == 1:
        return sheets[0]
    columns = dict(sheets[0].columns)
    for sheet in sheets[1:]:
        for name, header in sheet.columns.items():
            columns.setdefault(name, header)
    return MappedSheet(
        [t for s in sheets for t in s.tables],
        pd.concat([s.frame for s in sheets], ignore_index=True),
        np.concatenate([s.bad for s in sheets]),
        columns,
        [p for s in sheets for p in s.problems],
        sheets[0].secrets,  # one table per load: ``map_sheet`` was given the same one
    )


def map_sheet(
    table: Table,
    spec: SheetSpec,
    lookups: Lookups,
    *,
    mapping_name: str,
    secrets: SecretTable | None = None,
) -> MappedSheet:
    """The fields of ``spec`` read from ``table``; unused headers reported as warnings.

    ``secrets``: the load's one table; secret columns and passwords inside stream addresses
    are replaced by its references before anything reads them (``loader.model.secrets``).
    """
    secrets = SecretTable() if secrets is None else secrets
    index = _header_index(table.headers)
    if not spec.header:  # no header row: a column is named by its letter or its position
        index.update({str(n + 1): n for n in range(len(table.headers))})
    found, missing = _resolve_columns(spec, index)
    if missing:
        raise _missing_columns(table, spec, missing, mapping_name)
    secret = {index[header_key(c)] for c in spec.secret_columns if header_key(c) in index}
    table = hide_secrets(table, spec, found, secret, secrets)
    problems = _unused_headers(table, spec, found, mapping_name) if spec.header else []
    sheet = np.empty(len(table.rows), dtype=object)  # plain objects, not pandas' str dtype,
    sheet[:] = table.sheet  # whose every comparison and join checks each cell again
    frame = pd.DataFrame({SHEET: sheet, ROW: table.rows}, index=table.body.index)
    bad = np.zeros(len(frame), dtype=bool)
    columns: dict[str, str] = {}
    codes = ColumnCodes()
    for name, column_spec in spec.columns.items():
        raw, header, carried = _raw_values(
            table, column_spec, found.get(name, []), name, unquote=spec.unquote
        )
        problems += carried
        long_cells = _long_cells(raw, codes)
        for cell in long_cells:
            bad[cell] = True
            problems.append(
                Problem.at(
                    table.place(int(table.rows[cell])),
                    Severity.ERROR,
                    "cell-too-long",
                    f"{name} is over {MAX_CELL_CHARS:,} characters (Excel's limit for a cell)",
                    fix="shorten the value",
                    column=header or name,
                    value=str(raw.iloc[cell])[:80] + "…",
                )
            )
        if len(long_cells):
            raw = raw.copy()
            raw.iloc[long_cells] = ""
        columns[name] = header
        values, errors = transform(raw, column_spec, lookups, INTRINSIC.get(name), codes)
        if name in URL_FIELDS:
            values = hide_url_passwords(values, secrets)
        frame[name] = pd.Series(values, index=frame.index, dtype=object, copy=False)
        for position, message, fix in errors:
            bad[position] = True
            problems.append(
                Problem.at(
                    table.place(int(table.rows[position])),
                    Severity.ERROR,
                    f"bad-{name}",
                    message,
                    fix=fix,
                    column=header or name,
                    value=str(raw.iloc[position]),
                )
            )
        if not column_spec.required:  # the comparison costs 15 ms a million cells, and
            continue  # only a required field's empty cells are problems
        empty = (values == "") & ~bad
        if empty.any():
            bad |= empty
            problems += [
                Problem.at(
                    table.place(int(row)),
                    Severity.ERROR,
                    f"missing-{name}",
                    f"{name} is empty",
                    fix=f"fill in {header or name}",
                    column=header or name,
                )
                for row in table.rows[empty]
            ]
    if "settings" in frame:
        problems += _expand_settings(frame, bad, table, columns, codes)
    if len(secrets):
        problems = [hidden(p, secrets) for p in problems]
    frame = frame.reset_index(drop=True)  # the columns' buffers kept: their codes hold
    return MappedSheet([table], frame, bad, columns, problems, secrets, codes)


def _expand_settings(
    frame: pd.DataFrame,
    bad: np.ndarray,
    table: Table,
    columns: dict[str, str],
    column_codes: ColumnCodes,
) -> list[Problem]:
    """A ``settings`` JSON cell as one value per settings field (a column of its own wins).

    Each distinct JSON text is read once; every value goes through its field's parser.
    """
    factorized = column_codes.of(frame["settings"].to_numpy(dtype=object))
    codes, uniques = factorized.codes, factorized.distinct
    parsed = [_settings_of(str(text)) for text in uniques]
    header = columns.get("settings", "settings")
    problems = []
    unusable = np.array([isinstance(p, str) for p in parsed], dtype=bool)
    for position in np.flatnonzero(unusable[codes]):
        bad[position] = True
        problems.append(
            Problem.at(
                table.place(int(table.rows[position])),
                Severity.ERROR,
                "bad-settings",
                str(parsed[codes[position]]),
                fix="write a JSON object of settings fields",
                column=header,
                value=str(uniques[codes[position]])[:200],
            )
        )
    fields = sorted({k for p in parsed if isinstance(p, dict) for k in p})
    for name in fields:
        values = np.array(
            [p.get(name, "") if isinstance(p, dict) else "" for p in parsed], dtype=object
        )[codes]
        if name in frame:
            frame[name] = frame[name].where(frame[name] != "", values)
        else:
            frame[name] = values
            columns.setdefault(name, header)
    return problems


def _settings_of(text: str) -> dict[str, str] | str:
    """Settings fields from JSON text, each through its parser; a message when unusable."""
    if not text:
        return {}
    try:
        document = json.loads(text)
    except ValueError:
        return "settings is not JSON"
    if not isinstance(document, dict):
        return "settings is not a JSON object"
    unknown = sorted(set(document) - set(SETTINGS_FIELDS))
    if unknown:
        return f"settings has unknown fields {unknown}"
    fields: dict[str, str] = {}
    for name, value in document.items():
        text_value = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        parse = INTRINSIC.get(name)
        try:
            fields[name] = parse(text_value) if parse and text_value else text_value
        except transforms.TransformError as exc:
            return f"settings {name}: {exc}"
    return fields


def _header_index(headers: list[str]) -> dict[str, int]:
    """Folded header -> grid position (the first, when a header is repeated)."""
    index: dict[str, int] = {}
    for position, header in enumerate(headers):
        if header:
            index.setdefault(header_key(header), position)
    return index


def _resolve_columns(
    spec: SheetSpec, index: dict[str, int]
) -> tuple[dict[str, list[int]], dict[str, ColumnSpec]]:
    """Grid positions of each field's column(s), and the fields whose columns are absent."""
    found: dict[str, list[int]] = {}
    missing: dict[str, ColumnSpec] = {}
    for name, column_spec in spec.columns.items():
        if column_spec.template is not None:
            positions = [index.get(header_key(c)) for c in column_spec.template_columns]
            if None not in positions:
                found[name] = [p for p in positions if p is not None]
            elif column_spec.default is None:
                missing[name] = column_spec
            continue
        position = next(
            (index[header_key(n)] for n in column_spec.names if header_key(n) in index), None
        )
        if position is not None:
            found[name] = [position]
        elif column_spec.names and column_spec.required and column_spec.default is None:
            missing[name] = column_spec
    return found, missing


def _missing_columns(
    table: Table, spec: SheetSpec, missing: dict[str, ColumnSpec], mapping_name: str
) -> InputError:
    """One error naming every missing column, with the closest headers the sheet has."""
    headers = [h for h in table.headers if h]
    lines = []
    for name, column_spec in missing.items():
        wanted = column_spec.template_columns if column_spec.template else column_spec.names
        guesses = "".join(did_you_mean(w, headers) for w in wanted[:3])
        lines.append(f"{name}: no column {' / '.join(repr(w) for w in wanted)}{guesses}")
    return InputError(
        f"sheet {table.sheet!r} of {table.file} (header on row {table.header_row}) lacks"
        f" required columns for mapping {mapping_name!r}: " + "; ".join(lines),
        path=table.file,
        hint="rename the columns in the sheet, or add the names as aliases in the mapping;"
        f" the sheet's headers are: {', '.join(headers) or '(none)'}",
    )


def _unused_headers(
    table: Table, spec: SheetSpec, found: dict[str, list[int]], mapping_name: str
) -> list[Problem]:
    """A warning for every header no field reads (a typo loses data silently otherwise)."""
    used = {p for positions in found.values() for p in positions}
    ignored = [loose_key(i) for i in spec.ignore]  # keep * and ? for patterns
    ignored += [loose_key(r.column) for r in (*spec.skip, *spec.keep)]  # read by a row rule
    unmatched = [n for f, c in spec.columns.items() if f not in found for n in c.names]
    problems = []
    for position, header in enumerate(table.headers):
        folded = loose_key(header)
        if not header or position in used or any(fnmatch(folded, i) for i in ignored):
            continue
        hint = did_you_mean(header, unmatched)
        problems.append(
            Problem.at(
                table.place(table.header_row),
                Severity.WARNING,
                "unused-column",
                f"column {header!r} is not used by mapping {mapping_name!r}{hint}",
                fix="add it to the mapping's columns (or aliases), or to ignore = [...]",
                column=header,
            )
        )
    return problems


def _long_cells(raw: pd.Series, codes: ColumnCodes) -> np.ndarray:
    """Positions of values longer than a cell may be (the longest known first: usually
    none). A column of repeating values, none empty, is factorized here, as its
    transforms or validation would factorize it: the longest is then that of its few
    distinct values; a column read by two fields is measured once."""
    values = raw.to_numpy(dtype=object)
    if repeating_filled(values):
        codes.of(values)
    if codes.longest(values) <= MAX_CELL_CHARS:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.fromiter(map(len, values), dtype=np.int64) > MAX_CELL_CHARS)


_QUOTED: Final = ("'=", "'+", "'-", "'@")  # the results workbook's neutralised formulas


def _unquote(values: pd.Series) -> pd.Series:
    """``'=x`` back to ``=x``: undo the results workbook's formula neutralisation (the
    cells so written found in C: a handful)."""
    texts = values.tolist()
    quoted = np.fromiter(map(str.startswith, texts, repeat(_QUOTED)), dtype=bool, count=len(texts))
    if not quoted.any():
        return values
    unquoted = values.copy()
    unquoted[quoted] = [texts[p][1:] for p in np.flatnonzero(quoted)]
    return unquoted


def _raw_values(
    table: Table, spec: ColumnSpec, positions: list[int], name: str, *, unquote: bool = False
) -> tuple[pd.Series, str, list[Problem]]:
    """A field's cell text per row (a template joins several), the header it came from, and
    the warnings of its fill-down."""
    body = table.body
    carried: list[Problem] = []
    if not positions:
        return pd.Series(spec.default or "", index=body.index, dtype=object), "", carried
    if spec.template is None:
        values = body.iloc[:, positions[0]]
        header = table.headers[positions[0]]
    else:
        values = _fill_template(
            spec.template, [body.iloc[:, p] for p in positions], spec.template_columns
        )
        header = spec.template
    if unquote:
        values = _unquote(values)
    if spec.fill_down:
        values, carried = _fill_down(values, table, name, header)
    if spec.default is not None:
        values = values.where(values != "", spec.default)
    return values.astype(object), header, carried


def _fill_down(
    values: pd.Series, table: Table, name: str, header: str
) -> tuple[pd.Series, list[Problem]]:
    """Empty cells take the value above (``fill_down``); a warning names the rows of each
    value carried across rows that are not data (blank...), or over more rows than the
    longest run above it (a merged cell lost at the top of its range looks so)."""
    given = (values != "").to_numpy()
    filled = values.where(given).ffill().fillna("")
    starts = np.flatnonzero(given)
    if given.all() or not len(starts):
        return filled, []
    ends = np.append(starts[1:], len(values))
    lengths = ends - starts
    rows = table.rows
    gap_before = np.zeros(len(values), dtype=bool)
    gap_before[1:] = np.diff(rows) > 1
    across = np.add.reduceat((gap_before & ~given).astype(np.int64), starts) > 0
    longest_above = np.concatenate(([np.iinfo(np.int64).max], np.maximum.accumulate(lengths)[:-1]))
    problems = []
    for run in np.flatnonzero((lengths > 1) & (across | (lengths > longest_above))):
        start, end = int(starts[run]), int(ends[run])
        why = []
        if across[run]:
            breaks = [
                _rows(int(rows[k - 1]) + 1, int(rows[k]) - 1)
                for k in range(start + 1, end)
                if gap_before[k]
            ]
            why.append(
                f"across {', '.join(breaks)}, which {'is' if len(breaks) == 1 else 'are'}"
                " not data (blank, a comment...)"
            )
        if lengths[run] > longest_above[run]:
            why.append(
                f"{lengths[run]} rows in all, more than any {name} above it"
                f" ({longest_above[run]} at most)"
            )
        value = str(values.iloc[start])
        problems.append(
            Problem.at(
                table.place(int(rows[start + 1])),
                Severity.WARNING,
                "filled-down",
                f"{name} {value!r} of row {int(rows[start])} was filled down to"
                f" {_rows(int(rows[start + 1]), int(rows[end - 1]))}"
                + ("" if across[run] else ":")
                + " "
                + "; ".join(why),
                fix=f"if these rows belong to another {header or name}, fill in its first cell"
                " (a merged cell may have been lost); else repeat the value in them",
                column=header or name,
                value=value,
            )
        )
    return filled, problems


def _rows(first: int, last: int) -> str:
    """``row 7`` or ``rows 7-9``."""
    return f"row {first}" if first == last else f"rows {first}-{last}"


def _fill_template(template: str, columns: list[pd.Series], names: list[str]) -> pd.Series:
    """``"{Site}-{Zone}"`` per row; empty when every referenced cell is empty."""
    result = (
        pd.Series("", index=columns[0].index, dtype=object) if columns else pd.Series(dtype=object)
    )
    rest = template
    any_filled = np.zeros(len(result), dtype=bool)
    for name, column in zip(names, columns, strict=True):
        before, rest = rest.split("{" + name + "}", 1)
        result = result + before + column.astype(str)
        any_filled |= (column != "").to_numpy()
    result = result + rest
    return result.where(any_filled, "")
