"""
The results workbook's Groups sheet: per group, its row on the inventory's Groups sheet
(if any) and its camera rows by status.

The groups are numbered once (``GroupCodes``: from the load's own factorization of the
group column when it made one, else hashed here), so that a count is a ``bincount`` of
codes: the end of a run counts its final statuses; a run counts the groups of one
segment of the sheet as their batches settle (``segment_counts``), over the sheet's rows
as they will be once every camera row has a status (``groups_layout``). [no I/O]
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from loader.check.inventory import ROW, SHEET
from loader.model.cameras import STATUSES
from loader.model.problems import Severity
from loader.read.distinct import first_rows
from loader.report.stepped import drained

if TYPE_CHECKING:
    from loader.check.codes import Factorized
    from loader.check.load import Loaded
    from loader.state.outcomes import Outcomes

NUMBER_COLUMNS: Final = ("Cameras", *STATUSES)  # a group's counts, as the sheet shows them
_STATUS_INDEX: Final = pd.Index(list(STATUSES))


@dataclass(frozen=True)
class GroupCodes:
    """The camera rows' groups as codes: each row's group's rank among the distinct group
    ids in sorted order (-1: no group), the ids, and each id's first row's name (if the
    rows have names). Nothing here depends on an outcome: a run makes it ahead."""

    codes: np.ndarray  # intp, by camera row
    ids: pd.Index  # the distinct groups, sorted, typed as the column is
    first_names: pd.Series | None  # by group id: its first row's name

    @classmethod
    def of(
        cls, groups: np.ndarray, names: np.ndarray | None, known: Factorized | None = None
    ) -> GroupCodes:
        """The codes of ``groups`` (with their ``names``): from ``known``, the column's
        factorization made already (texts, never NA), else hashed here."""
        return drained(cls.in_steps(groups, names, known))

    @classmethod
    def in_steps(
        cls, groups: np.ndarray, names: np.ndarray | None, known: Factorized | None = None
    ) -> Generator[None, None, GroupCodes]:
        """``of``, in steps of some 30 ms at 600,000 cameras (a run makes it between its
        calls): the same codes."""
        if known is not None:
            found = known.codes.astype(np.intp)
            distinct = pd.Index(known.distinct)
            yield  # each step some 10 ms at 400,000 groups: the index, the sort, the ranks
            codes, ids = yield from _ranked_in_steps(found, distinct, lambda: pd.Series(groups))
            yield
            firsts: np.ndarray | None = first_rows(found)  # the load's codes: by first sight
        else:
            codes, ids = _factorized_in_order(pd.Series(groups))
            firsts = None
        first = None
        if names is not None:  # the first row's name, as pandas types the column
            yield
            frame = pd.DataFrame({"Group ID": groups})
            frame["Group Name"] = names
            yield
            first = (
                frame.drop_duplicates("Group ID")  # hashed in C
                if firsts is None
                else frame.take(firsts)
            ).set_index("Group ID")["Group Name"]
        return cls(codes, ids, first)

    def counts(self, statuses: np.ndarray) -> pd.DataFrame:
        """Per group id (sorted): the first row's name (if named), the group's rows in a
        known status, then how many ended in each.

        Counted over codes: a group's and a status's code per row, one ``bincount`` of
        their pairs. ``groupby(...).size().unstack()`` took 0.75 s for 400,000 groups of
        one or two cameras (two hashings, a sort of pairs, a pivot); a row with no group or
        no status counts nowhere, a group with no row in a known status is left out, as
        they were there."""
        known = _STATUS_INDEX.get_indexer(pd.Index(statuses))  # -1: no such status
        counted = (self.codes >= 0) & ~pd.isna(statuses)  # groupby leaves out NaN keys
        kept = counted & (known >= 0)
        present = np.zeros(len(self.ids), dtype=bool)
        present[self.codes[counted]] = True
        pairs = known[kept].astype(np.int64) * len(self.ids) + self.codes[kept]
        # a row per status: the frame's own layout (a block is columns by rows), no transpose
        by_status = np.bincount(pairs, minlength=len(STATUSES) * len(self.ids))
        matrix = by_status.reshape(len(STATUSES), -1)
        return self._table(matrix if present.all() else matrix[:, present], present)

    def layout(self) -> pd.DataFrame:
        """The counts' rows and columns once every camera row has a status, every count
        nought: each group some row names (``named``), and what names it."""
        present = self._named()
        nought = np.zeros((len(STATUSES), int(present.sum())), dtype=np.intp)  # as bincount's
        return self._table(nought, present)

    def named(self) -> np.ndarray:
        """The codes of the groups some camera row names, in order: ``layout``'s rows."""
        return np.flatnonzero(self._named())

    def _named(self) -> np.ndarray:
        """Whether some camera row names each group, by code."""
        present = np.zeros(len(self.ids), dtype=bool)
        present[self.codes[self.codes >= 0]] = True
        return present

    def _table(self, matrix: np.ndarray, present: np.ndarray) -> pd.DataFrame:
        """The counts ``matrix`` (a row per status, a column per group ``present`` marks)
        as the sheet's table."""
        ids = self.ids
        table = pd.DataFrame(matrix.T, columns=list(STATUSES), copy=False)
        table.insert(0, "Cameras", matrix.sum(axis=0))
        table.insert(0, "Group ID", ids[present].infer_objects())  # as the groupby typed keys
        if self.first_names is not None:
            table.insert(1, "Group Name", table["Group ID"].map(self.first_names).fillna(""))
        return table

    def segment_counts(
        self, rows: np.ndarray, statuses: np.ndarray, shown: np.ndarray
    ) -> np.ndarray:
        """The counts of groups ``shown`` (codes, -1 for none) as ``counts`` makes them,
        from the camera ``rows`` of those groups and their ``statuses``: a column per
        shown group, a row per ``NUMBER_COLUMNS`` (integers)."""
        local, at_shown = np.unique(shown, return_inverse=True)
        group = self.codes[rows]
        at = np.minimum(np.searchsorted(local, group), len(local) - 1)
        known = _STATUS_INDEX.get_indexer(pd.Index(statuses))
        kept = (local[at] == group) & (group >= 0) & ~pd.isna(statuses) & (known >= 0)
        pairs = known[kept].astype(np.int64) * len(local) + at[kept]
        by_status = np.bincount(pairs, minlength=len(STATUSES) * len(local))
        matrix = by_status.reshape(len(STATUSES), -1)[:, at_shown.reshape(-1)]
        matrix[:, shown < 0] = 0
        return np.vstack([matrix.sum(axis=0), matrix])


