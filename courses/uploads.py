"""Refuse a too-large upload while it arrives, so it is never stored whole.

Django stores every upload (in memory or a temporary file) before a form sees it; a
teacher's 2 GB video picked by mistake would fill the disk first and be refused after.
`UploadLimitHandler` stands first in the request's upload handlers and skips a file as
soon as it passes `LECTERN_MAX_UPLOAD_BYTES`; the form then names it (`RefusedUpload`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest
from django.views.decorators.csrf import csrf_exempt, csrf_protect


@dataclass(frozen=True)
class RefusedUpload:
    """A file the handler skipped: which form field, the file's name, the limit it passed."""

    field_name: str
    file_name: str
    limit_bytes: int


class UploadLimitHandler(FileUploadHandler):
    """Passes each chunk on to the storing handlers until the file passes max_bytes, then
    raises SkipFile: the parser drops what was stored and reads the rest without keeping it."""

    def __init__(self, request: HttpRequest | None = None, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.refused: list[RefusedUpload] = []

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.max_bytes:
            self.refused.append(RefusedUpload(self.field_name, self.file_name, self.max_bytes))
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the handlers after this one build the uploaded file


def refused_uploads(request: HttpRequest) -> list[RefusedUpload]:
    """Files of this request that the size limit refused (read request.POST/FILES first)."""
    return [
        refused
        for handler in request.upload_handlers
        if isinstance(handler, UploadLimitHandler)
        for refused in handler.refused
    ]


def upload_size_limited(view: Callable) -> Callable:
    """Decorate a view that receives files: the limit is installed before the body is read.

    CsrfViewMiddleware reads request.POST before any view runs, after which upload
    handlers can no longer change; so, as Django's documentation on modifying upload
    handlers shows, the view is exempted from the middleware and checks CSRF itself,
    once the handler is in place.
    """
    protected = csrf_protect(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        handler = UploadLimitHandler(request, max_bytes=settings.LECTERN_MAX_UPLOAD_BYTES)
        request.upload_handlers.insert(0, handler)
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapped)
