"""
Lookup rounds: one read answers every batch in doubt at that moment. A batch whose create
answer was lost is looked up on its own schedule (``engine.Lookups``: its window and its
rule stay its own); each of its reads joins a ``Round`` that the ``Rounds`` of the pass
run, and a round costs what the cheaper of two reads costs:

- the listing (ListBatchTasks, ``created_at`` newest first, 200 a page), paged back past
  the oldest send still in doubt in the round: one listing answers every batch in it;
- a lookup by exact name per batch (today's read), when fewer batches are in the round
  than the last listing took pages.

A round waits, before it leaves, for the batches whose next read falls due within
``GATHER`` seconds: their reads then share it, and none is made earlier than its schedule
says (a read may only be later, which only lengthens a window).

Paging stops early only on what is documented: the listing's order (``sort_name``
created_at, ``order_by`` desc, both sent explicitly). How far back is far enough is read
off the listing itself, never off our clock: a batch answered 200 before a send left was
created before that send arrived, so once a page lists such a batch (an anchor) and goes
on to a batch created ``SKEW`` seconds before it, no later page can hold what that send
made (``SKEW``: the server's clocks, which stamp ``created_at``, are not documented to
agree). Without an anchor (a batch in doubt from an earlier pass) the listing goes to its
end. A listing whose ``count`` shrinks while it pages (a batch deleted meanwhile may shift
an unseen batch onto a page already read) proves nobody absent: the round is ``covered``
only when that did not happen.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import anyio

from loader.errors import SubmitError
from loader.send.client import LIST_PAGE_SIZE, ReadRefused, ViasClient

GATHER: Final = 1.0  # seconds a round waits for the reads falling due after it
SKEW: Final = 60.0  # seconds of disagreement allowed between the server's clocks
MAX_PAGES: Final = 10_000  # ListBatchTasks' page_num is 1..10000


@dataclass(frozen=True)
class Answer:
    """What a round said of one batch: the ids listed under its exact name, whether the
    read covered it (absent from a covered read is evidence; from another, none), and the
    request id of the answer behind it."""

    ids: list[str]
    covered: bool
    request_id: str = ""


@dataclass
class Round:
    """One read shared by the batches that joined it before it left."""

    names: set[str] = field(default_factory=set)
    expected: set[str] = field(default_factory=set)  # due within GATHER: waited for
    ready: anyio.Event = field(default_factory=anyio.Event)  # every expected batch joined
    done: anyio.Event = field(default_factory=anyio.Event)
    answers: dict[str, Answer | SubmitError] = field(default_factory=dict)

    def join(self, name: str) -> None:
        """The batch's read joins; the round leaves once no expected batch is missing."""
        self.names.add(name)
        self.leave(name)

    def leave(self, name: str) -> None:
        """The batch will not join (it joined, or its verification ended)."""
        self.expected.discard(name)
        if not self.expected:
            self.ready.set()


CANCELLED: Final = SubmitError("the lookup round was cancelled before it left")


