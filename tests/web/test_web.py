"""The web page's handlers (httpx.ASGITransport): token, CSRF, uploads, escaping, downloads,
the problem table and its CSV, and whole runs against the simulator in process."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import zipfile
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import openpyxl
import pytest
from typer.testing import CliRunner

from loader.check.mapping import find_mapping
from loader.cli import app as cli_app
from loader.errors import ConfigError
from loader.model.problems import Problem, Severity
from loader.report.changes import format_diff
from loader.report.files import write_problems_csv
from loader.run.options import RunOptions
from loader.run.runner import Wiring, resume_run, start_run
from loader.run.sheet import load_sheet
from loader.send.credentials import Credentials
from loader.sim import SimConfig
from loader.sim.app import create_app as create_sim
from loader.state import events as ev
from loader.state.runstate import RunState
from loader.web import security
from loader.web.app import create_app
from loader.web.feed import Live, RunFeed, words
from loader.web.options import ServeOptions, serve_options
from loader.web.outcomes import RunFacts, headline, status_counts
from loader.web.problems import ProblemQuery, in_words, select
from loader.web.security import Refused, safe_name, session_value
from loader.web.sheets import history
from loader.web.words import roi_words, spoken_fields
from tests.conftest import SAMPLES, FakeClock, XlsxWriter, write_inventory
from tests.run.test_run import settings_for

pytestmark = pytest.mark.anyio
ORIGIN = "http://127.0.0.1:8770"
UI_TOKEN = "ui-token-0123456789abcdef"
SECRETS = {
    "BULKLOAD_AUTH_TOKEN": "tok-SECRET-4f7a9c1e",
    "BULKLOAD_AK": "AKSECRET7Q2KXYZW",
    "BULKLOAD_SK": "sk-SECRET-b81d55aa",
    "BULKLOAD_IAM_PASSWORD": "pw-SECRET-93e2",
}
ROW_OF = re.compile(r'<tr class="(?:error|warning|info)" data-row="(\d*)">')
# The rows with a problem in the legacy export, in row order.
LEGACY_PROBLEM_ROWS = ["1", "66", "97", *(str(row) for row in range(128, 139))]
# The Check page's default order: errors by row, then warnings, then notes (info).
LEGACY_BY_SEVERITY = [
    *("128", "129", "130", "131", "132", "134", "135"),
    "133",
    *("1", "66", "97", "136", "137", "138"),
]


def sim_environment(token: str = "sim-token") -> dict[str, str]:
    """The server's environment for runs against the in-process simulator."""
    return {
        "BULKLOAD_ENDPOINT": "http://sim.test",
        "BULKLOAD_PROJECT_ID": "sim-project",
        "BULKLOAD_AUTH_TOKEN": token,
    }


class Page:
    """A browser on the page: its cookies, and the CSRF token and Origin its forms send."""

    def __init__(self, client: httpx.AsyncClient, runs: Path) -> None:
        self.client, self.runs = client, runs

    async def csrf(self) -> str:
        found = re.search(r'name="csrf-token" content="([^"]+)"', (await self.client.get("/")).text)
        assert found is not None
        return found.group(1)

    async def post(
        self, url: str, form: dict[str, str] | None = None, **headers: str
    ) -> httpx.Response:
        data = {"csrf": await self.csrf(), **(form or {})}
        return await self.client.post(url, data=data, headers={"origin": ORIGIN, **headers})

    async def upload(self, path: Path, name: str | None = None) -> httpx.Response:
        headers = {
            "x-file-name": name or path.name,
            "x-csrf-token": await self.csrf(),
            "origin": ORIGIN,
        }
        content = await anyio.Path(path).read_bytes()
        return await self.client.post("/upload", content=content, headers=headers)

    async def sheet(self, path: Path) -> str:
        """Upload a sheet; its page's URL."""
        answer = await self.upload(path)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["location"])

    async def send(self, location: str, **form: str) -> str:
        """Send a loaded sheet, wait for the run's feed to end; the run's URL."""
        answer = await self.post(f"{location}/send", form)
        assert answer.status_code == 303, answer.text
        run = answer.headers["location"]
        await self.client.get(f"{run}/events")  # the stream ends with the run's thread
        return run


@pytest.fixture
def web(tmp_path: Path) -> Callable[..., AsyncIterator[Page]]:
    """Open the app on a client: ``async with web(**ServeOptions fields, wiring=...)``."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def open_page(wiring: Wiring | None = None, **fields: Any) -> AsyncIterator[Page]:
        fields.setdefault("runs_dir", tmp_path / "runs")
        options = ServeOptions(**fields)
        transport = httpx.ASGITransport(app=create_app(options, wiring))
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            yield Page(client, options.runs_dir)

    return open_page  # type: ignore[return-value]


def files_under(folder: Path) -> list[str]:
    """Every file under a folder, relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def flat_export(path: Path, cameras: int, analytics: dict[int, str] | None = None) -> Path:
    """A CSV the bundled vms-flat mapping reads: one camera per group, all valid, camera n
    on Excel row n + 2 (``analytics``: another algorithm for some cameras)."""
    other = analytics or {}
    lines = ["Device UUID,Camera Name,Channel Group ID,Analytics,Detect Days,Detect Hours"]
    lines += [
        f"cam-{n:05d},gate {n},grp-{n:05d},{other.get(n, 'Helmet')},Mon-Fri,08:00-18:00"
        for n in range(cameras)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sim_wiring(config: SimConfig | None = None) -> Wiring:
    """Runs of the page go to an in-process simulator on a fake clock: no waiting."""
    transport = httpx.ASGITransport(app=create_sim(config or SimConfig()))
    return Wiring(clock=FakeClock(), transport=transport)


# --- options and the command ------------------------------------------------------------


def test_a_public_host_needs_a_token() -> None:
    """--host 0.0.0.0 without BULKLOAD_UI_TOKEN: a ConfigError (exit 2), nothing listens."""
    with pytest.raises(ConfigError) as caught:
        serve_options(
            host="0.0.0.0", port=8770, runs_dir=Path("runs"), max_upload_mb=64, environment={}
        )

    assert (caught.value.message, caught.value.exit_code) == (
        "--host 0.0.0.0 lets other machines reach the page: set BULKLOAD_UI_TOKEN first",
        2,
    )


def test_the_command_refuses_a_public_host_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """bulkload serve --host 0.0.0.0 exits 2 with the message and how to fix it."""
    monkeypatch.delenv("BULKLOAD_UI_TOKEN", raising=False)

    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0"])

    said = " ".join(result.stderr.split())
    assert result.exit_code == 2
    assert said.startswith(
        "error: --host 0.0.0.0 lets other machines reach the page: set BULKLOAD_UI_TOKEN first"
        " how to fix: export BULKLOAD_UI_TOKEN="
    )


@pytest.mark.parametrize(
    ("host", "token", "url"),
    [
        ("127.0.0.1", None, "http://127.0.0.1:8770/"),
        ("::1", UI_TOKEN, f"http://[::1]:8770/?token={UI_TOKEN}"),
        ("10.1.2.3", UI_TOKEN, f"http://10.1.2.3:8770/?token={UI_TOKEN}"),
    ],
    ids=["loopback", "ipv6-token", "lan-token"],
)
def test_the_printed_url(host: str, token: str | None, url: str) -> None:
    """The URL to open carries the token when one is set."""
    env = {"BULKLOAD_UI_TOKEN": token} if token else {}
    options = serve_options(
        host=host, port=8770, runs_dir=Path("r"), max_upload_mb=1, environment=env
    )

    assert options.url(8770) == url


def test_a_short_token_is_refused() -> None:
    """A token under 16 characters is guessable: refused before anything listens."""
    with pytest.raises(ConfigError) as caught:
        serve_options(
            host="0.0.0.0",
            port=1,
            runs_dir=Path("r"),
            max_upload_mb=1,
            environment={"BULKLOAD_UI_TOKEN": "short"},
        )

    assert caught.value.message == "BULKLOAD_UI_TOKEN is 5 characters; it needs at least 16"


# --- the token --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/runs"),
        ("GET", "/static/app.js"),
        ("POST", "/upload"),
        ("GET", "/sheets/0123456789abcdef/check"),
        ("GET", "/?token=wrong-token-0123456789"),
    ],
    ids=["load", "runs", "static", "upload", "check", "wrong-token"],
)
async def test_without_the_token_nothing_but_401(web: Any, method: str, path: str) -> None:
    """A server with a token answers any request without it 401 "unauthorized", nothing more."""
    async with web(token=UI_TOKEN, host="0.0.0.0") as page:
        answer = await page.client.request(method, path, headers={"host": "192.0.2.7:8770"})

    assert (answer.status_code, answer.text, answer.headers.get("set-cookie")) == (
        401,
        "unauthorized",
        None,
    )


