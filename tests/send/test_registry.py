"""
The registry client: the project's sources and groups listed once and matched by exact name,
registration settled by name after a lost answer (through the loopback simulator's faults),
membership sent whole, secrets filled only at send time; answers judged as documented.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from loader.errors import ConfigError
from loader.model.choices import TypeConfigFormat
from loader.model.sources import (
    CreateVideoGroup,
    CreateVideoSource,
    UpdateVideoGroup,
    UpdateVideoSource,
    UrlStream,
)
from loader.send.answers import Scope, Verdict
from loader.send.auth import StaticToken
from loader.send.client import ViasClient
from loader.send.pacing import RateLimiter
from loader.send.registry import SourceRegistry, format_refusal, resolve
from loader.sim import SimConfig, running_simulator
from loader.sim.registry import SimGroup, SimSource
from loader.sim.server import RunningSim
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio
ENV = {"CAM_PW": "p@ss:w&rd"}


def camera(name: str, address: str = "rtsp://10.0.0.1/ch1", **changes: Any) -> CreateVideoSource:
    """A url source's create."""
    return CreateVideoSource(name, UrlStream(address), **changes)


@asynccontextmanager
async def registry_of(
    config: SimConfig | None = None,
) -> AsyncIterator[tuple[SourceRegistry, RunningSim]]:
    """A registry against a loopback simulator."""
    with running_simulator(config or SimConfig()) as sim:
        async with httpx.AsyncClient(base_url=sim.url) as http:
            client = ViasClient(
                http,
                project_id="sim-project",
                auth=StaticToken("sim-token"),
                limiter=RateLimiter(1000.0, FakeClock()),
            )
            yield SourceRegistry(client, ENV), sim


def seed(sim: RunningSim, sources: int, group_of: Callable[[int], str] = lambda n: "") -> None:
    """Put ``sources`` registered sources (and their groups) straight into the simulator."""
    registry = sim.state.registry
    for n in range(sources):
        source = SimSource(f"src-{n:05d}", f"Cam {n}", "cloud", "url", "<type>URL</type>", 1.0)
        registry.sources[source.id] = source
        group = group_of(n)
        if group:
            registry.groups.setdefault(group, SimGroup(group, group, "cloud", 1.0, 1.0))
            registry.groups[group].members.append(source.id)


def calls(sim: RunningSim, since: int = 0) -> list[tuple[str, str]]:
    """(method, path under the project) of each request since ``since``."""
    return [(r.method, r.path.split("sim-project", 1)[1]) for r in sim.state.requests[since:]]


async def test_the_whole_project_is_listed_once_and_matched_by_exact_name() -> None:
    """450 sources: three pages of 200; any number of names found with no further request."""
    async with registry_of() as (registry, sim):
        seed(sim, 450, lambda n: "grp-odd" if n % 2 else "")

        index = await registry.sources()

        assert calls(sim) == [("GET", "/source/sources")] * 3
        assert (len(index.by_name), index.total, index.quota) == (450, 450, 5000)
        assert index.by_name["Cam 7"].id == "src-00007"
        assert "Cam" not in index.by_name
        assert index.members("grp-odd")[:2] == ["src-00449", "src-00447"]  # newest first
        assert (index.headroom(4550), index.headroom(4551)) == (0, -1)


async def test_groups_are_indexed_by_name_and_shared_names_kept_apart() -> None:
    """Two groups of one name (undocumented as unique): both ids, never one guessed."""
    async with registry_of() as (registry, _):
        first = await registry.create_group(CreateVideoGroup("Lobby"))
        second = await registry.create_group(CreateVideoGroup("Lobby"))
        await registry.create_group(CreateVideoGroup("Hall"))

        index = await registry.groups()
        again = await registry.register_group(CreateVideoGroup("Lobby"), known=index)

        shared = {name: sorted(ids) for name, ids in index.shared().items()}
        assert shared == {"Lobby": sorted([first.created_id, second.created_id])}
        assert (again.done, sorted(again.shared)) == (
            False,
            sorted([first.created_id, second.created_id]),
        )
        assert again.outcome.message.startswith("video group name 'Lobby' is shared by groups")


