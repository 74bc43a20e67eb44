"""
Every error the loader raises on purpose, grouped by what the caller does about it.

    LoaderError              exit 2 unless a subclass says otherwise
    ├── ConfigError          abort before anything is sent (bad mapping, flags, credentials)
    ├── InputError           abort before anything is sent (unreadable or unusable sheet)
    ├── StorageError         a file the run keeps (journal, ledger, results) cannot be
    │                        read or written: exit 3, ``resume`` finishes once it can be
    └── SubmitError          a request could not be completed
        └── FatalError       asking again as is would not help (the API refused the query)

Foreign errors (pandas, openpyxl, pydantic, httpx, sqlite3, OSError) are translated once,
where they are caught, with ``raise ... from exc``; they never escape the module that
called the library. Problems with single rows are not exceptions: they are ``Problem``
values in a report.
"""

from __future__ import annotations

from typing import ClassVar


class LoaderError(Exception):
    """Root of the loader's errors; ``hint`` says how to fix it."""

    default_exit_code: ClassVar[int] = 2

    def __init__(self, message: str, *, hint: str = "", exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = self.default_exit_code if exit_code is None else exit_code

    def __str__(self) -> str:
        return f"{self.message}\n  how to fix: {self.hint}" if self.hint else self.message


class ConfigError(LoaderError):
    """The mapping, flags or environment are wrong; nothing was sent."""


class InputError(LoaderError):
    """The input file cannot be used; nothing was sent."""

    def __init__(self, message: str, *, path: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.path = path


class StorageError(LoaderError):
    """A file the run keeps could not be read or written (disk full, locked, gone).

    Events are journaled before the actions that depend on them, so whatever was not
    recorded was not done or is in doubt: ``resume`` settles it once the file is usable.
    """

    default_exit_code: ClassVar[int] = 3


class SubmitError(LoaderError):
    """A request to the API could not be completed."""


class FatalError(SubmitError):
    """The request must not be sent again as it is."""


def storage_error(
    action: str, path: object, exc: BaseException, *, hint: str, exit_code: int | None = None
) -> StorageError:
    """A StorageError for an OS or SQLite failure, naming the file and the cause.

    ``exit_code`` 2 where nothing was sent yet (a dry run's files, a run's payloads).
    """
    cause = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return StorageError(f"cannot {action} {path}: {cause}", hint=hint, exit_code=exit_code)
