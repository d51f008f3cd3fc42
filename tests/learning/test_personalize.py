"""personalize on the demo's adaptive lesson: two students, two plans with reasons, a real
variant written from cached segments, scenes without a moderator's approval refused."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.management import CommandError, call_command
from django.db import models
from django.test import Client, TestCase, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from accounts.demo import ADAPTIVE_LESSON_TITLE, DEMO_TEACHER
from accounts.models import Classroom, User
from courses.models import Lesson, RenderJob, RenderStatus, Scene
from lectern.routing import websocket_urlpatterns
from moderation.models import SceneApproval
from tests.conftest import make_user
from tests.synthesis.media_checks import ffprobe

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_lesson(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    settings.LECTERN_TTS_ENGINES = ["espeak"]
    settings.LECTERN_DEVICE = "cpu"
    out = StringIO()
    call_command("seed_demo", stdout=out)
    lesson_id = int(out.getvalue().split("demo-lesson: ")[1].split()[0])
    lesson = Lesson.objects.get(pk=lesson_id)
    assert lesson.title == ADAPTIVE_LESSON_TITLE
    # A tiny finished render: the variant takes its size, quality and voice.
    RenderJob.objects.create(
        version=lesson.versions.get(), requested_by=User.objects.get(username=DEMO_TEACHER),
        status=RenderStatus.SUCCEEDED, width_px=128, height_px=72, fps=10, quality="draft",
        finished_at=timezone.now(),
    )  # fmt: skip
    return lesson


def personalize(lesson, student, out, *extra) -> str:
    """The command's output in English (a page test before may leave Chinese active)."""
    stdout = StringIO()
    with translation.override("en"):
        _run(lesson, student, out, extra, stdout)
    return stdout.getvalue()


def _run(lesson, student, out, extra, stdout) -> None:
    call_command("personalize", str(lesson.pk), "--student", student, "-o", str(out), *extra,
                 stdout=stdout)  # fmt: skip


def shown(text: str) -> list[str]:
    return [line.split("] ")[1].split(" (")[0] for line in text.splitlines() if "  + [" in line]


def test_demo_students_get_different_plans_with_reasons(demo_lesson, tmp_path):
    one = personalize(demo_lesson, "demo-student1", tmp_path / "a.mp4", "--plan-only")
    two = personalize(demo_lesson, "demo-student2", tmp_path / "b.mp4", "--plan-only")
    assert "Refraction, step by step" in shown(one)  # answered refraction wrongly
    assert "Recap: refraction" in shown(one)
    assert shown(one)[-1] == "Recap: refraction"  # recaps at the end
    assert "Light bends in water" not in shown(two)  # mastered: no introduction
    assert "Snell's law" in shown(two) and "Double rainbows" in shown(two)
    assert "already mastered" in two and "needs another explanation" in one
    assert "planned in" in one
    assert not (tmp_path / "a.mp4").exists()


def test_personalize_writes_the_variant_and_reuses_segments(demo_lesson, tmp_path):
    first = personalize(demo_lesson, "demo-student2", tmp_path / "two.mp4")
    assert "segments encoded" in first
    info = ffprobe(tmp_path / "two.mp4")
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
    assert float(info["format"]["duration"]) > 3
    again = personalize(demo_lesson, "demo-student2", tmp_path / "again.mp4")
    assert ": 0 segments encoded" in again