async def test_the_token_once_then_the_cookie(web: Any) -> None:
    """?token= answers a redirect that drops it from the URL and sets an HttpOnly, SameSite
    cookie derived from it; that cookie opens every page, the raw token as a cookie does not."""
    async with web(token=UI_TOKEN) as page:
        first = await page.client.get(f"/runs?token={UI_TOKEN}")
        cookie = first.headers["set-cookie"]
        later = await page.client.get("/")
        page.client.cookies.set("bulkload_session", UI_TOKEN)
        forged = await page.client.get("/")

    assert (first.status_code, first.headers["location"]) == (303, "/runs")
    assert cookie == (
        f"bulkload_session={session_value(UI_TOKEN)}; HttpOnly; Path=/; SameSite=strict"
    )
    assert (later.status_code, forged.status_code) == (200, 401)


async def test_the_token_redirect_never_leaves_the_site(web: Any) -> None:
    """``//evil.example?token=`` redirects to a path of this site, not to another host."""
    async with web(token=UI_TOKEN) as page:
        answer = await page.client.get(f"{ORIGIN}//evil.example?token={UI_TOKEN}&a=1")

    assert (answer.status_code, answer.headers["location"]) == (303, "/evil.example?a=1")


@pytest.mark.slow
def test_bulkload_serve_prints_the_url_and_guards_it(tmp_path: Path) -> None:
    """The command: a URL with the token on stderr; it opens the page, nothing else does;
    Ctrl-C ends it (130, as Ctrl-C ends any program; no traceback)."""
    env = {**os.environ, "BULKLOAD_UI_TOKEN": UI_TOKEN}
    command = [sys.executable, "-m", "loader", "serve", "--port", "0", "--runs", str(tmp_path)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        url = re.search(r"open (http://127\.0\.0\.1:\d+/\?token=\S+)", line)
        assert url is not None, line
        base = url.group(1).split("?")[0]
        with httpx.Client(follow_redirects=True, timeout=10) as browser:
            opened = browser.get(url.group(1))
        stranger = httpx.get(base, timeout=10)
    finally:
        server.send_signal(signal.SIGINT)
        code = server.wait(20)
        said = server.stderr.read() if server.stderr else ""
        if server.stderr:
            server.stderr.close()

    assert (opened.status_code, str(opened.url), stranger.status_code, stranger.text) == (
        200,
        base,
        401,
        "unauthorized",
    )
    assert "Load a camera inventory" in opened.text
    assert code == 130
    assert "Traceback" not in said


async def test_the_token_is_compared_in_constant_time(
    web: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every comparison of the token goes through hmac.compare_digest."""
    seen: list[tuple[bytes, bytes]] = []

    def spy(given: bytes, expected: bytes) -> bool:
        seen.append((given, expected))
        return given == expected

    monkeypatch.setattr(security, "compare_digest", spy)
    async with web(token=UI_TOKEN) as page:
        await page.client.get("/?token=not-the-token-at-all")

    assert (b"not-the-token-at-all", UI_TOKEN.encode()) in seen


async def test_a_foreign_host_name_gets_403_on_loopback(web: Any) -> None:
    """A site whose name resolves to 127.0.0.1 (DNS rebinding) cannot use the page."""
    async with web() as page:
        answer = await page.client.get("/", headers={"host": "evil.example:8770"})

    assert (answer.status_code, answer.text) == (403, "forbidden")


async def test_pages_carry_security_headers(web: Any) -> None:
    """No inline script, no framing, no sniffing, no caching."""
    async with web() as page:
        answer = await page.client.get("/")

    assert answer.headers["content-security-policy"].startswith(
        "default-src 'self'; script-src 'self';"
    )
    assert (answer.headers["x-frame-options"], answer.headers["cache-control"]) == (
        "DENY",
        "no-store",
    )
    assert "<script>" not in answer.text
    assert 'src="/static/app.js"' in answer.text


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("csrf", "headers", "reason"),
    [
        (
            False,
            {"origin": ORIGIN},
            "the form is stale or from elsewhere: reload the page and try again",
        ),
        (True, {"origin": "http://evil.example"}, "this request comes from another site"),
        (True, {"origin": "null"}, "this request comes from another site"),
        (True, {}, "this request does not say it comes from this page"),
        (
            True,
            {"referer": "http://127.0.0.1:8770.evil.example/"},
            "this request does not say it comes from this page",
        ),
    ],
    ids=["no-token", "other-origin", "null-origin", "no-origin", "lookalike-referer"],
)
async def test_a_state_change_without_csrf_or_from_elsewhere_gets_403(
    web: Any, csrf: bool, headers: dict[str, str], reason: str
) -> None:
    """Every POST needs the CSRF token of this browser and this page's Origin (or Referer)."""
    async with web() as page:
        location = await page.sheet(SAMPLES / "legacy_vms_export.xlsx")
        form = {"mapping": "vms-flat", **({"csrf": await page.csrf()} if csrf else {})}
        answer = await page.client.post(f"{location}/mapping", data=form, headers=headers)

    assert (answer.status_code, answer.text) == (403, reason)


async def test_a_form_from_this_page_passes(web: Any) -> None:
    """The same POST with the token and a same-origin Referer: done (303 to the sheet)."""
    async with web() as page:
        location = await page.sheet(SAMPLES / "legacy_vms_export.xlsx")
        form = {"mapping": "vms-flat", "csrf": await page.csrf()}
        answer = await page.client.post(
            f"{location}/mapping", data=form, headers={"referer": f"{ORIGIN}{location}"}
        )
        shown = (await page.client.get(location)).text

    assert (answer.status_code, answer.headers["location"]) == (303, location)
    assert 'id="mapping-chosen">picked on this page<' in shown


async def test_an_upload_without_the_csrf_header_gets_403(web: Any) -> None:
    """The upload is a state change like any other."""
    async with web() as page:
        answer = await page.client.post(
            "/upload", content=b"a,b\n", headers={"x-file-name": "a.csv", "origin": ORIGIN}
        )

    assert (answer.status_code, answer.json()) == (
        403,
        {"error": "the form is stale or from elsewhere: reload the page and try again", "hint": ""},
    )
    assert not (page.runs / "uploads").exists()


# --- uploads ------------------------------------------------------------------------------


async def test_an_upload_is_stored_under_the_runs_folder(web: Any) -> None:
    """runs/uploads/<16 hex>/<name>, byte for byte; its page names the mapping chosen."""
    sample = SAMPLES / "site_rollout.xlsx"
    async with web() as page:
        answer = await page.upload(sample)
        shown = (await page.client.get(answer.json()["location"])).text

    upload_id = answer.json()["id"]
    stored = page.runs / "uploads" / upload_id / "site_rollout.xlsx"
    assert (answer.status_code, re.fullmatch(r"[0-9a-f]{16}", upload_id) is not None) == (201, True)
    assert stored.read_bytes() == sample.read_bytes()
    assert 'id="mapping">default<' in shown


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_an_upload_over_the_cap_gets_413_and_nothing_is_kept(
    web: Any, declared: bool
) -> None:
    """Past --max-upload-mb: 413 with a clear message, and no file left behind."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 512

    async with web(max_upload_bytes=1024) as page:
        headers = {"x-file-name": "big.csv", "x-csrf-token": await page.csrf(), "origin": ORIGIN}
        body: Any = b"x" * 2048 if declared else chunks()
        answer = await page.client.post("/upload", content=body, headers=headers)

    assert (answer.status_code, answer.json()["error"]) == (
        413,
        "big.csv is larger than the upload limit of 1,024 bytes; nothing was kept",
    )
    assert files_under(page.runs) == []


async def test_the_input_guard_runs_before_any_parser(web: Any, tmp_path: Path) -> None:
    """An xlsx whose XML declares entities: the CLI's message, 400, and nothing kept."""
    crafted = tmp_path / "inventory.xlsx"
    with zipfile.ZipFile(crafted, "w") as package:
        package.writestr("[Content_Types].xml", '<!DOCTYPE t [<!ENTITY a "b">]><Types>&a;</Types>')
    async with web() as page:
        answer = await page.upload(crafted)

    assert (answer.status_code, answer.json()["error"]) == (
        400,
        "inventory.xlsx: [Content_Types].xml declares XML entities or a DTD (DTDForbidden)",
    )
    assert files_under(page.runs) == []


async def test_a_file_that_is_no_sheet_says_why(web: Any, tmp_path: Path) -> None:
    """HTML named .xlsx passes the guard; reading it fails with the CLI's message and fix."""
    fake = tmp_path / "inventory.xlsx"
    fake.write_text("<html><body>not a sheet</body></html>")
    async with web() as page:
        location = await page.sheet(fake)
        shown = (await page.client.get(f"{location}/check")).text

    assert (
        "<b>inventory.xlsx is named like a spreadsheet but is not one (no xlsx/xls signature)</b>"
        "\n<br>how to fix: open it in Excel and save it as .xlsx, or rename it if it is a CSV"
    ) in shown


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("../../etc/passwd.csv", "passwd.csv"),
        ("..\\..\\Windows\\inventory.xlsx", "inventory.xlsx"),
        ("<img src=x onerror=alert(1)>.csv", "_img src_x onerror_alert(1)_.csv"),
        (".hidden.csv", "hidden.csv"),
        ("a\x00b\nc.csv", "a_b_c.csv"),
        ("深圳 总部 (v2).xlsx", "深圳 总部 (v2).xlsx"),
        ("....csv", "upload.csv"),
        ("x" * 300 + ".CSV", "x" * 80 + ".CSV"),
    ],
    ids=["dots", "backslashes", "markup", "hidden", "control", "chinese", "only-dots", "long"],
)
def test_hostile_file_names_are_made_safe(raw: str, stored: str) -> None:
    """Only the last part of any path, no markup or control characters, a sheet suffix."""
    assert safe_name(raw) == stored


