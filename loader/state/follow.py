"""
The ledger follows the run: each batch's camera tasks are recorded as the journal learns
their fate, not only when the run concludes. [I/O]

- When a batch is first sent, its cameras are recorded ``unknown`` before the request
  leaves: the request may create tasks even if the process dies before the answer, and a
  fresh run of the same sheet then holds them (``bulkload resume`` settles them) instead
  of creating them twice.
- After every later event of the batch (accepted, refused, found, its task ids learned),
  its cameras are recorded again as the conclusion would record them now.
- The conclusion looks again only at cameras whose batch's last event was not recorded
  from what the conclusion reads now (the same outcome, the same batch state and tasks),
  compares their entries with what the run recorded and writes the differences: a run of
  600,000 cameras whose batches all settled ends without building one entry.

An entry the run recorded that the conclusion leaves out (its batch was provably never
created) goes back to what the ledger held before the run, or is removed. A write that
fails during the run (another process holding the ledger, a full disk) is logged and
left to a later one (the next hundred events wait for nothing): the conclusion writes
every difference still pending, and its failure ends the run with a StorageError, after
the results are on disk.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from itertools import compress, filterfalse, repeat
from operator import itemgetter, ne
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import structlog

from loader.check.load import Loaded
from loader.errors import StorageError
from loader.model.cameras import (
    Cameras,
    CameraStatus,
    LedgerEntry,
    LedgerKey,
    LedgerState,
    SettingsClass,
)
from loader.model.changes import Action
from loader.planning.batches import Plan
from loader.planning.delta import Delta, Earlier, camera_keys
from loader.state import ledger as ledger_store
from loader.state.events import Event, RunStarted
from loader.state.ledger import Ledger
from loader.state.outcomes import Outcomes, outcome_of_batch
from loader.state.runstate import BatchStatus, ChangeState, ChangeStatus, RunState

LOCK_WAIT_IN_RUN = 0.05  # seconds a write during the run waits for another process
SKIPPED_AFTER_FAILURE = 100  # events a run then records in its journal only


class LedgerFollower:
    """The ledger of one run, kept in step with its journal (one open connection)."""

    def __init__(
        self,
        path: Path,
        started: RunStarted,
        loaded: Loaded,
        planned: Plan,
        delta: Delta,
        state: RunState,
    ) -> None:
        self.delta, self.state = delta, state
        self.endpoint, self.project = started.endpoint, started.project_id
        self.run, self.inventory = started.run_id, Path(started.input_file).name
        self.batches = {b.name: b for b in planned.batches}
        self.classes = loaded.checked.settings_classes
        self.services = [c.task_settings.service_name for c in self.classes]
        self.outcomes = Outcomes.empty(len(loaded.checked.rows))  # the batches' so far
        self.ledger = Ledger(path, lock_wait=LOCK_WAIT_IN_RUN, any_thread=True)
        self._writing = threading.Lock()  # one write at a time (``_write``)
        # What this run holds in the ledger now (a resumed run: what it recorded before).
        recorded = self.ledger.entries_of_run(self.endpoint, self.project, self.run)
        self.recorded = {k: e._replace(at="") for k, e in recorded.items()}
        self.documented: set[str] = set()
        # Batches whose last event is recorded, with what ``entries`` read of them then.
        self.confirmed: dict[str, tuple[object, ...] | None] = {}
        self.skipping = 0  # events left without a ledger write, after one failed

    def close(self) -> None:
        self.ledger.close()

    async def after(self, event: Event) -> None:
        """Record the camera tasks of the event's batch as they stand after it.

        What to record is decided here, on the event loop that folds the events; the write
        (its commit synced to disk) runs on a worker thread, so the loop keeps its turns
        meanwhile: a synchronous write per event held every request of the run up (the
        pacer's wake-ups came late, and a late call delays the calls a second after it).
        The caller awaits it: a batch's cameras are recorded before its request leaves.
        """
        batch = self.batches.get(event.batch)
        if batch is None:
            return
        self.confirmed.pop(batch.name, None)  # until this event is recorded
        if self.skipping:  # the ledger is held or failing: the event loop does not wait
            self.skipping -= 1
            return
        held = any(b.name == batch.name for b in self.state.held())
        outcome_of_batch(self.outcomes, batch, self.state, held=held)
        cameras = batch.cameras
        found = self.entries(self.outcomes, cameras)
        wanted = dict(zip(map(_KEY, found), found, strict=True))
        unwanted = list(filterfalse(wanted.__contains__, camera_keys(cameras, self.classes)))
        signature = self._signature(batch.name)
        try:
            await anyio.to_thread.run_sync(self._write, wanted, unwanted)
            self.confirmed[batch.name] = signature
        except StorageError as exc:  # a later write, or the conclusion, tries again
            self.skipping = SKIPPED_AFTER_FAILURE
            structlog.get_logger().warning(
                "bulkload.ledger_write_failed", batch=batch.name, reason=exc.message
            )

    def conclude(
        self, result: Outcomes, sent: Cameras, changed: Sequence[LedgerEntry] = ()
    ) -> None:
        """Record the run's conclusion: the ``sent`` cameras as ``result`` has them, then
        what the ``changed`` entries (the changes' own) say. Raises StorageError.

        Only cameras the run's events have not recorded as they conclude now are looked
        at (``_unconfirmed``): in a run whose batches all settled that is none of them,
        where building and comparing 600,000 entries took 1.5 s of its end.
        """
        doubtful = sent.take(self._unconfirmed(result, sent, changed))
        self.write_differences([*self.entries(result, doubtful), *changed], doubtful)

    def write_differences(self, entries: Sequence[LedgerEntry], sent: Cameras) -> None:
        """Write what differs between ``entries`` and what was recorded; the ``sent``
        cameras without an entry are taken back. Raises StorageError."""
        wanted = dict(zip(map(_KEY, entries), entries, strict=True))  # the last one stands
        found = list(map(self.recorded.get, wanted))  # what was recorded of each, or None
        keys = camera_keys(sent, self.classes)  # taken back if the run sent it
        lacking = {k for k in keys if k not in wanted and k in self.recorded}
        unwanted = list(filter(lacking.__contains__, self.recorded)) if lacking else []
        self.ledger.wait_for_locks(ledger_store.LOCK_WAIT)
        self._write(wanted, unwanted, found)

    def _unconfirmed(
        self, result: Outcomes, sent: Cameras, changed: Sequence[LedgerEntry]
    ) -> np.ndarray:
        """Which ``sent`` cameras the conclusion must record anew (a mask): all but those
        whose batch's last event was recorded (``confirmed``) from what the conclusion
        reads now: the same outcome (``result`` against the follower's own, column by
        column) and the same batch (its state, its tasks: ``_signature``). The rest,
        and a camera whose task a change also records, are recorded as ``write_differences``
        finds them."""
        at = sent.position
        same = np.ones(len(at), dtype=bool)
        for ours, theirs in zip(self.outcomes.columns(), result.columns(), strict=True):
            same &= ours[at] == theirs[at]
        codes, names = _distinct(result.batch[at], str)
        confirmed = _each(names, self._is_confirmed)
        same &= confirmed[codes]
        if changed:  # a change's entry stands over the camera's: look at both
            touched = set(map(_KEY, changed))
            keys = camera_keys(sent, self.classes)
            same &= ~np.fromiter(map(touched.__contains__, keys), dtype=bool, count=len(at))
        return ~same

    def _is_confirmed(self, batch: str) -> bool:
        """Whether the batch's last event was recorded from what ``entries`` reads of it now."""
        return batch in self.confirmed and self.confirmed[batch] == self._signature(batch)

    def _signature(self, batch: str) -> tuple[object, ...] | None:
        """What ``entries`` reads of a batch beside the cameras' outcomes: whether it was
        sent and may have created tasks, and the tasks it created (None: not in the run)."""
        state = self.state.batches.get(batch)
        if state is None:
            return None
        tasks = self._created_tasks(batch) if state.task_ids else None
        return (state.status, state.attempts > 0, tasks)

    def entries(self, result: Outcomes, cameras: Cameras) -> list[LedgerEntry]:
        """Sent cameras with their fingerprint: loaded, failed, or unknown but maybe created.

        "unknown" is recorded when its batch was created or may have been (sent, in
        doubt): a later run must not send it again and risk a second task; ``resume`` or
        ``reconcile`` of this run settles it. Cameras of batches provably never created
        are left out (send anew), and so are those of batches given up before they were
        ever sent (the API refused the run, or another run took their cameras).

        Decided over the columns, once per distinct batch and status, and the entries
        made in C: a step per camera took 1.4 s of a 600,000-camera conclusion.
        """
        at = cameras.position
        batch_codes, names = _distinct(result.batch[at], str)
        status_codes, statuses = _distinct(result.status[at], None)
        maybe_created, never_sent = self._sent_fates(names.tolist())
        ids, titles = self._task_columns(names.tolist(), batch_codes, cameras.video_source_id)
        exists = (CameraStatus.LOADED, CameraStatus.REPLACED)
        loaded = _each(statuses, lambda s: s in exists)[status_codes]
        if self.delta.replaces:  # a replacing camera whose new task was seen is loaded
            replacing = np.fromiter(self.delta.replaces, dtype=np.int64)
            loaded |= np.isin(at, replacing) & (ids != "")
        failed = _each(statuses, lambda s: s == CameraStatus.FAILED)[status_codes]
        unknown = (
            _each(statuses, lambda s: s == CameraStatus.UNKNOWN)[status_codes]
            & _each(names, maybe_created.__contains__)[batch_codes]
        )
        states = _STATES[np.where(loaded, 2, failed)]  # loaded first, then failed, unknown
        sent = ~_each(names, never_sent.__contains__)[batch_codes]  # else a later run sends it
        kept = np.flatnonzero(sent & (loaded | failed | unknown))
        batches = names[batch_codes[kept]]
        return self._made(result, cameras, kept, batches, states[kept], ids, titles)

    def _made(
        self,
        result: Outcomes,
        cameras: Cameras,
        kept: np.ndarray,
        batches: np.ndarray,
        states: np.ndarray,
        ids: np.ndarray,
        titles: np.ndarray,
    ) -> list[LedgerEntry]:
        """The entries of the ``kept`` cameras (indices into ``cameras``), field by field."""
        at = cameras.position[kept]
        services = np.array(self.services, dtype=object)
        columns = (
            cameras.group[kept].tolist(),
            cameras.video_source_id[kept].tolist(),
            services[cameras.settings_class[kept]].tolist(),
            self.delta.fingerprints_at(at),
            states.tolist(),
            repeat(self.run),
            batches.tolist(),
            list(map(str, result.batch_id[at].tolist())),
            list(map(str, result.message[at].tolist())),
            repeat(""),
            repeat(self.inventory),
            ids[kept].tolist(),
            titles[kept].tolist(),
            list(map(str, result.task_state[at].tolist())),
        )
        return list(map(_ENTRY, zip(*columns, strict=False)))  # the repeats are endless

    def _sent_fates(self, names: Iterable[str]) -> tuple[set[str], set[str]]:
        """Of these batches: those maybe created (accepted, in doubt) and those given up
        unsent. Only the cameras' own batches are looked at: the follower asks after every
        event, and a look at every batch each time grew with the square of the run."""
        found = [(n, b) for n in names if (b := self.state.batches.get(n)) is not None]
        maybe = (BatchStatus.ACCEPTED, BatchStatus.IN_DOUBT)
        maybe_created = {n for n, b in found if b.status in maybe}
        never_sent = {n for n, b in found if b.status == BatchStatus.REJECTED and not b.attempts}
        return maybe_created, never_sent

    def _task_columns(
        self, names: list[str], codes: np.ndarray, sources: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each camera's task as observed in its batch (``names[codes]``): its id and name,
        "" for none. A step per batch that has tasks; the cameras are looked up in C."""
        ids, titles = np.full(len(codes), "", dtype=object), np.full(len(codes), "", dtype=object)
        tables = {c: t for c, name in enumerate(names) if (t := self._created_tasks(name))[0]}
        if not tables:
            return ids, titles
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
        for code, (id_of, name_of) in tables.items():
            at = order[bounds[code] : bounds[code + 1]]
            found = sources[at].tolist()
            ids[at] = _objects(map(id_of.get, found, repeat("")))
            titles[at] = _objects(map(name_of.get, found, repeat("")))
        return ids, titles

    def _created_tasks(self, batch: str) -> tuple[dict[str, str], dict[str, str]]:
        """The tasks a batch created, as observed: camera -> task id, camera -> task name
        (its first task, when the API listed several)."""
        state = self.state.batches.get(batch)
        observed = (state.task_ids or {}) if state is not None else {}
        listed = list(compress(observed.items(), observed.values()))  # a camera with a task
        sources = list(map(_FIRST, listed))
        ids = list(map(_FIRST, map(_FIRST, map(_SECOND, listed))))
        names = map(self.state.task_names.get, ids, repeat(""))
        return dict(zip(sources, ids, strict=True)), dict(zip(sources, names, strict=True))

    def _write(
        self,
        wanted: dict[LedgerKey, LedgerEntry],
        unwanted: Iterable[LedgerKey],
        found: list[LedgerEntry | None] | None = None,
    ) -> None:
        """Record the ``wanted`` entries that differ from what this run recorded (``found``:
        the recorded entry of each, when looked up already); take back the ``unwanted`` ones
        it recorded (the ledger's entry before the run returns).

        Compared in C (``map`` over the entries): a conclusion compares 600,000 entries the
        run has already recorded, and writes none of them. One write at a time (the worker
        threads of several batches' events take turns): what was recorded is read and
        updated by one of them only.
        """
        with self._writing:
            self._write_now(wanted, unwanted, found)

    def _write_now(
        self,
        wanted: dict[LedgerKey, LedgerEntry],
        unwanted: Iterable[LedgerKey],
        found: list[LedgerEntry | None] | None,
    ) -> None:
        """``_write``, its turn taken."""
        recorded = self.recorded
        entries = list(wanted.values())
        found = list(map(recorded.get, wanted)) if found is None else found
        changed = list(compress(entries, map(ne, found, entries)))
        gone = list(filter(recorded.__contains__, unwanted))
        if not changed and not gone:
            return
        earlier = [self.delta.earlier[k] for k in gone if k in self.delta.earlier]
        dropping = [(k, self.run) for k in gone if k not in self.delta.earlier]
        marks = set(map(_FINGERPRINT, changed)) - self.documented
        documents = {m: d for m, d in self.delta.documents.items() if m in marks}
        self.ledger.record(
            self.endpoint, self.project, [*changed, *earlier], documents, dropping=dropping
        )
        recorded.update(zip(map(_KEY, changed), changed, strict=True))
        for key in gone:
            del recorded[key]
        self.documented |= marks


_KEY = itemgetter(0, 1, 2)  # an entry's LedgerKey (``LedgerEntry.key``), taken in C
_FINGERPRINT, _FIRST, _SECOND = itemgetter(3), itemgetter(0), itemgetter(1)
# A LedgerEntry from its fields in one tuple, made in C (``_make`` is a Python call).
_ENTRY = partial(tuple.__new__, LedgerEntry)


def _objects(values: Iterable[Any]) -> np.ndarray:
    """An object array of these values as they are (numpy would make strings its own,
    and a state a plain string)."""
    found = list(values)
    array = np.empty(len(found), dtype=object)
    array[:] = found
    return array


_STATES = _objects([LedgerState.UNKNOWN, LedgerState.FAILED, LedgerState.LOADED])


def _distinct(
    values: np.ndarray, text: Callable[[Any], Any] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each value's code, and the distinct values by code, first seen first (``text`` of
    each): a dict's work in C (pandas' factorize costs more than a batch's 150 cameras)."""
    listed = values.tolist()
    distinct = list(dict.fromkeys(listed))
    code = dict(zip(distinct, range(len(distinct)), strict=True))
    codes = np.fromiter(map(code.__getitem__, listed), dtype=np.intp, count=len(listed))
    return codes, _objects(distinct if text is None else map(text, distinct))


def _each(values: np.ndarray, test: Callable[[Any], bool]) -> np.ndarray:
    """``test`` of each of a few distinct values, as a mask to index by their codes."""
    return np.fromiter(map(test, values.tolist()), dtype=bool, count=len(values))


def taken_since(planned: Plan, state: RunState, delta: Delta) -> dict[str, str]:
    """Batches this run has not sent yet, some of whose cameras another run has recorded
    since this run was planned (``delta.earlier`` is the ledger as read now): why each
    must not be sent. A resumed run meets them when the sheet was run again meanwhile.
    """
    if not delta.earlier:  # the ledger held none of the sheet's cameras: none is taken
        return {}
    classes = planned.settings_classes
    live = (LedgerState.LOADED, LedgerState.UNKNOWN)
    found = {}
    for batch in planned.batches:
        batch_state = state.batches.get(batch.name)
        if batch_state is None or batch_state.settled or batch_state.attempts:
            continue
        cameras = batch.cameras
        runs = Counter(
            entry.run
            for key, position in zip(
                camera_keys(cameras, classes), cameras.position.tolist(), strict=True
            )
            if (entry := delta.earlier.get(key)) is not None
            and entry.state in live
            and position not in delta.replaces
        )
        if runs:
            found[batch.name] = (
                f"not sent: run {', '.join(sorted(runs))} has since recorded"
                f" {sum(runs.values())} of its cameras (sending it would give them a second"
                " task); run the sheet again: it sends the others"
            )
    return found


def change_entries(
    delta: Delta,
    changes: Mapping[str, ChangeState],
    sent: Cameras,
    classes: Sequence[SettingsClass],
    *,
    run: str,
    inventory: str,
) -> list[LedgerEntry]:
    """What the changes made of existing tasks: updated, restarted, stopped, deleted; and
    tasks whose settings the sheet matches under a new fingerprint (adopted). ``sent``: the
    cameras this run sent (a replaced task whose camera was sent again is not deleted here).
    """
    found: dict[LedgerKey, LedgerEntry] = {}  # by camera task: the last change stands

    def done(action: Action, entry: LedgerEntry) -> bool:
        change = changes.get(f"{action}:{entry.task_id}")
        return change is not None and change.status == ChangeStatus.DONE

    def note(entry: LedgerEntry, message: str, **fields: str) -> None:
        base = found.get(entry.key, entry)
        found[entry.key] = base._replace(run=run, message=message, at="", **fields)

    for change in delta.updates:
        if done(Action.UPDATE, change.entry):
            mark = delta.fingerprints[change.position]
            note(
                change.entry,
                "updated",
                fingerprint=mark,
                state=LedgerState.LOADED,
                inventory=inventory,
            )
    for change in delta.restarts:
        if done(Action.START, change.entry):
            note(change.entry, "started again", state=LedgerState.LOADED, task_state="PENDING")
    for change in delta.removes:
        if done(Action.DELETE, change.entry):
            note(change.entry, "deleted (--prune=delete)", state=LedgerState.DELETED, task_state="")
        elif done(Action.STOP, change.entry):
            note(
                change.entry, "stopped (--prune)", state=LedgerState.STOPPED, task_state="STOPPING"
            )
    sent_keys = set(camera_keys(sent, classes)) if delta.replaces else set()
    for change in delta.replaces.values():
        if done(Action.DELETE, change.entry) and change.key not in sent_keys:
            note(change.entry, "replaced", state=LedgerState.DELETED, task_state="")
    adopted = [
        entry._replace(fingerprint=delta.fingerprints[at], inventory=entry.inventory or inventory)
        for at, (earlier, entry) in delta.kept.items()
        if earlier == Earlier.UNCHANGED
        and (entry.fingerprint != delta.fingerprints[at] or not entry.inventory)
    ]
    return adopted + list(found.values())
