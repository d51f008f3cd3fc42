"""Services: copy-on-write versions, scene editing, sources, checkpoints, submit, render queue."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from courses import services
from courses.models import Checkpoint, Concept, RenderJob, RenderStatus, VersionStatus
from courses.selectors import lesson_version_is_frozen
from tests.courses.conftest import finished_render


def scene_titles(version) -> list[str]:
    return list(version.scenes.order_by("position").values_list("title", flat=True))


def scene_update_args(scene, **changes) -> dict:
    values = {
        "kind": scene.kind,
        "title": scene.title,
        "body": scene.body,
        "code": scene.code,
        "code_language": scene.code_language,
        "math": scene.math,
        "image": None,
        "clear_image": False,
        "image_alt": scene.image_alt,
        "narration": scene.narration,
        "language": scene.language,
        "role": scene.role,
        "concept_names": [],
    }
    values.update(changes)
    return values


def test_course_create_makes_a_unique_slug_from_the_title(alice, bob):
    first = services.course_create(owner=alice, title="Linear Algebra")
    second = services.course_create(owner=bob, title="Linear Algebra")
    assert (first.slug, second.slug) == ("linear-algebra", "linear-algebra-2")


def test_course_slug_never_shadows_studio_addresses(alice):
    assert services.course_create(owner=alice, title="New").slug != "new"


def test_lesson_create_starts_an_empty_draft(course, alice):
    lesson = services.lesson_create(course=course, title="Branches", created_by=alice)
    version = lesson.versions.get()
    assert (version.number, version.status, version.scenes.count()) == (1, "draft", 0)


def test_editing_a_draft_without_renders_changes_it_in_place(version, alice):
    scene = version.scenes.get(position=1)
    saved = services.scene_update(
        scene=scene, user=alice, **scene_update_args(scene, title="Why we use it")
    )
    assert saved.pk == scene.pk
    assert version.lesson.versions.count() == 1


def test_editing_a_rendered_version_forks_a_new_draft(version, alice):
    finished_render(version, alice)
    scene = version.scenes.get(position=1)
    Concept.objects.create(course=version.lesson.course, name="history", slug="history")
    scene.concepts.set(Concept.objects.all())
    saved = services.scene_update(
        scene=scene,
        user=alice,
        **scene_update_args(scene, title="Changed", concept_names=["history"]),
    )
    fork = saved.version
    assert (fork.number, fork.based_on_id, fork.status) == (2, version.pk, VersionStatus.DRAFT)
    assert scene_titles(version) == ["Git basics", "Why version control", "First commit"]
    assert scene_titles(fork) == ["Git basics", "Changed", "First commit"]
    assert [c.name for c in saved.concepts.all()] == ["history"]


@pytest.mark.parametrize("status", [VersionStatus.SUBMITTED, VersionStatus.PUBLISHED])
def test_a_submitted_or_published_version_is_frozen(version, alice, status):
    version.status = status
    version.save()
    assert lesson_version_is_frozen(version)
    services.scene_delete(scene=version.scenes.first(), user=alice)
    assert version.scenes.count() == 3
    assert version.lesson.latest_version.scenes.count() == 2


def test_fork_copies_checkpoints_and_shares_image_files(version, alice, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    scene = version.scenes.get(position=1)
    scene.image = "scenes/1/picture.png"
    scene.save()
    services.checkpoint_save(
        scene=scene,
        user=alice,
        prompt="What does version control keep?",
        explanation="It keeps history.",
        choices=[("History", True), ("Passwords", False)],
        concept_names=["history"],
    )
    fork, copies = services.lesson_version_fork(version=version, user=alice)
    copy = copies[scene.pk]
    assert copy.image.name == "scenes/1/picture.png"
    checkpoint = Checkpoint.objects.get(scene=copy)
    assert [(c.text, c.is_correct) for c in checkpoint.choices.all()] == [
        ("History", True),
        ("Passwords", False),
    ]
    assert [c.name for c in checkpoint.concepts.all()] == ["history"]
    assert Checkpoint.objects.get(scene=scene).pk != checkpoint.pk


def test_scene_move_swaps_neighbours_and_stops_at_the_ends(version, alice):
    last = version.scenes.get(position=2)
    services.scene_move(scene=last, user=alice, offset=-1)
    assert scene_titles(version) == ["Git basics", "First commit", "Why version control"]
    first = version.scenes.get(position=0)
    services.scene_move(scene=first, user=alice, offset=-1)
    assert scene_titles(version)[0] == "Git basics"


def test_scene_duplicate_inserts_the_copy_after_the_original(version, alice):
    services.scene_duplicate(scene=version.scenes.get(position=1), user=alice)
    assert scene_titles(version) == [
        "Git basics",
        "Why version control",
        "Why version control",
        "First commit",
    ]


def test_scene_delete_renumbers_the_rest(version, alice):
    services.scene_delete(scene=version.scenes.get(position=0), user=alice)
    assert list(version.scenes.values_list("position", flat=True)) == [0, 1]


def test_editing_narration_keeps_sources_of_unchanged_sentences_only(version, alice):
    scene = version.scenes.get(position=1)
    narration = "Version control keeps the history of a project. I typed this myself."
    saved = services.scene_update(
        scene=scene, user=alice, **scene_update_args(scene, narration=narration)
    )
    assert saved.narration_sources == [
        {"sentence": "Version control keeps the history of a project.", "file": "lesson.md",
         "paragraph": 2},
        {"sentence": "I typed this myself."},
    ]  # fmt: skip


def test_an_image_scene_needs_an_image(version, alice):
    scene = version.scenes.get(position=1)
    with pytest.raises(ValidationError):
        services.scene_update(scene=scene, user=alice, **scene_update_args(scene, kind="image"))


def test_concepts_are_created_on_first_use_and_shared_by_name(course):
    first = services.concepts_for_names(course=course, names=["Commit", "staging area"])
    again = services.concepts_for_names(course=course, names=["commit"])
    assert [c.name for c in first] == ["Commit", "staging area"]
    assert again[0].pk == first[0].pk
    assert course.concepts.count() == 2


def test_split_concept_names_accepts_chinese_separators():
    assert services.split_concept_names("回归， 分类、softmax; loss") == [
        "回归",
        "分类",
        "softmax",
        "loss",
    ]


def test_checkpoint_save_needs_a_correct_answer(version, alice):
    with pytest.raises(ValidationError):
        services.checkpoint_save(
            scene=version.scenes.first(),
            user=alice,
            prompt="?",
            explanation="",
            choices=[("a", False), ("b", False)],
            concept_names=[],
        )


def test_submit_needs_a_finished_render(version, alice):
    with pytest.raises(ValidationError, match="Render"):
        services.lesson_version_submit(version=version, user=alice)
    finished_render(version, alice, output_dir="renders/1")
    services.lesson_version_submit(version=version, user=alice)
    version.refresh_from_db()
    assert version.status == VersionStatus.SUBMITTED


def test_submit_refuses_a_version_that_is_not_a_draft(version, alice):
    finished_render(version, alice, output_dir="renders/1")
    services.lesson_version_submit(version=version, user=alice)
    with pytest.raises(ValidationError, match="only a draft"):
        services.lesson_version_submit(version=version, user=alice)


def test_render_enqueue_creates_a_job_and_sends_the_task_after_commit(
    version, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.lesson_version_render_enqueue(
            version=version, user=alice, size="tiny", quality="draft"
        )
    assert (job.width_px, job.height_px, job.quality, job.scene_count) == (256, 144, "draft", 3)
    assert job.status == RenderStatus.QUEUED
    assert len(callbacks) == 1


def test_render_enqueue_returns_the_job_already_running(
    version, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        first = services.lesson_version_render_enqueue(version=version, user=alice)
        second = services.lesson_version_render_enqueue(version=version, user=alice)
    assert first.pk == second.pk
    assert RenderJob.objects.count() == 1


def test_render_enqueue_refuses_an_empty_version(course, alice):
    lesson = services.lesson_create(course=course, title="Empty", created_by=alice)
    with pytest.raises(ValidationError, match="no scenes"):
        services.lesson_version_render_enqueue(version=lesson.versions.get(), user=alice)


def test_cancelling_a_queued_job_cancels_it_at_once(version, alice):
    job = RenderJob.objects.create(version=version, requested_by=alice)
    services.render_job_cancel(job=job, user=alice)
    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == (RenderStatus.CANCELLED, True)


def test_cancelling_a_running_job_asks_the_task_to_stop(version, alice):
    job = RenderJob.objects.create(version=version, requested_by=alice, status=RenderStatus.RUNNING)
    services.render_job_cancel(job=job, user=alice)
    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == (RenderStatus.RUNNING, True)