def test_a_scene_without_approval_is_refused(demo_lesson, tmp_path):
    scene = Scene.objects.get(version__lesson=demo_lesson, title="Snell's law")
    SceneApproval.objects.filter(content_hash=scene.content_hash).delete()
    with pytest.raises(CommandError, match="not approved"):
        personalize(demo_lesson, "demo-student2", tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


# --- In the app: the student's own variant, the teacher's preview -----------------------


def _status(client, url):

    with (
        override_settings(CELERY_TASK_ALWAYS_EAGER=True),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        return client.get(url)


def _urls(lesson, *, classroom=None, student=None):

    if classroom is None:
        args = [lesson.pk]
        prefix = ""
    else:
        args = [classroom.pk, student.pk, lesson.pk]
        prefix = "teacher_"
    return {
        name: reverse(f"learning:{prefix}{name}", args=args)
        for name in (
            "variant_page", "variant_status", "variant_playlist", "variant_video",
            "variant_provenance",
        )
    }  # fmt: skip


def test_student_plays_their_variant_and_nobody_else_can(client, demo_lesson):

    one = User.objects.get(username="demo-student1")
    two = User.objects.get(username="demo-student2")
    urls = _urls(demo_lesson)
    client.force_login(one)
    page = _status(client, urls["variant_page"])  # the page itself sends the prepare task
    assert page.status_code == 200
    assert "Refraction, step by step" in page.content.decode()
    first = _status(client, urls["variant_status"]).json()
    assert first["status"] == "ready"
    ready = client.get(urls["variant_status"]).json()
    assert ready["status"] == "ready" and ready["playlist"] == urls["variant_playlist"]
    playlist = client.get(urls["variant_playlist"]).content.decode()
    segments = [line for line in playlist.splitlines() if line.startswith("/")]
    # Opening, then a transition and a scene for each of the 6 planned scenes.
    assert len(segments) == 1 + 2 * 6
    captions = client.get(ready["captions"])
    assert captions.status_code == 200 and captions["Content-Type"].startswith("text/vtt")
    assert "Light bends in water" not in captions.content.decode()  # narration, not titles
    assert "Remember: light bends when it enters" in captions.content.decode()  # the recap
    segment = client.get(segments[1])
    assert segment.status_code == 200 and segment.content[0] == 0x47
    # A second request is instant: nothing to encode, the same shared variant.
    assert client.get(urls["variant_status"]).json()["encoded"] >= 1

    # Student two's plan differs: student one's segment URLs are not theirs.
    client.force_login(two)
    assert client.get(segments[1]).status_code == 404
    # Their own captions are theirs (another plan, not ready yet): not student one's.
    assert "Remember: light bends" not in client.get(ready["captions"]).content.decode()
    # The teacher previews exactly student one's variant.
    classroom = Classroom.objects.get(teacher__username=DEMO_TEACHER)
    preview = _urls(demo_lesson, classroom=classroom, student=one)
    assert client.get(preview["variant_page"]).status_code == 404  # a student: not found
    assert client.get(preview["variant_playlist"]).status_code == 404
    client.force_login(User.objects.get(username=DEMO_TEACHER))
    page = client.get(preview["variant_page"]).content.decode()
    assert "Preview as" in page and "needs another explanation" in page
    teacher_playlist = client.get(preview["variant_playlist"]).content.decode()
    keys = [line.rsplit("/", 1)[1] for line in teacher_playlist.splitlines() if "/" in line]
    assert keys == [line.rsplit("/", 1)[1] for line in segments]
    other = make_user_teacher("tom")
    client.force_login(other)
    for url in preview.values():
        assert client.get(url).status_code == 404


def test_a_variants_playlist_is_covered_by_its_signed_manifest(
    client, demo_lesson, tmp_path, monkeypatch
):
    """The sidecar validates against the variant's MP4 (remuxed on request, the same bytes
    as when it was signed) and lists the digest of every TS file its playlist serves; the
    teacher's preview gets the same; a TS file that differs is not served."""
    import hashlib

    from moderation.provenance import read_provenance

    one = User.objects.get(username="demo-student1")
    urls = _urls(demo_lesson)
    client.force_login(one)
    assert _status(client, urls["variant_status"]).status_code == 200
    playlist = client.get(urls["variant_playlist"])
    assert playlist["Link"] == f'<{urls["variant_provenance"]}>; rel="c2pa-manifest"'
    segments = [line for line in playlist.content.decode().splitlines() if line.startswith("/")]
    sidecar = client.get(urls["variant_provenance"])
    assert sidecar.status_code == 200 and sidecar["Content-Type"] == "application/c2pa"
    video = client.get(urls["variant_video"])
    assert video.status_code == 200 and "attachment" in video["Content-Disposition"]
    served = tmp_path / "my-video.mp4"
    served.write_bytes(b"".join(video.streaming_content))

    checked = read_provenance(served, sidecar=sidecar.content)

    assert checked["validation_state"] == "Valid" and checked["ai_generated"]
    assert checked["author"] == str(demo_lesson.versions.get().created_by)
    listed = checked["hls_segments"]
    assert len(listed) == len(segments)
    for uri, item in zip(segments, listed, strict=True):
        assert hashlib.sha256(client.get(uri).content).hexdigest() == item["sha256"]
    assert read_provenance(served)["validation_state"] is None  # the MP4 itself is unchanged

    classroom = Classroom.objects.get(teacher__username=DEMO_TEACHER)
    client.force_login(User.objects.get(username=DEMO_TEACHER))
    preview = _urls(demo_lesson, classroom=classroom, student=one)
    assert client.get(preview["variant_provenance"]).content == sidecar.content

    import synthesis.hls

    real = synthesis.hls.ts_segment
    monkeypatch.setattr(
        synthesis.hls, "ts_segment", lambda *args, **kwargs: real(*args, **kwargs)[:-188]
    )
    client.force_login(one)
    assert client.get(segments[2]).status_code == 404


def make_user_teacher(name):

    return make_user(name, "teacher")


def test_variant_with_an_unapproved_scene_is_refused_in_the_app(client, demo_lesson):
    scene = Scene.objects.get(version__lesson=demo_lesson, title="Refraction, step by step")
    SceneApproval.objects.filter(content_hash=scene.content_hash).delete()
    client.force_login(User.objects.get(username="demo-student1"))
    urls = _urls(demo_lesson)
    response = _status(client, urls["variant_status"])
    assert response.status_code == 409 and response.json()["status"] == "refused"
    assert client.get(urls["variant_playlist"]).status_code == 404


def _answer_wrongly(client, lesson, student_name, client_id="wrong-1"):
    version = lesson.versions.get()
    checkpoint = Scene.objects.get(version=version, title="Light bends in water").checkpoint
    wrong = checkpoint.choices.get(is_correct=False)
    event = {
        "id": client_id, "kind": "answered", "lesson": lesson.pk, "version": version.pk,
        "occurred_at": timezone.now().isoformat(),
        "payload": {"checkpoint": checkpoint.pk, "choice": wrong.pk, "attempt": 1},
    }  # fmt: skip
    return client.post(
        reverse("learning:events"),
        data=json.dumps({"events": [event]}),
        content_type="application/json",
    )


def test_a_wrong_answer_brings_the_remedial_scene_into_the_next_video(client, demo_lesson):
    three = User.objects.get(username="demo-student3")
    client.force_login(three)
    urls = _urls(demo_lesson)
    before = client.get(urls["variant_page"]).content.decode()
    assert "no answers on refraction yet" in before
    assert _answer_wrongly(client, demo_lesson, "demo-student3").status_code == 200
    after = client.get(urls["variant_page"]).content.decode()
    assert "refraction needs another explanation" in after
    # The teacher's heatmap shows the new estimate, and links the preview.

    classroom = Classroom.objects.get(teacher__username=DEMO_TEACHER)
    client.force_login(User.objects.get(username=DEMO_TEACHER))

    page = client.get(reverse("learning:gradebook", args=[classroom.pk])).content.decode()
    assert 'data-testid="mastery-heatmap"' in page
    assert f'data-mastery-student="{three.pk}"' in page
    preview = reverse(
        "learning:teacher_variant_page", args=[classroom.pk, three.pk, demo_lesson.pk]
    )
    assert preview in page


@pytest.mark.django_db(transaction=True)
def test_the_gradebook_socket_carries_the_new_mastery(demo_lesson, settings):

    classroom = Classroom.objects.get(teacher__username=DEMO_TEACHER)
    teacher = User.objects.get(username=DEMO_TEACHER)
    three = User.objects.get(username="demo-student3")
    student_client = Client()
    student_client.force_login(three)

    async def scenario():
        connection = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns), f"/ws/classes/{classroom.pk}/gradebook/"
        )
        connection.scope["user"] = teacher
        connected, _code = await connection.connect()
        assert connected
        assert (await connection.receive_json_from(timeout=5))["type"] == "ready"
        await sync_to_async(_answer_wrongly)(student_client, demo_lesson, "demo-student3")
        update = await connection.receive_json_from(timeout=5)
        await connection.disconnect()
        return update

    update = async_to_sync(scenario)()
    assert update["student"] == three.pk
    (cell,) = update["mastery"]
    assert cell["concept"] == demo_lesson.course.concepts.get(slug="refraction").pk
    assert cell["percent"] < 30 and cell["bucket"] <= 1