class Rounds:
    """The lookup rounds of one pass, and what they need to know of its sends: when each
    batch was first sent and which batches were answered 200 before that (anchors)."""

    def __init__(self, client: ViasClient, now: Callable[[], float]) -> None:
        self.client = client
        self.now = now
        self.order = itertools.count()  # the pass's sends and answers, in the order they came
        self.first_sent: dict[str, int] = {}
        self.answered: dict[str, int] = {}  # batch id -> when its 200 came
        self.due: dict[str, float] = {}  # batch -> when its next read falls due
        self.gathering: Round | None = None
        self.pages: int | None = None  # pages the last listing took
        self.requests = 0  # reads sent, every page counted

    def sent(self, name: str) -> None:
        """A create of ``name`` is about to leave."""
        self.first_sent.setdefault(name, next(self.order))

    def accepted(self, batch_id: str) -> None:
        """A create was answered 200 with ``batch_id``."""
        if batch_id:
            self.answered.setdefault(batch_id, next(self.order))

    def waiting(self, name: str, seconds: float) -> None:
        """The batch's next read falls due in ``seconds``."""
        self.due[name] = self.now() + seconds

    def ended(self, name: str) -> None:
        """The batch's verification ended: no round waits for it any more."""
        self.due.pop(name, None)
        if self.gathering is not None:
            self.gathering.leave(name)

    async def read(self, name: str) -> Answer:
        """The batch's read: the answer of the round it joins (a failure raises)."""
        self.due.pop(name, None)
        joined = self.gathering
        if joined is None:
            joined = self.gathering = self._gather(name)
            joined.join(name)
            try:
                await joined.ready.wait()
            except BaseException:  # cancelled: the batches that joined must not wait on
                joined.answers.update(dict.fromkeys(joined.names, CANCELLED))
                joined.done.set()
                raise
            finally:
                self.gathering = None
            await self._run(joined)
        else:
            joined.join(name)
            await joined.done.wait()
        answer = joined.answers[name]
        if isinstance(answer, SubmitError):
            raise answer
        return answer

    def _gather(self, name: str) -> Round:
        """A new round, waiting for the reads that fall due within ``GATHER``."""
        until = self.now() + GATHER
        expected = {other for other, due in self.due.items() if due <= until and other != name}
        return Round(expected=expected | {name})

    async def _run(self, joined: Round) -> None:
        """Read for every batch of the round, the cheaper way; answers for all, always."""
        try:
            if len(joined.names) <= (self.pages or 1):
                joined.answers.update(await self._by_name(joined.names))
            else:
                try:
                    joined.answers.update(await self._listing(joined.names))
                except ReadRefused:  # the listing's query refused: ask by name as ever
                    joined.answers.update(await self._by_name(joined.names))
        except SubmitError as exc:
            joined.answers.update(dict.fromkeys(joined.names, exc))
        finally:
            joined.done.set()

    async def _by_name(self, names: Iterable[str]) -> dict[str, Answer | SubmitError]:
        """A lookup by exact name per batch (fewer batches than listing pages)."""
        answers: dict[str, Answer | SubmitError] = {}
        for name in sorted(names):
            self.requests += 1
            try:
                found = await self.client.find_batch(name)
            except SubmitError as exc:
                answers[name] = exc
                if self.client.refused is not None:  # the run is refused: ask no more
                    answers |= {n: exc for n in names if n not in answers}
                    break
                continue
            answers[name] = Answer(found.ids, True, found.request_id)
        return answers

    async def _listing(self, names: set[str]) -> dict[str, Answer | SubmitError]:
        """One listing, newest first, back past the oldest send of the round (``Paging``).

        Without an anchor it must go to its end: when its first page's ``count`` says that
        takes more pages than there are batches left unfound, those are asked by name.
        """
        anchors = self._anchors(names)
        paging = Paging(names, anchors)
        request_id = ""
        for page in range(1, MAX_PAGES + 1):
            self.requests += 1
            items, count, request_id = await self.client.batches_page(page)
            if paging.read(items, count, page):
                break
            left = names - paging.ids.keys()
            if page == 1 and not anchors and count is not None and _pages(count) > len(left):
                self.pages = _pages(count)
                found = {n: Answer(paging.ids[n], True, request_id) for n in paging.ids}
                return {**await self._by_name(left), **found}
        self.pages = paging.pages
        covered = paging.covered
        return {n: Answer(paging.ids.get(n, []), covered, request_id) for n in names}

    def _anchors(self, names: Iterable[str]) -> set[str]:
        """Batches answered 200 before the oldest first send of ``names``; none when one
        of them was not sent in this pass (nothing is known of when it was)."""
        sends = [self.first_sent.get(name) for name in names]
        if any(s is None for s in sends):
            return set()
        oldest = min(s for s in sends if s is not None)
        return {batch_id for batch_id, at in self.answered.items() if at < oldest}


class Paging:
    """One listing read page by page: the ids under each sought name, and when to stop."""

    def __init__(self, names: set[str], anchors: set[str]) -> None:
        self.names, self.anchors = names, anchors
        self.ids: dict[str, list[str]] = {}
        self.floor: float | None = None  # created_at (ms) of the newest anchor listed
        self.first_count: int | None = None
        self.shrank = False
        self.reached = False  # past the oldest send: the rest is older
        self.ended = False  # the listing's end
        self.pages = 0

    @property
    def covered(self) -> bool:
        """Whether a sought batch not listed provably was not there."""
        return (self.reached or self.ended) and not self.shrank

    def read(self, items: list[dict[str, Any]], count: int | None, page: int) -> bool:
        """Take one page; True when no later page is needed."""
        self.pages, full = page, len(items) >= LIST_PAGE_SIZE
        if count is not None:
            self.first_count = count if self.first_count is None else self.first_count
            self.shrank = self.shrank or count < self.first_count
        for item in items:
            self._take(item)
        self.ended = not full or (count is not None and page * LIST_PAGE_SIZE >= count)
        return self.ended or self.reached

    def _take(self, item: dict[str, Any]) -> None:
        """One listed batch: a sought name, an anchor, or past the floor."""
        name = str(item.get("batch_task_name") or item.get("name") or "")
        batch_id = str(item.get("id") or "")
        if name in self.names and batch_id:
            self.ids.setdefault(name, []).append(batch_id)
        created = item.get("created_at")
        if not isinstance(created, int | float) or isinstance(created, bool):
            return
        if batch_id in self.anchors:
            self.floor = max(self.floor or created, created)
        elif self.floor is not None and created < self.floor - SKEW * 1000:
            self.reached = True


def _pages(count: int) -> int:
    """Pages of a whole listing of ``count`` batches."""
    return max(1, -(-count // LIST_PAGE_SIZE))