@pytest.mark.parametrize("raw", ["report.exe", "sheet.csv.sh", "noextension", ""])
def test_other_kinds_of_file_are_refused(raw: str) -> None:
    """A name without a sheet's suffix is refused (400)."""
    with pytest.raises(Refused) as caught:
        safe_name(raw)

    assert caught.value.status == 400


async def test_an_upload_named_with_a_path_lands_in_its_folder(web: Any, tmp_path: Path) -> None:
    """``../../evil.xlsx`` is stored as runs/uploads/<id>/evil.xlsx and nowhere else."""
    async with web() as page:
        answer = await page.upload(SAMPLES / "legacy_vms_export.xlsx", name="..%2F..%2Fevil.xlsx")

    stored = [
        p.relative_to(tmp_path).as_posix() async for p in anyio.Path(tmp_path).rglob("evil.xlsx")
    ]
    assert stored == [f"runs/uploads/{answer.json()['id']}/evil.xlsx"]


async def test_sheet_text_is_escaped(web: Any, write_xlsx: XlsxWriter) -> None:
    """A cell holding <script>alert(1)</script> shows as text on the Check page."""
    header = [
        "Device UUID",
        "Channel Group ID",
        "Camera Name",
        "Detect Days",
        "Detect Hours",
        "Analytics",
    ]
    sheet = write_xlsx(
        {
            "Camera Export": [
                header,
                [
                    "cam-0001",
                    "grp-1",
                    "<b>lobby</b>",
                    "<script>alert(1)</script>",
                    "08:00-18:00",
                    "Helmet",
                ],
                ["cam-0002", "grp-1", "gate", "Mon-Fri", "08:00-18:00", "Helmet"],
            ]
        },
        name="xss.xlsx",
    )
    async with web() as page:
        location = await page.sheet(sheet)
        check = (await page.client.get(f"{location}/check")).text
        plan = (await page.client.get(f"{location}/plan")).text

    assert '<td class="value">&lt;script&gt;alert(1)&lt;/script&gt;</td>' in check
    assert "&#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39; is not a day of the week" in check
    assert "<script>alert" not in check + plan
    assert "<b>lobby" not in check + plan


# --- the Check page -----------------------------------------------------------------------


