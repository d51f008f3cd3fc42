"""Media in an S3-compatible bucket (courses.storage), against a real S3 HTTP endpoint: moto's
server on loopback. Scene images and render outputs live in the bucket and are served only
after the views' access checks; HLS segments reach an empty local store from the bucket; a
failed upload leaves no object behind."""

from __future__ import annotations

import shutil
import urllib.request
import uuid

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from moto.server import ThreadedMotoServer

from courses import storage
from courses.models import RenderJob, RenderStatus, Scene
from courses.tasks import render_lesson_version
from tests.conftest import free_port
from tests.courses.conftest import post_scene_image
from tests.courses.documents import png_bytes


@pytest.fixture(scope="module")
def s3_endpoint() -> str:
    """moto's S3 on a free loopback port; a failure to start fails the tests."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings, tmp_path, monkeypatch) -> storage.Bucket:
    """A fresh bucket as the default storage (settings as LECTERN_MEDIA_S3_* would make them)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    name = f"lectern-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    settings.LECTERN_TTS_ENGINES = ["piper", "espeak"]
    settings.LECTERN_DEVICE = "cpu"
    # Assigning STORAGES sends setting_changed, which drops the cached default storage.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "addressing_style": "path",
                "signature_version": "s3v4",
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    assert storage.media_in_bucket()
    return storage.bucket()


def object_keys(bucket: storage.Bucket, prefix: str = "") -> set[str]:
    return {item["Key"] for item in bucket.keys(prefix)}


def follow(response, *, byte_range: str | None = None) -> tuple[int, bytes, object]:
    """Fetch the presigned URL a view redirected to, as the browser would."""
    assert response.status_code == 302
    request = urllib.request.Request(response["Location"])
    if byte_range:
        request.add_header("Range", byte_range)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, answer.read(), answer.headers  # case-insensitive


@pytest.fixture
def tiny_version(version):
    """The studio's version cut to two short scenes (a fast render)."""
    version.scenes.filter(position=2).delete()
    Scene.objects.filter(version=version, position=1).update(narration="Plants need light.")
    return version


def queued_job(version, user) -> RenderJob:
    return RenderJob.objects.create(
        version=version, requested_by=user, width_px=128, height_px=72, fps=10,
        quality="draft", scene_count=version.scenes.count(),
    )  # fmt: skip


def test_scene_image_is_stored_in_the_bucket_and_served_after_the_access_check(
    client, alice, bob, version, bucket, settings
):
    scene = version.scenes.get(position=1)
    image = png_bytes()
    client.force_login(alice)
    response = post_scene_image(client, scene, SimpleUploadedFile("figure.png", image))
    assert response.status_code == 302
    scene.refresh_from_db()
    assert scene.image.name in object_keys(bucket, "scenes/")
    assert not (settings.MEDIA_ROOT / scene.image.name).exists()
    url = reverse("courses:scene_image", args=[scene.pk])

    status, body, headers = follow(client.get(url))
    assert (status, headers["Content-Type"]) == (200, "image/png")
    assert body[:8] == b"\x89PNG\r\n\x1a\n"  # the re-encoded upload, from the bucket
    status, body, _ = follow(client.get(url), byte_range="bytes=0-3")
    assert (status, body) == (206, b"\x89PNG")

    client.force_login(bob)  # another teacher: not found, and no URL to the bucket
    response = client.get(url)
    assert response.status_code == 404 and "Location" not in response


def test_render_outputs_and_segments_go_to_the_bucket_and_are_served_from_it(
    client, alice, bob, tiny_version, bucket, settings
):
    job = queued_job(tiny_version, alice)
    assert render_lesson_version(job.pk) == RenderStatus.SUCCEEDED
    job.refresh_from_db()
    keys = object_keys(bucket)
    assert {f"{job.output_dir}/lesson.mp4", f"{job.output_dir}/lesson.vtt"} <= keys
    assert {f"segments/{key}.mp4" for key in job.manifest["segments"]} <= keys

    client.force_login(alice)
    video = reverse("courses:render_job_file", args=[job.pk, "video"])
    status, body, headers = follow(client.get(video), byte_range="bytes=0-99")
    assert (status, len(body), headers["Content-Type"]) == (206, 100, "video/mp4")
    assert body[4:8] == b"ftyp"
    captions = client.get(reverse("courses:render_job_file", args=[job.pk, "captions"]))
    assert captions.status_code == 200  # read through: a <track> is not redirected
    assert "Plants need light." in b"".join(captions.streaming_content).decode()

    # A web process on another machine: an empty local store fetches from the bucket.
    shutil.rmtree(settings.LECTERN_CACHE_DIR)
    playlist = client.get(reverse("courses:render_job_playlist", args=[job.pk]))
    assert playlist.status_code == 200
    first = job.manifest["entries"][0]["segment"]
    segment = client.get(reverse("courses:render_job_segment", args=[job.pk, 0, first]))
    assert segment.status_code == 200 and segment.content[:1] == b"\x47"  # MPEG-TS sync byte
    assert (settings.LECTERN_CACHE_DIR / "segments" / f"{first}.mp4").is_file()

    client.force_login(bob)
    assert client.get(video).status_code == 404


