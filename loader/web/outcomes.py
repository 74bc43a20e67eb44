"""
What became of a run's cameras, as the Results page says it: the run's facts from its
journal (the sheet, when, how many cameras, which batches were never sent), a headline in
words ("stopped by you: 573 of 637 cameras loaded, 64 not sent yet: Resume sends them"),
the status counts with "unknown" split into "not sent" and "in doubt", and every camera
that failed, is in doubt or was held back, as the run's conclusion kept them in its
journal (sheet, Excel row, camera, group, the reason in words, the request id), filtered
and paged like the Check page's problems. Read through ``state.journal``.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from loader.model.cameras import STATUSES, CameraStatus
from loader.state.events import RunFinished, RunStarted
from loader.state.journal import read_events, read_results
from loader.state.outcomes import CameraResult
from loader.state.runstate import BatchStatus, RunState, replay
from loader.web.feed import in_flight as words_in_flight
from loader.web.problems import PAGE_SIZE, TableQuery, _within, paging, paging_params, table_filters

NOT_SENT: Final = "not sent"
IN_DOUBT: Final = "in doubt"
ATTENTION: Final = (str(CameraStatus.FAILED), IN_DOUBT, NOT_SENT, str(CameraStatus.HELD))
LOADED_LIKE: Final = ("loaded", "updated", "replaced", "restarted", "unchanged")
_TASK_STATES: Final = {
    "START_FAILED": "its task failed to start",
    "CREATE_FAILED": "its task could not be created",
    "ABNORMAL": "its task turned abnormal after it started",
    "FAILED": "its task failed",
    "LACK_OF_RESOURCES": "there were not enough resources to run its task",
}
# The CLI's words for what to do next, as this page offers it (longest first).
_PAGE_ACTIONS: Final = (
    ("bulkload resume (or reconcile) that run", "Resume that run (or check its tasks)"),
    ("; bulkload resume settles it", ": Resume settles it"),
    (": bulkload resume", ": Resume settles it"),
    ("bulkload reconcile asks it", "“Check the tasks now” asks the API"),
    ("; bulkload reconcile later", "; check the tasks again later"),
    ("bulkload resume checks", "Resume checks"),
    (
        "(--retry-failed resends the canary's cameras)",
        "(tick “send cameras that failed in an earlier run again”)",
    ),
    (
        "then run with --retry-failed",
        "then send with “send cameras that failed in an earlier run again” ticked",
    ),
    ("--restart-failed starts it", "“restart failed or stopped tasks” on the Send page starts it"),
)
_TASK_IS: Final = re.compile(r"task [\w-]+ is ([A-Z_]+)")  # the results' words for a task state
_RUN_ID: Final = re.compile(r"run \d{8}T\d{6}Z[\w.-]*")  # a run directory's name
_FINISH_FIRST: Final = "requests in flight finish first"
KEPT: Final = 4  # runs whose cameras needing attention are held in memory


@dataclass(frozen=True)
class RunFacts:
    """What a run's journal says of it."""

    sheet: str  # the input file's name
    input: str  # the input file's path, as the run read it
    started: str  # ISO time (UTC) the run began
    cameras: int  # cameras its plan sends
    batches: int
    not_sent: int  # cameras of batches never created (not sent, or provably not created)
    resumed: bool
    state: RunState
    checked_at: str = ""  # ISO time the tasks were last checked after the run ended


def run_facts(journal: Path) -> RunFacts:
    """The run's facts, folded from its whole journal."""
    found = read_events(journal, 0)
    state = replay(event for _, _, event in found)
    checked_at, ends = "", 0  # a check ends with a RunFinished of its own, no RunStarted
    for _, at, event in found:
        if isinstance(event, RunStarted):
            ends = 0
        elif isinstance(event, RunFinished):
            ends += 1
            if ends > 1:
                checked_at = datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
    started = state.started
    not_sent = sum(b.cameras for b in state.batches.values() if b.status == BatchStatus.PENDING)
    return RunFacts(
        sheet=Path(started.input_file).name if started else "",
        input=started.input_file if started else "",
        started=started.started_at if started else "",
        cameras=started.cameras if started else 0,
        batches=len(state.batches),
        not_sent=not_sent,
        resumed=bool(started and started.resumed),
        state=state,
        checked_at=checked_at,
    )


