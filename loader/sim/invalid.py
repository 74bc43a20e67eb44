"""The one exception the simulator's body rules raise; its text becomes the error's detail."""

from __future__ import annotations


class Invalid(ValueError):
    """A body that breaks a documented rule; the message says which and how."""


def require(condition: bool, message: str) -> None:
    """Raise Invalid(message) unless ``condition`` holds."""
    if not condition:
        raise Invalid(message)
