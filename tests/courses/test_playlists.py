"""HLS playlists of finished renders: served over cached segments, access-checked like the
MP4, pinned while live; segments_gc keeps referenced segments and removes the rest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from courses.models import LessonVersion
from moderation.models import ReviewAction
from synthesis.hls import START_TICKS, TS_HZ
from synthesis.segments import SegmentStore
from tests.conftest import make_user
from tests.courses.conftest import finished_render
from tests.synthesis.labelled_render import copy_labelled_output
from tests.synthesis.media_checks import ffprobe, stream


def test_the_playlist_lists_every_segment_and_serves_them(
    client, alice, rendered_job, settings, tmp_path
):
    client.force_login(alice)
    response = client.get(reverse("courses:render_job_playlist", args=[rendered_job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    text = response.content.decode()
    keys = rendered_job.manifest["segments"]
    assert text.count("#EXTINF") == len(keys) == 7  # opening, then transition + scene x 3
    durations = [float(line[8:].rstrip(",")) for line in text.splitlines() if "#EXTINF" in line]
    assert sum(durations) == pytest.approx(rendered_job.manifest["duration_s"], abs=0.01)
    assert "#EXT-X-DISCONTINUITY" not in text
    uris = [line for line in text.splitlines() if line.startswith("/")]
    assert uris[0] == reverse("courses:render_job_segment", args=[rendered_job.pk, 0, keys[0]])

    segment = client.get(uris[2])
    assert segment.status_code == 200 and segment["Content-Type"] == "video/mp2t"
    body = segment.content
    assert body[0] == 0x47  # an MPEG-TS sync byte
    part = client.get(uris[2], HTTP_RANGE="bytes=188-375")
    assert part.status_code == 206 and part.content == body[188:376]
    assert part["Content-Range"] == f"bytes 188-375/{len(body)}"
    assert client.get(uris[2], HTTP_RANGE=f"bytes={len(body)}-").status_code == 416
    ts_file = tmp_path / "third.ts"
    ts_file.write_bytes(body)
    info = ffprobe(ts_file)
    assert {s["codec_name"] for s in info["streams"]} == {"h264", "aac"}
    # Timed to its place: after the opening and the first transition.
    entries = rendered_job.manifest["entries"]
    start_s = START_TICKS / TS_HZ + (entries[0]["frames"] + entries[1]["frames"]) / 10
    assert float(stream(info, "video")["start_time"]) == pytest.approx(start_s, abs=1e-4)
    # A key at another position, or a position past the end, is not found.
    assert client.get(uris[2].replace("/hls/2/", "/hls/3/")).status_code == 404
    beyond = reverse("courses:render_job_segment", args=[rendered_job.pk, len(keys), keys[0]])
    assert client.get(beyond).status_code == 404

    # A live playlist pins its segments.
    store = SegmentStore(Path(settings.LECTERN_CACHE_DIR))
    assert store.pins(f"render-job-{rendered_job.pk}") == set(keys)


def test_other_users_and_other_keys_are_not_found(client, bob, alice, rendered_job):
    keys = rendered_job.manifest["segments"]
    client.force_login(bob)
    assert (
        client.get(reverse("courses:render_job_playlist", args=[rendered_job.pk])).status_code
        == 404
    )
    segment_url = reverse("courses:render_job_segment", args=[rendered_job.pk, 0, keys[0]])
    assert client.get(segment_url).status_code == 404
    client.force_login(alice)
    stranger = reverse("courses:render_job_segment", args=[rendered_job.pk, 0, "0" * 64])
    assert client.get(stranger).status_code == 404
    client.logout()
    assert client.get(segment_url).status_code in (302, 404)


def test_a_playlist_whose_segments_left_the_cache_is_not_found(
    client, alice, rendered_job, settings
):
    store = SegmentStore(Path(settings.LECTERN_CACHE_DIR))
    store.remove([rendered_job.manifest["segments"][-1]])
    client.force_login(alice)
    url = reverse("courses:render_job_playlist", args=[rendered_job.pk])
    assert client.get(url).status_code == 404  # the player falls back to the MP4


def test_segments_gc_keeps_what_outputs_refer_to_and_removes_the_rest(
    rendered_job, settings, capsys
):
    store = SegmentStore(Path(settings.LECTERN_CACHE_DIR))
    keys = set(rendered_job.manifest["segments"])
    with store.writing("orphan") as path:
        path.write_bytes(b"x" * 1000)
    long_ago = 1_000_000_000
    for key in [*keys, "orphan"]:
        os.utime(store.path_for(key), (long_ago, long_ago))

    call_command("segments_gc", "--dry-run")
    assert "would remove 1" in capsys.readouterr().out
    assert store.has("orphan")

    call_command("segments_gc")
    assert "removed 1" in capsys.readouterr().out
    assert set(store.keys()) == keys
    assert store.pins(f"render-job-{rendered_job.pk}") == keys  # pinned: eviction keeps them

    # Once the job's outputs are gone nothing refers to its segments.
    for path in (Path(settings.MEDIA_ROOT) / rendered_job.output_dir).iterdir():
        path.unlink()
    (Path(settings.MEDIA_ROOT) / rendered_job.output_dir).rmdir()
    call_command("segments_gc", "--min-age-hours", "0")
    assert store.keys() == [] and store.pin_owners() == []


def published_render(version, alice, settings, keys):
    """A finished render of version whose files pass the publish checks, over keys."""
    job = finished_render(version, alice, output_dir=f"renders/{version.pk}")
    job.manifest = {"duration_s": 12.5, "segments": keys}
    job.save()
    copy_labelled_output(Path(settings.MEDIA_ROOT) / job.output_dir)
    return job


def test_a_published_version_pins_its_segments_until_superseded_or_taken_down(
    settings, tmp_path, version, alice, mo, django_capture_on_commit_callbacks
):
    from moderation import reports
    from moderation import services as moderation

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    store = SegmentStore(Path(settings.LECTERN_CACHE_DIR))
    first_keys, second_keys = ["a" * 64, "b" * 64], ["b" * 64, "c" * 64]
    published_render(version, alice, settings, first_keys)
    with django_capture_on_commit_callbacks(execute=True):
        moderation.lesson_version_publish(
            version=version, actor=mo, action=ReviewAction.AUTO_PUBLISH
        )
    assert store.pins(f"published-version-{version.pk}") == set(first_keys)

    second = LessonVersion.objects.create(lesson=version.lesson, number=2, created_by=alice)
    published_render(second, alice, settings, second_keys)
    with django_capture_on_commit_callbacks(execute=True):
        moderation.lesson_version_publish(
            version=second, actor=mo, action=ReviewAction.AUTO_PUBLISH
        )
    assert store.pins(f"published-version-{version.pk}") == set()  # superseded
    assert store.pins(f"published-version-{second.pk}") == set(second_keys)
    # Eviction keeps what students watch, however small the cap.
    for key in [*first_keys, *second_keys]:
        with store.writing(key) as path:
            path.write_bytes(b"x" * 1000)
    capped = SegmentStore(Path(settings.LECTERN_CACHE_DIR), max_bytes=0)
    assert set(capped.evict().removed) == {"a" * 64}

    with django_capture_on_commit_callbacks(execute=True):
        reports.lesson_takedown(lesson=version.lesson, moderator=mo, reason_code="inaccurate")
    assert store.pin_owners() == []


def test_the_students_player_plays_the_published_playlist_and_others_find_nothing(
    client, alice, sam, rendered_job
):
    from django.utils import timezone

    from accounts.models import Classroom
    from courses.models import VersionStatus

    version = rendered_job.version
    version.status, version.published_at = VersionStatus.PUBLISHED, timezone.now()
    version.save()
    classroom = Classroom.objects.create(teacher=alice, name="7B", join_code="K7P2QX")
    classroom.courses.add(version.lesson.course)
    classroom.students.add(sam)
    playlist_url = reverse("courses:render_job_playlist", args=[rendered_job.pk])

    client.force_login(sam)
    page = client.get(reverse("learning:player", args=[version.lesson_id])).content.decode()
    assert f'data-hls-src="{playlist_url}"' in page
    assert reverse("courses:render_job_file", args=[rendered_job.pk, "video"]) in page  # MP4
    playlist = client.get(playlist_url)
    assert playlist.status_code == 200
    first = next(line for line in playlist.content.decode().splitlines() if line.startswith("/"))
    assert client.get(first).status_code == 200

    client.force_login(make_user("olga", "student"))  # in no class of this course
    assert client.get(playlist_url).status_code == 404
    assert client.get(first).status_code == 404
