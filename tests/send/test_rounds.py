"""Lookup rounds shared by every batch in doubt (``send/rounds``), through the settler that
uses them, against a listing server on httpx.MockTransport and virtual time (it moves
only when every task waits, so reads that fall due together meet as they would)."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from loader.send.auth import StaticToken
from loader.send.client import ViasClient
from loader.send.control import Sender, SubmitOptions
from loader.send.engine import Job, Submitter
from loader.send.pacing import RateLimiter
from loader.send.rounds import SKEW, Answer, Paging
from loader.state.events import BatchAbsent, BatchAccepted, BatchLookedUp, Event
from loader.state.runstate import BatchState, BatchStatus
from tests.send.test_ratelimit import VirtualClock

OPTIONS = SubmitOptions(concurrency=1, workers=16, lookup_delays=(1.0,), outage_after=100)


@dataclass
class Listed:
    """A batch the server holds: listed once the clock reaches ``visible_from``."""

    id: str
    name: str
    created_at: int  # ms
    visible_from: float = 0.0


@dataclass
class Server:
    """ListBatchTasks newest first (200 a page, or by name) and CreateBatchTask, each
    create answered as its name's script says: "ok", "lost" (created, answer reset),
    "reset" (not created, answer reset), "late" (created, listed only ``late`` s later)."""

    clock: VirtualClock
    script: dict[str, list[str]] = field(default_factory=dict)
    batches: list[Listed] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)  # "name:<name>" or "page:<n>"
    late: float = 3.0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return self.create(request)
        query = request.url.params
        now = self.clock.now()
        shown = sorted(
            (b for b in self.batches if now >= b.visible_from),
            key=lambda b: b.created_at,
            reverse=True,
        )
        if "name_like" in query:
            self.reads.append(f"name:{query['name_like']}")
            shown = [b for b in shown if query["name_like"] in b.name]
        else:
            self.reads.append(f"page:{query['page_num']}")
            assert (query["sort_name"], query["order_by"]) == ("created_at", "desc")
        page, size = int(query.get("page_num", "1")), int(query["page_size"])
        items = [
            {"id": b.id, "batch_task_name": b.name, "created_at": b.created_at}
            for b in shown[(page - 1) * size : page * size]
        ]
        return httpx.Response(200, json={"count": len(shown), "batch_task_list": items})

    def create(self, request: httpx.Request) -> httpx.Response:
        """One create, as scripted for its name (then "ok")."""
        name = json.loads(request.content)["name"]
        step = (self.script.get(name) or ["ok"]).pop(0)
        if step != "reset":
            at = self.clock.now()
            visible = at + self.late if step == "late" else 0.0
            self.add(name, at, visible)
        if step != "ok":
            raise httpx.ReadError("scripted", request=request)
        answer = {"id": f"id-{name}", "total_count": 1, "failed_count": 0, "succeed_count": 1}
        return httpx.Response(200, json=answer | {"error_list": []})

    def add(self, name: str, at: float, visible_from: float = 0.0) -> None:
        """A batch created at ``at`` (seconds)."""
        self.batches.append(Listed(f"id-{name}", name, int(at * 1000), visible_from))

    @property
    def creates(self) -> Counter[str]:
        """Batches held per name."""
        return Counter(b.name for b in self.batches)


def job(name: str, *, in_doubt: bool = False) -> Job:
    """A batch to create (its body names it), never sent or sent unanswered."""
    status = BatchStatus.IN_DOUBT if in_doubt else BatchStatus.PENDING
    body = json.dumps({"name": name}).encode()
    return Job(name, body, BatchState(name, status=status, attempts=int(in_doubt)))


async def submit(server: Server, jobs: list[Job], options: SubmitOptions = OPTIONS) -> list[Event]:
    """One pass of the Submitter over ``jobs``; its events."""
    events: list[Event] = []

    async def emit(event: Event) -> None:
        events.append(event)

    async def run() -> None:
        transport = httpx.MockTransport(server)
        async with httpx.AsyncClient(transport=transport, base_url="https://vias.test") as http:
            limiter = RateLimiter(10, server.clock)
            client = ViasClient(http, project_id="p1", auth=StaticToken("t"), limiter=limiter)
            sender = Sender.of(client, emit, server.clock, options, jobs=len(jobs))
            await Submitter(sender, rng=random.Random(1)).run(jobs)

    await server.clock.run([run])
    return events


def of(events: list[Event], kind: type[Event]) -> list[Any]:
    """The events of one type."""
    return [e for e in events if isinstance(e, kind)]


@pytest.mark.anyio
async def test_one_listing_answers_every_batch_in_doubt() -> None:
    """Five batches in doubt from an earlier pass, all created: their first reads share one
    listing page, and each is accepted from it without a lookup by name."""
    clock = VirtualClock()
    server = Server(clock)
    names = [f"b{n}" for n in range(5)]
    for name in names:
        server.add(name, 900.0)

    events = await submit(server, [job(name, in_doubt=True) for name in names])

    accepted = sorted((e.batch, e.batch_id, e.found_by_lookup) for e in of(events, BatchAccepted))
    assert server.reads == ["page:1"]
    assert accepted == [(name, f"id-{name}", True) for name in names]


@pytest.mark.anyio
async def test_a_single_batch_in_doubt_is_looked_up_by_name() -> None:
    """One batch in doubt, fewer than the listing's pages: it is asked about by name."""
    clock = VirtualClock()
    server = Server(clock)
    server.add("b0", 900.0)

    events = await submit(server, [job("b0", in_doubt=True)])

    assert server.reads == ["name:b0"]
    assert [(e.batch, e.found_by_lookup) for e in of(events, BatchAccepted)] == [("b0", True)]


