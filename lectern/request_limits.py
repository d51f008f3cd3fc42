"""Refuse a request body over its limit with 413 before it is read, whatever its framing.

`RequestBodyLimit` wraps the ASGI application. A body whose `Content-Length` passes the
limit is refused before a byte of it is received; a chunked body (no length) is counted as
it arrives and refused once it passes. Sign-in and the other form posts get
`LECTERN_MAX_FORM_BYTES`; the URLs named in `UPLOAD_URL_NAMES` get the upload limit.

This only bounds memory under a server that streams the body to the application, as
uvicorn does (it stops reading the socket while the application is not receiving).
daphne reads the whole body before calling the application, so Lectern is served by
uvicorn (accounts/management/commands/run_lectern.py).
"""

from __future__ import annotations

import html
import io

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext

# The views that receive files; every other URL gets the small form limit.
UPLOAD_URL_NAMES = frozenset({"courses:lesson_import", "courses:scene_edit"})


class RequestBodyTooLarge(Exception):
    """Raised from `receive` once a streamed body passes its limit."""


def body_limit_bytes(path_info: str) -> int:
    """The largest body accepted at this path: uploads get their file limit plus a form's
    worth of other fields and multipart framing, so a file at the limit still reaches the
    view, which names it in the form (courses.uploads)."""
    try:
        view_name = resolve(path_info).view_name
    except Resolver404:
        view_name = ""
    if view_name in UPLOAD_URL_NAMES:
        return settings.LECTERN_MAX_UPLOAD_BYTES + settings.LECTERN_MAX_FORM_BYTES
    return settings.LECTERN_MAX_FORM_BYTES


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The body length the client declared; None when it sent none (chunked) or garbage."""
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestBodyLimit:
    """ASGI middleware: 413 for an HTTP body over `body_limit_bytes`, before it is read."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path_info = _path_info(scope)
        limit_bytes = body_limit_bytes(path_info)
        length = declared_length(scope["headers"])
        if length is not None and length > limit_bytes:
            await _send_too_large(scope, send, limit_bytes)
            return

        received_bytes = 0
        response_started = False

        async def counting_receive():
            nonlocal received_bytes
            message = await receive()
            if message["type"] == "http.request":
                received_bytes += len(message.get("body", b""))
                if received_bytes > limit_bytes:
                    raise RequestBodyTooLarge
            return message

        async def tracking_send(message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except RequestBodyTooLarge:
            # Django reads the whole body before any view runs, so no response has begun;
            # if an application ever streamed one first, there is nothing left to say.
            if not response_started:
                await _send_too_large(scope, send, limit_bytes)


def _path_info(scope) -> str:
    path, root_path = scope["path"], scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        return path[len(root_path) :] or "/"
    return path


async def _send_too_large(scope, send, limit_bytes: int) -> None:
    """A short page in the visitor's language, and `Connection: close`, so the server
    drops the connection instead of reading the rest of the body."""
    # An empty body: only the cookies and Accept-Language are read, for the language.
    request = ASGIRequest(scope, io.BytesIO())
    with translation.override(translation.get_language_from_request(request)):
        title = gettext("Request too large")
        message = gettext(
            "This request is larger than the %(limit)s this address accepts. "
            "Go back and send a smaller file or less text."
        ) % {"limit": _size_text(limit_bytes)}
        language = translation.get_language()
    page = (
        f'<!doctype html><html lang="{language}"><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(message)}</p></html>"
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(page)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": page})


def _size_text(size_bytes: int) -> str:
    if size_bytes >= 1024 * 1024:
        return f"{size_bytes / (1024 * 1024):.0f} MB"
    return f"{max(1, size_bytes // 1024)} KB"