def camera_counts(
    groups: np.ndarray, names: np.ndarray | None, statuses: np.ndarray
) -> pd.DataFrame:
    """Per group id (sorted), from the camera rows' columns: the first row's group name (if
    ``names``), the group's rows in a known status, then how many ended in each."""
    return GroupCodes.of(groups, names).counts(statuses)


def group_codes(loaded: Loaded) -> GroupCodes:
    """The loaded camera rows' groups as codes, from the load's own factorization of the
    column when it made one (a million texts not hashed again at a run's end)."""
    return drained(group_codes_in_steps(loaded))


def group_codes_in_steps(loaded: Loaded) -> Generator[None, None, GroupCodes]:
    """``group_codes`` in steps (``GroupCodes.in_steps``)."""
    rows = loaded.checked.rows
    groups = rows["group"].to_numpy(dtype=object)
    names = rows["group_name"].to_numpy(dtype=object) if "group_name" in rows.columns else None
    return (yield from GroupCodes.in_steps(groups, names, loaded.cameras.codes.known(groups)))


def groups_table(loaded: Loaded, result: Outcomes, codes: GroupCodes | None = None) -> pd.DataFrame:
    """Per group: its row on the Groups sheet (if any), and its camera rows by status
    (``codes``: the groups' codes if made already)."""
    return _with_sheet_rows(loaded, (codes or group_codes(loaded)).counts(result.status))


def groups_layout(loaded: Loaded, codes: GroupCodes) -> tuple[pd.DataFrame, np.ndarray]:
    """The Groups sheet's rows once every camera row has a status, every count nought
    (what a run makes the sheet's segments of as their counts settle), and the code of
    the group each row counts (-1: a group no camera row names)."""
    layout = _with_sheet_rows(loaded, codes.layout())
    if loaded.groups is None:  # the counts' own rows
        return layout, codes.named()
    ids = pd.Index(layout["Group ID"].to_numpy(dtype=object))
    shown: np.ndarray = codes.ids.get_indexer(ids)
    return layout, shown


