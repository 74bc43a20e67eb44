"""
The handlers of the pages before a run: Load (upload, a new version of a loaded sheet,
the uploads loaded before and the removal of one, the mapping chosen and the choice of
another), Check (the problem table and its CSV), Plan and Send (with the confirmation
that names every task a run would replace, stop or delete). An upload lands on its
problems when it has any. Slow work (reading a sheet, planning) runs in a worker thread;
every state change is a POST that passed the CSRF check.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from loader.errors import LoaderError
from loader.web.options import ServeOptions
from loader.web.problems import PAGE_SIZES, SORTS, ProblemQuery, problems_csv, select
from loader.web.render import Renderer
from loader.web.runs import RunDesk, SendChoices
from loader.web.security import check_post, read_form
from loader.web.sheets import Failure, Sheet, SheetStore
from loader.web.uploads import (
    TooLarge,
    beside,
    file_name,
    guard,
    read_meta,
    receive,
    receive_beside,
    remove,
    size_text,
    upload_file,
)
from loader.web.views import PRUNE_WORDS, plan_view, target_view


@dataclass
class Pages:
    """Load, Check, Plan and Send."""

    options: ServeOptions
    sheets: SheetStore
    desk: RunDesk
    render: Renderer

    async def home(self, request: Request) -> Response:
        """The Load page: drop or choose a sheet; the sheets loaded before."""
        recent = await to_thread.run_sync(self.sheets.recent)
        return self.render.page(
            request,
            "load.html",
            title="Load a sheet",
            section="load",
            sheet=None,
            recent=recent,
            limit=self.options.max_upload_bytes,
            limit_text=size_text(self.options.max_upload_bytes),
        )

    async def upload(self, request: Request) -> Response:
        """Store the body under the runs folder, guard it, read it; where to look next."""
        check_post(request)
        return await self._receive(request, None)

    async def version(self, request: Request) -> Response:
        """A new version of a loaded sheet (fixed in Excel): stored as a new upload that
        keeps the mapping picked and the files beside it; where to look next."""
        check_post(request)
        previous = upload_file(self.options.uploads_dir, _id(request)).parent
        return await self._receive(request, previous)

    async def remove(self, request: Request) -> Response:
        """Remove an upload no run sent (a junk or superseded one); back to Load."""
        form = await read_form(request)
        check_post(request, form)
        upload_id = _id(request)
        await to_thread.run_sync(remove, self.options.uploads_dir, upload_id)
        self.sheets.forget(upload_id)
        return RedirectResponse("/", status_code=303)

    async def _receive(self, request: Request, previous: Path | None) -> Response:
        """An upload (or a new version of ``previous``): stored, guarded, read; JSON with
        its page (``location``) and where the page goes (``next``: its problems, if any)."""
        cap = self.options.max_upload_bytes
        try:
            path = await receive(request, self.options.uploads_dir, cap, previous=previous)
            await to_thread.run_sync(guard, path, cap)
        except TooLarge as exc:
            hint = f"restart bulkload serve with --max-upload-mb {max(exc.cap // (1 << 20), 1) * 2}"
            return JSONResponse({"error": str(exc), "hint": hint}, status_code=413)
        except LoaderError as exc:
            return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=400)
        upload_id = path.parent.name
        picked = read_meta(path.parent).get("mapping")
        sheet = await to_thread.run_sync(
            self.sheets.load, upload_id, picked if isinstance(picked, str) else None
        )
        location = f"/sheets/{sheet.id}"
        return JSONResponse(
            {"id": sheet.id, "location": location, "next": landing(sheet)}, status_code=201
        )

    async def add_beside(self, request: Request) -> Response:
        """A file the mapping reads beside the sheet (a lookup table); the sheet read again.

        A file named as the sheet itself is its new version (the sheet fixed in Excel).
        """
        check_post(request)
        upload_id = _id(request)
        home = upload_file(self.options.uploads_dir, upload_id).parent
        if file_name(request) == read_meta(home).get("file"):
            return await self._receive(request, home)
        cap = self.options.max_upload_bytes
        try:
            await receive_beside(request, home, cap)
        except TooLarge as exc:
            return JSONResponse({"error": str(exc), "hint": ""}, status_code=413)
        except LoaderError as exc:
            return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=400)
        sheet = await to_thread.run_sync(self.sheets.reload, upload_id)
        location = f"/sheets/{upload_id}"
        return JSONResponse(
            {
                "id": upload_id,
                "location": location,
                "next": landing(sheet),
            },
            status_code=201,
        )

    async def sheet(self, request: Request) -> Response:
        """A loaded sheet: its mapping (and the others to pick), its counts, what next."""
        sheet = await self._sheet(request)
        return self._sheet_page(
            request,
            "sheet.html",
            sheet,
            ("", "load"),
            sheet.failure,
            mappings=self.sheets.mapping_names(),
            beside=await to_thread.run_sync(beside, sheet.path.parent),
        )

    async def mapping(self, request: Request) -> Response:
        """Read the sheet again with a bundled mapping ("" = chosen by the headers)."""
        form = await read_form(request)
        check_post(request, form)
        upload_id = _id(request)
        picked = form.get("mapping") or None
        await to_thread.run_sync(self.sheets.load, upload_id, picked)
        return RedirectResponse(f"/sheets/{upload_id}", status_code=303)

    async def check(self, request: Request) -> Response:
        """Every problem: counts, filters, sorting, one page of the table."""
        sheet = await self._sheet(request)
        query = ProblemQuery.from_params(request.query_params)
        return self._sheet_page(
            request,
            "check.html",
            sheet,
            ("Check", "check"),
            sheet.failure,
            query=query,
            found=select(sheet.problems, query),
            sorts=SORTS,
            sizes=PAGE_SIZES,
        )

    async def problems(self, request: Request) -> Response:
        """Every problem as CSV, the columns of ``--report``."""
        sheet = await self._sheet(request)
        name = f"{sheet.path.stem}-problems.csv"
        return Response(
            problems_csv(sheet.problems),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": _attachment(name)},
        )

    async def plan(self, request: Request) -> Response:
        """The batches, cameras per algorithm and schedule, the diff against the ledger."""
        sheet = await self._sheet(request)
        view, failure = await self._plan(sheet, SendChoices())
        return self._sheet_page(request, "plan.html", sheet, ("Plan", "plan"), failure, view=view)

    async def send_form(self, request: Request) -> Response:
        """What a run would send, where, how it authenticates; the Send button."""
        return await self._send_page(request, await self._sheet(request), None, 200)

    async def send(self, request: Request) -> Response:
        """Start the CLI's run in the background; its page shows it live.

        A run that would replace, stop or delete tasks, or register cameras the sheet
        names, first answers a page that names each of them and asks once; it starts when
        that page's form comes back with the tokens of the same lists.
        """
        form = await read_form(request)
        check_post(request, form)
        sheet = await self._sheet(request)
        choices = SendChoices.from_form(form)
        view, _ = await self._plan(sheet, choices)
        if view is not None and not _confirmed(view, choices):
            return self._sheet_page(
                request,
                "confirm.html",
                sheet,
                ("Confirm: send", "send"),
                None,
                view=view,
                choices=choices.form(),
                changed=bool(choices.confirmed or choices.registering),
            )
        try:
            name = self.desk.start(sheet, choices)
        except LoaderError as exc:
            return await self._send_page(request, sheet, Failure(exc.message, exc.hint), 400)
        return RedirectResponse(f"/runs/{_part(name)}", status_code=303)

    async def _send_page(
        self, request: Request, sheet: Sheet, failure: Failure | None, status: int
    ) -> Response:
        view, plan_failure = await self._plan(sheet, SendChoices())
        return self._sheet_page(
            request,
            "send.html",
            sheet,
            ("Send", "send"),
            failure or plan_failure,
            status=status,
            view=view,
            target=target_view(self.desk.base),
            busy=self.desk.busy(),
            defaults=SendChoices(),
            prunes=PRUNE_WORDS,
        )

    def _sheet_page(
        self,
        request: Request,
        template: str,
        sheet: Sheet,
        heading: tuple[str, str],
        failure: Failure | None,
        *,
        status: int = 200,
        **context: Any,
    ) -> Response:
        """A page about one sheet; ``heading``: what its title says before the sheet's name,
        and the section lit in the menu."""
        what, section = heading
        title = f"{what} {sheet.name}" if what else sheet.name
        return self.render.page(
            request,
            template,
            status,
            title=title,
            section=section,
            sheet=sheet,
            failure=failure,
            **context,
        )

    async def _plan(
        self, sheet: Sheet, choices: SendChoices
    ) -> tuple[dict[str, Any] | None, Failure | None]:
        """The plan view with the Send page's choices, or why it cannot be made."""
        if sheet.loaded is None:
            return None, sheet.failure
        loaded, options = sheet.loaded, choices.applied(self.desk.base)
        try:
            view = partial(plan_view, loaded, options, wiring=self.desk.wiring)
            return await to_thread.run_sync(view), None
        except LoaderError as exc:
            return None, Failure(exc.message, exc.hint)

    async def _sheet(self, request: Request) -> Sheet:
        """The sheet the URL names (read again when not in memory)."""
        return await to_thread.run_sync(self.sheets.get, _id(request))


def _confirmed(view: dict[str, Any], choices: SendChoices) -> bool:
    """Whether the person confirmed exactly what this run would take away and register."""
    registration = view["registration"]
    registering = registration["token"] if registration is not None else ""
    return view["confirm"] == choices.confirmed and registering == choices.registering


def landing(sheet: Sheet) -> str:
    """Where a loaded sheet's page opens: on its problems when it has errors or warnings
    (errors first), else on its summary (its mapping, counts and what next)."""
    counts = sheet.summary.get("problem_counts") or {}
    if sheet.failure is None and (counts.get("error") or counts.get("warning")):
        return f"/sheets/{sheet.id}/check"
    return f"/sheets/{sheet.id}"


def _id(request: Request) -> str:
    """The upload id of the URL."""
    return str(request.path_params["upload_id"])


def _part(text: str) -> str:
    """One URL path segment."""
    return quote(text, safe="")


def _attachment(name: str) -> str:
    """A Content-Disposition that survives any file name (RFC 6266)."""
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
