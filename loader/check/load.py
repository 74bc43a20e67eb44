"""
The read -> map -> validate path for one input file, with the mapping named or chosen.

This is the I/O edge of the pure stages: it reads the file (and any lookup files) and hands
grids to ``layout``, ``inventory`` and ``validate``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from loader.bulk import bulk
from loader.check.column_steps import Lookups, lookup_key
from loader.check.filters import apply_rules
from loader.check.inventory import MappedSheet, combine, map_sheet
from loader.check.mapping import (
    ALL_SHEETS,
    ColumnSpec,
    LookupSpec,
    Mapping,
    SheetSpec,
    bundled,
    find_mapping,
)
from loader.check.validate import Checked, check
from loader.errors import InputError
from loader.model.secrets import SecretTable
from loader.read.guard import DEFAULT_LIMITS, Limits
from loader.read.layout import Table, find_header, locate, select
from loader.read.names import header_key
from loader.read.sheets import ExcelReader, InputBook, read_workbook


@dataclass(frozen=True)
class Loaded:
    """A checked inventory and how it was read."""

    workbook: InputBook
    mapping: Mapping
    chosen: str  # how the mapping was chosen, for the user
    cameras: MappedSheet
    groups: MappedSheet | None
    checked: Checked


@bulk
def load(
    path: Path,
    mapping: str | Mapping | None = None,
    *,
    engine: ExcelReader = "calamine",
    encoding: str | None = None,
    only: frozenset[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    on: date | None = None,
    keep_cells: bool = True,
) -> Loaded:
    """Read, map and validate ``path``; InputError/ConfigError when it cannot be used.

    ``only``: keep just the camera rows whose Status column holds one of these values.
    ``on``: the date time zone names take their offset on (the plan's date): today in UTC
    unless given, so that a resume plans with the date its run planned with.
    ``keep_cells=False``: the input's own cells are let go once mapped (``plan``: no
    results workbook copies them); ``Loaded.workbook`` and the tables keep their sheets,
    headers and rows, with no cells.
    """
    workbook = read_workbook(path, engine=engine, encoding=encoding, limits=limits)
    if mapping is None:
        chosen_mapping, chosen = choose_mapping(workbook, bundled())
    elif isinstance(mapping, str):
        chosen_mapping, chosen = find_mapping(mapping), "named with -m"
    else:
        chosen_mapping, chosen = mapping, "given"
    day = on or datetime.now(UTC).date()
    # ``workbook`` rebound here, not in a callee: a caller's name would hold the grid
    # through the check (the 1M-row CSV: 658 MB resident at its start, 566 MB so).
    workbook, cameras, groups = _apply(workbook, chosen_mapping, only, keep_cells=keep_cells)
    checked = check(chosen_mapping, cameras, groups, on=day)
    return Loaded(workbook, chosen_mapping, chosen, cameras, groups, checked)


def _apply(
    workbook: InputBook,
    mapping: Mapping,
    only: frozenset[str] | None,
    *,
    keep_cells: bool = True,
) -> tuple[InputBook, MappedSheet, MappedSheet | None]:
    """Map a read workbook: the workbook as the check leaves it (without its cells
    unless ``keep_cells``: see ``load``), the camera rows and the group rows."""
    lookups = _lookups(workbook, mapping)
    secrets = SecretTable()
    cameras = _mapped(
        workbook, mapping, mapping.cameras, mapping.camera_key, lookups, secrets, only
    )
    groups = None
    if mapping.groups is not None:
        groups = _mapped(workbook, mapping, mapping.groups, "group", lookups, secrets)
    if not keep_cells:  # before the check: its columns take the room the cells leave
        workbook = _without_cells(workbook, cameras, groups)
    return workbook, cameras, groups


def _without_cells(
    workbook: InputBook, cameras: MappedSheet, groups: MappedSheet | None
) -> InputBook:
    """The read grid let go once mapped: the mapped columns keep the strings they use,
    the rest (a changed id's original case, each row's own copy of a repeated value, the
    columns no field reads) is freed. Sheets, headers and Excel rows stay."""
    for sheet in (cameras, groups):
        if sheet is not None:
            sheet.tables = [replace(t, body=t.body.iloc[:0].copy()) for t in sheet.tables]
            sheet.codes.intern(sheet.frame)  # a repeated value's copies go with the grid
            sheet.codes.retain(sheet.frame)  # it held the grid's columns it hashed
    return replace(
        workbook, sheets={name: grid.iloc[:0].copy() for name, grid in workbook.sheets.items()}
    )


def _mapped(
    workbook: InputBook,
    mapping: Mapping,
    spec: SheetSpec,
    key: str,
    lookups: Lookups,
    secrets: SecretTable,
    only: frozenset[str] | None = None,
) -> MappedSheet:
    """Every sheet ``spec`` names, located and mapped, as one list of rows."""
    mapped = []
    for located in _tables(workbook, mapping, spec, key):
        table = apply_rules(select(located, "Status", only) if only else located, spec)
        sheet = map_sheet(table, spec, lookups, mapping_name=mapping.name, secrets=secrets)
        sheet.problems[:0] = table.skipped
        mapped.append(sheet)
    return combine(mapped)


def choose_mapping(workbook: InputBook, candidates: list[Mapping]) -> tuple[Mapping, str]:
    """The candidate whose columns the workbook's headers match best."""
    scored = sorted(
        ((score(workbook, m), m) for m in candidates), key=lambda pair: pair[0], reverse=True
    )
    if not scored or scored[0][0] <= (0, 0):
        from loader.check.starter import found_words  # an error's words only: its guesses

        sheets = ", ".join(workbook.sheets) or "(none)"
        raise InputError(
            f"no bundled mapping fits {workbook.file} (sheets: {sheets})",
            path=workbook.file,
            hint=f"found {found_words(workbook)}. Write a starter mapping from them with"
            f" `bulkload mappings --init {workbook.file} --out my-layout.toml`, check it"
            " (mappings/README.md), and pass it with -m; `bulkload mappings` lists the"
            " bundled ones",
        )
    (matched, _), best = scored[0]
    return best, f"chosen by its headers ({matched} columns matched)"