async def test_a_source_is_created_once_with_its_secret_filled_only_when_sent() -> None:
    """The body keeps ${CAM_PW}; the request carries it percent-encoded and XML-escaped."""
    async with registry_of() as (registry, sim):
        create = camera("Gate A", "rtsp://admin:${CAM_PW}@10.0.0.1/ch1?a=1&b=2")

        done = await registry.register_source(create)

        [stored] = sim.state.registry.sources.values()
        assert (done.done, done.created, done.id) == (True, True, stored.id)
        assert b"${CAM_PW}" in create.content()
        assert "p%40ss%3Aw%26amp%3Brd" not in stored.type_config
        assert "admin:p%40ss%3Aw%26rd@10.0.0.1/ch1?a=1&amp;b=2" in stored.type_config
        assert set(registry.secrets) == {"p@ss:w&rd", "p%40ss%3Aw%26rd"}


@pytest.mark.parametrize(
    ("fault", "made", "requests"),
    [
        ("5xx-after", True, ["POST /source", "GET /source/sources"]),
        ("commit-reset", True, ["POST /source", "GET /source/sources"]),
        ("5xx-before", False, ["POST /source", "GET /source/sources"]),
    ],
    ids=["5xx-after", "commit-reset", "5xx-before"],
)
async def test_a_lost_source_create_is_settled_by_its_unique_name(
    fault: str, made: bool, requests: list[str]
) -> None:
    """Created but not answered: found by name. Not created: absent, and safe to resend."""
    async with registry_of(SimConfig(registration_fault_sequence=[fault])) as (registry, sim):
        first = await registry.register_source(camera("Gate A"))
        again = await registry.register_source(camera("Gate A"))

        assert [f"{m} {p}" for m, p in calls(sim)[:2]] == requests
        assert (first.done, first.created) == (made, made)
        assert first.outcome.verdict == Verdict.AMBIGUOUS
        assert len(sim.state.registry.sources) == 1
        assert (again.id, again.created) == (
            next(iter(sim.state.registry.sources)),
            not made,
        )
        assert again.outcome.verdict == (Verdict.EXISTS if made else Verdict.ACCEPTED)


async def test_a_name_someone_registered_is_found_not_duplicated() -> None:
    """VIAS.00010010: the existing source's id, created False, one lookup."""
    async with registry_of() as (registry, sim):
        seed(sim, 1)

        found = await registry.register_source(camera("Cam 0"))

        assert (found.id, found.created, found.outcome.verdict) == (
            "src-00000",
            False,
            Verdict.EXISTS,
        )
        assert calls(sim) == [("POST", "/source"), ("GET", "/source/sources")]


@pytest.mark.parametrize(
    ("fault", "made"),
    [("5xx-after", True), ("commit-reset", True), ("5xx-before", False)],
    ids=["5xx-after", "commit-reset", "5xx-before"],
)
async def test_a_group_is_looked_up_before_its_create_and_after_a_lost_answer(
    fault: str, made: bool
) -> None:
    """Look, create, look again when the answer is lost; a second register finds it."""
    async with registry_of(SimConfig(registration_fault_sequence=[fault])) as (registry, sim):
        first = await registry.register_group(CreateVideoGroup("Lobby"))
        second = await registry.register_group(CreateVideoGroup("Lobby"))

        kinds = [f"{m} {p}" for m, p in calls(sim)]
        assert kinds[:3] == [
            "GET /video-group/groups",
            "POST /video-group",
            "GET /video-group/groups",
        ]
        assert first.done is made
        assert second.done is True
        assert second.created is not made
        assert len(sim.state.registry.groups) == 1


async def test_a_known_index_stands_for_the_look_before_a_create() -> None:
    """With the run's group index, a missing group costs one request: its create."""
    async with registry_of() as (registry, sim):
        index = await registry.groups()
        before = len(sim.state.requests)

        done = await registry.register_group(CreateVideoGroup("Lobby"), known=index)

        assert done.created is True
        assert calls(sim, before) == [("POST", "/video-group")]


async def test_update_group_sends_the_whole_membership() -> None:
    """An existing source joins: the group's members plus it, read from ListVideoSources."""
    async with registry_of() as (registry, sim):
        seed(sim, 3, lambda n: "grp-1" if n < 2 else "")

        members = await registry.members("grp-1")
        outcome = await registry.update_group("grp-1", UpdateVideoGroup((*members, "src-00002")))

        assert members == ["src-00001", "src-00000"]  # newest first, then by id
        assert outcome.verdict == Verdict.ACCEPTED
        assert sim.state.registry.groups["grp-1"].members == [*members, "src-00002"]