def test_teacher_sets_course_thresholds_and_the_plan_follows(client, demo_lesson):
    from learning.models import CourseLearnerModel

    course = demo_lesson.course
    url = reverse("learning:course_thresholds", args=[course.pk])
    values = {"mastery_threshold": "0.6", "remedial_threshold": "0.5",
              "enrichment_threshold": "0.95", "next": "/"}  # fmt: skip
    client.force_login(User.objects.get(username="demo-student1"))
    assert client.post(url, values).status_code == 404
    client.force_login(make_user("tom", "teacher"))
    assert client.post(url, values).status_code == 404
    assert not CourseLearnerModel.objects.filter(course=course).exists()
    client.force_login(User.objects.get(username=DEMO_TEACHER))
    assert client.post(url, values).status_code == 302
    model = CourseLearnerModel.objects.get(course=course)
    assert (model.mastery_threshold, model.enrichment_threshold) == (0.6, 0.95)
    client.post(url, {**values, "remedial_threshold": "0.99"})
    assert CourseLearnerModel.objects.get(course=course).remedial_threshold == 0.5  # refused
    # demo-student1 knows dispersion at 0.89: mastered at 0.6, so its introduction goes.
    one = personalize(demo_lesson, "demo-student1", "unused.mp4", "--plan-only")
    assert "Each colour bends differently" not in shown(one)


