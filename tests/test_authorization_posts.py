"""Authorization of POST, PUT, PATCH and DELETE, built from the URL configuration: every URL
pattern needs a rule in POSTS (what a POST answers for each role), so a new URL without one
fails here. Roles, answers and the world are those of tests/test_authorization.py.

A rule's value for a role is one of:
- Allowed(code): the role may do it; its POST answers `code` (not a refusal, not a 500).
  Each allowed POST runs in a savepoint rolled back afterwards, so the next sees the same
  world; what the POST did is for the functional tests (tests/courses/test_views.py ...).
- "login", 403, 404 or 405: refused (404 where the role may not know the object exists).
- AS_GET: the view ignores the method; a POST reads the page like a GET (ACCESS's answer).
- another code: what the page answers on purpose without changing anything (a redirect).
Every POST carries the data the allowed role would send (BODIES), so a refusal is the
permission check's and not an invalid form's, and after every POST that is not Allowed the
whole database and MEDIA_ROOT must be as before.

PUT, PATCH and DELETE, on every URL for every role, answer 405 or what the role gets by GET
or by its refused POST; never a 500, and nothing changes.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests.authorization import (
    ROLES,
    A,
    F,
    L,
    M,
    N,
    World,
    build_world,
    checked_urls,
    database_snapshot,
    outcome,
    patterns_without_rule,
    rule,
    rules_without_pattern,
    snapshot_changes,
    url_of,
)
from tests.test_authorization import ACCESS


class Allowed(NamedTuple):
    """The role may do it: its POST answers `code` and may change things."""

    code: int | str


AS_GET = "as GET"
OTHER_METHODS = ("PUT", "PATCH", "DELETE")
DONE = Allowed(302)  # most forms answer a done POST with a redirect

# The owner's studio and staff; students and moderators are in the wrong place (403);
# another teacher learns nothing (404).
STUDIO = rule(L, F, F, DONE, N, F, DONE)
# The form answers the owner with the page itself: the lesson or course is live, so it is
# not deleted.
STUDIO_PAGE = rule(L, F, F, Allowed(A), N, F, Allowed(A))
# A view with require_GET: refused by method, after the role check, before any object is read.
STUDIO_GET_ONLY = rule(L, F, F, M, M, F, M)
MODERATION = rule(L, F, F, F, F, DONE, DONE)
SIGNED_IN_GET_ONLY = rule(L, M, M, M, M, M, M)
# A course owner's learning settings: a selector that answers 404 to anyone else.
OWNER_SETTINGS = rule(L, N, N, DONE, N, N, DONE)

POSTS: dict[str, dict | str] = {
    "home": AS_GET,
    "healthz": AS_GET,
    "operations": AS_GET,
    "admin": AS_GET,
    "set_language": rule(302, 302, 302, 302, 302, 302, 302),  # a cookie; no preference kept
    # accounts
    "accounts:login": rule(DONE, 302, 302, 302, 302, 302, 302),  # signed in: sent home
    "accounts:logout": rule(L, *[Allowed(L)] * 6),  # signed out: to the sign-in page
    "accounts:signup": rule(DONE, 302, 302, 302, 302, 302, 302),
    "accounts:join": rule(DONE, DONE, DONE, F, F, F, F),  # olga is in 8C already: a no-op
    "accounts:classes": rule(L, F, F, DONE, DONE, F, DONE),
    "accounts:profile": rule(L, DONE, DONE, DONE, DONE, DONE, DONE),
    "accounts:language": rule(302, DONE, DONE, DONE, DONE, DONE, DONE),
    "accounts:caption_size": rule(L, *[Allowed(204)] * 6),
    "accounts:review_queue": AS_GET,
    # courses (the studio)
    "courses:course_list": AS_GET,
    "courses:course_create": rule(L, F, F, DONE, DONE, F, DONE),  # any teacher's own course
    "courses:import_review": STUDIO,
    "courses:import_status": STUDIO_GET_ONLY,
    "courses:import_discard": STUDIO,
    "courses:import_image": AS_GET,
    "courses:lesson_detail": AS_GET,
    "courses:lesson_edit": STUDIO,
    "courses:lesson_delete": STUDIO_PAGE,
    "courses:version_detail": AS_GET,
    "courses:scene_add": STUDIO,
    "courses:checkpoints_generate": STUDIO,
    "courses:version_render": STUDIO,
    "courses:version_voice_preview": STUDIO_GET_ONLY,
    "courses:version_submit": STUDIO,
    "courses:scene_edit": STUDIO,
    "courses:scene_move": STUDIO,
    "courses:scene_duplicate": STUDIO,
    "courses:scene_delete": STUDIO,
    "courses:scene_image": AS_GET,
    "courses:scene_narration_preview": rule(L, F, F, Allowed(A), N, F, Allowed(A)),  # the WAV
    "courses:checkpoint_edit": STUDIO,
    "courses:checkpoint_accept": STUDIO,
    "courses:checkpoint_delete": STUDIO,
    "courses:render_job_status": AS_GET,
    "courses:render_job_cancel": STUDIO,
    "courses:render_job_preview": AS_GET,
    "courses:render_job_file": AS_GET,
    "courses:render_job_playlist": AS_GET,
    "courses:render_job_segment": AS_GET,
    "courses:course_detail": AS_GET,
    "courses:course_edit": STUDIO,
    "courses:course_delete": STUDIO_PAGE,
    "courses:course_classrooms": STUDIO,
    "courses:lesson_create": STUDIO,
    "courses:lesson_import": STUDIO,
    # moderation
    "moderation:queue": AS_GET,
    "moderation:review": AS_GET,
    "moderation:claim": MODERATION,
    "moderation:release": MODERATION,
    "moderation:decide": MODERATION,
    # The lesson is published, not rejected: the form says there is nothing to appeal.
    "moderation:appeal": rule(L, F, F, Allowed(A), N, F, Allowed(A)),
    # A student who watches it; staff are no student of the class (404, like olga).
    "moderation:report": rule(L, DONE, N, F, F, F, N),
    "moderation:lesson_reports": rule(L, F, F, F, F, M, M),  # GET only: it audits who looked
    "moderation:lesson_restore": MODERATION,
    "moderation:lesson_takedown": MODERATION,
    # learning
    "learning:player": SIGNED_IN_GET_ONLY,
    "learning:lesson_settings": OWNER_SETTINGS,
    # sam's own events; the lesson is not found for anyone else (404).
    "learning:events": rule(L, Allowed(A), N, N, N, N, N),
    "learning:gradebook": SIGNED_IN_GET_ONLY,
    "learning:gradebook_csv": SIGNED_IN_GET_ONLY,
    "learning:xapi": SIGNED_IN_GET_ONLY,
    "learning:course_thresholds": OWNER_SETTINGS,
    "learning:variant_page": SIGNED_IN_GET_ONLY,
    "learning:variant_status": SIGNED_IN_GET_ONLY,
    # No pre-check in the world's lesson: the student is sent on to the whole video.
    "learning:variant_precheck": rule(L, DONE, N, N, N, N, N),
    "learning:variant_playlist": SIGNED_IN_GET_ONLY,
    "learning:variant_captions": SIGNED_IN_GET_ONLY,
    "learning:variant_segment": SIGNED_IN_GET_ONLY,
    "learning:variant_video": SIGNED_IN_GET_ONLY,
    "learning:variant_provenance": SIGNED_IN_GET_ONLY,
    "learning:teacher_variant_page": SIGNED_IN_GET_ONLY,
    "learning:teacher_variant_status": SIGNED_IN_GET_ONLY,
    "learning:teacher_variant_playlist": SIGNED_IN_GET_ONLY,
    "learning:teacher_variant_captions": SIGNED_IN_GET_ONLY,
    "learning:teacher_variant_segment": SIGNED_IN_GET_ONLY,
    "learning:teacher_variant_video": SIGNED_IN_GET_ONLY,
    "learning:teacher_variant_provenance": SIGNED_IN_GET_ONLY,
}


class Body(NamedTuple):
    data: dict | str
    content_type: str | None = None  # None: a form, multipart as a browser sends files


PASSWORD = "a-long-pass-phrase-42"


def events_body(ids: dict) -> Body:
    event = {
        "id": "w1", "kind": "watched", "lesson": ids["lesson_id"], "version": ids["version_id"],
        "occurred_at": timezone.now().isoformat(), "payload": {"start_s": 0, "end_s": 4},
    }  # fmt: skip
    return Body(json.dumps({"events": [event]}), "application/json")


def lesson_zip() -> SimpleUploadedFile:
    """A Markdown lesson folder, zipped (a new one for each POST: a file is read once)."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("lesson.md", "# Branches\n\nA branch is a pointer.\n")
    return SimpleUploadedFile("branches.zip", data.getvalue())


