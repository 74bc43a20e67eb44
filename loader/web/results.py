"""
The handlers of a run and after: its page (progress while it runs, then where it stands
in words, the status counts, every camera that failed, is in doubt or was not sent, and
the files to download), its server-sent events, Stop, Resume and "check the tasks now"
(reconcile), the downloads (listed files inside the run directory only) and the history
of runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from loader.errors import LoaderError
from loader.state.rundir import JOURNAL, RESULTS, technical
from loader.web import feed
from loader.web.options import UPLOADS
from loader.web.outcomes import CameraQuery, attention, run_facts, select, status_counts
from loader.web.render import Renderer
from loader.web.runs import RunDesk
from loader.web.security import check_post, read_form
from loader.web.sheets import Failure
from loader.web.uploads import UPLOAD_ID


@dataclass
class RunPages:
    """A run's page, its feed, Stop, Resume, the check of its tasks, downloads; the history."""

    desk: RunDesk
    render: Renderer

    async def history(self, request: Request) -> Response:
        """Every run directory: its sheet, when, where it stands."""
        runs = await to_thread.run_sync(self.desk.history)
        return self.render.page(
            request, "runs.html", title="Runs", section="results", sheet=None, runs=runs
        )

    async def run(self, request: Request) -> Response:
        """A run: live progress while it runs; where it ended, its cameras and files after."""
        name = _name(request)
        run_dir = self._dir(name)
        return await self._page(request, name, run_dir, None, 200)

    async def events(self, request: Request) -> Response:
        """The run's progress as server-sent events, from its journal."""
        name = _name(request)
        journal = self._dir(name) / JOURNAL

        def status() -> feed.Live:
            active = self.desk.active(name)
            return active.live() if active else feed.Live()

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
        return await self._again(request, self.desk.resume)

    async def check(self, request: Request) -> Response:
        """Check the run's tasks with the API now, as ``bulkload reconcile`` does."""
        return await self._again(request, self.desk.check)

    async def download(self, request: Request) -> Response:
        """A listed file of the run directory; anything else 404."""
        name = _name(request)
        path = self.desk.download(name, str(request.path_params["path"]))
        return FileResponse(path, filename=path.name)

    async def _again(self, request: Request, action: Any) -> Response:
        """Start a resume or a check of the run the URL names; its page."""
        form = await read_form(request)
        check_post(request, form)
        name = _name(request)
        run_dir = self._dir(name)
        try:
            action(name)
        except LoaderError as exc:
            return await self._page(request, name, run_dir, Failure(exc.message, exc.hint), 400)
        return RedirectResponse(f"/runs/{quote(name, safe='')}", status_code=303)

    async def _page(
        self, request: Request, name: str, run_dir: Path, failure: Failure | None, status: int
    ) -> Response:
        facts = await to_thread.run_sync(run_facts, run_dir / JOURNAL)
        entry = self.desk.entry(name, facts)
        progress = await to_thread.run_sync(feed.feed_of, run_dir / JOURNAL)
        done = not entry["running"] and entry["journaled"]
        snapshot = progress.snapshot(entry["live"], now=progress.last)
        summary = self.desk.summary(name) if done else None
        cameras = None
        if summary is not None:
            found = await to_thread.run_sync(attention, run_dir / JOURNAL, facts.state)
            if found is not None:  # a run that ended before its journal kept them: none
                cameras = select(found, CameraQuery.from_params(request.query_params))
        files = self.desk.files(name) if done else []
        return self.render.page(
            request,
            "run.html",
            status=status,
            title=f"Run of {facts.sheet}" if facts.sheet else "Run",
            section="results",
            sheet=sheet_link(Path(facts.input), self.desk.root / UPLOADS),
            name=name,
            entry=entry,
            facts=facts,
            progress=snapshot,
            summary=summary,
            counts=status_counts(summary["statuses"], facts) if summary else [],
            cameras=cameras,
            query=CameraQuery.from_params(request.query_params),
            results=[f for f in files if f[0] == RESULTS],
            technical=[f for f in files if technical(f[0])],
            run_dir=str(run_dir),
            failure=failure or entry["failure"],
        )

    def _dir(self, name: str) -> Path:
        """The run directory of a run listed here, or of one this server just started."""
        active = self.desk.active(name)
        if active is not None:
            return active.run_dir
        return self.desk.run_dir(name)


@dataclass(frozen=True)
class SheetLink:
    """The upload a run sent, as the pages' navigation names it."""

    id: str
    name: str


def sheet_link(sheet: Path, uploads: Path) -> SheetLink | None:
    """The upload a run's input is, when it is one of this server's (else None: a run of
    the CLI's, or one whose upload is gone)."""
    home = sheet.parent
    if not (home.parent.resolve() == uploads.resolve() and UPLOAD_ID.fullmatch(home.name)):
        return None
    return SheetLink(home.name, sheet.name) if sheet.is_file() else None


def _name(request: Request) -> str:
    """The run name of the URL."""
    return str(request.path_params["name"])