def test_a_worker_on_another_machine_takes_the_buckets_segments_instead_of_encoding(
    alice, tiny_version, bucket, settings
):
    first = queued_job(tiny_version, alice)
    assert render_lesson_version(first.pk) == RenderStatus.SUCCEEDED
    shutil.rmtree(settings.LECTERN_CACHE_DIR / "segments")  # another worker's empty store
    again = queued_job(tiny_version, alice)
    assert render_lesson_version(again.pk) == RenderStatus.SUCCEEDED
    again.refresh_from_db()
    assert again.manifest["statistics"]["cache"]["segments_encoded"] == 0


def test_deleting_a_lesson_removes_its_objects_from_the_bucket(
    client, alice, tiny_version, bucket, django_capture_on_commit_callbacks
):
    from courses import services

    job = queued_job(tiny_version, alice)
    assert render_lesson_version(job.pk) == RenderStatus.SUCCEEDED
    job.refresh_from_db()
    assert object_keys(bucket, f"{job.output_dir}/")
    with django_capture_on_commit_callbacks(execute=True):
        services.lesson_delete(lesson=tiny_version.lesson, user=alice)
    assert object_keys(bucket, f"{job.output_dir}/") == set()


def test_a_teachers_storage_use_counts_the_buckets_objects(alice, tiny_version, bucket):
    from courses.quotas import teacher_storage_use

    job = queued_job(tiny_version, alice)
    assert render_lesson_version(job.pk) == RenderStatus.SUCCEEDED
    job.refresh_from_db()
    in_bucket = sum(item["Size"] for item in bucket.keys(f"{job.output_dir}/"))
    assert teacher_storage_use(alice).renders_bytes == in_bucket > 0


def test_the_players_transcript_is_read_from_the_bucket(alice, tiny_version, bucket, settings):
    from learning.selectors import transcript_cues

    job = queued_job(tiny_version, alice)
    assert render_lesson_version(job.pk) == RenderStatus.SUCCEEDED
    job.refresh_from_db()
    shutil.rmtree(settings.MEDIA_ROOT / job.output_dir)  # a web machine has no local copy
    assert "Plants need light." in " ".join(cue["text"] for cue in transcript_cues(job))


def test_a_failed_upload_publishes_nothing_and_leaves_no_object(
    alice, tiny_version, bucket, settings, monkeypatch
):
    real_upload = storage.Bucket.upload
    calls = []

    def failing_midway(self, source, key, *, content_type):
        calls.extend([key] if key.startswith("renders/") else [])
        if len(calls) < 3:  # segments, then the first two outputs, upload as they should
            return real_upload(self, source, key, content_type=content_type)

        # The third output breaks off after its first bytes, as a lost connection would.
        class BrokenFile:
            def __init__(self):
                self.sent = False

            def read(self, size=-1):
                if self.sent:
                    raise ConnectionResetError("connection lost midway")
                self.sent = True
                return source.read_bytes()[:10]

        self.client.upload_fileobj(BrokenFile(), self.name, key)

    monkeypatch.setattr(storage.Bucket, "upload", failing_midway)
    job = queued_job(tiny_version, alice)
    assert render_lesson_version(job.pk) == RenderStatus.FAILED
    job.refresh_from_db()
    assert job.output_dir == "" and "connection lost midway" in job.error
    assert len(calls) == 3
    assert object_keys(bucket, "renders/") == set()  # neither the broken nor the finished ones
    assert not (settings.MEDIA_ROOT / "renders" / str(job.pk)).exists()


def test_segments_gc_collects_the_buckets_unreferenced_segments(
    alice, tiny_version, bucket, tmp_path
):
    from courses.management.commands.segments_gc import collect
    from courses.playlists import segment_store

    used, orphan = "a" * 64, "b" * 64
    source = tmp_path / "bytes.mp4"
    source.write_bytes(b"\x00" * 32)
    for key in (used, orphan):
        bucket.upload(source, f"segments/{key}.mp4", content_type="video/mp4")
    bucket.upload(source, "renders/7/lesson.mp4", content_type="video/mp4")
    RenderJob.objects.create(
        version=tiny_version, requested_by=alice, status=RenderStatus.SUCCEEDED,
        output_dir="renders/7", manifest={"segments": [used]},
    )  # fmt: skip

    report = collect(segment_store(), min_age_s=0, dry_run=False)

    assert (report["referenced"], report["removed"]) == (1, 1)
    assert object_keys(bucket, "segments/") == {
        f"segments/{used}.mp4",
        f"segments/pins/render-job-{RenderJob.objects.get().pk}.json",  # pinned in the bucket
    }


def test_media_domain_urls_keep_the_stores_path_and_query_for_the_proxy(
    bucket, s3_endpoint, settings, tmp_path
):
    source = tmp_path / "figure.png"
    source.write_bytes(png_bytes())
    bucket.upload(source, "scenes/1/figure.png", content_type="image/png")
    settings.LECTERN_MEDIA_URL = "https://media.school.example"

    url = bucket.presigned_url(
        "scenes/1/figure.png", content_type="image/png", disposition="inline"
    )

    assert url.startswith("https://media.school.example/")
    # What the media domain's nginx does: same path and query, to the store, its own Host.
    forwarded = s3_endpoint + url[len(settings.LECTERN_MEDIA_URL) :]
    with urllib.request.urlopen(forwarded, timeout=10) as answer:
        assert answer.read() == source.read_bytes()
    # (moto does not check presigned signatures, so a tampered URL cannot be tested here.)