# What the role that may do it sends; a URL without an entry is posted with no data.
BODIES: dict[str, Callable[[dict], Body]] = {
    "set_language": lambda ids: Body({"language": "zh-hans", "next": "/"}),
    "accounts:login": lambda ids: Body({"username": "sam", "password": "pw-sam"}),
    "accounts:signup": lambda ids: Body(
        {
            "username": "tina",
            "display_name": "Ms Tina",
            "email": "tina@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
        }
    ),  # fmt: skip
    "accounts:join": lambda ids: Body(
        {
            "join_code": "M3N4PQ",
            "username": "pupil",
            "display_name": "Pupil",
            "password1": PASSWORD,
            "password2": PASSWORD,
        }
    ),  # fmt: skip
    "accounts:classes": lambda ids: Body({"name": "9D"}),
    "accounts:profile": lambda ids: Body(
        {
            "display_name": "Renamed",
            "language": "zh-hans",
            "captions_enabled": "on",
            "captions_size": "large",
        }
    ),  # fmt: skip
    "accounts:caption_size": lambda ids: Body({"captions_size": "large"}),
    "accounts:language": lambda ids: Body({"language": "zh-hans", "next": "/"}),
    "courses:course_create": lambda ids: Body(
        {"title": "Biology", "slug": "biology", "language": "en", "description": ""}
    ),
    "courses:import_review": lambda ids: Body({"title": "Imported"}),
    "courses:lesson_edit": lambda ids: Body({"title": "Renamed"}),
    "courses:scene_add": lambda ids: Body({"kind": "code"}),
    "courses:version_render": lambda ids: Body({"size": "tiny", "quality": "draft"}),
    "courses:scene_edit": lambda ids: Body(
        {
            "kind": "text",
            "title": "Renamed",
            "body": "",
            "code": "",
            "code_language": "",
            "math": "",
            "image_alt": "",
            "narration": "History.",
            "language": "en",
            "role": "core",
            "concepts": "",
        }
    ),  # fmt: skip
    "courses:scene_move": lambda ids: Body({"direction": "up"}),
    "courses:scene_narration_preview": lambda ids: Body({"narration": "Hello.", "language": "en"}),
    "courses:checkpoint_edit": lambda ids: Body(
        {
            "prompt": "Why?",
            "explanation": "",
            "concepts": "",
            "choice_1": "History",
            "correct_1": "on",
            "choice_2": "Speed",
        }
    ),  # fmt: skip
    "courses:course_edit": lambda ids: Body(
        {"title": "Git for teachers", "language": "en", "description": ""}
    ),
    "courses:course_classrooms": lambda ids: Body({}),  # no class: 7B would lose the course
    "courses:lesson_create": lambda ids: Body({"title": "Branches"}),
    "courses:lesson_import": lambda ids: Body({"file": lesson_zip(), "language": "en"}),
    "moderation:decide": lambda ids: Body(
        {"action": "reject_version", "reason_code": "quality", "note": "Blurry."}
    ),
    "moderation:appeal": lambda ids: Body({"note": "It is clear."}),
    "moderation:report": lambda ids: Body({"reason": "wrong", "note": "A typo."}),
    "moderation:lesson_takedown": lambda ids: Body(
        {"reason_code": "unsuitable", "note": "Frightening."}
    ),
    "learning:lesson_settings": lambda ids: Body({"prevent_skipping": "on", "next": "/"}),
    "learning:events": events_body,
    "learning:course_thresholds": lambda ids: Body({"mastery_threshold": "0.7", "next": "/"}),
}