def score(workbook: InputBook, mapping: Mapping) -> tuple[int, int]:
    """(columns matched, -columns missing) of a mapping on a workbook; (0, 0) if unusable."""
    matched = missing = 0
    for spec, key in ((mapping.cameras, mapping.camera_key), (mapping.groups, "group")):
        if spec is None:
            continue
        try:
            book = _book_for(workbook, spec)
            names = (
                _sheets_with_key(book, spec, key, exclude=_named_elsewhere(mapping, spec))
                if spec.sheet == ALL_SHEETS
                else [_sheet_name(book, spec, key)]
            )
        except InputError:
            return (0, 0)
        grid = book.sheets[names[0]]
        header = (
            {header_key(h) for h in grid.iloc[find_header(grid, _known(spec))]}
            if len(grid)
            else set()
        )
        for field, column in spec.columns.items():
            wanted = column.template_columns if column.template else column.names
            if not wanted:
                continue
            if any(header_key(w) in header for w in wanted):
                matched += 1
            elif (column.required or field == key) and column.default is None:
                return (0, 0)
            else:
                missing += 1
    return (matched, -missing)


def _tables(workbook: InputBook, mapping: Mapping, spec: SheetSpec, key: str) -> list[Table]:
    """The located tables of the sheets ``spec`` names (in the input, or in ``spec.file``)."""
    workbook = _book_for(workbook, spec)
    if spec.sheet == ALL_SHEETS:
        names = _sheets_with_key(workbook, spec, key, exclude=_named_elsewhere(mapping, spec))
    else:
        names = [_sheet_name(workbook, spec, key)]
    keys = _reads(spec.columns[key]) if key in spec.columns else []
    mapped = [n for column in spec.columns.values() for n in _reads(column)]
    return [
        locate(
            workbook.sheets[n],
            spec,
            _known(spec),
            keys=keys,
            mapped=mapped,
            file=workbook.file,
            sheet=n,
        )
        for n in names
    ]


def _reads(column: ColumnSpec) -> list[str]:
    """The headers a field is read from: its column and aliases, or its template's parts
    (a key built by a template is still a key: its rows are never footers)."""
    return column.template_columns if column.template else column.names


def _sheets_with_key(
    workbook: InputBook, spec: SheetSpec, key: str, *, exclude: set[str]
) -> list[str]:
    """``sheet = "*"``: every sheet whose header has the key column (one sheet per site)."""
    key_names = {header_key(n) for n in spec.columns[key].names} if key in spec.columns else set()
    found = [
        name
        for name, grid in workbook.sheets.items()
        if header_key(name) not in exclude
        and len(grid)
        and key_names & {header_key(h) for h in grid.iloc[find_header(grid, _known(spec))]}
    ]
    if not found:
        raise InputError(
            f"no sheet of {workbook.file} has a {key} column"
            f" ({' / '.join(spec.columns[key].names)})",
            path=workbook.file,
            hint=f"its sheets are {', '.join(workbook.sheets)}",
        )
    return found


