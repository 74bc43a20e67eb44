"""Event's one ``__eq__``, ``__hash__`` and ``__repr__`` give what the dataclass generated
for each event type, which a reference made with ``dataclasses.make_dataclass`` keeps."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loader.state.events import KINDS, BatchAbsent, BatchGaveUp, Event

TEXT = st.text(max_size=8)
# A strategy for each annotation the events' fields carry.
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "str": TEXT,
    "int": st.integers(-5, 5),
    "float": st.floats(-1e6, 1e6, allow_nan=False),
    "bool": st.booleans(),
    "dict[str, Any]": st.dictionaries(TEXT, st.integers() | TEXT, max_size=3),
    "dict[str, int]": st.dictionaries(TEXT, st.integers(), max_size=3),
    "dict[str, str]": st.dictionaries(TEXT, TEXT, max_size=3),
    "list[str]": st.lists(TEXT, max_size=3),
    "list[int]": st.lists(st.integers(), max_size=3),
    "list[list[str]]": st.lists(st.lists(TEXT, max_size=3), max_size=3),
}


def _reference(kind: type[Event]) -> type:
    """The event type as a plain frozen dataclass generates it: its own eq, hash, repr."""
    fields = [(f.name, f.type, dataclasses.field(default=None)) for f in dataclasses.fields(kind)]
    made = dataclasses.make_dataclass(kind.__name__, fields, frozen=True)
    made.__qualname__ = kind.__qualname__
    return made


def _values(kind: type[Event]) -> st.SearchStrategy[dict[str, Any]]:
    """Field values for one event of ``kind``, keyed by name."""
    return st.fixed_dictionaries({f.name: VALUES[str(f.type)] for f in dataclasses.fields(kind)})


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=lambda k: k.kind)
@given(data=st.data())
def test_an_event_compares_hashes_and_shows_as_its_dataclass_did(
    kind: type[Event], data: st.DataObject
) -> None:
    """repr, == (and !=) and the hash of hashable values are the reference's."""
    first, second = data.draw(_values(kind)), data.draw(_values(kind))
    reference = _reference(kind)
    event, other = kind(**first), kind(**second)
    expected, expected_other = reference(**first), reference(**second)

    assert repr(event) == repr(expected)
    assert (event == other, event != other) == (
        expected == expected_other,
        expected != expected_other,
    )
    if all(not isinstance(v, dict | list) for v in first.values()):
        assert hash(event) == hash(expected)


def test_events_of_two_types_are_never_equal() -> None:
    """As with dataclasses: the same fields of another type compare unequal."""
    assert BatchAbsent(batch="b") != BatchGaveUp(batch="b")