async def test_the_check_page_counts_and_lists_every_problem_with_its_excel_row(web: Any) -> None:
    """The CLI's counts and texts; every problem row by its Excel row number."""
    async with web() as page:
        location = await page.sheet(SAMPLES / "legacy_vms_export.xlsx")
        shown = (await page.client.get(f"{location}/check")).text

    counts = dict(re.findall(r'<dd id="count-(\w+)">([\d,]+)</dd>', shown))
    assert counts == {
        "total": "128",
        "valid": "120",
        "rejected": "7",
        "duplicate": "1",
        "skipped": "6",
        "error": "7",
        "warning": "1",
        "info": "6",
    }
    assert ROW_OF.findall(shown) == LEGACY_BY_SEVERITY
    assert "&#39;Funday&#39; is not a day of the week" in shown
    assert (
        "write days as Mon-Fri, Mon,Wed,Fri, 1-5, 周一至周五, weekdays, weekends or daily" in shown
    )


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        ("severity=error", ["128", "129", "130", "131", "132", "134", "135"]),
        ("severity=error&sort=row&order=desc", ["135", "134", "132", "131", "130", "129", "128"]),
        ("row=129-131", ["129", "130", "131"]),
        ("row=133", ["133"]),
        ("column=Device+UUID", ["128", "134", "133"]),
        ("column=Device+UUID&sort=row", ["128", "133", "134"]),
        ("sort=row", LEGACY_PROBLEM_ROWS),
        ("sheet=Camera+Export&q=footer", ["137", "138"]),
        ("sort=severity&size=50", LEGACY_BY_SEVERITY),
        ("sort=value&severity=error", ["128", "135", "131", "130", "134", "132", "129"]),
        ("q=device+uuid+is+empty", ["128"]),
        (
            "severity=bogus&sort=nothing&page=-3&size=7",
            LEGACY_BY_SEVERITY,
        ),
    ],
    ids=[
        "severity",
        "row-desc",
        "row-range",
        "one-row",
        "column",
        "column-by-row",
        "by-row",
        "sheet-text",
        "by-severity",
        "by-value",
        "text-in-sheet-words",
        "bad-values",
    ],
)
async def test_the_problem_table_filters_and_sorts(web: Any, query: str, rows: list[str]) -> None:
    """Filters by severity, sheet, row (or rows), column and text; sorts by any column."""
    async with web() as page:
        location = await page.sheet(SAMPLES / "legacy_vms_export.xlsx")
        shown = (await page.client.get(f"{location}/check?{query}")).text

    assert ROW_OF.findall(shown) == rows


def test_a_long_problem_list_is_cut_into_pages() -> None:
    """10,000 problems, 100 a page: page 3 starts at 201; past the end shows the last page."""
    problems = [
        Problem(Severity.ERROR, "bad", f"problem {n}", sheet="S", row=n + 2) for n in range(10_000)
    ]

    third = select(problems, ProblemQuery.from_params({"page": "3"}))
    beyond = select(problems, ProblemQuery.from_params({"page": "999", "size": "500"}))

    assert (third.first, third.page, third.pages, len(third.rows), third.rows[0].row) == (
        201,
        3,
        100,
        100,
        202,
    )
    assert (beyond.page, beyond.first, len(beyond.rows), beyond.rows[-1].row) == (
        20,
        9501,
        500,
        10_001,
    )


def test_links_keep_the_query() -> None:
    """Column headers flip the order of the current sort, keeping the filters."""
    query = ProblemQuery.from_params({"severity": "error", "sort": "row", "page": "2"})

    assert (query.sorted_by("row"), query.sorted_by("column"), query.params(page=3)) == (
        "severity=error&sort=row&order=desc",
        "severity=error&sort=column",
        "severity=error&sort=row&page=3",
    )
    assert ProblemQuery.from_params({}).sorted_by("severity") == "order=desc"


async def test_the_problems_csv_is_what_report_writes(web: Any, tmp_path: Path) -> None:
    """Same columns, same bytes as ``bulkload validate --report`` (UTF-8 with BOM)."""
    sample = SAMPLES / "legacy_vms_export.xlsx"
    report = tmp_path / "report.csv"
    loaded = load_sheet(sample, RunOptions())
    async with web() as page:
        location = await page.sheet(sample)
        answer = await page.client.get(f"{location}/problems.csv")

    write_problems_csv(report, loaded.checked.problems)
    assert answer.content == report.read_bytes()
    assert answer.headers["content-disposition"] == (
        'attachment; filename="legacy_vms_export-problems.csv";'
        " filename*=UTF-8''legacy_vms_export-problems.csv"
    )
    assert answer.content.decode("utf-8-sig").splitlines()[0] == (
        "severity,code,file,sheet,row,column,value,message,fix"
    )


async def test_no_bundled_mapping_fits_then_one_is_picked(web: Any, tmp_path: Path) -> None:
    """A sheet no mapping fits says so (the CLI's text) and offers the bundled mappings."""
    odd = tmp_path / "odd.csv"
    odd.write_text("Foo,Bar\n1,2\n", encoding="utf-8")
    async with web() as page:
        answer = await page.upload(odd)
        shown = (await page.client.get(answer.json()["location"])).text

    assert answer.status_code == 201
    assert "<b>no bundled mapping fits odd.csv (sheets: odd)</b>" in shown
    assert '<option value="vms-flat">vms-flat</option>' in shown


async def test_a_lookup_file_beside_the_sheet_is_added_on_its_page(web: Any) -> None:
    """nvr_export.csv reads nvr_id_map.csv beside it: missing, the page says so (no server
    path); added beside it, the sheet is read again with it. The sheet itself dropped
    there is its new version: a new upload that keeps the id map beside it."""
    async with web() as page:
        location = await page.sheet(SAMPLES / "nvr_export.csv")
        missing = (await page.client.get(location)).text
        headers = {
            "x-file-name": "nvr_id_map.csv",
            "x-csrf-token": await page.csrf(),
            "origin": ORIGIN,
        }
        content = await anyio.Path(SAMPLES / "nvr_id_map.csv").read_bytes()
        added = await page.client.post(f"{location}/files", content=content, headers=headers)
        sheet = await anyio.Path(SAMPLES / "nvr_export.csv").read_bytes()
        again = await page.client.post(
            f"{location}/files", content=sheet, headers={**headers, "x-file-name": "nvr_export.csv"}
        )
        shown = (await page.client.get(location)).text
        version = (await page.client.get(again.json()["location"])).text

    assert "<b>nvr_id_map.csv does not exist or is not a file</b>" in missing
    assert (added.status_code, added.json()["location"]) == (201, location)
    assert again.status_code == 201
    assert again.json()["location"] != location
    assert 'id="mapping">nvr-csv<' in shown
    assert "<li>nvr_id_map.csv</li>" in shown
    assert 'id="mapping">nvr-csv<' in version
    assert "<li>nvr_id_map.csv</li>" in version


# --- runs ---------------------------------------------------------------------------------


