"""Authorization built from the URL configuration: every URL pattern of the project needs a
rule in ACCESS (what a GET answers for each role), so a new URL without one fails here.

Roles: anonymous, a student of the class that has the course, a student of another class,
the owning teacher, another teacher, a moderator, staff. Expected answers: 200 (or another
2xx/3xx the page gives on purpose, written as the code), "login" (a redirect to sign in),
403 (the role is wrong for a page that is not about one object), 404 (an object the user may
not know exists), 405 (the URL takes POST only). Object ids come from the world fixture: one
published lesson of alice's course, which sam's class has and olga's class does not.
The admin site's patterns share one rule (namespace "admin"), checked on its index.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Classroom, Membership, Role
from courses import services as courses_services
from courses.models import Checkpoint, Choice, PendingImport, Scene
from moderation import services as moderation_services
from tests.conftest import make_user
from tests.courses.conftest import finished_render
from tests.synthesis.labelled_render import copy_labelled_output

ROLES = ("anonymous", "student", "other_student", "owner", "other_teacher", "moderator", "staff")
L, A, F, N, M = "login", 200, 403, 404, 405


def rule(anonymous, student, other_student, owner, other_teacher, moderator, staff) -> dict:
    values = (anonymous, student, other_student, owner, other_teacher, moderator, staff)
    return dict(zip(ROLES, values, strict=True))


# The studio: teachers only (403 for students and moderators), 404 for another teacher.
STUDIO_GET = rule(L, F, F, A, N, F, A)
# POST only: a GET is refused (405) before any object is read, so it reveals nothing;
# test_posting_to_another_teachers_objects_is_404 checks the POSTs.
STUDIO_POST = rule(L, F, F, M, M, F, M)
MODERATOR_GET = rule(L, F, F, F, F, A, A)
MODERATOR_POST = rule(L, F, F, F, F, M, M)
STUDENT_FILES = rule(L, A, N, A, N, A, A)  # a published render: its class, its owner, moderators

ACCESS: dict[str, dict] = {
    "home": rule(L, A, A, A, A, A, A),
    "healthz": rule(A, A, A, A, A, A, A),
    "operations": rule(L, F, F, F, F, F, A),
    "admin": rule(
        "admin_login", "admin_login", "admin_login", "admin_login", "admin_login", "admin_login", A
    ),
    "set_language": rule(302, 302, 302, 302, 302, 302, 302),
    # accounts
    "accounts:login": rule(A, 302, 302, 302, 302, 302, 302),
    "accounts:logout": rule(M, M, M, M, M, M, M),
    "accounts:signup": rule(A, 302, 302, 302, 302, 302, 302),
    "accounts:join": rule(A, A, A, F, F, F, F),  # a code and a sign-up form for newcomers
    "accounts:classes": rule(L, F, F, A, A, F, A),
    "accounts:profile": rule(L, A, A, A, A, A, A),
    "accounts:language": rule(M, M, M, M, M, M, M),
    "accounts:caption_size": rule(L, M, M, M, M, M, M),  # the player's selector, POST only
    "accounts:review_queue": rule(L, F, F, F, F, 302, 302),
    # courses (the studio)
    "courses:course_list": rule(L, F, F, A, A, F, A),
    "courses:course_create": rule(L, F, F, A, A, F, A),
    "courses:import_review": STUDIO_GET,
    "courses:import_status": STUDIO_GET,
    "courses:import_discard": STUDIO_POST,
    "courses:import_image": rule(L, F, F, N, N, F, N),  # the import has no image 0
    "courses:lesson_detail": rule(L, F, F, 302, N, F, 302),  # to its newest version
    "courses:lesson_edit": STUDIO_GET,
    "courses:lesson_delete": STUDIO_GET,
    "courses:version_detail": STUDIO_GET,
    "courses:scene_add": STUDIO_POST,
    "courses:checkpoints_generate": STUDIO_POST,
    "courses:version_render": STUDIO_POST,
    "courses:version_voice_preview": STUDIO_GET,
    "courses:version_submit": STUDIO_POST,
    "courses:scene_edit": STUDIO_GET,
    "courses:scene_move": STUDIO_POST,
    "courses:scene_duplicate": STUDIO_POST,
    "courses:scene_delete": STUDIO_POST,
    "courses:scene_image": rule(L, F, F, N, N, N, N),  # the scene has no image
    "courses:scene_narration_preview": STUDIO_GET,
    "courses:checkpoint_edit": STUDIO_GET,
    "courses:checkpoint_accept": STUDIO_POST,
    "courses:checkpoint_delete": STUDIO_POST,
    "courses:render_job_status": STUDIO_GET,
    "courses:render_job_cancel": STUDIO_POST,
    "courses:render_job_preview": STUDIO_GET,
    "courses:render_job_file": STUDENT_FILES,
    "courses:render_job_playlist": rule(L, N, N, N, N, N, N),  # rendered before playlists
    "courses:render_job_segment": rule(L, N, N, N, N, N, N),
    "courses:course_detail": STUDIO_GET,
    "courses:course_edit": STUDIO_GET,
    "courses:course_delete": STUDIO_GET,
    "courses:course_classrooms": STUDIO_POST,
    "courses:lesson_create": STUDIO_POST,
    "courses:lesson_import": STUDIO_GET,
    # moderation
    "moderation:queue": MODERATOR_GET,
    "moderation:review": MODERATOR_GET,
    "moderation:claim": MODERATOR_POST,
    "moderation:release": MODERATOR_POST,
    "moderation:decide": MODERATOR_POST,
    "moderation:appeal": rule(L, F, F, A, N, F, A),
    "moderation:report": rule(L, M, M, F, F, F, M),
    "moderation:lesson_reports": MODERATOR_GET,
    "moderation:lesson_restore": MODERATOR_POST,
    "moderation:lesson_takedown": MODERATOR_POST,
    # learning
    "learning:player": rule(L, A, N, N, N, N, N),
    "learning:lesson_settings": rule(L, M, M, M, M, M, M),
    "learning:events": rule(L, M, M, M, M, M, M),
    "learning:gradebook": rule(L, N, N, A, N, N, A),
    "learning:gradebook_csv": rule(L, N, N, A, N, N, A),
    "learning:xapi": rule(L, N, N, A, N, N, A),
    "learning:course_thresholds": rule(L, M, M, M, M, M, M),
    # The signed-in student's own variant (no student id in the URL); not ready: no playlist.
    "learning:variant_page": rule(L, A, N, N, N, N, N),
    "learning:variant_status": rule(L, A, N, N, N, N, N),
    "learning:variant_playlist": rule(L, N, N, N, N, N, N),
    "learning:variant_captions": rule(L, N, N, N, N, N, N),
    "learning:variant_segment": rule(L, N, N, N, N, N, N),
    # The class's teacher previews sam's variant.
    "learning:teacher_variant_page": rule(L, N, N, A, N, N, A),
    "learning:teacher_variant_status": rule(L, N, N, A, N, N, A),
    "learning:teacher_variant_playlist": rule(L, N, N, N, N, N, N),
    "learning:teacher_variant_captions": rule(L, N, N, N, N, N, N),
    "learning:teacher_variant_segment": rule(L, N, N, N, N, N, N),
}


def walk(resolver: URLResolver, namespace: str = "", prefix: str = ""):
    """(full name or None, pattern, converters' names) of every URL pattern, recursively."""
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry, inner, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            yield name, prefix + str(entry.pattern), namespace


def rule_key(name: str | None, namespace: str) -> str | None:
    if namespace.split(":")[0] == "admin":
        return "admin"
    return name


def project_patterns() -> list[tuple[str | None, str, str]]:
    return list(walk(get_resolver()))


def test_every_url_has_an_access_rule():
    missing = [
        f"{name or '(unnamed)'} -> /{pattern}"
        for name, pattern, namespace in project_patterns()
        if rule_key(name, namespace) not in ACCESS
    ]
    assert not missing, "URLs without a rule in tests/test_authorization.py ACCESS:\n" + "\n".join(
        missing
    )


def test_no_rule_is_left_for_a_url_that_is_gone():
    keys = {rule_key(name, namespace) for name, _, namespace in project_patterns()}
    assert set(ACCESS) - keys == set()


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    alice = make_user("alice", Role.TEACHER)
    bob = make_user("bob", Role.TEACHER)
    sam = make_user("sam", Role.STUDENT)
    olga = make_user("olga", Role.STUDENT)
    mo = make_user("mo", Role.MODERATOR)
    staff = make_user("root", Role.TEACHER, is_staff=True)
    course = courses_services.course_create(owner=alice, title="Git", slug="git")
    lesson = courses_services.lesson_create(course=course, title="Git basics", created_by=alice)
    version = lesson.versions.get()
    scene = Scene.objects.create(
        version=version, position=0, kind="text", title="Why", narration="History."
    )
    checkpoint = Checkpoint.objects.create(scene=scene, prompt="Why?")
    Choice.objects.create(checkpoint=checkpoint, text="History", is_correct=True)
    Choice.objects.create(checkpoint=checkpoint, text="Speed", is_correct=False, position=1)
    job = finished_render(version, alice, output_dir="renders/1")
    copy_labelled_output(Path(settings.MEDIA_ROOT) / "renders/1")
    courses_services.lesson_version_submit(version=version, user=alice)
    moderation_services.review_claim(version=version, moderator=mo)
    moderation_services.review_decide(version=version, moderator=mo, verdicts={})
    seven_b = Classroom.objects.create(teacher=alice, name="7B", join_code="K7P2QX")
    seven_b.courses.add(course)
    Membership.objects.create(classroom=seven_b, student=sam)
    eight_c = Classroom.objects.create(teacher=bob, name="8C", join_code="M3N4PQ")
    Membership.objects.create(classroom=eight_c, student=olga)
    pending = PendingImport.objects.create(
        owner=alice, course=course, kind="md", source_name="a.md", title="A",
        language="en", folder=str(tmp_path / "pending"),
    )  # fmt: skip
    users = {
        "student": sam, "other_student": olga, "owner": alice, "other_teacher": bob,
        "moderator": mo, "staff": staff,
    }  # fmt: skip
    kwargs = {
        "slug": course.slug, "lesson_id": lesson.pk, "version_id": version.pk,
        "scene_id": scene.pk, "job_id": job.pk, "pending_id": pending.pk, "index": 0,
        "name": "video", "key": "0" * 64, "position": 0, "classroom_id": seven_b.pk,
        "student_id": sam.pk, "course_id": course.pk,
    }  # fmt: skip
    return users, kwargs


def url_of(name: str, pattern: str, kwargs: dict) -> str:
    if name == "admin":
        return reverse("admin:index")
    needed = [part.split(">")[0].split(":")[-1] for part in pattern.split("<")[1:]]
    unknown = [key for key in needed if key not in kwargs]
    assert not unknown, f"{name}: give the world fixture a value for {unknown}"
    return reverse(name, kwargs={key: kwargs[key] for key in needed})


def outcome(response) -> int | str:
    if response.status_code in (301, 302):
        location = response["Location"]
        if location.startswith(settings.LOGIN_URL) or "/accounts/login/" in location:
            return "login"
        if "/admin/login/" in location:
            return "admin_login"
    return response.status_code


def checked_urls() -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for name, pattern, namespace in project_patterns():
        key = rule_key(name, namespace)
        if key in ACCESS and key not in seen:
            seen[key] = pattern
    return sorted(seen.items())


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_as_its_rule_says(client, world, role):
    users, kwargs = world
    if role != "anonymous":
        client.force_login(users[role])
    wrong = []
    observed = {}
    for key, pattern in checked_urls():
        response = client.get(url_of(key, pattern, kwargs))
        observed[key] = outcome(response)
        if observed[key] != ACCESS[key][role]:
            wrong.append(f"{key}: expected {ACCESS[key][role]}, got {observed[key]}")
    if os.environ.get("LECTERN_PRINT_ACCESS"):
        print(role, observed)
    assert not wrong, f"as {role}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role,expected", [("other_teacher", 404), ("student", 403)])
def test_posting_to_another_teachers_objects_is_404(client, world, role, expected):
    """The studio's POST-only URLs: another teacher learns nothing (404), a student is in the
    wrong place (403), and nothing changes either way."""
    from courses.models import Course, LessonVersion

    users, kwargs = world
    client.force_login(users[role])
    before = (Course.objects.count(), LessonVersion.objects.count(), Scene.objects.count())
    posted = {
        key: client.post(url_of(key, pattern, kwargs)).status_code
        for key, pattern in checked_urls()
        if ACCESS[key] is STUDIO_POST
    }
    assert posted and set(posted.values()) == {expected}, posted
    after = (Course.objects.count(), LessonVersion.objects.count(), Scene.objects.count())
    assert after == before
