"""
The page's routes, behind the gate (host, token, security headers): what each URL does,
how a refusal is answered, and what happens when the server stops (runs are stopped as by
Ctrl-C and given time to settle what is in flight).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from loader.run.runner import Wiring
from loader.web.options import ServeOptions
from loader.web.pages import Pages
from loader.web.render import STATIC, Renderer
from loader.web.results import RunPages
from loader.web.runs import RunDesk
from loader.web.security import FORM_LIMIT, LOOPBACK_NAMES, Gate, Refused
from loader.web.sheets import SheetStore
from loader.web.uploads import NAME_HEADER


async def favicon(request: Request) -> Response:
    """The tab's icon, where browsers look for it without a link."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


def create_app(options: ServeOptions, wiring: Wiring | None = None) -> Starlette:
    """The web app; ``wiring`` plugs runs into a test's transport and clock."""
    render = Renderer()
    desk = RunDesk(options, wiring or Wiring())
    sheets = SheetStore(options.uploads_dir, desk.base, options.loaded_kept)
    pages = Pages(options, sheets, desk, render)
    runs = RunPages(desk, render)
    routes = [
        Route("/", pages.home),
        Route("/upload", pages.upload, methods=["POST"]),
        Route("/sheets/{upload_id}", pages.sheet),
        Route(
            "/sheets/{upload_id}/mapping", pages.mapping, methods=["POST"], max_body_size=FORM_LIMIT
        ),
        Route("/sheets/{upload_id}/files", pages.add_beside, methods=["POST"]),
        Route("/sheets/{upload_id}/version", pages.version, methods=["POST"]),
        Route(
            "/sheets/{upload_id}/remove", pages.remove, methods=["POST"], max_body_size=FORM_LIMIT
        ),
        Route("/sheets/{upload_id}/check", pages.check),
        Route("/sheets/{upload_id}/problems.csv", pages.problems),
        Route("/sheets/{upload_id}/plan", pages.plan),
        Route("/sheets/{upload_id}/send", pages.send_form),
        Route("/sheets/{upload_id}/send", pages.send, methods=["POST"], max_body_size=FORM_LIMIT),
        Route("/runs", runs.history),
        Route("/runs/{name}", runs.run),
        Route("/runs/{name}/events", runs.events),
        Route("/runs/{name}/stop", runs.stop, methods=["POST"], max_body_size=FORM_LIMIT),
        Route("/runs/{name}/resume", runs.resume, methods=["POST"], max_body_size=FORM_LIMIT),
        Route("/runs/{name}/check", runs.check, methods=["POST"], max_body_size=FORM_LIMIT),
        Route("/runs/{name}/files/{path:path}", runs.download),
        Route("/favicon.ico", favicon),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    async def refused(request: Request, exc: Exception) -> Response:
        """A refusal as a short page (or JSON for the page's script); never a traceback."""
        assert isinstance(exc, Refused)
        if NAME_HEADER in request.headers:  # an upload: the page's script reads JSON
            return JSONResponse({"error": exc.reason, "hint": ""}, status_code=exc.status)
        if exc.status in (401, 403, 413, 415):
            return PlainTextResponse(exc.reason, status_code=exc.status)
        return render.page(
            request,
            "error.html",
            status=exc.status,
            title="Not here",
            section="",
            sheet=None,
            reason=exc.reason,
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await to_thread.run_sync(desk.shutdown)  # runs stop as on Ctrl-C, then settle

    hosts = LOOPBACK_NAMES | {options.host.lower()} if options.loopback else None
    gate = Middleware(Gate, token=options.token, hosts=hosts)
    return Starlette(
        routes=routes,
        middleware=[gate],
        exception_handlers={Refused: refused},
        lifespan=lifespan,
    )