@pytest.mark.anyio
async def test_a_batch_absent_across_its_window_is_sent_again_once() -> None:
    """Three creates reset before they were made: absent in every shared round of their
    window (one listing each round), each is sent again exactly once and held once."""
    clock = VirtualClock()
    names = ["x0", "x1", "x2"]
    server = Server(clock, script={name: ["reset"] for name in names})

    events = await submit(server, [job(name) for name in names])

    absent = sorted(e.batch for e in of(events, BatchAbsent))
    assert absent == names
    assert server.creates == Counter(dict.fromkeys(names, 1))
    assert server.reads == ["page:1"]  # one round spans their 1 s window: one listing


@pytest.mark.anyio
async def test_a_batch_found_in_a_later_round_is_accepted_never_resent() -> None:
    """Created but listed only 3 s later: absent from the first rounds, found in a later
    one inside its window; accepted by lookup, sent once."""
    clock = VirtualClock()
    server = Server(clock, script={"x0": ["late"], "x1": ["late"]}, late=3.0)
    options = SubmitOptions(concurrency=1, workers=16, lookup_delays=(1.0, 2.0, 4.0))

    events = await submit(server, [job("x0"), job("x1")], options)

    looked = [(e.batch, e.found_id) for e in of(events, BatchLookedUp)]
    assert server.reads == ["page:1", "page:1"]
    assert sorted(looked) == [("x0", ""), ("x0", "id-x0"), ("x1", ""), ("x1", "id-x1")]
    assert sorted((e.batch, e.found_by_lookup) for e in of(events, BatchAccepted)) == [
        ("x0", True),
        ("x1", True),
    ]
    assert not of(events, BatchAbsent)
    assert server.creates == Counter({"x0": 1, "x1": 1})


@pytest.mark.anyio
async def test_the_listing_pages_back_past_the_oldest_send_in_doubt() -> None:
    """300 batches of others created within SKEW before the run, 500 older: the rounds of
    two lost creates stop at page 2, the first page holding a batch created SKEW before
    the anchor (a batch answered before they were sent), not at the listing's end."""
    clock = VirtualClock()
    server = Server(clock, script={"x0": ["lost"], "x1": ["lost"]})
    start = clock.now()
    for n in range(300):
        server.add(f"recent-{n}", start - SKEW / 2 + n / 1000)
    for n in range(500):
        server.add(f"old-{n}", start - 10 * SKEW + n / 1000)

    events = await submit(server, [job("a0"), job("x0"), job("x1")])

    assert server.reads == ["page:1", "page:2"]
    assert server.creates["x0"] == server.creates["x1"] == 1
    assert sorted(e.batch for e in of(events, BatchAccepted) if e.found_by_lookup) == ["x0", "x1"]


def test_paging_goes_to_the_end_without_an_anchor() -> None:
    """No anchor (the batch in doubt was sent by an earlier pass): a full page never ends
    the listing, however old what it lists; a short page does."""
    paging = Paging({"x"}, set())
    old = [{"id": f"o{n}", "batch_task_name": f"o{n}", "created_at": n} for n in range(200)]

    assert not paging.read(old, 401, 1)
    assert paging.read(old[:1], 401, 3)
    assert (paging.covered, paging.pages) == (True, 3)


def test_a_shrinking_listing_proves_nobody_absent() -> None:
    """A count that falls while paging (a batch deleted meanwhile may shift an unseen one
    onto a page already read): the listing covers nobody."""
    paging = Paging({"x"}, set())
    page = [{"id": f"o{n}", "batch_task_name": f"o{n}", "created_at": n} for n in range(200)]

    paging.read(page, 250, 1)
    paging.read(page[:49], 249, 2)

    assert (paging.ended, paging.covered) == (True, False)
    assert Answer([], paging.covered).covered is False


@pytest.mark.anyio
async def test_fewer_batches_than_the_listings_pages_are_asked_by_name() -> None:
    """Two batches in doubt from an earlier pass among 800 others, listed only after 2 s:
    the first round's first page counts four pages to go through (no anchor: to the end),
    more than the two batches, so the round asks by name, as the next round does at once;
    the second round finds both."""
    clock = VirtualClock()
    server = Server(clock)
    for n in range(800):
        server.add(f"other-{n}", 500.0 + n / 1000)
    for name in ("x0", "x1"):
        server.add(name, 900.0, visible_from=clock.now() + 2.0)
    options = SubmitOptions(concurrency=1, workers=16, lookup_delays=(1.0, 2.0, 4.0))

    events = await submit(server, [job("x0", in_doubt=True), job("x1", in_doubt=True)], options)

    by_name = ["name:x0", "name:x1"]
    assert server.reads == ["page:1", *by_name, *by_name]
    assert sorted(e.batch for e in of(events, BatchAccepted) if e.found_by_lookup) == ["x0", "x1"]
