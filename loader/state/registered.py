"""
The fold of a run's registration events: what it registered (created, or found by name),
what it sent with no answer yet (in doubt: a resume lists the project again, and a source
or group that was made is found by its name, never made twice), what was refused, and the
ids its batches were planned with (``IdsFilled``). [no I/O]
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from loader.state import events as ev

Key = tuple[str, str]  # (what, name): ("source", "Cam 1"), ("group", "Yard")
_PLURALS = {"source": "sources", "group": "groups", "join": "joined", "update": "updated"}
_PLURALS |= {"delete": "deleted"}


@dataclass
class Registration:
    """A run's registration, folded from its journal."""

    sent: dict[Key, int] = field(default_factory=dict)  # attempts
    done: dict[Key, ev.RegistrationDone] = field(default_factory=dict)
    refused: dict[Key, ev.RegistrationRefused] = field(default_factory=dict)
    filled: ev.IdsFilled | None = None

    def apply(self, event: ev.Event) -> None:
        """Fold one more event in (others pass by)."""
        if isinstance(event, ev.RegistrationSending):
            self.sent[(event.what, event.name)] = event.attempt
        elif isinstance(event, ev.RegistrationDone):
            self.done[(event.what, event.name)] = event
            self.refused.pop((event.what, event.name), None)
        elif isinstance(event, ev.RegistrationRefused):
            self.refused[(event.what, event.name)] = event
        elif isinstance(event, ev.IdsFilled):
            self.filled = event

    def in_doubt(self) -> list[Key]:
        """Calls sent with no answer journaled: they may have been carried out."""
        return [k for k in self.sent if k not in self.done and k not in self.refused]

    def counts(self) -> dict[str, int]:
        """What the registration did, by kind (``sources``, ``groups`` registered,
        ``joined``, ``updated``, ``deleted``, ``refused``, ``in_doubt``); only the kinds
        that happened: a sheet of ids has none."""
        done = Counter(_PLURALS.get(what, what) for what, _ in self.done)
        done.update(refused=len(self.refused), in_doubt=len(self.in_doubt()))
        return {kind: n for kind, n in done.items() if n}

    def created(self, what: str) -> dict[str, str]:
        """Names this run created (``what``: source or group) -> their ids."""
        return {n: d.id for (w, n), d in self.done.items() if w == what and d.created}


def fold(events: list[ev.Event]) -> Registration:
    """The registration of a journal's events."""
    registration = Registration()
    for event in events:
        registration.apply(event)
    return registration
