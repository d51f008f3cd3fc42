"""Account services: join codes, class creation and the demo data."""

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.demo import (
    ADAPTIVE_COURSE_SLUG,
    DEMO_COURSE_SLUG,
    DEMO_JOIN_CODE,
    DEMO_PASSWORD,
    DEMO_STUDENTS,
    demo_data_seed,
)
from accounts.models import JOIN_CODE_ALPHABET, Classroom, Role, User
from courses.models import Course


def test_normalize_join_code_ignores_case_spaces_and_dashes():
    assert services.normalize_join_code(" k7p-2qx ") == "K7P2QX"


def test_classroom_create_draws_a_readable_join_code(alice):
    classroom = services.classroom_create(teacher=alice, name="  7B  ")
    assert classroom.name == "7B"
    assert len(classroom.join_code) == 6
    assert set(classroom.join_code) <= set(JOIN_CODE_ALPHABET)


def test_classroom_create_refuses_students(sam):
    with pytest.raises(ValidationError):
        services.classroom_create(teacher=sam, name="mine")


def test_classroom_join_twice_keeps_one_membership(alice, sam):
    classroom = Classroom.objects.create(teacher=alice, name="7B", join_code="K7P2QX")
    services.classroom_join(student=sam, join_code="k7p2qx")
    services.classroom_join(student=sam, join_code="K7P2QX")
    assert classroom.students.filter(pk=sam.pk).count() == 1


def test_classroom_join_unknown_code_names_the_code(sam):
    with pytest.raises(ValidationError, match="ABCDEF"):
        services.classroom_join(student=sam, join_code="ABCDEF")


def test_demo_seed_creates_every_role_a_class_and_a_lesson_once(db):
    first = demo_data_seed()
    second = demo_data_seed()

    assert len(first.created_users) == 5
    assert second.created_users == ()
    teacher = User.objects.get(username="demo-teacher")
    assert teacher.role == Role.TEACHER and teacher.check_password(DEMO_PASSWORD)
    assert User.objects.get(username="demo-moderator").role == Role.MODERATOR
    classroom = Classroom.objects.get(join_code=DEMO_JOIN_CODE)
    assert sorted(s.username for s in classroom.students.all()) == list(DEMO_STUDENTS)
    course = Course.objects.get(owner=teacher, slug=DEMO_COURSE_SLUG)
    # The second course holds the adaptive lesson (accounts/demo.py, learning/policy.py).
    assert sorted(c.slug for c in classroom.courses.all()) == sorted(
        [DEMO_COURSE_SLUG, ADAPTIVE_COURSE_SLUG]
    )
    version = course.lessons.get().versions.get()
    assert version.scenes.count() >= 3
    assert all(scene.narration for scene in version.scenes.all())
