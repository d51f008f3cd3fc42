"""Demo data for `make run`: one account per role, a class with a join code, a short lesson."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Classroom, Membership, Role, User
from courses.models import (
    Checkpoint,
    Choice,
    Concept,
    Course,
    Lesson,
    LessonVersion,
    Scene,
    SceneKind,
    SceneRole,
    VersionStatus,
)

# Printed on the console by `make run` and written in the README: these are demo accounts.
DEMO_PASSWORD = "lectern-demo"
DEMO_TEACHER = "demo-teacher"
DEMO_STUDENTS = ("demo-student1", "demo-student2", "demo-student3")
DEMO_MODERATOR = "demo-moderator"
DEMO_JOIN_CODE = "GREEN7"
DEMO_COURSE_SLUG = "demo-why-the-sky-is-blue"
DEMO_COURSE_TITLE = "Light and colour"
DEMO_LESSON_TITLE = "Why is the sky blue?"

# (kind, title, slide text, narration): written for this demo, free to reuse.
DEMO_SCENES = (
    (
        SceneKind.TITLE,
        "Why is the sky blue?",
        "",
        "On a clear day the sky is blue. In this short lesson we find out why.",
    ),
    (
        SceneKind.TEXT,
        "Sunlight is a mix of colours",
        "White light contains every colour\nEach colour has its own wavelength\n"
        "Blue light has a short wavelength",
        "Sunlight looks white, but it is a mix of all the colours of the rainbow. "
        "Each colour has a different wavelength, and blue light has one of the shortest.",
    ),
    (
        SceneKind.TEXT,
        "Air scatters blue light",
        "Air molecules are tiny\nThey scatter short wavelengths most\n"
        "Scattered blue light reaches us from every direction",
        "The molecules in the air are much smaller than the wavelength of light. "
        "They scatter short wavelengths far more than long ones, so blue light is bounced "
        "all over the sky and reaches our eyes from every direction.",
    ),
    (
        SceneKind.TEXT,
        "Recap",
        "Sunlight mixes all colours\nAir scatters blue light the most\nSo the whole sky glows blue",
        "To sum up: sunlight contains every colour, air scatters blue light the most, "
        "and that scattered blue light is what we see when we look up.",
    ),
)


# (scene position, question, right answer, wrong answers, explanation): asked when the scene ends.
DEMO_QUESTIONS = (
    (
        1,
        "What is sunlight made of?",
        "A mix of all colours",
        ("Only yellow light", "Only blue light"),
        "Sunlight looks white because it mixes every colour of the rainbow.",
    ),
    (
        2,
        "Which light does the air scatter the most?",
        "Blue light, with its short wavelength",
        ("Red light, with its long wavelength", "All colours the same"),
        "Air molecules scatter short wavelengths far more than long ones, so blue wins.",
    ),
)
# Some history, so the demo gradebook is not empty: (student, days ago, [(question, right?)]).
DEMO_HISTORY = (
    (DEMO_STUDENTS[0], 3, ((0, False), (1, True))),
    (DEMO_STUDENTS[1], 1, ((0, True),)),
)


@dataclass(frozen=True)
class DemoSummary:
    """What the demo holds, for the console banner."""

    teacher: str
    students: tuple[str, ...]
    moderator: str
    password: str
    join_code: str
    course_title: str
    created_users: tuple[str, ...]
    adaptive_lesson_id: int | None = None


def _demo_user(username: str, role: str, display_name: str, created: list[str]) -> User:
    user, was_created = User.objects.get_or_create(
        username=username, defaults={"role": role, "display_name": display_name}
    )
    if was_created:
        # Only new accounts get the demo password; a changed password is left alone.
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        created.append(username)
    return user


@transaction.atomic
def demo_data_seed() -> DemoSummary:
    """Create the demo accounts, class, course and lesson; running it again changes nothing."""
    created: list[str] = []
    teacher = _demo_user(DEMO_TEACHER, Role.TEACHER, "Ms Demo", created)
    students = [
        _demo_user(name, Role.STUDENT, f"Student {index}", created)
        for index, name in enumerate(DEMO_STUDENTS, start=1)
    ]
    _demo_user(DEMO_MODERATOR, Role.MODERATOR, "Demo Moderator", created)

    course, _ = Course.objects.get_or_create(
        slug=DEMO_COURSE_SLUG,
        defaults={
            "owner": teacher,
            "title": DEMO_COURSE_TITLE,
            "description": "A demo course that comes with Lectern.",
        },
    )
    lesson, _ = Lesson.objects.get_or_create(
        course=course, title=DEMO_LESSON_TITLE, defaults={"created_by": teacher}
    )
    if not lesson.versions.exists():
        version = LessonVersion.objects.create(
            lesson=lesson, number=1, created_by=teacher, status=VersionStatus.DRAFT
        )
        for position, (kind, title, body, narration) in enumerate(DEMO_SCENES):
            Scene.objects.create(
                version=version,
                position=position,
                kind=kind,
                title=title,
                body=body,
                narration=narration,
            )

    classroom, _ = Classroom.objects.get_or_create(
        join_code=DEMO_JOIN_CODE, defaults={"teacher": teacher, "name": "Demo class 7B"}
    )
    for student in students:
        Membership.objects.get_or_create(classroom=classroom, student=student)
    classroom.courses.add(course)
    _demo_learning(lesson, students)
    moderator = User.objects.get(username=DEMO_MODERATOR)
    adaptive = _demo_adaptive_lesson(teacher, moderator, classroom, students)

    return DemoSummary(
        teacher=DEMO_TEACHER,
        students=DEMO_STUDENTS,
        moderator=DEMO_MODERATOR,
        password=DEMO_PASSWORD,
        join_code=classroom.join_code,
        course_title=course.title,
        created_users=tuple(created),
        adaptive_lesson_id=adaptive.pk,
    )


def _demo_learning(lesson: Lesson, students: list[User]) -> None:
    """Questions after scenes 2 and 3, version 1 published, and a little history.

    The demo lesson is published without a render (rendering with speech takes minutes, too
    long for `make run`'s set-up): the first render the demo teacher makes is the video
    students see, checked and signed like a publish (courses.rendering), with the questions
    placed at its scene ends.
    """
    from learning.models import LearningEvent
    from learning.services import EventIn, learning_events_record

    version = lesson.versions.order_by("number").first()
    scenes = {scene.position: scene for scene in version.scenes.all()}
    for position, prompt, right, wrongs, explanation in DEMO_QUESTIONS:
        scene = scenes.get(position)
        if scene is None or Checkpoint.objects.filter(scene=scene).exists():
            continue
        checkpoint = Checkpoint.objects.create(scene=scene, prompt=prompt, explanation=explanation)
        for index, text in enumerate((right, *wrongs)):
            Choice.objects.create(
                checkpoint=checkpoint, text=text, is_correct=index == 0, position=index
            )
    if not lesson.versions.filter(status=VersionStatus.PUBLISHED).exists():
        if version.status != VersionStatus.DRAFT:
            return  # the demo teacher took the lesson through moderation: leave it be
        # Lectern's own demo text needs no moderator (a real lesson always does).
        version.status, version.published_at = VersionStatus.PUBLISHED, timezone.now()
        version.save(update_fields=["status", "published_at"])
    if LearningEvent.objects.filter(lesson=lesson).exists():
        return
    published = lesson.versions.get(status=VersionStatus.PUBLISHED)
    checkpoints = list(
        Checkpoint.objects.filter(scene__version=published).order_by("scene__position")
    )
    by_name = {student.username: student for student in students}
    for username, days_ago, answers in DEMO_HISTORY:
        when = timezone.now() - timedelta(days=days_ago)
        events = [
            EventIn(
                client_event_id=f"demo-{username}-{index}",
                kind="answered",
                lesson=lesson,
                version=published,
                occurred_at=when + timedelta(minutes=index),
                payload={
                    "checkpoint": checkpoints[question].pk,
                    "choice": checkpoints[question].choices.get(is_correct=right).pk
                    if right
                    else checkpoints[question].choices.filter(is_correct=False).first().pk,
                    "attempt": 1,
                },
            )
            for index, (question, right) in enumerate(answers)
            if question < len(checkpoints)
        ]
        learning_events_record(student=by_name[username], events=events, broadcast=False)


# A lesson the sequencing policy adapts (learning/policy.py): core, remedial, enrichment and
# recap scenes on two concepts, with answers that give the first two demo students different
# variants (`personalize`). Written for this demo, free to reuse.
ADAPTIVE_COURSE_SLUG = "demo-rainbows"
ADAPTIVE_COURSE_TITLE = "Rainbows"
ADAPTIVE_LESSON_TITLE = "How does a rainbow form?"
ADAPTIVE_CONCEPTS = (("refraction", "Refraction"), ("dispersion", "Dispersion"))
# (role, concept or None, title, slide text, narration)
ADAPTIVE_SCENES = (
    (SceneRole.CORE, None, "How does a rainbow form?", "",
     "After rain, with the sun behind you, a rainbow can appear. Let us see how."),
    (SceneRole.CORE, "refraction", "Light bends in water",
     "Light slows down in water\nSo it changes direction\nThis bending is refraction",
     "When sunlight enters a raindrop it slows down, and so it changes direction. "
     "This bending of light is called refraction."),
    (SceneRole.REMEDIAL, "refraction", "Refraction, step by step",
     "A straw in a glass looks broken\nLight from it bends at the surface\n"
     "Slower medium, bigger bend",
     "Think of a straw in a glass of water: it looks broken at the surface. Light from the "
     "straw bends as it leaves the water, because light travels at different speeds in "
     "water and in air."),
    (SceneRole.ENRICHMENT, "refraction", "Snell's law",
     "n1 sin a1 = n2 sin a2\nWater: n is about 1.33",
     "The amount of bending follows Snell's law: the refractive index times the sine of the "
     "angle is the same on both sides of the surface. For water the index is about 1.33."),
    (SceneRole.CORE, "dispersion", "Each colour bends differently",
     "Violet bends the most\nRed bends the least\nThe colours fan out",
     "Each colour bends by a slightly different amount: violet the most, red the least. "
     "So white sunlight fans out into its colours. This is called dispersion."),
    (SceneRole.REMEDIAL, "dispersion", "Why the colours part ways",
     "Short wavelengths slow down more\nSo they bend more\nA prism does the same",
     "Light with a short wavelength, like violet, slows down a little more in water than "
     "red light does, so it bends more. A glass prism splits light in exactly the same way."),
    (SceneRole.ENRICHMENT, "dispersion", "Double rainbows",
     "Two reflections inside the drop\nA fainter bow outside\nIts colours reversed",
     "Sometimes light reflects twice inside each drop. That makes a second, fainter rainbow "
     "outside the first, with its colours in the opposite order."),
    (SceneRole.RECAP, "refraction", "Recap: refraction",
     "Light changes speed in water\nSo it bends",
     "Remember: light bends when it enters water, because it changes speed."),
    (SceneRole.RECAP, "dispersion", "Recap: dispersion",
     "Each colour bends by its own amount\nSo sunlight fans out",
     "Remember: each colour bends by its own amount, so sunlight fans out into a rainbow."),
)  # fmt: skip
# (scene position, concept, question, right answer, wrong answer)
ADAPTIVE_QUESTIONS = (
    (1, "refraction", "Why does light bend when it enters water?",
     "It changes speed", "It changes colour"),
    (4, "dispersion", "Which colour bends the most in a raindrop?", "Violet", "Red"),
)  # fmt: skip
# Answers per attempt: (student, [[(question, right?), ...] per attempt]).
ADAPTIVE_HISTORY = (
    # Refraction wrong, right, wrong: the remedial scene and a recap; dispersion going well.
    (DEMO_STUDENTS[0], (((0, False), (1, True)), ((0, True), (1, True)), ((0, False),))),
    # Everything right five times: both introductions skipped, enrichment instead.
    (DEMO_STUDENTS[1], tuple(((0, True), (1, True)) for _ in range(5))),
)


def _demo_adaptive_lesson(teacher, moderator, classroom, students) -> Lesson:
    """The adaptive demo lesson: published, its scenes approved (Lectern's own text), with
    answers from two demo students. Running it again changes nothing."""
    from moderation.hashing import version_scene_hashes_store
    from moderation.models import SceneApproval

    course, _ = Course.objects.get_or_create(
        slug=ADAPTIVE_COURSE_SLUG,
        defaults={
            "owner": teacher,
            "title": ADAPTIVE_COURSE_TITLE,
            "description": "A demo course whose lesson adapts to each student.",
        },
    )
    concepts = {
        slug: Concept.objects.get_or_create(course=course, slug=slug, defaults={"name": name})[0]
        for slug, name in ADAPTIVE_CONCEPTS
    }
    lesson, created = Lesson.objects.get_or_create(
        course=course, title=ADAPTIVE_LESSON_TITLE, defaults={"created_by": teacher}
    )
    classroom.courses.add(course)
    if not created:
        return lesson
    version = LessonVersion.objects.create(
        lesson=lesson, number=1, created_by=teacher, status=VersionStatus.DRAFT
    )
    rows = []
    for position, (role, concept, title, body, narration) in enumerate(ADAPTIVE_SCENES):
        scene = Scene.objects.create(
            version=version,
            position=position,
            kind=SceneKind.TITLE if position == 0 else SceneKind.TEXT,
            title=title,
            body=body,
            narration=narration,
            role=role,
        )
        if concept:
            scene.concepts.add(concepts[concept])
        rows.append(scene)
    checkpoints = []
    for position, concept, prompt, right, wrong in ADAPTIVE_QUESTIONS:
        checkpoint = Checkpoint.objects.create(scene=rows[position], prompt=prompt)
        checkpoint.concepts.add(concepts[concept])
        Choice.objects.create(checkpoint=checkpoint, text=right, is_correct=True, position=0)
        Choice.objects.create(checkpoint=checkpoint, text=wrong, is_correct=False, position=1)
        checkpoints.append(checkpoint)
    now = timezone.now()
    for content_hash in version_scene_hashes_store(version).values():
        SceneApproval.objects.get_or_create(
            content_hash=content_hash,
            defaults={"approved_by": moderator, "approved_at": now, "version": version},
        )
    version.status, version.published_at = VersionStatus.PUBLISHED, now
    version.save(update_fields=["status", "published_at"])
    _demo_adaptive_history(lesson, version, checkpoints, students)
    return lesson


def _demo_adaptive_history(lesson, version, checkpoints, students) -> None:
    from learning.services import EventIn, learning_events_record

    by_name = {student.username: student for student in students}
    for username, attempts in ADAPTIVE_HISTORY:
        start = timezone.now() - timedelta(days=2)
        events = []
        for attempt, answers in enumerate(attempts, start=1):
            for question, right in answers:
                checkpoint = checkpoints[question]
                choice = checkpoint.choices.get(is_correct=right)
                events.append(
                    EventIn(
                        client_event_id=f"demo-adaptive-{username}-{attempt}-{question}",
                        kind="answered",
                        lesson=lesson,
                        version=version,
                        occurred_at=start + timedelta(minutes=len(events)),
                        payload={
                            "checkpoint": checkpoint.pk,
                            "choice": choice.pk,
                            "attempt": attempt,
                        },
                    )
                )
        learning_events_record(student=by_name[username], events=events, broadcast=False)