def test_every_url_has_a_post_rule():
    missing = patterns_without_rule(POSTS)
    assert not missing, "URLs without a rule in tests/test_authorization_posts.py POSTS:\n" + (
        "\n".join(missing)
    )


def test_no_post_rule_or_body_is_left_for_a_url_that_is_gone():
    assert rules_without_pattern(POSTS) == set()
    assert set(BODIES) - set(POSTS) == set()


@pytest.fixture
def world(db, settings, tmp_path) -> World:
    settings.LECTERN_TEACHER_SIGNUP = "open"  # the sign-up form without a code
    return build_world(settings, tmp_path)


def client_as(world: World, role: str) -> Client:
    """A client that answers a view's exception with a 500, so a test can list them all."""
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(world.users[role])
    return client


def send(client: Client, method: str, key: str, pattern: str, ids: dict):
    """The URL's body as a browser sends it; by PUT, PATCH or DELETE urlencoded, no files."""
    url = url_of(key, pattern, ids)
    body = BODIES.get(key, lambda ids: Body({}))(ids)
    if method == "POST":
        if body.content_type:
            return client.post(url, body.data, content_type=body.content_type)
        return client.post(url, body.data)
    if body.content_type:
        return client.generic(method, url, body.data, content_type=body.content_type)
    fields = {name: value for name, value in body.data.items() if isinstance(value, str)}
    return client.generic(
        method, url, urlencode(fields), content_type="application/x-www-form-urlencoded"
    )


