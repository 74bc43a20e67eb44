"""The ledger's rows, zipped from the entries' fields, are the rows built one by one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from loader.model.cameras import LedgerEntry, LedgerState
from loader.state.ledger import camera_rows

TEXTS = st.text(alphabet="a\x00é", max_size=2)
ENTRIES = st.builds(
    LedgerEntry,
    *[TEXTS] * 4,
    st.sampled_from(list(LedgerState)),
    *[TEXTS] * 9,
)


def rows_an_entry_at_a_time(
    endpoint: str, project: str, entries: list[LedgerEntry], at: str
) -> list[tuple[str, ...]]:
    """The earlier rows (reference)."""
    return [(endpoint, project, *e[:9], e.at or at, *e[10:]) for e in entries]


@settings(max_examples=200, deadline=None)
@given(TEXTS, TEXTS, st.lists(ENTRIES, max_size=6), TEXTS)
def test_rows_zipped_from_the_fields_are_the_rows_built_one_by_one(
    endpoint: str, project: str, entries: list[LedgerEntry], at: str
) -> None:
    """Same rows, field for field and of the same types; ``at`` only where there was none."""
    rows = list(camera_rows(endpoint, project, entries, at))

    expected = rows_an_entry_at_a_time(endpoint, project, entries, at)
    assert rows == expected
    assert [tuple(map(type, r)) for r in rows] == [tuple(map(type, r)) for r in expected]


def test_an_entry_keeps_its_time_and_one_without_is_stamped() -> None:
    """The time recorded by a refresh stays; the run's own entries take the write's."""
    kept = LedgerEntry("g", "c", "s", "f", LedgerState.LOADED, "r", at="2026-01-01")
    fresh = LedgerEntry("g", "d", "s", "f", LedgerState.UNKNOWN, "r")

    rows = list(camera_rows("e", "p", [kept, fresh], "2026-12-06"))

    assert [row[11] for row in rows] == ["2026-01-01", "2026-12-06"]
    assert rows[1] == (
        "e",
        "p",
        "g",
        "d",
        "s",
        "f",
        "unknown",
        "r",
        "",
        "",
        "",
        "2026-12-06",
        "",
        "",
        "",
        "",
    )
    assert list(camera_rows("e", "p", [], "2026-12-06")) == []
