"""
Every error the loader raises on purpose, grouped by what the caller does about it.

    LoaderError
    ├── ConfigError      abort before anything is read or sent (bad mapping, bad flags)
    ├── InputError       abort before anything is sent (unreadable or unusable sheet)
    └── SubmitError      a request could not be completed
        ├── RetriableError   safe to send again (never reached the API)
        └── FatalError       must not be sent again as is

Foreign errors (pandas, openpyxl, pydantic, httpx) are translated once, where they are
caught, with ``raise ... from exc``; they never escape the module that called the library.
Problems with single rows are not exceptions: they are ``Problem`` values in a report.
"""

from __future__ import annotations


class LoaderError(Exception):
    """Root of the loader's errors; ``hint`` says how to fix it."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  how to fix: {self.hint}" if self.hint else self.message


class ConfigError(LoaderError):
    """The mapping, flags or environment are wrong; nothing was read or sent."""


class InputError(LoaderError):
    """The input file cannot be used; nothing was sent."""

    def __init__(self, message: str, *, path: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.path = path


class SubmitError(LoaderError):
    """A request to the API could not be completed."""


class RetriableError(SubmitError):
    """The request never reached the API; sending it again is safe."""


class FatalError(SubmitError):
    """The request must not be sent again as it is."""