def _named_elsewhere(mapping: Mapping, spec: SheetSpec) -> set[str]:
    """Folded names of the sheets other parts of the mapping read (groups, lookups)."""
    names = {
        header_key(str(n))
        for other in (mapping.cameras, mapping.groups)
        if other is not None and other is not spec
        for n in other.sheet_names
    }
    for other in (mapping.cameras, mapping.groups):
        for column in other.columns.values() if other is not None else []:
            names |= {
                header_key(t.lookup.sheet)
                for t in column.transforms
                if isinstance(t, LookupSpec) and t.lookup.sheet
            }
    return names


def _book_for(workbook: InputBook, spec: SheetSpec) -> InputBook:
    """The workbook a sheet spec reads: the input, or a file beside it."""
    if spec.file is None:
        return workbook
    return read_workbook(_beside(workbook, spec.file))


def _beside(workbook: InputBook, name: str) -> Path:
    """A file named in a mapping, relative to the input's folder unless absolute."""
    path = Path(name)
    return path if path.is_absolute() else workbook.path.parent / path


def _sheet_name(workbook: InputBook, spec: SheetSpec, key: str) -> str:
    """The sheet a spec reads: by name or 1-based index, else the one that has its key column."""
    names = list(workbook.sheets)
    by_fold = {header_key(n): n for n in names}
    for wanted in spec.sheet_names:
        if isinstance(wanted, int) and 1 <= wanted <= len(names):
            return names[wanted - 1]
        if isinstance(wanted, str) and header_key(wanted) in by_fold:
            return by_fold[header_key(wanted)]
    if len(names) == 1 and (not spec.sheet_names or workbook.kind == "csv"):
        return names[0]
    if not spec.sheet_names:
        key_names = (
            {header_key(n) for n in spec.columns[key].names} if key in spec.columns else set()
        )
        for name in names:
            grid = workbook.sheets[name]
            if len(grid) and key_names & {
                header_key(h) for h in grid.iloc[find_header(grid, _known(spec))]
            }:
                return name
    wanted_text = " or ".join(repr(w) for w in spec.sheet_names) or f"one with a {key} column"
    raise InputError(
        f"{workbook.file} has no sheet {wanted_text}; its sheets are {', '.join(names)}",
        path=workbook.file,
        hint='rename the sheet, or set sheet = "..." in the mapping',
    )


def _known(spec: SheetSpec) -> list[str]:
    """Every header name a spec knows: columns, aliases, template parts, ignored ones."""
    names = [n for c in spec.columns.values() for n in (*c.names, *c.template_columns)]
    return names + list(spec.ignore) + [r.column for r in (*spec.skip, *spec.keep)]


def _lookups(workbook: InputBook, mapping: Mapping) -> dict[str, dict[str, str]]:
    """Every lookup table the mapping's transforms use, keyed by ``lookup_key``."""
    specs = [mapping.cameras, *([mapping.groups] if mapping.groups else [])]
    tables: dict[str, dict[str, str]] = {}
    for spec in specs:
        for column in spec.columns.values():
            for transform in column.transforms:
                if isinstance(transform, LookupSpec):
                    tables[lookup_key(transform)] = _lookup_table(workbook, transform)
    return tables


def _lookup_table(workbook: InputBook, spec: LookupSpec) -> dict[str, str]:
    """A key -> value table from a sheet of the workbook or a file beside it."""
    source = spec.lookup
    if source.file is not None:
        path = _beside(workbook, source.file)
        book = read_workbook(path)
        grid = next(iter(book.sheets.values()))
        where = path.name
    else:
        matches = [n for n in workbook.sheets if header_key(n) == header_key(source.sheet or "")]
        if not matches:
            raise InputError(
                f"lookup sheet {source.sheet!r} is not in {workbook.file}",
                path=workbook.file,
                hint=f"its sheets are {', '.join(workbook.sheets)}",
            )
        grid = workbook.sheets[matches[0]]
        where = matches[0]
    header_index = (
        (source.header_row - 1)
        if source.header_row
        else find_header(grid, [source.key, source.value])
    )
    headers = [header_key(h) for h in grid.iloc[header_index]]
    try:
        key_at, value_at = (
            headers.index(header_key(source.key)),
            headers.index(header_key(source.value)),
        )
    except ValueError:
        raise InputError(
            f"lookup {where} lacks column {source.key!r} or {source.value!r}",
            hint=f"its headers are {', '.join(h for h in grid.iloc[header_index] if h)}",
        ) from None
    body = grid.iloc[header_index + 1 :]
    pairs = zip(body.iloc[:, key_at], body.iloc[:, value_at], strict=True)
    return {k: v for k, v in reversed(list(pairs)) if k and v}
