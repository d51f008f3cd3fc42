"""What the authorization tests (tests/test_authorization*.py) share: the roles, the walk over
the URL configuration, the world every role is checked against, and a snapshot of the whole
database to prove that a refused request changed nothing.

The world: one published lesson of alice's course, which sam's class has and olga's class
does not, with a scene, a question, a finished render, sam's report and a pending import.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Classroom, Membership, Role, User
from courses import services as courses_services
from courses.models import Checkpoint, Choice, PendingImport, Scene
from moderation import reports
from moderation import services as moderation_services
from tests.conftest import make_user
from tests.courses.conftest import finished_render
from tests.synthesis.labelled_render import copy_labelled_output

ROLES = ("anonymous", "student", "other_student", "owner", "other_teacher", "moderator", "staff")
L, A, F, N, M = "login", 200, 403, 404, 405


def rule(anonymous, student, other_student, owner, other_teacher, moderator, staff) -> dict:
    values = (anonymous, student, other_student, owner, other_teacher, moderator, staff)
    return dict(zip(ROLES, values, strict=True))


# The URL configuration -------------------------------------------------------------------


def walk(resolver: URLResolver, namespace: str = "", prefix: str = ""):
    """(full name or None, pattern, namespace) of every URL pattern, recursively."""
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
    """The key of a pattern's rule: its name; the admin site's patterns share "admin"."""
    if namespace.split(":")[0] == "admin":
        return "admin"
    return name


def project_patterns() -> list[tuple[str | None, str, str]]:
    return list(walk(get_resolver()))


def patterns_without_rule(rules: dict) -> list[str]:
    return [
        f"{name or '(unnamed)'} -> /{pattern}"
        for name, pattern, namespace in project_patterns()
        if rule_key(name, namespace) not in rules
    ]


def rules_without_pattern(rules: dict) -> set[str]:
    return set(rules) - {rule_key(name, namespace) for name, _, namespace in project_patterns()}


def checked_urls(rules: dict) -> list[tuple[str, str]]:
    """(rule key, pattern) of each URL with a rule, the admin site once (on its index)."""
    seen: dict[str, str] = {}
    for name, pattern, namespace in project_patterns():
        key = rule_key(name, namespace)
        if key in rules and key not in seen:
            seen[key] = pattern
    return sorted(seen.items())


def url_of(name: str, pattern: str, kwargs: dict) -> str:
    if name == "admin":
        return reverse("admin:index")
    needed = [part.split(">")[0].split(":")[-1] for part in pattern.split("<")[1:]]
    unknown = [key for key in needed if key not in kwargs]
    assert not unknown, f"{name}: give the world a value for {unknown}"
    return reverse(name, kwargs={key: kwargs[key] for key in needed})


def outcome(response) -> int | str:
    """The status code, or "login" / "admin_login" for a redirect to sign in."""
    if response.status_code in (301, 302):
        location = response["Location"]
        if location.startswith(settings.LOGIN_URL) or "/accounts/login/" in location:
            return "login"
        if "/admin/login/" in location:
            return "admin_login"
    return response.status_code


# The world -------------------------------------------------------------------------------


class World(NamedTuple):
    users: dict[str, User]  # by role; anonymous has none
    kwargs: dict[str, object]  # a value for every URL argument


def build_world(settings, tmp_path: Path) -> World:
    """The cast and their objects; `settings` is pytest-django's fixture."""
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
    # An open report: the page that lists it shows student data, and says so in the audit log.
    reports.report_create(student=sam, lesson=lesson, reason="wrong", note="A typo.")
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
    return World(users, kwargs)


# Nothing changed -------------------------------------------------------------------------


def database_snapshot() -> dict[str, list[tuple]]:
    """Every row of every table (many-to-many tables too), and the files under MEDIA_ROOT.

    Raw SQL: about a millisecond for the whole world on SQLite, so a test can take one
    after each request and name the request that changed something.
    """
    snapshot = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")
            snapshot[model._meta.label] = cursor.fetchall()
    media = Path(settings.MEDIA_ROOT)
    snapshot["MEDIA_ROOT"] = sorted(
        (str(path.relative_to(media)), path.stat().st_size) for path in media.rglob("*")
    )
    return snapshot


def snapshot_changes(before: dict, after: dict) -> list[str]:
    """The tables (and "MEDIA_ROOT") whose rows differ between two snapshots."""
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
