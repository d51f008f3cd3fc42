"""The publish gate's file step: a render's files must carry every AI-content label, and the
video students get is signed with C2PA and verified. lesson_version_publish calls it.

The render's own lesson.mp4 is replaced, atomically, by its signed copy: the file served to
anyone (students, moderators, the teacher's download) is then the signed one, under the name
every view already serves, and a C2PA manifest changes no frame or sample. Signing again a
file that already carries a valid Lectern manifest is skipped, so publishing is idempotent.
The manifest also lists the digest of every TS file of the render's HLS playlist (see
moderation.provenance), and signed_playlist_digests gives the views that list.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from courses import storage
from courses.models import LessonVersion, RenderJob
from courses.playlists import manifest_playlist, segment_store
from moderation.provenance import (
    ACCEPTED_STATES,
    CLAIM_GENERATOR,
    ProvenanceError,
    configured_credentials,
    file_provenance,
    read_provenance,
    sign_sidecar,
    sign_video,
)
from synthesis.errors import SynthesisError
from synthesis.hls import PlaylistEntry, ts_segment
from synthesis.labels_check import label_problems

VIDEO_NAME = "lesson.mp4"
CAPTIONS_NAME = "lesson.vtt"


def render_output_folder(render_job: RenderJob) -> Path:
    return Path(settings.MEDIA_ROOT) / render_job.output_dir


def served_video(render_job: RenderJob) -> Path:
    """A local path with the bytes of the render's served lesson.mp4 (its copy of the bucket's
    object when media are in a bucket, courses.storage)."""
    name = f"{render_job.output_dir}/{VIDEO_NAME}"
    return storage.local_media_path(name) or render_output_folder(render_job) / VIDEO_NAME


def author_name(render_job: RenderJob) -> str:
    """The teacher named as the video's author: who made the version, else the course owner."""
    return version_author_name(render_job.version)


def version_author_name(version: LessonVersion) -> str:
    return str(version.created_by or version.lesson.course.owner)


def published_file_problems(
    render_job: RenderJob | None, *, folder: Path | None = None
) -> list[str]:
    """Why this render's files cannot be published (empty when they can); signs the video.

    Checks the visible opening label, the AIGC tag and the first caption cue, then signs
    lesson.mp4 in place and verifies the signature. A file whose existing manifest no
    longer validates was changed after signing and is refused, never signed again.
    `folder`: the render's files before they are moved to the job's output folder.
    """
    if render_job is None or not (folder or render_job.output_dir):
        return [_("The version has no finished render.")]
    if folder is None and storage.media_in_bucket():
        return _bucket_file_problems(render_job)
    folder = folder or render_output_folder(render_job)
    video, captions = folder / VIDEO_NAME, folder / CAPTIONS_NAME
    if not video.is_file() or not captions.is_file():
        return [_("The render's video or captions file is missing.")]
    problems = [
        _("The video is not labelled as AI-generated: %(problem)s") % {"problem": problem}
        for problem in label_problems(video, captions)
    ]
    if problems:
        return problems
    existing = read_provenance(video)
    if existing["validation_state"] is not None:
        if existing["validation_state"] in ACCEPTED_STATES and (
            existing["claim_generator"] == CLAIM_GENERATOR and existing["ai_generated"]
        ):
            return []
        return [_("The video was changed after it was signed; render it again.")]
    try:
        sign_video(
            video,
            video,
            credentials=configured_credentials(),
            author=author_name(render_job),
            title=render_job.version.lesson.title,
            hls_segments=playlist_digests(render_job),
        )
    except ProvenanceError as error:
        return [_("The video could not be signed: %(error)s") % {"error": error}]
    return []


def _bucket_file_problems(render_job: RenderJob) -> list[str]:
    """published_file_problems on a fresh copy of the bucket's files; a video it signed
    replaces the bucket's object (one PUT: readers see the old or the new file)."""
    with tempfile.TemporaryDirectory(prefix="lectern-publish-") as temp:
        folder = Path(temp)
        for name in (VIDEO_NAME, CAPTIONS_NAME):
            copy = storage.local_media_path(f"{render_job.output_dir}/{name}")
            if copy is not None:
                shutil.copyfile(copy, folder / name)
        video = folder / VIDEO_NAME
        before = video.stat().st_size if video.is_file() else None
        problems = published_file_problems(render_job, folder=folder)
        if not problems and video.stat().st_size != before:  # a C2PA manifest adds bytes
            storage.render_output_upload_file(video, render_job.output_dir)
        return problems


def published_file_provenance(render_job: RenderJob) -> dict:
    """What the served video's own C2PA manifest says, for the player page: `signed` (a
    manifest that validates), who produced it, the author, when (a datetime) and whether it
    says AI-generated."""
    found = file_provenance(served_video(render_job))
    state = found.get("validation_state")
    return {
        "signed": state in ACCEPTED_STATES and not found.get("problems"),
        "trusted": state == "Trusted",
        "claim_generator": found.get("claim_generator", ""),
        "author": found.get("author", ""),
        "signed_by": found.get("signed_by", ""),
        "created_at": parse_datetime(found.get("created_at") or ""),
        "ai_generated": bool(found.get("ai_generated")),
    }


def playlist_digests(render_job: RenderJob) -> list[dict]:
    """{position, key, frames, sha256} of every TS file the render's playlist serves; empty
    when it has none (rendered before playlists, or a segment has left the cache: the
    player then plays the signed MP4)."""
    found = manifest_playlist(render_job.manifest or {})
    if found is None:
        return []
    try:
        return segment_digests(*found)
    except SynthesisError:
        return []


def segment_digests(entries: Sequence[PlaylistEntry], fps: int) -> list[dict]:
    """{position, key, frames, sha256 of its TS file} per playlist entry; SynthesisError when
    a segment is not in the store."""
    store = segment_store()
    return [
        {
            "position": entry.position,
            "key": entry.key,
            "frames": entry.frames,
            "sha256": hashlib.sha256(ts_segment(store, entry, fps=fps)).hexdigest(),
        }
        for entry in entries
    ]


def playlist_manifest_store(
    video: Path, digests: Sequence[dict], *, version: LessonVersion
) -> bytes:
    """A signed sidecar manifest for video (the MP4 a playlist's segments assemble into)
    listing the digest of each TS file of that playlist (segment_digests): a student's
    variant is covered like a published render. ProvenanceError when it cannot be made."""
    return sign_sidecar(
        video,
        credentials=configured_credentials(),
        author=version_author_name(version),
        title=version.lesson.title,
        hls_segments=list(digests),
    )


def signed_playlist_digests(render_job: RenderJob) -> dict[int, str] | None:
    """position -> SHA-256 of its TS file, as the served video's signed manifest lists them;
    None when the video is unsigned (a draft's preview: nothing to check against). A signed
    video whose manifest lists no playlist, or one that no longer validates, gives {}."""
    found = file_provenance(served_video(render_job))
    if found.get("validation_state") is None:
        return None
    if found["validation_state"] not in ACCEPTED_STATES or found.get("problems"):
        return {}
    entries = found.get("hls_segments") or []
    return {int(item["position"]): str(item["sha256"]) for item in entries}
