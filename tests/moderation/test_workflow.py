"""The moderation state machine: submit, claim, decide per scene, appeal, trust, publish."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from courses import services as courses_services
from courses.models import LessonVersion, Scene, VersionStatus
from moderation import selectors, services
from moderation.hashing import version_scene_hashes
from moderation.models import (
    ReasonCode,
    Review,
    ReviewAction,
    ReviewEvent,
    SceneApproval,
    SceneDecision,
)
from moderation.services import SceneVerdict
from tests.moderation.conftest import render_and_submit

REJECT = SceneVerdict("reject", ReasonCode.INACCURATE, "Git keeps snapshots, not diffs.")


def scene_at(version, position) -> Scene:
    return version.scenes.get(position=position)


def actions(version) -> list[str]:
    return list(
        ReviewEvent.objects.filter(version=version).order_by("id").values_list("action", flat=True)
    )


def edit_narration(scene: Scene, user, narration: str) -> Scene:
    return courses_services.scene_update(
        scene=scene, user=user, kind=scene.kind, title=scene.title, body=scene.body,
        code=scene.code, code_language=scene.code_language, math=scene.math, image=None,
        clear_image=False, image_alt=scene.image_alt, narration=narration,
        language=scene.language, role=scene.role, concept_names=[],
    )  # fmt: skip


def test_submit_records_the_submitter_and_stores_every_scene_hash(version, alice):
    version = render_and_submit(version, alice)

    review = Review.objects.get(version=version)
    assert review.submitted_by == alice and review.submitted_at is not None
    event = ReviewEvent.objects.get(version=version)
    assert (event.action, event.actor) == (ReviewAction.SUBMIT, alice)
    stored = dict(version.scenes.values_list("pk", "content_hash"))
    assert stored == version_scene_hashes(version)
    assert len(set(stored.values())) == 3 and all(len(h) == 64 for h in stored.values())


def test_submit_claim_approve_publishes(version, alice, mo):
    version = render_and_submit(version, alice)
    services.review_claim(version=version, moderator=mo)
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW

    version = services.review_decide(version=version, moderator=mo, verdicts={})

    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED and version.published_at is not None
    assert SceneApproval.objects.count() == 3
    assert actions(version) == [
        "submit", "claim", "scene_approve", "scene_approve", "scene_approve", "approve", "publish",
    ]  # fmt: skip
    assert ReviewEvent.objects.filter(action="claim", actor=mo).exists()


def test_rejected_scene_is_shown_to_the_teacher_and_only_the_fixed_scene_is_reviewed_again(
    version, alice, mo
):
    v1 = render_and_submit(version, alice)
    services.review_claim(version=v1, moderator=mo)
    bad = scene_at(v1, 1)
    v1 = services.review_decide(version=v1, moderator=mo, verdicts={bad.pk: REJECT})

    v1.refresh_from_db()
    assert v1.status == VersionStatus.REJECTED
    assert "Scene 2: Inaccurate or misleading" in v1.status_reason
    notice = selectors.scene_rejection_notices(v1)[bad.pk]
    assert (notice.reason, notice.note) == ("Inaccurate or misleading", REJECT.note)
    # The two other scenes were approved, and stay approved for every later version.
    assert SceneApproval.objects.count() == 2

    # Editing the rejected version forks a draft; until the scene changes, the notice follows.
    untouched = edit_narration(scene_at(v1, 2), alice, "A commit records a snapshot.")
    v2 = untouched.version
    assert v2.pk != v1.pk and v2.status == VersionStatus.DRAFT and v2.based_on_id == v1.pk
    copy = scene_at(v2, 1)
    assert selectors.scene_rejection_notices(v2) == {copy.pk: notice}
    fixed = edit_narration(copy, alice, "Version control keeps snapshots of a project.")
    assert fixed.version_id == v2.pk
    assert selectors.scene_rejection_notices(v2) == {}

    v2 = render_and_submit(v2, alice)
    rows = selectors.review_scene_rows(v2)
    assert [row.needs_review for row in rows] == [False, True, False]
    queued = selectors.review_queue().get(pk=v2.pk)
    assert (queued.scenes_to_review, queued.scene_count) == (1, 3)

    services.review_claim(version=v2, moderator=mo)
    services.review_decide(version=v2, moderator=mo, verdicts={})
    v2.refresh_from_db()
    assert v2.status == VersionStatus.PUBLISHED
    assert SceneDecision.objects.filter(review__version=v2).count() == 1  # only the fixed one


def test_rejecting_a_scene_needs_a_reason(version, alice, mo):
    version = render_and_submit(version, alice)
    services.review_claim(version=version, moderator=mo)
    with pytest.raises(ValidationError, match="Scene 2: choose a reason"):
        services.review_decide(
            version=version,
            moderator=mo,
            verdicts={scene_at(version, 1).pk: SceneVerdict("reject")},
        )
    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW
    assert not SceneApproval.objects.exists()


def test_rejecting_the_whole_version(version, alice, mo):
    version = render_and_submit(version, alice)
    services.review_claim(version=version, moderator=mo)
    services.review_decide(
        version=version,
        moderator=mo,
        verdicts={},
        reject_version=SceneVerdict("reject", ReasonCode.COPYRIGHT, "Credit the diagrams."),
    )
    version.refresh_from_db()
    assert version.status == VersionStatus.REJECTED
    assert version.status_reason == "Copyright or missing credit (Credit the diagrams.)"


def test_an_expired_claim_returns_to_the_queue(version, alice, mo, mia, settings):
    version = render_and_submit(version, alice)
    services.review_claim(version=version, moderator=mo)
    with pytest.raises(ValidationError, match="mo is reviewing"):
        services.review_claim(version=version, moderator=mia)

    Review.objects.filter(version=version).update(
        claim_expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ValidationError, match="claim expired"):
        services.review_decide(version=version, moderator=mo, verdicts={})
    assert services.review_claims_expire() == 1

    version.refresh_from_db()
    assert version.status == VersionStatus.SUBMITTED
    assert Review.objects.get(version=version).claimed_by is None
    assert actions(version)[-1] == ReviewAction.CLAIM_EXPIRED
    services.review_claim(version=version, moderator=mia)  # anyone may take it now


def test_the_claim_lasts_the_configured_time(version, alice, mo, settings):
    settings.LECTERN_REVIEW_CLAIM_MINUTES = 5
    version = render_and_submit(version, alice)
    review = services.review_claim(version=version, moderator=mo)
    left = review.claim_expires_at - timezone.now()
    assert timedelta(minutes=4) < left <= timedelta(minutes=5)


def test_an_appeal_is_decided_by_another_moderator_and_only_once(version, alice, mo, mia):
    version = render_and_submit(version, alice)
    services.review_claim(version=version, moderator=mo)
    bad = scene_at(version, 1)
    services.review_decide(version=version, moderator=mo, verdicts={bad.pk: REJECT})

    services.review_appeal(version=version, teacher=alice, note="The slide is right.")
    version.refresh_from_db()
    assert version.status == VersionStatus.SUBMITTED
    with pytest.raises(ValidationError, match="different moderator"):
        services.review_claim(version=version, moderator=mo)
    services.review_claim(version=version, moderator=mia)
    services.review_decide(version=version, moderator=mia, verdicts={bad.pk: REJECT})
    version.refresh_from_db()
    assert version.status == VersionStatus.REJECTED
    with pytest.raises(ValidationError, match="already appealed"):
        services.review_appeal(version=version, teacher=alice, note="Please.")
    assert actions(version).count(ReviewAction.APPEAL) == 1


def test_an_upheld_appeal_publishes(version, alice, mo, mia):
    version = render_and_submit(version, alice)
    services.review_claim(version=version, moderator=mo)
    bad = scene_at(version, 1)
    services.review_decide(version=version, moderator=mo, verdicts={bad.pk: REJECT})
    services.review_appeal(version=version, teacher=alice, note="Snapshots are right.")
    services.review_claim(version=version, moderator=mia)
    services.review_decide(version=version, moderator=mia, verdicts={})
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED
    assert SceneDecision.objects.get(scene=bad).decision == "approve"
    assert selectors.scene_rejection_notices(version) == {}


def test_a_trusted_teacher_publishes_after_the_automatic_checks(version, alice, mo, db):
    from tests.conftest import make_user

    admin = make_user("root", "teacher", is_staff=True)
    services.teacher_trust_grant(teacher=alice, admin=admin)

    version = render_and_submit(version, alice)
    assert version.status == VersionStatus.PUBLISHED
    assert actions(version) == ["submit", "auto_publish"]

    assert services.teacher_trust_revoke(teacher=alice, admin=admin) is True
    v2 = edit_narration(scene_at(version, 2), alice, "A commit is a snapshot.").version
    v2 = render_and_submit(v2, alice)
    assert v2.status == VersionStatus.SUBMITTED
    assert list(ReviewEvent.objects.filter(subject=alice).values_list("action", flat=True)) == [
        "trust_grant",
        "trust_revoke",
    ]


def test_only_teachers_can_be_trusted(mo, alice):
    with pytest.raises(ValidationError):
        services.teacher_trust_grant(teacher=mo, admin=alice)


def test_publishing_a_new_version_supersedes_the_old_one(version, alice, mo):
    v1 = render_and_submit(version, alice)
    services.review_claim(version=v1, moderator=mo)
    services.review_decide(version=v1, moderator=mo, verdicts={})
    v2 = edit_narration(scene_at(v1, 2), alice, "A commit is a snapshot.").version
    v2 = render_and_submit(v2, alice)
    services.review_claim(version=v2, moderator=mo)
    services.review_decide(version=v2, moderator=mo, verdicts={})

    statuses = dict(LessonVersion.objects.values_list("number", "status"))
    assert statuses == {1: VersionStatus.APPROVED, 2: VersionStatus.PUBLISHED}
    assert selectors.published_version(v1.lesson) == v2
    assert actions(v1)[-1] == ReviewAction.SUPERSEDE


def test_publishing_needs_every_scene_approved(version, alice, mo):
    version = render_and_submit(version, alice)
    with pytest.raises(ValidationError, match="Every scene"):
        services.lesson_version_publish(version=version, actor=mo)


def test_a_newer_submission_withdraws_the_older_one_from_the_queue(version, alice):
    v1 = render_and_submit(version, alice)
    v2 = edit_narration(scene_at(v1, 2), alice, "A commit is a snapshot.").version
    render_and_submit(v2, alice)
    assert list(selectors.review_queue().values_list("number", flat=True)) == [2]
    v1.refresh_from_db()
    assert v1.status == VersionStatus.DRAFT and actions(v1)[-1] == ReviewAction.WITHDRAW


def test_the_hash_moves_with_the_voice_and_the_question(version, alice):
    before = version_scene_hashes(version)
    version.voice_rate = 1.2
    version.save()
    after_voice = version_scene_hashes(version)
    assert all(before[pk] != after_voice[pk] for pk in before)
    scene = scene_at(version, 2)
    from courses.models import Checkpoint, Choice

    checkpoint = Checkpoint.objects.create(scene=scene, prompt="What is a commit?")
    Choice.objects.create(checkpoint=checkpoint, text="A snapshot", is_correct=True)
    after_question = version_scene_hashes(version)
    assert after_question[scene.pk] != after_voice[scene.pk]
    assert after_question[scene_at(version, 1).pk] == after_voice[scene_at(version, 1).pk]
