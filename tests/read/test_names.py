"""Header keys, and the whole-column filter that finds the texts that may fold to one."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from loader.read.names import header_key, may_fold_to

# Letters that fold to more than one (ß, ﬁ, ΐ), to ASCII from elsewhere (K, ſ), spaces of
# every kind str.split knows, and the punctuation a header may carry around it.
_TRICKY = "ßﬁΐKſİ \t\n\x1c\x85\xa0\u2007\u3000:*#.-_"
_TEXT = st.text(alphabet=st.sampled_from("abcdeCAMERA19" + _TRICKY), max_size=12) | st.text(
    max_size=8
)


@given(st.lists(_TEXT, max_size=30), _TEXT)
@example(["ſtraße", "STRASSE", " s t r a s s e :", "strasse..", "ΐ"], "strasse")
@example(["Camera", " CAMERA: ", "C a m e r a", "cam-0001", ""], "camera")
def test_every_text_that_folds_to_the_key_may_fold_to_it(texts: list[str], other: str) -> None:
    """The filter is exact where it says no: a text whose ``header_key`` is the key is
    never left out, whatever its case, spaces or characters that fold into several."""
    column = np.array([*texts, other], dtype=object)
    for key in {header_key(t) for t in column.tolist()} - {""}:
        maybe = may_fold_to(column, key)
        folds = np.array([header_key(t) == key for t in column.tolist()], dtype=bool)
        assert not (folds & ~maybe).any()


def test_ids_and_names_longer_than_the_header_are_left_out() -> None:
    """What the filter saves: ids and names with more characters than the header."""
    column = np.array(["CAM-000001", "Camera", " camera ", "grp-1", "Lobby north", "", "C:"])

    assert may_fold_to(column, "camera").tolist() == [False, True, True, True, False, False, True]


def test_a_column_holding_other_than_texts_may_hold_the_header_anywhere() -> None:
    """A cell that is not a text (a number a reader typed) is left to the exact fold."""
    assert may_fold_to(np.array(["camera", 3.0], dtype=object), "camera").tolist() == [True, True]


def _fits(text: str, key: str) -> bool:
    """The filter's rule for one text: its characters other than spaces, ``n``, of which
    ``p`` are the punctuation around a header: ``3n >= len(key)`` and ``n - p <= len(key)``."""
    counted = "".join(text.split())
    around = sum(counted.count(c) for c in ":*#.")
    return 3 * len(counted) >= len(key) and len(counted) - around <= len(key)


_PLAIN_TEXT = st.text(alphabet=st.sampled_from("abcCAM019-_/"), max_size=12)


@given(st.lists(_TEXT, max_size=30) | st.lists(_PLAIN_TEXT, max_size=30), _TEXT)
@example(["cam-0001", "CAMERA", "cam", "ca", ""], "camera")  # ASCII, nothing uncounted
@example(["cam-0001", "CAMERA", "ca\x1fm"], "camera")  # a separator str.split splits on
def test_the_filter_is_its_rule_text_by_text(texts: list[str], key: str) -> None:
    """The whole-column count gives each text what the rule gives it alone, whether the
    column is ASCII with nothing uncounted (its lengths tell) or not (counted)."""
    column = np.array(texts, dtype=object)

    assert may_fold_to(column, key).tolist() == [_fits(t, key) for t in texts]
