"""
What keeps the page safe to run: the token gate (every request, constant-time), the host
check (no DNS rebinding onto a loopback server), the CSRF check (a per-session token and
the page's own Origin on every POST), response headers (CSP: no inline script, no
framing), small form bodies, file names made safe to store, and downloads kept inside
their folder.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Mapping
from hmac import compare_digest
from http.cookies import SimpleCookie
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import parse_qs, urlencode

from starlette.datastructures import URL, Headers, MutableHeaders, QueryParams
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE: Final = "bulkload_session"
CSRF_COOKIE: Final = "bulkload_csrf"
CSRF_FIELD: Final = "csrf"
CSRF_HEADER: Final = "x-csrf-token"
FORM_LIMIT: Final = 64 * 1024  # bytes of a form body (the page's forms are tiny)
SHEET_SUFFIXES: Final = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".tsv", ".txt")
NAME_CHARS: Final = 80
LOOPBACK_NAMES: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
HEADERS: Final = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self';"
    " img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none';"
    " base-uri 'none'; object-src 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


class Refused(Exception):
    """A request the page will not serve: its status and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def session_value(token: str) -> str:
    """The cookie a browser keeps after its first visit: derived from the token, not it."""
    return hmac.new(token.encode(), b"bulkload-ui-session", hashlib.sha256).hexdigest()


def same(given: str | None, expected: str) -> bool:
    """Equal in constant time (hmac.compare_digest); a missing value is never equal."""
    return given is not None and compare_digest(given.encode(), expected.encode())


class Gate:
    """ASGI middleware in front of every route: host, token, security headers.

    ``hosts``: the Host names a loopback server answers (a page of another site whose
    name was made to resolve to 127.0.0.1 gets 403); None when it listens beyond loopback
    (the token guards it then).

    With a token, a request passes with the session cookie, or with ``?token=`` once (it
    is answered with a redirect that sets the cookie and drops the token from the URL);
    anything else gets 401 and nothing more.
    """

    def __init__(self, app: ASGIApp, *, token: str | None, hosts: frozenset[str] | None) -> None:
        self.app, self.token, self.hosts = app, token, hosts
        self.session = session_value(token) if token else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return

        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    extra.setdefault(name, value)
                # pages hold sheet text and runs: never cached; the script and style may be
                extra.setdefault("cache-control", "private, max-age=300" if static else "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)

    def _refusal(self, scope: Scope, headers: Headers) -> Response | None:
        """The answer for a request that may not pass; None lets it through."""
        if self.hosts is not None and host_name(headers.get("host", "")) not in self.hosts:
            return PlainTextResponse("forbidden", status_code=403)
        if self.token is None:
            return None
        cookies = SimpleCookie(headers.get("cookie", ""))
        held = cookies[SESSION_COOKIE].value if SESSION_COOKIE in cookies else None
        if same(held, self.session):
            return None
        query = QueryParams(scope.get("query_string", b"").decode("latin-1"))
        if same(query.get("token"), self.token):
            kept = [(k, v) for k, v in query.multi_items() if k != "token"]
            path = "/" + URL(scope=scope).path.lstrip("/")  # never //host: another site
            target = path + (f"?{urlencode(kept)}" if kept else "")
            answer = RedirectResponse(target, status_code=303)
            answer.set_cookie(SESSION_COOKIE, self.session, httponly=True, samesite="strict")
            return answer
        return PlainTextResponse("unauthorized", status_code=401)


def host_name(host: str) -> str:
    """``127.0.0.1:8770`` -> ``127.0.0.1``; ``[::1]:8770`` -> ``[::1]``."""
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0].lower()


def csrf_token(request: Request) -> str:
    """This browser's CSRF token: its cookie's, or a new one ``keep_csrf`` will set."""
    held = request.cookies.get(CSRF_COOKIE)
    if held and len(held) >= 32:
        return held
    fresh: str = getattr(request.state, "csrf", "") or secrets.token_urlsafe(32)
    request.state.csrf = fresh
    return fresh


def keep_csrf(request: Request, response: Response) -> Response:
    """Set the CSRF cookie a page's forms were given, when it is new."""
    fresh = getattr(request.state, "csrf", "")
    if fresh:
        response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="strict")
    return response


def check_post(request: Request, form: Mapping[str, str] | None = None) -> None:
    """Refuse (403) a state change that does not come from this page in this browser.

    The Origin (else the Referer) must be the page's own, and the CSRF token of the form
    field or the X-CSRF-Token header must match the cookie.
    """
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    origin = request.headers.get("origin")
    referer = request.headers.get("referer")
    if origin is not None:
        if origin != own:
            raise Refused(403, "this request comes from another site")
    elif referer is None or not (referer == own or referer.startswith(own + "/")):
        raise Refused(403, "this request does not say it comes from this page")
    sent = request.headers.get(CSRF_HEADER) or (form or {}).get(CSRF_FIELD)
    held = request.cookies.get(CSRF_COOKIE)
    if not held or not same(sent, held):
        raise Refused(403, "the form is stale or from elsewhere: reload the page and try again")


async def read_form(request: Request) -> dict[str, str]:
    """A small url-encoded form (first value of each field); 413 past FORM_LIMIT."""
    if request.headers.get("content-type", "").split(";")[0].strip() not in (
        "application/x-www-form-urlencoded",
        "",
    ):
        raise Refused(415, "send the form as application/x-www-form-urlencoded")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise Refused(413, "the form is too large")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(400, "the form could not be read") from exc
    return {name: values[0] for name, values in fields.items()}


def safe_name(raw: str) -> str:
    """A file name safe to store: the last part of any path, letters (any script), digits
    and ``-_.() `` kept, the rest ``_``; no leading dot; a known sheet suffix.

    Raises Refused (400) for another kind of file.
    """
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c if c.isalnum() or c in "-_.() " else "_" for c in name).rstrip(" .")
    suffix = PurePosixPath(name).suffix
    if suffix.lower() not in SHEET_SUFFIXES:
        kinds = ", ".join(SHEET_SUFFIXES)
        raise Refused(400, f"{name or 'this file'} is not a sheet: send one of {kinds}")
    stem = name[: -len(suffix)].strip(" .")[:NAME_CHARS].rstrip(" .") or "upload"
    return stem + suffix


def contained(root: Path, relative: str) -> Path:
    """The regular file ``relative`` names under ``root``; 404 for anything outside it.

    No part may be empty, ``.``, ``..`` or hidden, and the resolved path (symlinks
    followed) must stay under the resolved root.
    """
    parts = relative.split("/")
    if any(not p or p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
        raise Refused(404, "no such file")
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        raise Refused(404, "no such file")
    return target
