"""
How names typed by people are compared: headers, sheet names and enum words match
without regard to case, spaces or the punctuation around a header. Pure.
"""

from __future__ import annotations


def loose_key(text: str) -> str:
    """Text compared without case or spaces, as people type headers and enum values."""
    return "".join(text.split()).casefold()


def header_key(text: str) -> str:
    """A header as compared: no case, no spaces, no punctuation around it."""
    return loose_key(text).strip(":*#.")
