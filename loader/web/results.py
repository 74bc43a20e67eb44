"""
The handlers of a run and after: its page (progress while it runs, then the summary with
the status counts and the files to download), its server-sent events, Stop and Resume,
the downloads (listed files inside the run directory only) and the history of runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from loader.errors import LoaderError
from loader.run.context import JOURNAL
from loader.web import feed
from loader.web.render import Renderer
from loader.web.runs import RunDesk
from loader.web.security import check_post, read_form
from loader.web.sheets import Failure


@dataclass
class Results:
    """A run's page, its feed, Stop, Resume, downloads; the history."""

    desk: RunDesk
    render: Renderer

    async def history(self, request: Request) -> Response:
        """Every run directory with its status (from its summary.json)."""
        runs = await to_thread.run_sync(self.desk.history)
        return self.render.page(
            request, "runs.html", title="Runs", section="results", sheet=None, runs=runs
        )

    async def run(self, request: Request) -> Response:
        """A run: live progress while it runs; the summary and files once it ended."""
        name = _name(request)
        run_dir = self._dir(name)
        return await self._page(request, name, run_dir, None, 200)

    async def events(self, request: Request) -> Response:
        """The run's progress as server-sent events, from its journal."""
        name = _name(request)
        journal = self._dir(name) / JOURNAL

        def status() -> tuple[bool, Failure | None]:
            active = self.desk.active(name)
            return (active.running, active.failure) if active else (False, None)

        return StreamingResponse(
            feed.stream(journal, status),
            media_type="text/event-stream",
            headers={"x-accel-buffering": "no"},
        )

    async def stop(self, request: Request) -> Response:
        """Stop the run as the first Ctrl-C does: in-flight requests finish, nothing new."""
        form = await read_form(request)
        check_post(request, form)
        name = _name(request)
        self._dir(name)
        self.desk.stop(name)
        return RedirectResponse(f"/runs/{quote(name, safe='')}", status_code=303)

    async def resume(self, request: Request) -> Response:
        """Resume an interrupted run, as ``bulkload resume`` does."""
        form = await read_form(request)
        check_post(request, form)
        name = _name(request)
        run_dir = self._dir(name)
        try:
            self.desk.resume(name)
        except LoaderError as exc:
            return await self._page(request, name, run_dir, Failure(exc.message, exc.hint), 400)
        return RedirectResponse(f"/runs/{quote(name, safe='')}", status_code=303)

    async def download(self, request: Request) -> Response:
        """A listed file of the run directory; anything else 404."""
        name = _name(request)
        path = self.desk.download(name, str(request.path_params["path"]))
        return FileResponse(path, filename=path.name)

    async def _page(
        self, request: Request, name: str, run_dir: Path, failure: Failure | None, status: int
    ) -> Response:
        entry = self.desk.entry(name)
        progress = await to_thread.run_sync(feed.progress_of, run_dir / JOURNAL)
        done = not entry["running"] and entry["journaled"]
        snapshot = progress.snapshot(
            running=entry["running"], failure=entry["failure"], now=progress.last
        )
        return self.render.page(
            request,
            "run.html",
            status=status,
            title=f"Run {name}",
            section="results",
            sheet=None,
            name=name,
            entry=entry,
            progress=snapshot,
            summary=self.desk.summary(name) if done else None,
            files=self.desk.files(name) if done else [],
            run_dir=str(run_dir),
            failure=failure,
        )

    def _dir(self, name: str) -> Path:
        """The run directory of a run listed here, or of one this server just started."""
        active = self.desk.active(name)
        if active is not None:
            return active.run_dir
        return self.desk.run_dir(name)


def _name(request: Request) -> str:
    """The run name of the URL."""
    return str(request.path_params["name"])