def test_students_outside_the_class_find_no_variant(client, demo_lesson):
    client.force_login(make_user("olga", "student"))
    for url in _urls(demo_lesson).values():
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(_urls(demo_lesson)["variant_status"]).status_code == 302  # sign in


def test_class_variants_are_prepared_in_the_background(client, demo_lesson):
    from learning.models import LessonVariant
    from learning.variants import class_variants_prepare

    with (
        override_settings(CELERY_TASK_ALWAYS_EAGER=True),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        assert class_variants_prepare() == 3  # three demo students, three different plans
    assert LessonVariant.objects.filter(status="ready").count() == 3
    client.force_login(User.objects.get(username="demo-student2"))
    status = client.get(_urls(demo_lesson)["variant_status"]).json()
    assert status["status"] == "ready"  # no waiting: prepared before the student came


def test_publishing_an_adaptive_lesson_prepares_its_class_variants_at_once(
    demo_lesson, monkeypatch
):
    from courses.models import LessonVersion
    from learning import tasks
    from learning.models import LessonVariant
    from moderation.signals import version_published

    sent = []
    monkeypatch.setattr(tasks.lesson_class_variants_prepare, "delay", sent.append)
    requested = []
    monkeypatch.setattr("learning.variants._send_prepare", requested.append)
    version = demo_lesson.versions.get()

    version_published.send(sender=LessonVersion, version=version)
    assert sent == [demo_lesson.pk]
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert tasks.lesson_class_variants_prepare(demo_lesson.pk) == 3

    assert LessonVariant.objects.filter(status="pending").count() == 3 == len(requested)
    assert tasks.lesson_class_variants_prepare(demo_lesson.pk + 1000) == 0  # gone: nothing


def test_a_lesson_without_concepts_sends_no_class_variants_task(demo_lesson, monkeypatch):
    from courses.models import LessonVersion
    from learning import tasks
    from moderation.signals import version_published

    sent = []
    monkeypatch.setattr(tasks.lesson_class_variants_prepare, "delay", sent.append)
    other = Lesson.objects.exclude(pk=demo_lesson.pk).first()

    version_published.send(sender=LessonVersion, version=other.versions.first())

    assert sent == []


def test_the_player_links_the_students_own_version(client, demo_lesson):
    client.force_login(User.objects.get(username="demo-student1"))
    page = client.get(reverse("learning:player", args=[demo_lesson.pk])).content.decode()
    assert reverse("learning:variant_page", args=[demo_lesson.pk]) in page


def test_the_reasons_are_translated(client, demo_lesson):
    client.force_login(User.objects.get(username="demo-student1"))
    page = client.get(
        _urls(demo_lesson)["variant_page"], HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "refraction 需要再讲解一次" in page and "为什么是这些场景" in page


def test_a_translated_scene_is_shown_in_the_students_language(demo_lesson, tmp_path):
    from courses.models import Concept

    core = Scene.objects.get(version__lesson=demo_lesson, title="Light bends in water")
    Scene.objects.filter(version=core.version, position__gt=core.position).update(
        position=models.F("position") + 1
    )
    zh = Scene.objects.create(
        version=core.version, position=core.position + 1, title="光在水中会弯折",
        narration="阳光进入雨滴时会变慢，因此改变方向。", language="zh", role="core",
    )  # fmt: skip
    zh.concepts.add(Concept.objects.get(course=demo_lesson.course, slug="refraction"))
    User.objects.filter(username="demo-student1").update(language="zh-hans")
    chinese = personalize(demo_lesson, "demo-student1", tmp_path / "a.mp4", "--plan-only")
    assert "光在水中会弯折" in shown(chinese) and "Light bends in water" not in shown(chinese)
    english = personalize(demo_lesson, "demo-student3", tmp_path / "b.mp4", "--plan-only")
    assert "Light bends in water" in shown(english) and "光在水中会弯折" not in shown(english)


def test_the_variant_player_follows_the_viewers_captions_preference(client, demo_lesson):
    student = User.objects.get(username="demo-student1")
    client.force_login(student)
    page = client.get(_urls(demo_lesson)["variant_page"]).content.decode()
    assert "data-captions-on" in page and 'data-caption-size="medium"' in page
    student.captions_enabled, student.captions_size = False, "large"
    student.save(update_fields=["captions_enabled", "captions_size"])
    page = client.get(_urls(demo_lesson)["variant_page"]).content.decode()
    assert "data-captions-on" not in page and 'data-caption-size="large"' in page


def test_a_ready_variant_is_pinned_while_its_lesson_is_published(client, demo_lesson):
    from courses.playlists import VARIANTS_OWNER, segment_store
    from moderation.reports import lesson_takedown

    client.force_login(User.objects.get(username="demo-student1"))
    _status(client, _urls(demo_lesson)["variant_status"])
    ready = client.get(_urls(demo_lesson)["variant_status"]).json()
    assert ready["status"] == "ready"
    playlist = client.get(ready["playlist"]).content.decode()
    keys = {
        line.rsplit("/", 1)[1].removesuffix(".ts") for line in playlist.splitlines() if "/" in line
    }
    version = demo_lesson.versions.get()
    owner = VARIANTS_OWNER.format(pk=version.pk)
    assert segment_store().pins(owner) == keys  # eviction and segments_gc keep them

    moderator = make_user("mo", "moderator")
    with TestCase.captureOnCommitCallbacks(execute=True):
        lesson_takedown(lesson=demo_lesson, moderator=moderator, reason_code="other")
    assert segment_store().pins(owner) == frozenset()


def test_a_variant_plays_before_its_sidecar_is_signed_and_is_downloaded_only_after(
    client, demo_lesson
):
    """Ready means its TS files and their digests are known: the player streams it while the
    worker signs the sidecar, and the MP4 and sidecar wait for the signature (503)."""
    from learning.models import LessonVariant

    client.force_login(User.objects.get(username="demo-student1"))
    urls = _urls(demo_lesson)
    _status(client, urls["variant_status"])  # prepares it (the task runs after the commit)
    row = LessonVariant.objects.get(status="ready")
    signed = bytes(row.manifest_store)
    assert signed
    LessonVariant.objects.filter(pk=row.pk).update(manifest_store=b"")  # as while signing
    assert client.get(urls["variant_status"]).json()["status"] == "ready"
    assert client.get(urls["variant_playlist"]).status_code == 200
    for name in ("variant_video", "variant_provenance"):
        waiting = client.get(urls[name])
        assert (waiting.status_code, waiting["Retry-After"]) == (503, "1")
    LessonVariant.objects.filter(pk=row.pk).update(manifest_store=signed)
    assert client.get(urls["variant_provenance"]).content == signed
