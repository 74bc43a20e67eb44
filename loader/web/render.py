"""
HTML from Jinja2 templates, autoescaped in every template (a sheet's text is data, never
markup), with the CSRF token every page's forms carry and the cookie that goes with it,
and the filters the templates say numbers, times and messages with.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from loader.web.problems import in_words
from loader.web.security import CSRF_FIELD, csrf_token, keep_csrf

TEMPLATES: Final = Path(__file__).resolve().parent / "templates"
STATIC: Final = Path(__file__).resolve().parent / "static"


def _count(value: Any) -> str:
    """1234 -> ``1,234`` (anything else as it is)."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def _bytes(value: int) -> str:
    """A file size people read."""
    for unit in ("bytes", "KB", "MB"):
        if value < 1024 or unit == "MB":
            return f"{value:,} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value //= 1024
    return str(value)


def _local(value: Any) -> str:
    """An ISO time (UTC) as this machine's local time people read: ``30 Nov 2026, 14:02``
    (the page's script shows it in the browser's own time zone)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone():%d %b %Y, %H:%M}"


def _when(value: Any) -> Markup:
    """A ``<time>`` element the script turns into the browser's local time."""
    if not value:
        return Markup("")
    return Markup('<time datetime="{}" data-local>{}</time>').format(str(value), _local(value))


def environment() -> jinja2.Environment:
    """The templates, every one autoescaped; an undefined name is an error, not ""."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["count"] = _count
    env.filters["filesize"] = _bytes
    env.filters["part"] = lambda text: quote(str(text), safe="")  # one URL path segment
    env.filters["local"] = _local
    env.filters["when"] = _when
    env.filters["words"] = in_words  # a problem's message in the sheet's words
    env.filters["plural"] = lambda n, one, many=None: one if n == 1 else (many or one + "s")
    return env


class Renderer:
    """Pages as HTML responses."""

    def __init__(self) -> None:
        self.env = environment()

    def page(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """Render ``template`` with the CSRF token (and set its cookie when new)."""
        html = self.env.get_template(template).render(
            csrf=csrf_token(request), csrf_field=CSRF_FIELD, path=request.url.path, **context
        )
        response = HTMLResponse(html, status_code=status)
        keep_csrf(request, response)
        return response