async def test_send_runs_the_cli_run_and_shows_its_results(web: Any) -> None:
    """Send: the CLI's run (run directory, journal, results.xlsx), live feed to the end, the
    statuses as numbers, and results.xlsx whose Status column says the same."""
    wiring = sim_wiring(SimConfig(fault_sequence=["5xx-after", "429", "none"]))
    async with web(wiring=wiring, environment=sim_environment()) as page:
        location = await page.sheet(SAMPLES / "legacy_vms_export.xlsx")
        run = await page.send(location)
        feed = (await page.client.get(f"{run}/events")).text
        shown = (await page.client.get(run)).text
        workbook = await page.client.get(f"{run}/files/results.xlsx")
        history = (await page.client.get("/runs")).text

    statuses = dict(re.findall(r'data-status="(\w+)">(\d+)<', shown))
    book = openpyxl.load_workbook(io.BytesIO(workbook.content), read_only=True)
    cameras = list(book["Cameras"].iter_rows(values_only=True))
    column = cameras[0].index("Status")
    in_book = Counter(str(row[column]) for row in cameras[1:])
    run_dir = page.runs / run.rsplit("/", 1)[1]
    assert (
        {k: int(v) for k, v in statuses.items() if v != "0"}
        == dict(in_book)
        == {
            "loaded": 120,
            "rejected": 7,
            "duplicate": 1,
        }
    )
    assert 'id="exit-code">1<' in shown
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "diff.json",
        "journal.sqlite",
        "log.jsonl",
        "payloads",
        "results.xlsx",
        "summary.json",
    ]
    assert '"state": "finished"' in feed
    assert '"accepted": 3' in feed
    assert '"retried": 1' in feed
    assert "done: 120 of 120 cameras loaded" in history


async def test_an_interrupted_run_is_resumed_from_the_page(web: Any, tmp_path: Path) -> None:
    """An outage stops the run (exit 3, Resume offered); Resume finishes it, none sent twice."""
    sheet = flat_export(tmp_path / "outage.csv", cameras=500)  # 5 batches
    config = SimConfig(fault_sequence=["none"] + ["5xx-before"] * 12)  # 12 in a row: outage
    transport = httpx.ASGITransport(app=(sim := create_sim(config)))
    wiring = Wiring(clock=FakeClock(), transport=transport)
    async with web(wiring=wiring, environment=sim_environment()) as page:
        location = await page.sheet(sheet)
        first = await page.post(f"{location}/send", {"rate": "50"})
        run = first.headers["location"]
        await page.client.get(f"{run}/events")
        stopped = (await page.client.get(run)).text
        resumed = await page.post(f"{run}/resume")
        await page.client.get(f"{run}/events")
        finished = (await page.client.get(run)).text

    assert 'id="exit-code">3<' in stopped
    assert 'id="resume-button"' in stopped
    assert resumed.status_code == 303
    assert 'id="exit-code">0<' in finished
    assert 'id="resume-button"' not in finished
    assert sum(sim.state.sim.task_counts().values()) == 500  # type: ignore[attr-defined]


