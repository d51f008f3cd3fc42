"""Staff trust and untrust teachers in the admin; each change is in the moderation trail."""

from __future__ import annotations

import pytest
from django.urls import reverse

from courses.models import LessonVersion, VersionStatus
from moderation import services
from moderation.models import Review, ReviewEvent, TrustedTeacher
from tests.conftest import make_user


@pytest.fixture
def staff(db):
    return make_user("root", "teacher", is_staff=True, is_superuser=True)


def test_staff_trust_a_teacher_in_the_admin_and_revoke_it(client, staff, alice):
    client.force_login(staff)
    response = client.post(
        reverse("admin:moderation_trustedteacher_add"), {"teacher": alice.pk, "note": "Head"}
    )
    assert response.status_code == 302
    trust = TrustedTeacher.objects.get(teacher=alice)
    assert trust.granted_by == staff

    response = client.post(
        reverse("admin:moderation_trustedteacher_changelist"),
        {"action": "revoke_trust", "_selected_action": [trust.pk]},
    )
    assert response.status_code == 302
    assert not TrustedTeacher.objects.exists()
    events = ReviewEvent.objects.filter(subject=alice).values_list("action", "actor")
    assert list(events) == [("trust_grant", staff.pk), ("trust_revoke", staff.pk)]


def test_a_trusted_teachers_submit_says_published(client, version, alice, staff):
    services.teacher_trust_grant(teacher=alice, admin=staff)
    client.force_login(alice)
    response = client.post(reverse("courses:version_submit", args=[version.pk]), follow=True)
    assert "Published: your students can watch it now." in response.content.decode()
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED


def test_a_version_submitted_before_moderation_existed_can_be_claimed(version, alice, mo):
    LessonVersion.objects.filter(pk=version.pk).update(status=VersionStatus.SUBMITTED)
    services.review_claim(version=version, moderator=mo)
    review = Review.objects.get(version=version)
    assert review.submitted_by == alice and review.claimed_by == mo
    assert all(version.scenes.values_list("content_hash", flat=True))
