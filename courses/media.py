"""Serve a private file with HTTP Range support, so a <video> can seek.

Drafts' media never go through the public /media/ path: views check access first,
then answer with `ranged_file_response`, or `stored_file_response` for a file of the default
storage: with media in a bucket, a video, audio or image is a redirect to a short-lived
presigned URL (the store answers Range requests, no web process streams a video), and a
small text file (captions, a manifest) is read through and served as here.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# SVGs can carry scripts: served files never run anything, even when opened directly.
_SANDBOX = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
CONTENT_TYPES = {
    ".vtt": "text/vtt; charset=utf-8",
    ".mp4": "video/mp4",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".wav": "audio/wav",
    ".c2pa": "application/c2pa",  # a C2PA manifest store (a signed video's sidecar)
}
# Shown inline (a page's <img>, <video> or <track> uses them); anything else, SVG included,
# is an attachment, so opening its URL downloads it instead of running it on our origin.
INLINE_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/",
    "audio/",
    "text/vtt",
)


class _RangeReader:
    """A file object reading only bytes start..end (inclusive) of an open file."""

    def __init__(self, handle, start: int, end: int, block_size: int = 64 * 1024) -> None:
        handle.seek(start)
        self.handle, self.remaining, self.block_size = handle, end - start + 1, block_size

    def __iter__(self):
        while self.remaining > 0:
            chunk = self.handle.read(min(self.block_size, self.remaining))
            if not chunk:
                break
            self.remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.handle.close()


def content_type_for(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower()) or (
        mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )


def is_inline(content_type: str) -> bool:
    return content_type.startswith(INLINE_TYPES)


def ranged_file_response(
    request: HttpRequest, path: Path, *, download_name: str | None = None
) -> HttpResponse:
    """200 with the whole file, 206 with the requested byte range, or 416 for a bad range.

    Every answer names the file in Content-Disposition: an attachment when download_name
    is given or the type is not media a page shows, inline otherwise.
    """
    size = path.stat().st_size
    content_type = content_type_for(path)
    as_attachment = download_name is not None or not is_inline(content_type)
    byte_range = _parse_range(request.headers.get("Range", ""), size)
    if byte_range is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if byte_range is None:
        response = FileResponse(
            open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
            content_type=content_type,
        )
    else:
        start, end = byte_range
        response = FileResponse(
            _RangeReader(open(path, "rb"), start, end),  # noqa: SIM115 - closed by the response
            status=206,
            content_type=content_type,
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment, download_name or path.name
    )
    response["Accept-Ranges"] = "bytes"
    response["Content-Security-Policy"] = _SANDBOX
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def stored_file_response(
    request: HttpRequest, name: str, *, download_name: str | None = None
) -> HttpResponse:
    """ranged_file_response for a name in the default storage; 404 if it is not stored.

    Call it only after the access check: a presigned URL is as good as the file.
    """
    from courses import storage

    if not storage.media_in_bucket():
        path = storage.local_media_path(name)
        if path is None:
            raise Http404
        return ranged_file_response(request, path, download_name=download_name)
    bucket = storage.bucket()
    path = Path(name)
    content_type = content_type_for(path)
    as_attachment = download_name is not None or not is_inline(content_type)
    disposition = content_disposition_header(as_attachment, download_name or path.name)
    if content_type.startswith(("video/", "audio/", "image/")):
        if bucket.head(name) is None:
            raise Http404
        url = bucket.presigned_url(name, content_type=content_type, disposition=disposition)
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"  # the URL expires
        return response
    # A <track> must not be redirected to another origin, and these files are small.
    copy = storage.local_media_path(name)
    if copy is None:
        raise Http404
    return ranged_file_response(request, copy, download_name=download_name)


def _parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(start, end) for one satisfiable range, None for no (or an ignorable) header, False if
    the range lies outside the file."""
    match = _RANGE.match(header.strip())
    if not match or not any(match.groups()):
        return None  # absent or several ranges: send the whole file, as RFC 9110 allows
    first, last = match.groups()
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    else:
        start, end = max(size - int(last), 0), size - 1
    if start >= size or start > end:
        return False
    return start, end