async def test_a_second_run_waits_for_the_first(web: Any) -> None:
    """One run at a time: while one runs, Send answers 409 and says why."""
    gate = threading.Event()

    class Held(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            import anyio.to_thread

            await anyio.to_thread.run_sync(gate.wait, 10)
            return httpx.Response(503)

    async with web(wiring=Wiring(transport=Held()), environment=sim_environment()) as page:
        location = await page.sheet(SAMPLES / "legacy_vms_export.xlsx")
        first = await page.post(f"{location}/send")
        second = await page.post(f"{location}/send")
        stop = await page.post(f"{first.headers['location']}/stop")
        gate.set()
        await page.client.get(f"{first.headers['location']}/events")

    assert (first.status_code, second.status_code, stop.status_code) == (303, 409, 303)
    assert "a run is in progress: wait for it to end, or stop it" in second.text


async def test_a_run_without_credentials_is_refused_on_the_send_page(web: Any) -> None:
    """No endpoint or credentials in the server's environment: said on the page, nothing made."""
    async with web(environment={}) as page:
        location = await page.sheet(SAMPLES / "legacy_vms_export.xlsx")
        form = (await page.client.get(f"{location}/send")).text
        answer = await page.post(f"{location}/send")

    assert (
        "BULKLOAD_ENDPOINT and BULKLOAD_PROJECT_ID not set in the server&#39;s environment" in form
    )
    assert 'id="send-button" disabled' in form
    assert answer.status_code == 400
    assert [p.name for p in page.runs.iterdir()] == ["uploads"]


def test_the_stop_event_stops_a_run_as_ctrl_c_does(tmp_path: Path, clock: FakeClock) -> None:
    """Wiring.stop set: the run ends "interrupted" (exit 3); resume sends the rest, none twice."""
    sheet = write_inventory(tmp_path, groups=300, per_group=1)
    app = create_sim(SimConfig())
    transport = httpx.ASGITransport(app=app)
    stop = threading.Event()
    stop.set()
    options = settings_for("http://sim.test", tmp_path)

    first = start_run(sheet, options, wiring=Wiring(clock=clock, transport=transport, stop=stop))
    second = resume_run(first.run_dir, options, wiring=Wiring(clock=clock, transport=transport))

    assert (first.exit_code, first.stop_reason, second.exit_code) == (3, "interrupted", 0)
    assert sum(app.state.sim.task_counts().values()) == 300


# --- downloads and secrets -----------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A run of the legacy sample (the CLI's start_run), and a symlink out of its payloads."""
    runs = tmp_path_factory.mktemp("web") / "runs"
    options = RunOptions.of(
        endpoint="http://sim.test",
        project_id="sim-project",
        run_dir=runs / "20260101T000000Z-legacy",
        credentials=Credentials(token="sim-token"),
    )
    report = start_run(SAMPLES / "legacy_vms_export.xlsx", options, wiring=sim_wiring())
    outside = runs.parent / "secret.json"
    outside.write_text('{"secret": true}')
    (report.run_dir / "payloads" / "outside.json").symlink_to(outside)
    return runs, report.run_dir.name


@pytest.mark.parametrize(
    "path",
    [
        "..%2F..%2Fledger.sqlite",
        "..%2Fledger.sqlite",
        "%2Fetc%2Fpasswd",
        "payloads%2F..%2Fsummary.json",
        "payloads%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "journal.sqlite",
        "payloads%2Foutside.json",
        ".%2Fsummary.json",
        "payloads%5C..%5Csummary.json",
    ],
    ids=[
        "up2",
        "up1",
        "absolute",
        "inside-via-up",
        "deep",
        "unlisted",
        "symlink-out",
        "dot",
        "backslash",
    ],
)
async def test_downloads_refuse_paths_outside_the_run(
    web: Any, path: str, finished_run: tuple[Path, str]
) -> None:
    """Only listed files inside the run directory; anything else 404."""
    runs, name = finished_run
    async with web(runs_dir=runs) as page:
        answer = await page.client.get(f"/runs/{name}/files/{path}")
        fine = await page.client.get(f"/runs/{name}/files/summary.json")

    assert (answer.status_code, fine.status_code) == (404, 200)
    assert b"secret" not in answer.content


@pytest.mark.parametrize("name", ["..%2F..", "..", "uploads", "%2Fetc", "nothing-here"])
async def test_run_names_outside_the_runs_folder_are_404(web: Any, name: str) -> None:
    """A run name is a directory with a journal directly under the runs folder."""
    async with web() as page:
        await page.sheet(SAMPLES / "legacy_vms_export.xlsx")
        answer = await page.client.get(f"/runs/{name}/files/summary.json")

    assert answer.status_code == 404


async def test_no_secret_in_any_page_form_url_or_file(web: Any) -> None:
    """Credentials come from the server's environment and show nowhere: pages, forms, URLs,
    the feed, the CSV, summary.json, log.jsonl, payloads and results.xlsx."""
    config = SimConfig(static_tokens=frozenset({SECRETS["BULKLOAD_AUTH_TOKEN"]}))
    environment = {**sim_environment(SECRETS["BULKLOAD_AUTH_TOKEN"]), **SECRETS}
    seen: list[str] = []
    async with web(wiring=sim_wiring(config), environment=environment) as page:
        location = await page.sheet(SAMPLES / "site_rollout.xlsx")
        run = await page.send(location)
        for url in [
            "/",
            location,
            f"{location}/check",
            f"{location}/plan",
            f"{location}/send",
            f"{location}/problems.csv",
            run,
            f"{run}/events",
            "/runs",
        ]:
            answer = await page.client.get(url)
            seen += [str(answer.url), answer.text, str(answer.headers)]
        links = re.findall(r'href="(/runs/[^"]+/files/[^"]+)"', (await page.client.get(run)).text)
        for link in links:
            body = (await page.client.get(link)).content
            if link.endswith(".xlsx"):
                with zipfile.ZipFile(io.BytesIO(body)) as book:
                    body = b"".join(book.read(n) for n in book.namelist())
            seen.append(body.decode("utf-8", "replace"))

    assert 'id="credentials">an IAM token (BULKLOAD_AUTH_TOKEN)<' in "".join(seen)
    assert [link.rsplit("/files/", 1)[1] for link in links][:4] == [
        "results.xlsx",
        "summary.json",
        "diff.json",
        "log.jsonl",
    ]
    assert len(links) == 4 + 3  # and the three payloads
    assert [s for s in SECRETS.values() if any(s in text for text in seen)] == []


# --- the page as a rollout lead uses it ----------------------------------------------------


async def test_an_upload_lands_on_its_problems_when_it_has_any(web: Any) -> None:
    """The legacy export (errors) opens on its Check page; the rollout (none) on its page."""
    async with web() as page:
        legacy = (await page.upload(SAMPLES / "legacy_vms_export.xlsx")).json()
        rollout = (await page.upload(SAMPLES / "site_rollout.xlsx")).json()

    assert legacy["next"] == f"{legacy['location']}/check"
    assert rollout["next"] == rollout["location"]


async def test_a_new_version_keeps_its_mapping_and_the_history_tells_them_apart(
    web: Any,
) -> None:
    """A new version (from any sheet page) is a new upload read with the mapping picked
    for the old one; "Loaded before" shows counts and which is newest; the old one can be
    removed, one a run sent cannot."""
    wiring = sim_wiring()
    async with web(wiring=wiring, environment=sim_environment()) as page:
        first = await page.sheet(SAMPLES / "legacy_vms_export.xlsx")
        await page.post(f"{first}/mapping", {"mapping": "vms-flat"})
        headers = {
            "x-file-name": "legacy_vms_export.xlsx",
            "x-csrf-token": await page.csrf(),
            "origin": ORIGIN,
        }
        body = await anyio.Path(SAMPLES / "legacy_vms_export.xlsx").read_bytes()
        answer = await page.client.post(f"{first}/version", content=body, headers=headers)
        second = answer.json()["location"]
        shown = (await page.client.get(second)).text
        history = (await page.client.get("/")).text
        run = await page.send(second)
        refused = await page.post(f"{second}/remove")
        removed = await page.post(f"{first}/remove")
        after = (await page.client.get("/")).text

    rows = re.findall(r'<tr data-upload="(\w+)"', history)
    assert (answer.status_code, answer.json()["next"]) == (201, f"{second}/check")
    assert 'id="mapping-chosen">picked on this page<' in shown
    assert rows == [second.rsplit("/", 1)[1], first.rsplit("/", 1)[1]]
    assert history.count("128 rows: 120 valid") == 2
    assert '<b class="newest">newest</b> (version 2 of 2)' in history
    assert "older (version 1 of 2)" in history
    assert refused.status_code == 409
    assert "kept so that the run can be resumed or its tasks checked" in refused.text
    assert (removed.status_code, removed.headers["location"]) == (303, "/")
    assert re.findall(r'<tr data-upload="(\w+)"', after) == [second.rsplit("/", 1)[1]]
    assert "sent 1 time" in after
    assert run.startswith("/runs/")
    assert not (page.runs / "uploads" / first.rsplit("/", 1)[1]).exists()


def test_the_history_marks_the_newest_version_of_each_file() -> None:
    """Versions share a family (the first file's name): numbered oldest first, the newest
    said so; another file is a family of its own."""
    metas = {
        "a" * 16: {"file": "site.xlsx", "uploaded": "2026-11-30T08:00:00+00:00"},
        "b" * 16: {"file": "site.xlsx", "uploaded": "2026-11-30T09:00:00+00:00"},
        "c" * 16: {
            "file": "site-fixed.xlsx",
            "uploaded": "2026-11-30T10:00:00+00:00",
            "family": "site.xlsx",
        },
        "d" * 16: {"file": "other.csv", "uploaded": "2026-11-30T07:00:00+00:00"},
    }

    found = [(i["file"], i["version"], i["versions"], i["newest"]) for i in history(metas)]

    assert found == [
        ("site-fixed.xlsx", 3, 3, True),
        ("site.xlsx", 2, 3, False),
        ("site.xlsx", 1, 3, False),
        ("other.csv", 1, 1, True),
    ]


@pytest.mark.parametrize(
    ("message", "column", "said"),
    [
        ("video_source_id is empty", "Device UUID", "Device UUID is empty"),
        ("group is empty", "Channel Group ID", "Channel Group ID is empty"),
        (
            "video_source_id holds spaces or control characters",
            "Device UUID",
            "Device UUID holds spaces or control characters",
        ),
        ("output.obs.bucket: too long", "OBS Bucket", "OBS Bucket: too long"),
        ("'Funday' is not a day of the week", "Detect Days", "'Funday' is not a day of the week"),
        ("video_source_id is empty", "", "video_source_id is empty"),
        ("ROI is not JSON", "Zone", "ROI is not JSON"),
    ],
    ids=["source", "group", "spaces", "dotted", "no-field", "no-column", "not-a-field"],
)
def test_a_problem_is_said_with_the_sheets_column(message: str, column: str, said: str) -> None:
    """An API field that opens a message is named by the column it came from."""
    problem = Problem(Severity.ERROR, "x", message, column=column)

    assert in_words(problem) == said


def test_changed_fields_are_said_in_the_sheets_columns() -> None:
    """config.common.target_roi is the Zone Points column, an ROI its points; the
    algorithm and its version, from one Analytics cell, one line in the cell's words; a
    setting no column gives is the mapping's; the CLI's plan text is left as it was."""
    mapping = find_mapping("vms-flat")
    roi = '{"polygons":[{"data":[[1,2],[3,4],[5,6],[7,8]]}]}'
    fields = [
        {"field": "config.common.target_roi", "old": "(none)", "new": roi},
        {
            "field": "service_name",
            "old": "c-helmet-detection-cloud",
            "new": "c-intrusion-detection-cloud",
        },
        {"field": "service_version", "old": "1.0.2", "new": "2.1.0"},
        {"field": "schedule", "old": "Mon-Fri 08:00-18:00 (UTC+08:00)", "new": "daily (UTC+08:00)"},
        {"field": "output.event_center", "old": "true", "new": "false"},
    ]

    said = [(f["column"], f["old"], f["new"]) for f in spoken_fields(fields, mapping)]

    assert said == [
        ("Zone Points", "(none)", "4 points"),
        ("Analytics", "Helmet", "Intrusion"),
        ("Detect Days / Detect Hours", "Mon-Fri 08:00-18:00 (UTC+08:00)", "daily (UTC+08:00)"),
        ("event center (the mapping's setting)", "yes", "no"),
    ]
    assert roi_words(
        '{"lines":[{"data":[[1,1],[2,2]]}],"polygons":[{"data":[[0,0],[1,0],[1,1]]}]}'
    ) == ("1 polygon, 1 line, 5 points")
    diff = {
        "counts": dict.fromkeys(
            ("create", "update", "replace", "remove", "restart", "unchanged"), 0
        )
    }
    item = {
        "group_id": "g",
        "video_source_id": "c",
        "service_name": "s",
        "row": 3,
        "fields": fields[:1],
    }
    text = format_diff({**diff, "update": [item], "replace": [], "remove": [], "restart": []})
    assert f"config.common.target_roi: (none) -> {roi}" in text


async def test_the_plans_fewest_batches_count_what_is_sent(web: Any, tmp_path: Path) -> None:
    """300 cameras loaded, then the sheet grows to 450: 150 go out in 2 batches, the
    fewest for them (not the 5 the whole sheet would need)."""
    async with web(wiring=sim_wiring(), environment=sim_environment()) as page:
        first = await page.sheet(flat_export(tmp_path / "a" / "site.csv", 300))
        await page.send(first)
        grown = await page.sheet(flat_export(tmp_path / "b" / "site.csv", 450))
        shown = (await page.client.get(f"{grown}/plan")).text

    line = re.search(r'<p id="plan-line">(.*?)</p>', shown, re.S)
    assert line is not None
    assert " ".join(re.sub(r"<[^>]+>", "", line.group(1)).split()) == (
        "150 cameras go out in 2 batches (the fewest the API's limits allow)."
    )


async def test_the_plan_names_the_project_not_its_endpoint(web: Any, tmp_path: Path) -> None:
    """The Plan page's heading says which project the changes are against in words; the
    endpoint's URL is the Send page's (where the run would go), not the plan's headline."""
    async with web(wiring=sim_wiring(), environment=sim_environment()) as page:
        sheet = await page.sheet(flat_export(tmp_path / "site.csv", 3))
        shown = (await page.client.get(f"{sheet}/plan")).text

    heading = re.search(r"<h2>Changes against (.*?)</h2>", shown, re.S)
    assert heading is not None
    assert heading.group(1) == "what bulkload loaded before into project sim-project"


async def test_a_replace_is_sent_only_once_confirmed(web: Any, tmp_path: Path) -> None:
    """Two cameras move to another algorithm: Send answers a page naming both old tasks
    (camera, group, algorithm) and sends nothing; a stale confirmation asks again; the
    confirmation of that very list starts the run, which replaces exactly those."""
    transport = httpx.ASGITransport(app=(sim := create_sim(SimConfig())))
    wiring = Wiring(clock=FakeClock(), transport=transport)
    async with web(wiring=wiring, environment=sim_environment()) as page:
        first = await page.sheet(flat_export(tmp_path / "a" / "site.csv", 5))
        await page.send(first)
        moved = flat_export(tmp_path / "b" / "site.csv", 5, {1: "Intrusion", 3: "Smoke/Fire"})
        second = await page.sheet(moved)
        asked = await page.post(f"{second}/send")
        runs_after_asking = sorted(p.name for p in page.runs.iterdir())
        token = re.search(r'name="confirmed" value="(\w+)"', asked.text)
        assert token is not None
        stale = await page.post(f"{second}/send", {"confirmed": "0" * 16})
        confirmed = await page.post(f"{second}/send", {"confirmed": token.group(1)})
        run = confirmed.headers["location"]
        await page.client.get(f"{run}/events")
        shown = (await page.client.get(run)).text

    going = re.findall(r'<tr data-action="delete">(.*?)</tr>', asked.text, re.S)
    statuses = dict(re.findall(r'data-status="(\w+)">(\d+)<', shown))
    assert asked.status_code == 200
    assert len(going) == 2
    assert all(text in going[0] for text in ("gate 1", "grp-00001", "Helmet"))
    assert "Analytics: Helmet → Intrusion" in going[0]
    assert all(text in going[1] for text in ("gate 3", "Analytics: Helmet → Smoke/Fire"))
    assert "This run would <b>delete 2 tasks</b>" in asked.text
    assert len(runs_after_asking) == 3  # uploads, ledger, the first run: nothing new
    assert "changed since you confirmed it" in stale.text
    assert confirmed.status_code == 303
    assert (statuses["replaced"], statuses["unchanged"]) == ("2", "3")
    assert sum(sim.state.sim.task_counts().values()) == 5  # type: ignore[attr-defined]


async def test_checking_the_tasks_names_failed_starts_by_row(web: Any, tmp_path: Path) -> None:
    """A task that never starts: the run says every camera loaded; "check the tasks now"
    (reconcile, in the page's run thread) fails it, and Results name it by Excel row with
    the reason in words; the Plan then lists it as failed earlier."""
    config = SimConfig(
        always_fail_sources=frozenset({"cam-00003"}), starting_after=0.0, running_after=0.0
    )
    async with web(wiring=sim_wiring(config), environment=sim_environment()) as page:
        sheet = await page.sheet(flat_export(tmp_path / "site.csv", 5))
        run = await page.send(sheet)
        before = (await page.client.get(run)).text
        checking = await page.post(f"{run}/check")
        feed = (await page.client.get(f"{run}/events")).text
        after = (await page.client.get(run)).text
        plan = (await page.client.get(f"{sheet}/plan")).text

    failed = re.search(r'<tr data-row="5" data-status="failed">(.*?)</tr>', after, re.S)
    assert "done: 5 of 5 cameras loaded" in before
    assert 'id="cameras"' not in before
    assert checking.status_code == 303
    assert '"state": "checking"' in feed
    assert "done: 4 of 5 cameras loaded, 1 failed" in after
    assert failed is not None
    assert "gate 3" in failed.group(1)
    assert "its task failed to start (START_FAILED)" in failed.group(1)
    assert "Check the tasks again" in after
    assert re.findall(r'<tr data-row="(\d+)">', plan.split('data-kind="failed"')[1]) == ["5"]


async def test_stop_says_stopping_at_once(web: Any) -> None:
    """After Stop, while requests in flight finish, the page says so and offers no Stop."""
    gate, arrived = threading.Event(), threading.Event()

    class Held(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            import anyio.to_thread

            arrived.set()
            await anyio.to_thread.run_sync(gate.wait, 10)
            return httpx.Response(503)

    async with web(wiring=Wiring(transport=Held()), environment=sim_environment()) as page:
        location = await page.sheet(SAMPLES / "legacy_vms_export.xlsx")
        run = (await page.post(f"{location}/send")).headers["location"]
        await anyio.to_thread.run_sync(arrived.wait, 10)  # a request is out, and held
        await page.post(f"{run}/stop")
        shown = (await page.client.get(run)).text
        history = (await page.client.get("/runs")).text
        gate.set()
        await page.client.get(f"{run}/events")
        ended = (await page.client.get(run)).text

    assert re.search(r'data-field="headline">stopping: \d+ requests? in flight', shown)
    assert 'id="stop-button" class="danger" disabled>Stopping…' in shown
    assert "stopping: requests in flight finish first" in history
    assert 'id="resume-button"' in ended


def test_a_stopped_run_says_what_is_left_in_words() -> None:
    """Unknown cameras whose batch was never created are "not sent"; the headline counts
    loaded, failed, not sent and in doubt, and says what finishes it."""
    facts = RunFacts(
        sheet="site.xlsx",
        input="site.xlsx",
        started="",
        cameras=637,
        batches=3,
        not_sent=297,
        resumed=False,
        state=RunState(),
    )
    summary = {
        "statuses": {"loaded": 340, "unknown": 297},
        "counts": {"unsettled": 2},
        "stop_reason": "interrupted",
    }
    doubt = {**summary, "statuses": {"loaded": 330, "failed": 2, "unknown": 305}}

    def said(summary: dict[str, Any]) -> str:
        return headline(
            summary, facts, running=False, stopping=False, kind="send", in_flight=0, failure=""
        )["text"]

    assert said(summary) == (
        "stopped by you: 340 of 637 cameras loaded, 297 not sent yet: Resume sends them"
    )
    assert said(doubt) == (
        "stopped by you: 330 of 637 cameras loaded, 2 failed, 297 not sent yet, 8 in doubt:"
        " Resume settles them"
    )
    assert status_counts(summary["statuses"], facts) == [("loaded", 340), ("not sent", 297)]


def test_the_live_rate_is_measured_between_answers() -> None:
    """Two workers record their sends at once while the pacer spaces the requests 11 s
    apart (0.1/s): the rate is none until two answers came, then under the limit; the
    requests in flight are those sent and not answered."""
    progress = RunFeed()
    started = ev.RunStarted(batches=3, cameras=300, options={"rate": 0.1})
    events: list[tuple[float, ev.Event]] = [
        (0.0, started),
        (0.0, ev.BatchPlanned(batch="a", cameras=100)),
        (0.0, ev.BatchPlanned(batch="b", cameras=100)),
        (0.1, ev.BatchSending(batch="a", attempt=1)),
        (0.1, ev.BatchSending(batch="b", attempt=1)),
        (0.4, ev.BatchAccepted(batch="a", total=100, succeeded=100)),
    ]
    for seq, (at, event) in enumerate(events, 1):
        progress.apply(seq, at, event)
    early = (progress.rate(1.0), progress.in_flight)
    progress.apply(7, 11.4, ev.BatchAccepted(batch="b", total=100, succeeded=100))
    later = progress.snapshot(Live(running=True), now=12.0)

    assert early == (None, 1)
    assert (later["rate"], later["limit"], later["in_flight"]) == ("0.091", "0.1", 0)
    assert [line.split("  ", 1)[1] for line in later["recent"]] == [
        "started: 300 cameras in 3 batches",
        "batch 1 sent (100 cameras)",
        "batch 2 sent (100 cameras)",
        "batch 1 accepted: 100 tasks created",
        "batch 2 accepted: 100 tasks created",
    ]


@pytest.mark.parametrize("kind", sorted(ev.KINDS))
def test_no_event_is_shown_by_its_class_name(kind: str) -> None:
    """Every event of the journal is a line of words on the page, or nothing."""
    assert kind not in words(ev.KINDS[kind](), "batch 1", 10)


async def test_the_page_has_an_icon(web: Any) -> None:
    """A favicon, linked from every page and where browsers look without a link."""
    async with web() as page:
        shown = (await page.client.get("/")).text
        icon = await page.client.get("/static/favicon.svg")
        legacy = await page.client.get("/favicon.ico")

    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in shown
    assert (icon.status_code, legacy.status_code) == (200, 200)
    assert legacy.headers["content-type"] == "image/svg+xml"


async def test_stopping_the_tasks_of_cameras_that_left_asks_first(web: Any, tmp_path: Path) -> None:
    """A camera left the sheet: its task keeps running unless Send is told to stop it;
    then the page names it and asks, and the run stops exactly that task."""
    transport = httpx.ASGITransport(app=(sim := create_sim(SimConfig())))
    wiring = Wiring(clock=FakeClock(), transport=transport)
    async with web(wiring=wiring, environment=sim_environment()) as page:
        first = await page.sheet(flat_export(tmp_path / "a" / "site.csv", 5))
        await page.send(first)
        second = await page.sheet(flat_export(tmp_path / "b" / "site.csv", 4))
        form = (await page.client.get(f"{second}/send")).text
        asked = await page.post(f"{second}/send", {"prune": "stop"})
        token = re.search(r'name="confirmed" value="(\w+)"', asked.text)
        assert token is not None
        confirmed = await page.post(f"{second}/send", {"prune": "stop", "confirmed": token[1]})
        await page.client.get(f"{confirmed.headers['location']}/events")

    going = re.findall(r'<tr data-action="stop">(.*?)</tr>', asked.text, re.S)
    assert '<option value="stop">stop them</option>' in form
    assert len(going) == 1
    assert all(text in going[0] for text in ("cam-00004", "the camera left the sheet"))
    assert "This run would <b>stop 1 task</b>" in asked.text
    assert confirmed.status_code == 303
    states = {t.video_source_id: t.stopped_at is not None for t in sim.state.sim.tasks.values()}  # type: ignore[attr-defined]
    assert states == {f"cam-{n:05d}": n == 4 for n in range(5)}