async def test_update_and_delete_source() -> None:
    """A changed address is updated in place; a delete empties the project."""
    async with registry_of() as (registry, sim):
        done = await registry.register_source(camera("Gate A"))

        updated = await registry.update_source(
            done.id, UpdateVideoSource("Gate A", UrlStream("rtsp://10.0.0.2/ch1"))
        )
        found = await registry.find_source("Gate A")
        deleted = await registry.delete_source(done.id)

        assert (updated.verdict, deleted.verdict) == (Verdict.ACCEPTED, Verdict.ACCEPTED)
        assert found is not None
        assert found.stream_path == "rtsp://10.0.0.2/ch1"
        assert sim.state.registry.sources == {}


def test_an_unset_secret_stops_before_sending_naming_the_variable_only() -> None:
    """resolve: ${NOPE} unset is a ConfigError; no value in the message."""
    content = camera("Gate A", "rtsp://u:${NOPE}@h/1").content()

    with pytest.raises(ConfigError, match=r"\$\{NOPE\}, which is not set"):
        resolve(content, ENV)
    assert resolve(camera("Gate B").content(), ENV) == (camera("Gate B").content(), [])


def _mock(answer: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: answer


def _vias(status: int, code: str) -> httpx.Response:
    body = {
        "error_code": code,
        "error_msg": "m",
        "detail": "",
        "params": [],
        "reason": "",
        "advice": "",
    }
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("answer", "verdict", "scope", "created"),
    [
        (
            httpx.Response(200, json={"video_source_id": "s-1"}),
            Verdict.ACCEPTED,
            Scope.BATCH,
            "s-1",
        ),
        (httpx.Response(200, json={}), Verdict.AMBIGUOUS, Scope.BATCH, ""),
        (httpx.Response(200, content=b"oops"), Verdict.AMBIGUOUS, Scope.BATCH, ""),
        (_vias(400, "VIAS.00010010"), Verdict.EXISTS, Scope.BATCH, ""),
        (_vias(400, "VIAS.0010047"), Verdict.FATAL, Scope.RUN, ""),
        (_vias(400, "VIAS.00010002"), Verdict.REJECTED, Scope.BATCH, ""),
        (_vias(500, "VIAS.00010006"), Verdict.AMBIGUOUS, Scope.BATCH, ""),
    ],
    ids=["created", "no-id", "not-json", "name-taken", "quota", "missing-group", "internal"],
)
async def test_create_source_answers_are_judged_as_documented(
    answer: httpx.Response, verdict: Verdict, scope: Scope, created: str
) -> None:
    """classify_registration over a MockTransport: the id, exists, quota stops the run."""
    async with httpx.AsyncClient(
        base_url="http://vias.test", transport=httpx.MockTransport(_mock(answer))
    ) as http:
        client = ViasClient(
            http, project_id="p", auth=StaticToken("t"), limiter=RateLimiter(1000.0, FakeClock())
        )
        outcome = await SourceRegistry(client, {}).create_source(camera("Gate A"))

    assert (outcome.verdict, outcome.scope, outcome.created_id) == (verdict, scope, created)


async def test_find_source_asks_loosely_and_matches_exactly() -> None:
    """scope=<name>&scope_name=source_name; 'Gate A' is not 'Gate A2'."""
    seen: list[httpx.URL] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        items = [
            {"video_source_id": "s-2", "video_source_name": "Gate A2"},
            {"video_source_id": "s-1", "video_source_name": "Gate A"},
        ]
        return httpx.Response(200, json={"total_number": 2, "video_source_list": items})

    async with httpx.AsyncClient(
        base_url="http://vias.test", transport=httpx.MockTransport(api)
    ) as http:
        client = ViasClient(
            http, project_id="p", auth=StaticToken("t"), limiter=RateLimiter(1000.0, FakeClock())
        )
        found = await SourceRegistry(client, {}).find_source("Gate A")

    assert found is not None
    assert found.id == "s-1"
    assert dict(seen[0].params) == {
        "scope": "Gate A",
        "scope_name": "source_name",
        "is_paged": "true",
        "page_size": "200",
        "page_num": "1",
    }
    assert len(seen) == 1


async def test_a_first_create_refused_for_its_xml_names_the_other_format() -> None:
    """A server taking only the newest pages' XML refuses the SDK's: the message says zh."""
    async with registry_of(SimConfig(type_config_formats=frozenset({"zh"}))) as (registry, _):
        outcome = await registry.create_source(camera("Gate A"))

    message = format_refusal(outcome, TypeConfigFormat.SDK)

    assert message.startswith("the first video source was refused (400 VIAS.00010001")
    assert message.endswith('in the sdk format: try type_config_format = "zh"')
    assert format_refusal(outcome, TypeConfigFormat.ZH).endswith('= "sdk"')
