"""HLS playlists of finished renders, and the pins that keep their segments in the cache.

A render's manifest lists its segments with their frames; the playlist view names one
MPEG-TS file per position and the segment view remuxes it on request
(`synthesis.hls.ts_segment`), timed to its place. A published version's segments are pinned
(owner `published-version-<id>`) while it is published, and so are the segments of its
students' variants (owner `published-variants-<id>`, added as each variant is ready), so
size-based eviction and segments_gc never take away what students watch.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from courses.media import _parse_range as parse_range
from courses.models import LessonVersion, RenderJob, VersionStatus
from courses.selectors import latest_successful_render
from synthesis.hls import PlaylistEntry, playlist_entries
from synthesis.segments import SegmentStore

PUBLISHED_OWNER = "published-version-{pk}"
VARIANTS_OWNER = "published-variants-{pk}"


def segment_store() -> SegmentStore:
    """The site's segment store: LECTERN_CACHE_DIR, as a local cache of the bucket's
    segments when media are in a bucket (courses.storage), capped at LECTERN_CACHE_MAX_MB."""
    from courses.storage import segment_remote

    remote = segment_remote()
    max_bytes = settings.LECTERN_CACHE_MAX_MB * 1024 * 1024 if remote is not None else None
    return SegmentStore(Path(settings.LECTERN_CACHE_DIR), max_bytes=max_bytes, remote=remote)


def job_playlist(job: RenderJob) -> tuple[list[PlaylistEntry], int] | None:
    """A finished job's segments in playing order and its frame rate; None for a render
    made before playlists (its manifest lists no segment frames)."""
    if not job.output_dir:
        return None
    return manifest_playlist(job.manifest or {})


def manifest_playlist(manifest: dict) -> tuple[list[PlaylistEntry], int] | None:
    """The playlist a render manifest describes (as job_playlist), also before the render's
    files are in place (the publish checks of a first render sign it from its staging)."""
    entries = manifest.get("entries") or []
    fps = manifest.get("fps") or (manifest.get("settings") or {}).get("fps")
    if not entries or not fps:
        return None
    fps = int(fps)
    return playlist_entries([(entry["segment"], entry["frames"]) for entry in entries], fps), fps


def ranged_bytes_response(request: HttpRequest, data: bytes, content_type: str) -> HttpResponse:
    """200 with data, 206 with the requested byte range, or 416 (as ranged_file_response)."""
    size = len(data)
    byte_range = parse_range(request.headers.get("Range", ""), size)
    if byte_range is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if byte_range is None:
        response = HttpResponse(data, content_type=content_type)
    else:
        start, end = byte_range
        response = HttpResponse(data[start : end + 1], status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def published_segments_sync(*, version: LessonVersion) -> frozenset[str]:
    """Pin the segments of the version's latest render while it is published, unpin them
    once it is not (superseded, taken down); returns what the version pins now."""
    store = segment_store()
    owner = PUBLISHED_OWNER.format(pk=version.pk)
    status = LessonVersion.objects.filter(pk=version.pk).values_list("status", flat=True).first()
    job = latest_successful_render(version) if status == VersionStatus.PUBLISHED else None
    keys = set((job.manifest or {}).get("segments") or ()) if job is not None else set()
    if store.pins(owner) != keys:
        store.unpin(owner=owner)
        if keys:
            store.pin(keys, owner=owner)
    if job is None:  # no longer published: its variants' segments may go too
        store.unpin(owner=VARIANTS_OWNER.format(pk=version.pk))
    return frozenset(keys)


def variant_segments_pin(*, version: LessonVersion, keys: list[str]) -> bool:
    """Pin a ready variant's segments while its version is published; False when it is not."""
    published = LessonVersion.objects.filter(pk=version.pk, status=VersionStatus.PUBLISHED)
    if not published.exists():
        return False
    segment_store().pin(keys, owner=VARIANTS_OWNER.format(pk=version.pk))
    return True