def status_counts(statuses: Mapping[str, int], facts: RunFacts) -> list[tuple[str, int]]:
    """The summary's camera rows by status, zeros left out, with "unknown" said as what
    it is: cameras never sent (their batch was not created) and cameras in doubt."""
    shown: list[tuple[str, int]] = []
    for status in STATUSES:
        count = int(statuses.get(status, 0) or 0)
        if status == CameraStatus.UNKNOWN:
            not_sent = min(facts.not_sent, count)
            shown += [(NOT_SENT, not_sent), (IN_DOUBT, count - not_sent)]
        else:
            shown.append((status, count))
    return [(status, count) for status, count in shown if count]


def headline(
    summary: Mapping[str, Any] | None,
    facts: RunFacts,
    *,
    running: bool,
    stopping: bool,
    kind: str,
    in_flight: int | None,
    failure: str,
) -> dict[str, str]:
    """Where the run stands, in a sentence: ``state`` (a word for the page's colours and
    tests) and ``text``. ``in_flight`` None: not counted here (the live feed counts)."""
    if running:
        if kind == "check":
            return {"state": "checking", "text": "checking the tasks with the API"}
        if stopping:
            flying = words_in_flight(in_flight) if in_flight is not None else _FINISH_FIRST
            return {"state": "stopping", "text": f"stopping: {flying}"}
        return {"state": "running", "text": "sending"}
    if summary is None:
        if failure:
            return {"state": "failed", "text": f"could not go on: {failure}"}
        return {"state": "interrupted", "text": "it ended before it finished: Resume finishes it"}
    return _ended(summary, facts)


def _ended(summary: Mapping[str, Any], facts: RunFacts) -> dict[str, str]:
    """Where a run that wrote its summary stands."""
    statuses = summary.get("statuses") or {}
    unknown = int(statuses.get("unknown", 0) or 0)
    in_doubt = unknown - min(facts.not_sent, unknown)
    counted = _counted(statuses, facts)
    reason = str(summary.get("stop_reason") or "")
    if summary.get("counts", {}).get("unsettled"):
        then = "Resume sends them" if not in_doubt else "Resume settles them"
        if reason == "interrupted":
            return {"state": "stopped", "text": f"stopped by you: {counted}: {then}"}
        why = f"stopped: {page_words(reason)}" if reason else "stopped"
        return {"state": "stopped", "text": f"{why}: {counted}: {then}"}
    if in_doubt:
        return {"state": "doubt", "text": f"{counted}: check the tasks to settle them"}
    if reason and reason != "interrupted":  # the canary held the rest back, or the API refused
        return {"state": "stopped", "text": f"stopped: {page_words(reason)}: {counted}"}
    if statuses.get("failed"):
        return {"state": "failed-cameras", "text": f"done: {counted}"}
    return {"state": "done", "text": f"done: {counted or 'nothing needed sending'}"}


def _counted(statuses: Mapping[str, Any], facts: RunFacts) -> str:
    """``573 of 637 cameras loaded, 2 failed, 64 not sent yet``: what the run's cameras
    became, loaded first (replaced ones count as loaded: their new task runs)."""
    count = {s: int(statuses.get(s, 0) or 0) for s in STATUSES}
    not_sent = min(facts.not_sent, count["unknown"])
    loaded = count["loaded"] + count["replaced"]
    parts = [f"{loaded:,} of {facts.cameras:,} cameras loaded"] if facts.cameras else []
    parts += [
        f"{count[s]:,} {s}" for s in ("updated", "restarted", "stopped", "deleted") if count[s]
    ]
    if not parts and count["unchanged"]:
        parts.append(f"{count['unchanged']:,} unchanged")
    parts += [
        f"{n:,} {words}"
        for n, words in (
            (count["failed"], "failed"),
            (not_sent, "not sent yet"),
            (count["unknown"] - not_sent, "in doubt"),
        )
        if n
    ]
    return ", ".join(parts)


def page_words(text: str) -> str:
    """A message of the CLI as this page says it: its commands and options as the page's
    actions, run ids as "an earlier run", a failed task state in words."""
    for said, done in _PAGE_ACTIONS:
        text = text.replace(said, done)
    text = _RUN_ID.sub("an earlier run", text)
    return _TASK_IS.sub(_state_words, text)


def _state_words(found: re.Match[str]) -> str:
    """``task 7e29... is START_FAILED`` -> ``its task failed to start (START_FAILED)``."""
    state = found[1]
    if state not in _TASK_STATES:
        return found[0]
    return f"{_TASK_STATES[state]} ({state})"


def reason_words(status: str, message: str, task_state: str) -> str:
    """Why a camera stands where it does, in words, with the API's state kept in brackets."""
    if status == NOT_SENT:
        return "not sent yet: Resume sends it"
    state = task_state.upper()
    if status == CameraStatus.FAILED and state in _TASK_STATES and not message.strip():
        return f"{_TASK_STATES[state]} ({state})"
    return page_words(message) or status


