"""The page and a sheet that names its cameras (issue 23, point 6): the Plan page says how
they are found and registered, with the plan's counts when it has them, and Send asks
once before registering anything, in the sheet's words."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from loader.check.load import load
from loader.planning.registration import plan_registration
from loader.run.options import RunOptions
from loader.run.runner import Wiring
from loader.send.registry import GroupIndex, ListedSource, SourceIndex
from loader.sim import SimConfig
from loader.sim.app import create_app as create_sim
from loader.web.app import create_app
from loader.web.options import ServeOptions
from loader.web.render import environment
from loader.web.views import plan_view
from tests.conftest import SAMPLES, FakeClock
from tests.web.test_web import ORIGIN, Page, sim_environment

pytestmark = pytest.mark.anyio
STREAMS = SAMPLES / "stream_list.csv"


@pytest.fixture
def web(tmp_path: Path) -> Callable[..., Any]:
    """Open the app on a client: ``async with web(**ServeOptions fields, wiring=...)``."""

    @asynccontextmanager
    async def open_page(wiring: Wiring | None = None, **fields: Any) -> AsyncIterator[Page]:
        options = ServeOptions(runs_dir=tmp_path / "runs", **fields)
        transport = httpx.ASGITransport(app=create_app(options, wiring))
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            yield Page(client, options.runs_dir)

    return open_page


def _text(html: str, element: str) -> str:
    """The text of the element with this id, tags and line breaks dropped."""
    found = re.search(rf'id="{element}">(.*?)</(?:p|dd)>', html, re.S)
    assert found is not None, element
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()


async def test_the_plan_page_says_how_named_cameras_are_found(web: Any) -> None:
    """No project listed yet: the column that names the cameras, the one that gives their
    addresses, and that a run finds and registers them before their tasks."""
    async with web() as page:
        sheet = await page.sheet(STREAMS)
        shown = (await page.client.get(f"{sheet}/plan")).text

    assert _text(shown, "registration-line") == (
        "The sheet names its 8 cameras in “Camera”, without video source ids: a run finds"
        " each in the project by that name and registers those it lacks from “Stream URL”"
        " (8 of the 8 give one), in the 1 group the sheet names, before their tasks."
    )


async def test_send_asks_before_registering(web: Any) -> None:
    """Send says what the project lacks (found through the page's own wiring) and answers
    a page that asks, and nothing starts; a stale token asks again; the token of that very
    page starts the run."""
    transport = httpx.ASGITransport(app=create_sim(SimConfig()))
    wiring = Wiring(clock=FakeClock(), transport=transport)
    async with web(wiring=wiring, environment=sim_environment()) as page:
        sheet = await page.sheet(STREAMS)
        send_page = (await page.client.get(f"{sheet}/send")).text
        asked = await page.post(f"{sheet}/send")
        runs_after_asking = sorted(p.name for p in page.runs.iterdir())
        token = re.search(r'name="registering" value="(\w+)"', asked.text)
        assert token is not None
        stale = await page.post(f"{sheet}/send", {"registering": "0" * 16})
        confirmed = await page.post(f"{sheet}/send", {"registering": token[1]})
        await page.client.get(f"{confirmed.headers['location']}/events")

    assert _text(send_page, "send-registration") == (
        "+ 8 video sources, + 1 group, ~ 0 cameras joining groups in project sim-project:"
        " the next page asks before anything is registered."
    )
    assert (asked.status_code, _text(asked.text, "confirm-registration")) == (
        200,
        "This run would register 8 video sources and 1 group in project sim-project before"
        " any task. Nothing has been sent yet.",
    )
    assert "project <b>sim-project</b>" in asked.text
    assert runs_after_asking == ["ledger.sqlite", "uploads"]  # no run directory
    assert (stale.status_code, "take away or register changed" in stale.text) == (200, True)
    assert confirmed.status_code == 303


def test_the_plan_counts_show_on_the_page_when_planned() -> None:
    """With the project listed (two of the eight cameras in it), the page shows + 6 video
    sources, + 1 group, ~ 2 cameras joining groups, and its confirmation token."""
    loaded = load(STREAMS)
    assert loaded.checked.registration is not None
    listed = [ListedSource("src-1", "Demo Street 1"), ListedSource("src-2", "Demo Street 2")]
    registration = plan_registration(
        loaded.checked.registration,
        SourceIndex({s.name: s for s in listed}, 2, 5000),
        GroupIndex({}, None),
        project="p-7",
    )

    view = plan_view(loaded, RunOptions.of(), registration)
    html = environment().get_template("_registration.html").render(view=view)

    counts = dict(re.findall(r'<dd id="register-(\w+)">(\d+)</dd>', html))
    assert counts == {"sources": "6", "groups": "1", "joining": "2"}
    assert _text(html, "registration-line") == (
        "The sheet names its 8 cameras in “Camera”, without video source ids: 2 are in"
        " project p-7 already. Before their tasks, a run registers:"
    )
    assert len(view["registration"]["token"]) == 16


def test_a_sheet_with_ids_has_no_registration_to_confirm() -> None:
    """The bulkload workbook carries ids: no registration shown, nothing more to confirm."""
    view = plan_view(load(SAMPLES / "site_rollout.xlsx"), RunOptions.of())

    assert view["registration"] is None


def test_address_column_names_a_vcn_cameras_address(tmp_path: Path) -> None:
    """A sheet of VCN cameras gives their addresses in its VCN address column: the page
    names that column, as it names a stream URL column for RTSP cameras."""
    from loader.check.mapping import load_mapping
    from loader.web.registering import ADDRESS_FIELDS, column_words

    toml = tmp_path / "vcn.toml"
    toml.write_text(
        'name = "vcn"\n[cameras.columns]\ncamera_name = { column = "Camera", required = true }\n'
        'vcn_ip = "VCN address"\nvcn_port = "Port"\ngroup_name = "Site"\n'
        '[task]\nservice_name = "c-smoke-and-fire-cloud"\nservice_version = "3.0"\n'
        "event_center = true\n",
        encoding="utf-8",
    )

    assert column_words(load_mapping(toml), ADDRESS_FIELDS) == "VCN address"