def _with_sheet_rows(loaded: Loaded, counts: pd.DataFrame) -> pd.DataFrame:
    """The Groups sheet's rows (if the inventory has one) with their groups' ``counts``,
    then the groups counted that no row names."""
    sheet = loaded.groups
    if sheet is None:
        return counts
    frame = sheet.frame
    ids = (
        frame["group_id"].where(frame["group_id"] != "", frame["group"])
        if "group_id" in frame
        else frame["group"]
    )
    errors = {(p.sheet, p.row) for p in loaded.checked.problems if p.severity == Severity.ERROR}
    places = list(zip(frame[SHEET].tolist(), frame[ROW].tolist(), strict=True))
    rows = pd.DataFrame(
        {
            "Source Row": [f"{s}!{r}" for s, r in places],
            "Group": frame["group"].to_numpy(dtype=object),
            "Group ID": ids.to_numpy(dtype=object),
            "Group Name": frame["group_name"].to_numpy(dtype=object)
            if "group_name" in frame
            else "",
            "Row Status": ["rejected" if place in errors else "valid" for place in places],
        }
    )
    counted = counts.drop(columns=["Group Name"], errors="ignore")
    table = rows.merge(counted, on="Group ID", how="left")
    missing = counted[~counted["Group ID"].isin(rows["Group ID"])].assign(
        **{"Row Status": "not on the sheet"}
    )
    table = pd.concat([table, missing], ignore_index=True)
    number_columns = list(NUMBER_COLUMNS)
    table[number_columns] = table[number_columns].fillna(0).astype(int)
    return table.fillna("")


def segment_pairs(
    codes: GroupCodes, shown: np.ndarray, segment_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of (camera row, segment of the Groups sheet that counts it): a camera is
    counted on each row of its group (``shown``: each sheet row's group code), so the
    rows of a segment of ``segment_rows`` sheet rows count the cameras of its groups."""
    segment = np.arange(len(shown)) // segment_rows
    named = shown >= 0
    cameras = np.flatnonzero(codes.codes >= 0)
    if np.bincount(shown[named], minlength=1).max() <= 1:  # a group a row: an array lookup
        segment_of = np.full(len(codes.ids), -1, dtype=np.int64)
        segment_of[shown[named]] = segment[named]
        of = segment_of[codes.codes[cameras]]
        return cameras[of >= 0], of[of >= 0]
    pairs = pd.DataFrame({"code": shown[named], "segment": segment[named]}).drop_duplicates()
    joined = pd.DataFrame({"row": cameras, "code": codes.codes[cameras]}).merge(pairs, on="code")
    return joined["row"].to_numpy(), joined["segment"].to_numpy()


def _ranked(codes: np.ndarray, uniques: pd.Index, values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``codes`` and ``uniques`` (a factorization of ``values`` in first-seen order) with
    the uniques sorted by a stable sort and the codes renumbered so: an inventory lists
    its groups mostly in order, which timsort walks in one pass (pandas' quicksort of
    Python objects took 0.2 s for 400,000 groups). Values of types that do not compare
    (numbers and texts) are left to pandas, which orders them its own way."""
    return drained(_ranked_in_steps(codes, uniques, lambda: values))


def _ranked_in_steps(
    codes: np.ndarray, uniques: pd.Index, values: Callable[[], pd.Series]
) -> Generator[None, None, tuple[np.ndarray, pd.Index]]:
    """``_ranked`` in two steps, the sort then the ranks (``values``: made only for
    pandas' own order)."""
    try:
        order = np.argsort(uniques.to_numpy(dtype=object), kind="stable")
    except TypeError:
        factorized: tuple[np.ndarray, pd.Index] = pd.factorize(values(), sort=True)
        return factorized
    yield
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    ranked = np.full(len(codes), -1, dtype=np.intp)
    ranked[codes >= 0] = rank[codes[codes >= 0]]
    return ranked, uniques.take(order)


def _factorized_in_order(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(values, sort=True)``, the distinct values sorted by a stable sort
    (``_ranked``)."""
    codes, uniques = pd.factorize(values)
    return _ranked(codes, uniques, values)