@dataclass(frozen=True)
class CameraOutcome:
    """One camera row that needs someone's attention."""

    status: str  # one of ATTENTION
    sheet: str
    row: int | None
    camera: str  # video source id
    name: str
    group: str
    reason: str
    request_id: str
    batch: str


def attention(journal: Path, state: RunState) -> list[CameraOutcome] | None:
    """Every camera row that failed, is in doubt, was never sent or was held back, in row
    order, as the run's last conclusion kept them in its journal (None: it kept none)."""
    kept = _kept(journal)
    if kept is None:
        return None
    found = []
    for row in kept:
        status = row.status
        batch = state.batches.get(row.batch)
        if status == CameraStatus.UNKNOWN:
            never = batch is not None and batch.status == BatchStatus.PENDING
            status = NOT_SENT if never else IN_DOUBT
        if status not in ATTENTION:
            continue
        found.append(
            CameraOutcome(
                status=status,
                sheet=row.sheet,
                row=row.row,
                camera=row.camera,
                name=row.name,
                group=row.group,
                reason=reason_words(status, row.message, row.task_state),
                request_id=batch.request_id if batch is not None else "",
                batch=row.batch,
            )
        )
    return found


_CACHE: OrderedDict[tuple[object, ...], list[CameraResult] | None] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _kept(journal: Path) -> list[CameraResult] | None:
    """``read_results``, kept in memory while the journal (and its write-ahead log) stay
    as they are: a stopped run of many cameras lists them all, page after page."""
    files = (journal, journal.with_name(journal.name + "-wal"))
    key = (str(journal), *(_stamp(f) for f in files))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    kept = read_results(journal)
    with _CACHE_LOCK:
        _CACHE[key] = kept
        while len(_CACHE) > KEPT:
            _CACHE.popitem(last=False)
    return kept


def _stamp(path: Path) -> tuple[int, int] | None:
    """When a file last changed and its size (None: it is not there)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@dataclass(frozen=True, kw_only=True)
class CameraQuery(TableQuery):
    """What the person asked to see of the cameras needing attention (from the URL)."""

    status: str = ""
    sheet: str = ""
    row: str = ""
    text: str = ""
    page: int = 1
    size: int = PAGE_SIZE

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CameraQuery:
        """A query from URL parameters; unknown values fall back to the defaults."""
        status = params.get("status", "")
        sheet, row, text = table_filters(params)
        page, size = paging(params)
        status = status if status in ATTENTION else ""
        return cls(status=status, sheet=sheet, row=row, text=text, page=page, size=size)

    def pairs(self) -> dict[str, str]:
        """The query's URL parameters, "" for a default."""
        return {
            "status": self.status,
            "sheet": self.sheet,
            "row": self.row,
            "q": self.text,
            **paging_params(self.page, self.size),
        }


@dataclass(frozen=True)
class CameraPage:
    """One page of the matching cameras and where it stands."""

    rows: list[CameraOutcome]
    matched: int
    page: int
    pages: int
    first: int
    total: int  # cameras needing attention (failed, in doubt, held), not sent left out
    statuses: dict[str, int]  # of all the cameras listed, by status (not sent included)
    sheets: list[str]


def select(cameras: Sequence[CameraOutcome], query: CameraQuery) -> CameraPage:
    """Filter and cut one page (row order); a page past the end shows the last one.

    Cameras not sent yet are listed only when asked for (``status=not sent``): Resume
    sends them all, and a stopped run can leave thousands.
    """
    rows = _within(query.row)
    text = query.text.casefold()
    kept = [
        c
        for c in cameras
        if (c.status == query.status if query.status else c.status != NOT_SENT)
        and (not query.sheet or c.sheet == query.sheet)
        and (rows is None or (c.row is not None and rows[0] <= c.row <= rows[1]))
        and (
            not text
            or text
            in f"{c.camera}\n{c.name}\n{c.group}\n{c.reason}\n{c.request_id}\n{c.batch}".casefold()
        )
    ]
    pages = max(1, math.ceil(len(kept) / query.size))
    page = min(query.page, pages)
    start = (page - 1) * query.size
    statuses = {s: sum(1 for c in cameras if c.status == s) for s in ATTENTION}
    return CameraPage(
        kept[start : start + query.size],
        len(kept),
        page,
        pages,
        start + 1 if kept else 0,
        sum(1 for c in cameras if c.status != NOT_SENT),
        {s: n for s, n in statuses.items() if n},
        sorted({c.sheet for c in cameras if c.sheet}),
    )
