"""The in-memory table of a sheet's secrets: references in, values only on request."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from loader.model.secrets import SHEET_REFERENCE, SecretTable


@given(values=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=20))
def test_each_distinct_value_gets_one_reference_and_resolves_back(values: list[str]) -> None:
    """Equal values share a reference, numbered by first appearance; the table gives the
    value back by the reference's name."""
    table = SecretTable()
    references = [table.refer(v) for v in values]

    names = [r[2:-1] for r in references]
    assert [table[n] for n in names] == values
    assert len(table) == len(set(values))
    assert all(SHEET_REFERENCE.fullmatch(r) for r in references)


def test_a_table_never_shows_its_values() -> None:
    """repr and str name the size only; hides() swaps a value for its reference."""
    table = SecretTable()
    reference = table.refer("hunter22")

    assert (repr(table), str(table), table.hides("pw=hunter22;")) == (
        "<SecretTable of 1 values>",
        "<SecretTable of 1 values>",
        f"pw={reference};",
    )
    assert table.refer("") == ""
