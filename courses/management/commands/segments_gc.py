"""python manage.py segments_gc [--dry-run] [--min-age-hours H]

Reports, then removes, the rendered segments no render refers to. A render job refers to
the segments in its manifest while its output folder still exists; those segments are pinned
(owner `render-job-<id>`, so size-based eviction after a render never removes them either)
and pins of jobs whose outputs are gone are dropped. A segment used within the last
--min-age-hours is kept (a render in progress has not written its manifest yet).

With media in a bucket (courses.storage) it collects the bucket's segments: the pins are
the bucket's, a job's outputs exist when its lesson.mp4 is in the bucket, and "used" means
uploaded (S3 keeps no access time). Local copies on each machine are a cache: removed with
the bucket's object here, and evicted by size (LECTERN_CACHE_MAX_MB) elsewhere.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from courses.models import RenderJob
from courses.playlists import segment_store
from courses.rendering import VIDEO_NAME
from courses.storage import render_output_exists
from synthesis.segments import SegmentStore

JOB_OWNER = "render-job-{pk}"


def referenced_segments(store: SegmentStore) -> dict[str, set[str]]:
    """Pin owner -> segment keys, for every render job whose output still exists."""
    media_root = Path(settings.MEDIA_ROOT)
    in_bucket = store.remote is not None
    owners: dict[str, set[str]] = {}
    jobs = RenderJob.objects.exclude(output_dir="").only("pk", "output_dir", "manifest")
    for job in jobs.iterator():
        if in_bucket:
            if not render_output_exists(job.output_dir, VIDEO_NAME):
                continue
        elif not (media_root / job.output_dir).is_dir():
            continue
        manifest = job.manifest or {}
        keys = set(manifest.get("segments") or ())
        if keys:
            owners[JOB_OWNER.format(pk=job.pk)] = keys
    return owners


def collect(store: SegmentStore, *, min_age_s: float, dry_run: bool) -> dict[str, object]:
    """Pin what live jobs refer to, unpin the rest of the job pins, remove what nobody pins."""
    owners = referenced_segments(store)
    if not dry_run:
        for owner in store.pin_owners():
            if owner.startswith("render-job-") and owner not in owners:
                store.unpin(owner=owner)
        for owner, keys in owners.items():
            if store.pins(owner) != keys:
                store.unpin(owner=owner)
                store.pin(keys, owner=owner)
    referenced = set().union(*owners.values()) if owners else set()
    # Other owners' pins (published lessons, live playlists) count as references too.
    kept = referenced | {
        key
        for owner in store.pin_owners()
        if not owner.startswith("render-job-")
        for key in store.pins(owner)
    }
    cutoff = time.time() - min_age_s
    sizes_and_times = stored_segments(store)
    stored = sorted(sizes_and_times)
    unreferenced, recent, freed = [], 0, 0
    for key in stored:
        if key in kept:
            continue
        size, used_at = sizes_and_times[key]
        if used_at > cutoff:
            recent += 1
            continue
        unreferenced.append(key)
        freed += size
    removed = [] if dry_run else remove_segments(store, unreferenced)
    return {
        "segments": len(stored),
        "referenced": len(referenced & set(stored)),
        "jobs": len(owners),
        "unreferenced": len(unreferenced),
        "recent_kept": recent,
        "bytes": freed,
        "removed": len(removed),
    }


def stored_segments(store: SegmentStore) -> dict[str, tuple[int, float]]:
    """key -> (bytes, last use as a timestamp) of every segment of the store's shared tier."""
    if store.remote is not None:
        return {
            key: (size, uploaded_at.timestamp())
            for key, (size, uploaded_at) in store.remote.segments().items()
        }
    found, local_keys = {}, store.keys()
    for key in local_keys:
        try:
            stat = store.path_for(key).stat()
        except FileNotFoundError:
            continue
        found[key] = (stat.st_size, max(stat.st_mtime, stat.st_atime))
    return found


def remove_segments(store: SegmentStore, keys: list[str]) -> list[str]:
    if store.remote is not None:
        store.remote.remove(keys)
        store.remove(keys)  # this machine's copies
        return keys
    return store.remove(keys)


class Command(BaseCommand):
    help = "Report and remove rendered segments that no existing render output refers to."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report only, remove nothing")
        parser.add_argument(
            "--min-age-hours",
            type=float,
            default=1.0,
            help="keep segments used more recently than this (default 1)",
        )

    def handle(self, *args, **options):
        store = segment_store()
        report = collect(
            store, min_age_s=options["min_age_hours"] * 3600, dry_run=options["dry_run"]
        )
        verb = "would remove" if options["dry_run"] else "removed"
        count = report["unreferenced"] if options["dry_run"] else report["removed"]
        self.stdout.write(
            f"{report['segments']} segments, {report['jobs']} render jobs with outputs refer "
            f"to {report['referenced']}; {report['unreferenced']} unreferenced "
            f"({report['bytes'] / 1e6:.1f} MB), {report['recent_kept']} recent kept; "
            f"{verb} {count}."
        )
