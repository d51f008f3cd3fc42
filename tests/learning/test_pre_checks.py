"""Pre-checks in the app: where a few right answers would count a concept mastered and that
saves more time than the questions take, the student is asked them before the video; right
answers skip the introduction, wrong ones bring the remedial scene."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from accounts.demo import DEMO_TEACHER
from accounts.models import Classroom, User
from courses.models import Checkpoint, Choice, Concept, Lesson, Scene
from learning.knowledge import BKTParams
from learning.models import CheckpointAnswer, ConceptParams
from learning.policy import (
    CORE,
    LessonPlan,
    PlanItem,
    PolicyScene,
    Thresholds,
    default_concept_model,
    estimate,
    pre_check_concepts,
)

pytestmark = pytest.mark.django_db
STRONG = BKTParams(prior=0.7, learn=0.2, guess=0.15, slip=0.05)
LONG_INTRO = " ".join(["Light slows down when it enters water, so it changes direction."] * 10)


def plan_of(scenes, estimates) -> LessonPlan:
    items = tuple(PlanItem(s, True, "introduces", {}) for s in scenes)
    return LessonPlan(items, tuple(s.id for s in scenes), estimates)


def test_a_pre_check_is_offered_only_where_it_can_skip_a_long_introduction():
    from learning.policy import ConceptModel

    strong = ConceptModel(STRONG, (STRONG,))
    thresholds = Thresholds()
    long_intro = [PolicyScene("1", "a", CORE, duration_s=60)]
    short_intro = [PolicyScene("1", "a", CORE, duration_s=10)]
    fresh = {"a": estimate((), strong, thresholds)}

    def offered(scenes, models, questions, estimates=fresh):
        return pre_check_concepts(
            plan_of(scenes, estimates), scenes, evidence={}, models=models,
            questions=questions, thresholds=thresholds,
        )  # fmt: skip

    assert offered(long_intro, {"a": strong}, {"a": 2}) == ["a"]
    assert offered(short_intro, {"a": strong}, {"a": 2}) == []  # saves less than it costs
    assert offered(long_intro, {"a": strong}, {"a": 1}) == []  # one right answer is not enough
    assert offered(long_intro, {"a": strong}, {}) == []  # no question on it
    default = {"a": default_concept_model()}
    assert (
        offered(long_intro, default, {"a": 3}, {"a": estimate((), default["a"], thresholds)}) == []
    )
    answered = {"a": estimate((1,), strong, thresholds)}
    assert offered(long_intro, {"a": strong}, {"a": 2}, answered) == []  # evidence exists


@pytest.fixture
def lesson(settings, tmp_path):
    """The demo's adaptive lesson, with a long introduction to refraction, two questions on
    it, and a course whose students mostly know refraction already."""
    settings.MEDIA_ROOT = tmp_path / "media"
    out = StringIO()
    call_command("seed_demo", stdout=out)
    lesson = Lesson.objects.get(pk=int(out.getvalue().split("demo-lesson: ")[1].split()[0]))
    version = lesson.versions.get()
    Scene.objects.filter(version=version, title="Light bends in water").update(narration=LONG_INTRO)
    remedial = Scene.objects.get(version=version, title="Refraction, step by step")
    second = Checkpoint.objects.create(
        scene=remedial, prompt="What does a straw in water look like?"
    )
    Choice.objects.create(checkpoint=second, text="Broken at the surface", is_correct=True)
    Choice.objects.create(checkpoint=second, text="Longer", is_correct=False, position=1)
    refraction = Concept.objects.get(course=lesson.course, slug="refraction")
    ConceptParams.objects.update_or_create(
        concept=refraction, defaults={**STRONG.as_dict(), "samples": [STRONG.as_dict()]}
    )
    return lesson


def page(client, lesson, query="") -> str:
    with translation.override("en"):
        return client.get(
            reverse("learning:variant_page", args=[lesson.pk]) + query
        ).content.decode()


def answer_all(client, lesson, *, right: bool):
    questions = Checkpoint.objects.filter(
        scene__version__lesson=lesson, scene__concepts__slug="refraction"
    ).distinct()
    data = {f"choice-{q.pk}": q.choices.get(is_correct=right).pk for q in questions}
    return client.post(reverse("learning:variant_precheck", args=[lesson.pk]), data)


def intro_row(text: str) -> str:
    return text.split("Light bends in water", 1)[1].split("</li>", 1)[0]


def test_right_answers_before_the_video_skip_the_introduction(client, lesson):
    student = User.objects.get(username="demo-student3")
    client.force_login(student)

    before = page(client, lesson)
    assert 'data-testid="pre-checks"' in before and 'id="variant-wait"' not in before
    assert "Why does light bend" in before and "What does a straw" in before

    response = answer_all(client, lesson, right=True)

    assert response.status_code == 302
    assert response.url == reverse("learning:variant_page", args=[lesson.pk])
    assert CheckpointAnswer.objects.filter(student=student, is_correct=True).count() == 2
    after = page(client, lesson)
    assert 'data-testid="pre-checks"' not in after and 'id="variant-wait"' in after
    assert "already mastered" in intro_row(after)


def test_wrong_answers_keep_the_introduction_and_bring_the_remedial_scene(client, lesson):
    client.force_login(User.objects.get(username="demo-student3"))

    answer_all(client, lesson, right=False)

    after = page(client, lesson)
    assert "not mastered yet" in intro_row(after)
    assert "refraction needs another explanation" in after


def test_the_student_may_skip_the_questions_and_the_teacher_sees_them_offered(client, lesson):
    student = User.objects.get(username="demo-student3")
    client.force_login(student)

    skipped = page(client, lesson, "?skip_checks=1")
    assert 'data-testid="pre-checks"' not in skipped and 'id="variant-wait"' in skipped
    assert client.post(reverse("learning:variant_precheck", args=[lesson.pk]), {}).url.endswith(
        "?skip_checks=1"
    )
    assert not CheckpointAnswer.objects.filter(student=student).exists()

    classroom = Classroom.objects.get(teacher__username=DEMO_TEACHER)
    client.force_login(User.objects.get(username=DEMO_TEACHER))
    preview = reverse("learning:teacher_variant_page", args=[classroom.pk, student.pk, lesson.pk])
    shown = client.get(preview).content.decode()
    assert 'data-testid="preview-pre-checks"' in shown and "asked 2 questions" in shown
