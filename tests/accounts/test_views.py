"""Account pages: each role's home, sign-up, joining a class, classes, profile and access rules."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import Classroom, Membership, Role, User
from tests.conftest import make_user

TEACHER_ONLY = ("accounts:classes",)
MODERATOR_ONLY = ("accounts:review_queue",)
SIGNED_IN_ONLY = ("home", "accounts:profile", *TEACHER_ONLY, *MODERATOR_ONLY)


@pytest.fixture
def classroom(alice) -> Classroom:
    return Classroom.objects.create(teacher=alice, name="7B", join_code="K7P2QX")


@pytest.mark.parametrize("url_name", SIGNED_IN_ONLY)
def test_anonymous_user_is_sent_to_sign_in(client, db, url_name):
    url = reverse(url_name)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={url}"


@pytest.mark.parametrize("url_name", TEACHER_ONLY + MODERATOR_ONLY)
def test_student_cannot_open_teacher_or_moderator_pages(client, sam, url_name):
    client.force_login(sam)

    response = client.get(reverse(url_name))

    assert response.status_code == 403
    assert "You cannot open this page" in response.content.decode()


def test_teacher_cannot_open_review_queue(client, alice):
    client.force_login(alice)
    assert client.get(reverse("accounts:review_queue")).status_code == 403


def test_moderator_cannot_open_classes(client, mo):
    client.force_login(mo)
    assert client.get(reverse("accounts:classes")).status_code == 403


def test_staff_pass_every_role_check(client, db):
    admin = make_user("root", Role.STUDENT, is_staff=True)
    client.force_login(admin)
    assert client.get(reverse("accounts:classes")).status_code == 200
    assert client.get(reverse("accounts:review_queue")).url == reverse("moderation:queue")
    assert client.get(reverse("moderation:queue")).status_code == 200


@pytest.mark.parametrize(
    ("role", "template", "nav_text"),
    [
        (Role.TEACHER, "accounts/home_teacher.html", "Classes"),
        (Role.STUDENT, "accounts/home_student.html", "Join a class"),
        (Role.MODERATOR, "accounts/home_moderator.html", "Review queue"),
    ],
)
def test_each_role_signs_in_and_lands_on_its_home(client, db, role, template, nav_text):
    make_user("someone", role)

    response = client.post(
        reverse("accounts:login"), {"username": "someone", "password": "pw-someone"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("home")
    assert template in [t.name for t in response.templates]
    assert nav_text in response.content.decode()


def test_teacher_home_explains_what_to_do_when_empty(client, alice):
    client.force_login(alice)
    body = client.get(reverse("home")).content.decode()
    assert "You have no courses yet" in body
    assert "You have no classes yet" in body


def test_student_home_explains_how_to_join_when_in_no_class(client, sam):
    client.force_login(sam)
    body = client.get(reverse("home")).content.decode()
    assert "You are not in a class yet" in body


def test_teacher_signs_up_and_is_signed_in_as_teacher(client, db):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "tina",
            "display_name": "Ms Tina",
            "email": "",
            "password1": "a-long-enough-Passw0rd",
            "password2": "a-long-enough-Passw0rd",
        },
    )

    assert response.status_code == 302
    tina = User.objects.get(username="tina")
    assert tina.role == Role.TEACHER
    assert client.get(reverse("home")).context["user"] == tina


def test_student_signs_up_with_join_code_and_no_email(client, classroom):
    response = client.post(
        reverse("accounts:join"),
        {
            "join_code": "k7p2-qx ",
            "username": "pupil",
            "display_name": "",
            "password1": "a-long-enough-Passw0rd",
            "password2": "a-long-enough-Passw0rd",
        },
    )

    assert response.status_code == 302
    pupil = User.objects.get(username="pupil")
    assert pupil.role == Role.STUDENT
    assert pupil.email == ""
    assert list(pupil.classrooms.all()) == [classroom]


def test_student_sign_up_rejects_unknown_join_code(client, classroom):
    response = client.post(
        reverse("accounts:join"),
        {
            "join_code": "ZZZZZZ",
            "username": "pupil",
            "password1": "a-long-enough-Passw0rd",
            "password2": "a-long-enough-Passw0rd",
        },
    )

    assert response.status_code == 200
    assert "No class has the join code ZZZZZZ" in response.content.decode()
    assert not User.objects.filter(username="pupil").exists()


def test_existing_student_joins_another_class(client, sam, classroom):
    client.force_login(sam)

    response = client.post(reverse("accounts:join"), {"join_code": "K7P2QX"})

    assert response.status_code == 302
    assert Membership.objects.filter(student=sam, classroom=classroom).exists()


def test_teacher_cannot_join_a_class(client, alice, classroom):
    client.force_login(alice)
    assert client.post(reverse("accounts:join"), {"join_code": "K7P2QX"}).status_code == 403


def test_teacher_creates_class_and_sees_its_code_and_students(client, alice, sam):
    client.force_login(alice)

    response = client.post(reverse("accounts:classes"), {"name": "Physics 9A"}, follow=True)

    classroom = Classroom.objects.get(teacher=alice, name="Physics 9A")
    Membership.objects.create(classroom=classroom, student=sam)
    body = client.get(reverse("accounts:classes")).content.decode()
    assert response.status_code == 200
    assert classroom.join_code in body
    assert "sam" in body


def test_teacher_sees_only_own_classes(client, alice, bob):
    Classroom.objects.create(teacher=bob, name="Bob's class")
    client.force_login(alice)
    assert "Bob&#x27;s class" not in client.get(reverse("accounts:classes")).content.decode()


def test_profile_saves_language_and_captions_and_sets_language_cookie(client, sam):
    client.force_login(sam)
    assert sam.captions_size == "medium"  # the default

    response = client.post(
        reverse("accounts:profile"),
        {
            "display_name": "Sam S.",
            "language": "zh-hans",
            "captions_enabled": "",
            "captions_size": "large",
        },
    )

    sam.refresh_from_db()
    assert response.status_code == 302
    assert (sam.display_name, sam.language, sam.captions_enabled) == ("Sam S.", "zh-hans", False)
    assert sam.captions_size == "large"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_profile_shows_the_caption_size_and_refuses_an_unknown_one(client, sam):
    client.force_login(sam)
    assert 'name="captions_size"' in client.get(reverse("accounts:profile")).content.decode()

    response = client.post(
        reverse("accounts:profile"),
        {"display_name": "", "language": "", "captions_enabled": "on", "captions_size": "huge"},
    )

    sam.refresh_from_db()
    assert response.status_code == 200  # the form again, with its error
    assert sam.captions_size == "medium"


def test_the_players_caption_size_selector_saves_the_preference(client, sam):
    client.force_login(sam)
    url = reverse("accounts:caption_size")

    assert client.post(url, {"captions_size": "small"}).status_code == 204
    sam.refresh_from_db()
    assert sam.captions_size == "small"
    assert client.post(url, {"captions_size": "huge"}).status_code == 400
    assert client.get(url).status_code == 405
    sam.refresh_from_db()
    assert sam.captions_size == "small"


def test_the_caption_size_endpoint_needs_the_csrf_token(sam):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sam)

    response = client.post(reverse("accounts:caption_size"), {"captions_size": "large"})

    sam.refresh_from_db()
    assert response.status_code == 403
    assert sam.captions_size == "medium"


def test_language_switch_sets_cookie_and_remembers_preference(client, sam):
    client.force_login(sam)

    response = client.post(reverse("accounts:language"), {"language": "zh-hans", "next": "/"})

    sam.refresh_from_db()
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert sam.language == "zh-hans"


def test_signed_in_users_language_preference_beats_the_cookie(client, sam):
    sam.language = "zh-hans"
    sam.save()
    client.force_login(sam)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(reverse("home"))

    assert response.headers["Content-Language"] == "zh-hans"


def test_anonymous_language_switch_only_sets_cookie(client, db):
    response = client.post(reverse("accounts:language"), {"language": "zh-hans", "next": "/"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_sign_out_needs_post_and_returns_to_sign_in(client, sam):
    client.force_login(sam)

    response = client.post(reverse("accounts:logout"))

    assert response.url == reverse("accounts:login")
    assert client.get(reverse("home")).status_code == 302


def test_review_queue_lists_submitted_versions_for_moderators(client, mo, alice):
    from courses.models import Course, Lesson, LessonVersion, VersionStatus

    course = Course.objects.create(owner=alice, title="Git", slug="git")
    lesson = Lesson.objects.create(course=course, title="Branches", created_by=alice)
    LessonVersion.objects.create(
        lesson=lesson, number=1, created_by=alice, status=VersionStatus.SUBMITTED
    )
    client.force_login(mo)

    body = client.get(reverse("accounts:review_queue"), follow=True).content.decode()

    assert "Branches" in body
    assert "Nothing is waiting for review" not in body


def test_pages_have_skip_link_landmarks_and_labelled_language_switcher(client, db):
    body = client.get(reverse("accounts:login")).content.decode()
    assert '<a class="skip-link" href="#main">' in body
    assert '<main id="main"' in body and "<nav " in body and "<header" in body
    assert '<label for="language-select">' in body
    assert '<label for="id_username">' in body