def post_rule(key: str, role: str):
    expected = POSTS[key]
    return ACCESS[key][role] if expected == AS_GET else expected[role]


@pytest.mark.parametrize("role", ROLES)
def test_a_post_that_is_not_allowed_answers_its_rule_and_changes_nothing(world, role):
    client = client_as(world, role)
    before = database_snapshot()
    wrong = []
    for key, pattern in checked_urls(POSTS):
        expected = post_rule(key, role)
        if isinstance(expected, Allowed):
            continue
        answer = outcome(send(client, "POST", key, pattern, world.kwargs))
        if answer != expected:
            wrong.append(f"{key}: expected {expected}, got {answer}")
        after = database_snapshot()
        if changed := snapshot_changes(before, after):
            wrong.append(f"{key}: the POST changed {', '.join(changed)}")
            before = after
    assert not wrong, f"as {role}:\n" + "\n".join(wrong)


def test_a_role_that_may_post_gets_through(world):
    """One POST for each URL and role the rules allow, each in a savepoint rolled back."""
    wrong = []
    tried = 0
    for key, pattern in checked_urls(POSTS):
        for role in ROLES:
            expected = post_rule(key, role)
            if not isinstance(expected, Allowed):
                continue
            with transaction.atomic():
                answer = outcome(send(client_as(world, role), "POST", key, pattern, world.kwargs))
                transaction.set_rollback(True)
            tried += 1
            if answer != expected.code:
                wrong.append(f"{key} as {role}: expected {expected.code}, got {answer}")
    assert tried, "no rule allows a POST"
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_put_patch_and_delete_are_refused_and_change_nothing(world, role):
    client = client_as(world, role)
    before = database_snapshot()
    wrong = []
    for key, pattern in checked_urls(POSTS):
        refused_post = post_rule(key, role)
        answers = {M, ACCESS[key][role]}
        if not isinstance(refused_post, Allowed):
            answers.add(refused_post)
        for method in OTHER_METHODS:
            answer = outcome(send(client, method, key, pattern, world.kwargs))
            if answer not in answers:
                wrong.append(
                    f"{method} {key}: expected one of {sorted(map(str, answers))}, got {answer}"
                )
        # One snapshot for the three: on PostgreSQL a snapshot costs about a request.
        after = database_snapshot()
        if changed := snapshot_changes(before, after):
            wrong.append(f"{'/'.join(OTHER_METHODS)} {key}: changed {', '.join(changed)}")
            before = after
    assert not wrong, f"as {role}:\n" + "\n".join(wrong)
