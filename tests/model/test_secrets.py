"""The in-memory table of a sheet's secrets: references in, values only on request."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from loader.model import secrets
from loader.model.secrets import PREFIX, SHEET_REFERENCE, SecretTable


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


def hides_before(table: SecretTable, text: str) -> str:
    """Hiding as it was first written, kept as the reference: every value replaced in the
    whole text in turn, longest first (of equal lengths, the first referred), one sort
    and one ``str.replace`` per value for every text."""
    for value, name in sorted(((v, n) for n, v in table.items()), key=lambda p: -len(p[0])):
        text = text.replace(value, f"${{{name}}}")
    return text


def hides_in_pieces(table: SecretTable, text: str) -> tuple[str, bool]:
    """The same replacements made in the pieces of ``text`` outside references only (a
    reference put in, or there already, is never matched into); and whether the whole-text
    replacements of ``hides_before`` gave the same text at every step."""
    split = re.split(f"({SHEET_REFERENCE.pattern})", text)
    pieces = [(piece, n % 2 == 1) for n, piece in enumerate(split)]  # (text, a reference)
    before, agrees = text, True
    for value, name in sorted(((v, n) for n, v in table.items()), key=lambda p: -len(p[0])):
        reference = f"${{{name}}}"
        pieces = [
            replaced
            for piece, referred in pieces
            for replaced in ([(piece, True)] if referred else _split(piece, value, reference))
        ]
        before = before.replace(value, reference)
        agrees = agrees and before == "".join(piece for piece, _ in pieces)
    return "".join(piece for piece, _ in pieces), agrees


def _split(piece: str, value: str, reference: str) -> list[tuple[str, bool]]:
    """``piece.replace(value, reference)`` as pieces, each reference one of its own."""
    outside = piece.split(value)
    return [(outside[0], False)] + [
        part for rest in outside[1:] for part in ((reference, True), (rest, False))
    ]


def _reference(number: int) -> str:
    """A sheet reference, as one put in or quoted from a referred cell."""
    return f"${{{PREFIX}{number}}}"


@st.composite
def _values_and_text(draw: st.DrawFn, alphabet: str) -> tuple[list[str], str]:
    """Secret values over ``alphabet`` (short, so that they overlap, nest and repeat) and
    a text made of them, of other characters, of references and of broken ones."""
    values = draw(st.lists(st.text(alphabet, min_size=1, max_size=4), max_size=8))
    part = st.one_of(
        st.text(alphabet + "${}_", max_size=3),
        st.sampled_from([*values, "${", "}", PREFIX]),
        st.integers(1, 12).map(_reference),
    )
    return values, "".join(draw(st.lists(part, max_size=10)))


def _table(values: list[str]) -> SecretTable:
    """A table that referred ``values`` in turn."""
    table = SecretTable()
    for value in values:
        table.refer(value)
    return table


# How a table finds a text's values: in its slices (a table's first texts), or by the
# automaton of all the values (built once the slices have cost about as much).
FINDING = [pytest.param(10**9, id="in-slices"), pytest.param(0, id="by-automaton")]


def _finding(slices_per_value: int) -> mock._patch[int]:
    """The tables made (their first hiding) inside find as ``slices_per_value`` says."""
    return mock.patch.object(secrets, "_SLICES_PER_VALUE", slices_per_value)


# No character of a reference ("${}", the prefix's capitals and "_", digits): no value can
# match inside a reference, where hiding as first written was not well defined.
@pytest.mark.parametrize("slices_per_value", FINDING)
@given(_values_and_text("ab@:/"))
@example((["ab", "b", "ba", "a"], "abab:a"))
@example((["a", "aa", "aaa"], "aaaaa"))
@example((["bbb", "abb", "a"], "abbb"))  # "a" starts only where "abb" does, which "bbb" takes
def test_hiding_gives_what_replacing_each_value_in_turn_gave(
    slices_per_value: int, values_and_text: tuple[list[str], str]
) -> None:
    """Where no value can match inside a reference, the text is the one that replacing
    each value in the whole text in turn, longest first, gave."""
    values, text = values_and_text
    table = _table(values)

    with _finding(slices_per_value):
        hidden = table.hides(text)

    assert hidden == hides_before(table, text)


# Values that can match inside a reference: digits, "_", "}" and the prefix's letters.
@pytest.mark.parametrize("slices_per_value", FINDING)
@given(_values_and_text("ab1_}E"))
@example((["hunter2", "1"], "rtsp://u:hunter2@h/1"))
@example((["1"], _reference(1) + " 1"))
@example((["b}", "a"], "ab}"))
def test_a_reference_is_never_matched_into(
    slices_per_value: int, values_and_text: tuple[list[str], str]
) -> None:
    """A value that occurs inside a reference (put in by a longer value, or there
    already) leaves it whole; on every text where replacing in turn never matched into
    a reference, the text it gave."""
    values, text = values_and_text
    table = _table(values)

    with _finding(slices_per_value):
        hidden = table.hides(text)

    expected, before_agrees = hides_in_pieces(table, text)
    assert hidden == expected
    if before_agrees:
        assert hidden == hides_before(table, text)


@pytest.mark.parametrize("slices_per_value", FINDING)
@given(_values_and_text("ab1_}E$"))
def test_hidden_text_shows_no_value_and_resolves_back(
    slices_per_value: int, values_and_text: tuple[list[str], str]
) -> None:
    """No value is left whole outside the references; resolving the references gives the
    text back (a text that quoted none of its own)."""
    values, text = values_and_text
    table = _table(values)

    with _finding(slices_per_value):
        hidden = table.hides(text)

    outside = SHEET_REFERENCE.split(hidden)
    assert not [v for v in table.values() for piece in outside if v in piece]
    if not SHEET_REFERENCE.search(text):
        assert SHEET_REFERENCE.sub(lambda m: table[m[0][2:-1]], hidden) == text


@given(
    st.lists(
        st.tuples(st.booleans(), st.text("ab1", min_size=1, max_size=4)), min_size=1, max_size=12
    )
)
def test_a_value_referred_after_hiding_is_hidden_next_time(
    steps: list[tuple[bool, str]],
) -> None:
    """Values referred between two hidings (the groups sheet mapped after the cameras'
    problems were hidden) are hidden from then on: what was built for the values before
    is not reused (here the automaton is built after a slice a value)."""
    table = SecretTable()
    hidden, expected = [], []

    for refer, text in steps:
        if refer:
            table.refer(text)
        else:
            with _finding(1):
                hidden.append(table.hides(text * 2))
            expected.append(hides_in_pieces(table, text * 2)[0])

    assert hidden == expected


def test_a_value_inside_a_reference_put_in_is_left_alone() -> None:
    """A password "1" beside a longer one whose reference ends in 1: the longer one's
    reference stays whole (replacing in turn wrote a reference inside a reference)."""
    table = _table(["hunter2", "1"])
    text = "rtsp://admin:hunter2@10.0.0.1/1"

    hidden = table.hides(text)

    assert hides_before(table, text) == (
        "rtsp://admin:${BULKLOAD_SHEET_SECRET_${BULKLOAD_SHEET_SECRET_2}}"
        "@${BULKLOAD_SHEET_SECRET_2}0.0.0.${BULKLOAD_SHEET_SECRET_2}/${BULKLOAD_SHEET_SECRET_2}"
    )
    assert hidden == (
        "rtsp://admin:${BULKLOAD_SHEET_SECRET_1}"
        "@${BULKLOAD_SHEET_SECRET_2}0.0.0.${BULKLOAD_SHEET_SECRET_2}/${BULKLOAD_SHEET_SECRET_2}"
    )


def test_values_each_the_prefix_of_the_next_are_hidden() -> None:
    """300 values, each one character longer than the one before (each found inside all
    the longer ones): the longest is hidden whole, the rest by the shortest."""
    table = _table(["a" * n for n in range(1, 301)])

    with _finding(0):
        hidden = table.hides("x" + "a" * 301)

    assert hidden == "x${BULKLOAD_SHEET_SECRET_300}${BULKLOAD_SHEET_SECRET_1}"
