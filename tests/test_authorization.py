"""Authorization built from the URL configuration: every URL pattern of the project needs a
rule in ACCESS (what a GET answers for each role), so a new URL without one fails here.
tests/test_authorization_posts.py does the same for POST and the other methods, and
tests/test_authorization_websockets.py for the WebSocket routes.

Roles: anonymous, a student of the class that has the course, a student of another class,
the owning teacher, another teacher, a moderator, staff. Expected answers: 200 (or another
2xx/3xx the page gives on purpose, written as the code), "login" (a redirect to sign in),
403 (the role is wrong for a page that is not about one object), 404 (an object the user may
not know exists), 405 (the URL takes POST only). Object ids come from the world
(tests/authorization.py): one published lesson of alice's course, which sam's class has and
olga's class does not. The admin site's patterns share one rule (namespace "admin"), checked
on its index.
"""

from __future__ import annotations

import os

import pytest

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
    outcome,
    patterns_without_rule,
    rule,
    rules_without_pattern,
    url_of,
)

# The studio: teachers only (403 for students and moderators), 404 for another teacher.
STUDIO_GET = rule(L, F, F, A, N, F, A)
# POST only: a GET is refused (405) before any object is read, so it reveals nothing;
# tests/test_authorization_posts.py checks the POSTs.
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
    "learning:variant_precheck": rule(L, M, M, M, M, M, M),  # POST only
    "learning:variant_playlist": rule(L, N, N, N, N, N, N),
    "learning:variant_captions": rule(L, N, N, N, N, N, N),
    "learning:variant_segment": rule(L, N, N, N, N, N, N),
    "learning:variant_video": rule(L, N, N, N, N, N, N),
    "learning:variant_provenance": rule(L, N, N, N, N, N, N),
    # The class's teacher previews sam's variant.
    "learning:teacher_variant_page": rule(L, N, N, A, N, N, A),
    "learning:teacher_variant_status": rule(L, N, N, A, N, N, A),
    "learning:teacher_variant_playlist": rule(L, N, N, N, N, N, N),
    "learning:teacher_variant_captions": rule(L, N, N, N, N, N, N),
    "learning:teacher_variant_segment": rule(L, N, N, N, N, N, N),
    "learning:teacher_variant_video": rule(L, N, N, N, N, N, N),
    "learning:teacher_variant_provenance": rule(L, N, N, N, N, N, N),
}


def test_every_url_has_an_access_rule():
    missing = patterns_without_rule(ACCESS)
    assert not missing, "URLs without a rule in tests/test_authorization.py ACCESS:\n" + "\n".join(
        missing
    )


def test_no_rule_is_left_for_a_url_that_is_gone():
    assert rules_without_pattern(ACCESS) == set()


@pytest.fixture
def world(db, settings, tmp_path) -> World:
    return build_world(settings, tmp_path)


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_as_its_rule_says(client, world, role):
    users, kwargs = world
    if role != "anonymous":
        client.force_login(users[role])
    wrong = []
    observed = {}
    for key, pattern in checked_urls(ACCESS):
        response = client.get(url_of(key, pattern, kwargs))
        observed[key] = outcome(response)
        if observed[key] != ACCESS[key][role]:
            wrong.append(f"{key}: expected {ACCESS[key][role]}, got {observed[key]}")
    if os.environ.get("LECTERN_PRINT_ACCESS"):
        print(role, observed)
    assert not wrong, f"as {role}:\n" + "\n".join(wrong)
