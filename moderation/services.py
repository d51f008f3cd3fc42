"""The moderation workflow: submit, claim (with expiry), decide per scene, appeal, publish,
and trusted teachers. Every step adds a ReviewEvent naming who did it and when.

States of a LessonVersion: draft -> submitted -> in_review (claimed) -> approved ->
published, or -> rejected (reason per scene) -> the teacher edits, which forks a new
draft, and submits that. Approvals attach to scene content hashes (SceneApproval), so a
scene approved once needs no review again in any later version.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Lesson, LessonVersion, VersionStatus
from courses.playlists import published_segments_sync
from courses.selectors import latest_successful_render
from moderation.audit import audit_record
from moderation.hashing import version_scene_hashes_store
from moderation.models import (
    AuditAction,
    HoldState,
    LessonHold,
    ReasonCode,
    Review,
    ReviewAction,
    ReviewEvent,
    SceneApproval,
    SceneDecision,
    SceneDecisionKind,
    TrustedTeacher,
)
from moderation.publishing import published_file_problems
from moderation.screening import version_screen
from moderation.signals import version_published

PENDING_STATUSES = (VersionStatus.SUBMITTED, VersionStatus.IN_REVIEW)


def claim_duration() -> timedelta:
    """How long a moderator holds a claimed version before it returns to the queue."""
    return timedelta(minutes=settings.LECTERN_REVIEW_CLAIM_MINUTES)


@dataclass(frozen=True)
class SceneVerdict:
    """A moderator's decision on one scene: approve, or reject with a reason code and note."""

    decision: str
    reason_code: str = ""
    note: str = ""


_AUDIT_ACTIONS = {
    ReviewAction.PUBLISH: AuditAction.PUBLISH,
    ReviewAction.AUTO_PUBLISH: AuditAction.PUBLISH,
    ReviewAction.TAKEDOWN: AuditAction.TAKEDOWN,
}


def _event(*, action: str, actor, version=None, **fields) -> ReviewEvent:
    """Record a moderation step on the version's trail and in the audit log."""
    event = ReviewEvent.objects.create(action=action, actor=actor, version=version, **fields)
    target = str(version) if version is not None else ""
    if fields.get("subject") is not None:
        target = target or f"user #{fields['subject'].pk}"
    audit_record(
        actor=actor,
        action=_AUDIT_ACTIONS.get(action, AuditAction.MODERATION),
        detail=action,
        target=target,
        note=" ".join(
            part for part in (fields.get("reason_code", ""), fields.get("note", "")) if part
        ),
    )
    return event


def _locked_review(version: LessonVersion) -> Review:
    version.refresh_from_db(fields=["status", "status_reason", "published_at"])
    review = Review.objects.select_for_update().filter(version=version).first()
    if review is None and version.status in PENDING_STATUSES:
        # Submitted before moderation recorded submissions: its author submitted it.
        version_scene_hashes_store(version)
        review = Review.objects.create(
            version=version, submitted_by=version.created_by, submitted_at=version.created_at
        )
        review = Review.objects.select_for_update().get(pk=review.pk)
    if review is None:
        raise ValidationError(_("This version was never submitted for review."))
    return review


def _set_status(version: LessonVersion, status: str, reason: str = "") -> None:
    was_published = version.status == VersionStatus.PUBLISHED
    version.status, version.status_reason = status, reason
    version.save(update_fields=["status", "status_reason"])
    if was_published:  # superseded or taken down: its segments may leave the cache
        transaction.on_commit(lambda: published_segments_sync(version=version))


# Automatic checks and trust ---------------------------------------------------------------


def automatic_check_problems(version: LessonVersion) -> list[str]:
    """What stops a version from being published without a person; empty when nothing.

    For now: a finished render must exist. Screening (term lists, personal data, images)
    adds its findings here.
    """
    if latest_successful_render(version) is None:
        return [_("The version has no finished render.")]
    return []


def teacher_is_trusted(teacher) -> bool:
    return TrustedTeacher.objects.filter(teacher=teacher).exists()


def teacher_trust_grant(*, teacher, admin, note: str = "") -> TrustedTeacher:
    """Staff: publish this teacher's versions after the automatic checks alone."""
    if not teacher.is_teacher:
        raise ValidationError(_("Only teachers can be trusted to publish."))
    with transaction.atomic():
        trust, created = TrustedTeacher.objects.get_or_create(
            teacher=teacher, defaults={"granted_by": admin, "note": note}
        )
        if created:
            _event(action=ReviewAction.TRUST_GRANT, actor=admin, subject=teacher, note=note)
    return trust


def teacher_trust_revoke(*, teacher, admin) -> bool:
    """Staff: this teacher's versions go through review again. False when not trusted."""
    with transaction.atomic():
        deleted, _rows = TrustedTeacher.objects.filter(teacher=teacher).delete()
        if deleted:
            _event(action=ReviewAction.TRUST_REVOKE, actor=admin, subject=teacher)
    return bool(deleted)


# Submission -------------------------------------------------------------------------------


def review_open(*, version: LessonVersion, user) -> Review:
    """Called by courses.services.lesson_version_submit once the version is submitted.

    Stores the scene hashes, records the submitter, screens the version automatically
    (terms, personal data, images), withdraws older versions of the lesson still waiting
    (the newest submission is the one to review) and, for a trusted teacher whose version
    passes the automatic checks with no screening finding, publishes at once.
    """
    now = timezone.now()
    version_scene_hashes_store(version)
    findings = version_screen(version)
    review, _created = Review.objects.update_or_create(
        version=version,
        defaults={
            "submitted_by": user,
            "submitted_at": now,
            "claimed_by": None,
            "claim_expires_at": None,
        },
    )
    _event(action=ReviewAction.SUBMIT, actor=user, version=version)
    if findings:
        # On the trail only when screening found something: the review page shows what.
        _event(action=ReviewAction.SCREENED, actor=None, version=version)
    older = LessonVersion.objects.filter(
        lesson=version.lesson, status__in=PENDING_STATUSES, number__lt=version.number
    )
    for stale in older:
        _set_status(stale, VersionStatus.DRAFT)
        Review.objects.filter(version=stale).update(claimed_by=None, claim_expires_at=None)
        _event(action=ReviewAction.WITHDRAW, actor=user, version=stale)
    if teacher_is_trusted(user) and not findings and not automatic_check_problems(version):
        # Files that fail the publish checks wait for a moderator, whose approval says why.
        with contextlib.suppress(ValidationError):
            lesson_version_publish(version=version, actor=user, action=ReviewAction.AUTO_PUBLISH)
    return review


# Claims -----------------------------------------------------------------------------------


def review_claims_expire(*, now: datetime | None = None) -> int:
    """Return every version whose claim has expired to the queue; returns how many."""
    now = now or timezone.now()
    expired = Review.objects.filter(
        version__status=VersionStatus.IN_REVIEW, claim_expires_at__lt=now
    ).select_related("version")
    count = 0
    for review in expired:
        with transaction.atomic():
            review = _locked_review(review.version)
            version = review.version
            if version.status != VersionStatus.IN_REVIEW or review.claim_expires_at >= now:
                continue
            holder = review.claimed_by
            review.claimed_by, review.claim_expires_at = None, None
            review.save(update_fields=["claimed_by", "claim_expires_at"])
            _set_status(version, VersionStatus.SUBMITTED)
            _event(action=ReviewAction.CLAIM_EXPIRED, actor=None, version=version, subject=holder)
            count += 1
    return count


def _claim_is_live(review: Review, now: datetime) -> bool:
    return bool(review.claimed_by_id and review.claim_expires_at and review.claim_expires_at >= now)


def review_claim(*, version: LessonVersion, moderator) -> Review:
    """Take a waiting version (or one whose claim expired) for review."""
    now = timezone.now()
    with transaction.atomic():
        review = _locked_review(version)
        if version.status not in PENDING_STATUSES:
            raise ValidationError(_("This version is not waiting for review."))
        if _claim_is_live(review, now) and review.claimed_by_id != moderator.pk:
            raise ValidationError(
                _("%(name)s is reviewing this version.") % {"name": review.claimed_by}
            )
        if review.appealed_at and review.rejected_by_id == moderator.pk:
            raise ValidationError(
                _("You rejected this version; a different moderator decides the appeal.")
            )
        review.claimed_by, review.claim_expires_at = moderator, now + claim_duration()
        review.save(update_fields=["claimed_by", "claim_expires_at"])
        _set_status(version, VersionStatus.IN_REVIEW)
        _event(action=ReviewAction.CLAIM, actor=moderator, version=version)
    return review


def review_release(*, version: LessonVersion, moderator) -> Review:
    """Give a claimed version back to the queue without deciding."""
    with transaction.atomic():
        review = _locked_review(version)
        if version.status != VersionStatus.IN_REVIEW or review.claimed_by_id != moderator.pk:
            raise ValidationError(_("You are not reviewing this version."))
        review.claimed_by, review.claim_expires_at = None, None
        review.save(update_fields=["claimed_by", "claim_expires_at"])
        _set_status(version, VersionStatus.SUBMITTED)
        _event(action=ReviewAction.RELEASE, actor=moderator, version=version)
    return review


# Decisions --------------------------------------------------------------------------------


def _reason_label(code: str) -> str:
    return str(ReasonCode(code).label) if code in ReasonCode.values else ""


def review_decide(
    *,
    version: LessonVersion,
    moderator,
    verdicts: Mapping[int, SceneVerdict],
    reject_version: SceneVerdict | None = None,
) -> LessonVersion:
    """Decide a claimed version, scene by scene; returns it approved-and-published or rejected.

    `verdicts` maps scene ids to decisions for the scenes that need review (those whose
    hash nobody approved yet); a scene left out is approved. Approved hashes are kept
    for every later version. A rejected scene, or `reject_version` (a reason for the whole
    version), rejects the version; otherwise it is published.
    """
    now = timezone.now()
    with transaction.atomic():
        review = _locked_review(version)
        if version.status != VersionStatus.IN_REVIEW or review.claimed_by_id != moderator.pk:
            raise ValidationError(_("Claim this version before deciding on it."))
        if not _claim_is_live(review, now):
            raise ValidationError(_("Your claim expired; claim the version again."))
        if reject_version is not None and reject_version.reason_code not in ReasonCode.values:
            raise ValidationError(_("Choose a reason for rejecting the version."))
        approved = set(
            SceneApproval.objects.filter(
                content_hash__in=version.scenes.values("content_hash")
            ).values_list("content_hash", flat=True)
        )
        rejected_lines: list[str] = []
        for number, scene in enumerate(version.scenes.order_by("position", "id"), start=1):
            if scene.content_hash in approved:
                continue
            verdict = verdicts.get(scene.pk, SceneVerdict(SceneDecisionKind.APPROVE))
            if verdict.decision == SceneDecisionKind.REJECT:
                if verdict.reason_code not in ReasonCode.values:
                    raise ValidationError(
                        _("Scene %(number)s: choose a reason for rejecting it.")
                        % {"number": number}
                    )
                rejected_lines.append(
                    _("Scene %(number)s: %(reason)s")
                    % {"number": number, "reason": _reason_label(verdict.reason_code)}
                    + (f" ({verdict.note.strip()})" if verdict.note.strip() else "")
                )
            elif verdict.decision != SceneDecisionKind.APPROVE:
                raise ValidationError(_("Unknown decision."))
            SceneDecision.objects.update_or_create(
                review=review,
                scene=scene,
                defaults={
                    "content_hash": scene.content_hash,
                    "decision": verdict.decision,
                    "reason_code": verdict.reason_code
                    if verdict.decision == SceneDecisionKind.REJECT
                    else "",
                    "note": verdict.note.strip(),
                    "decided_by": moderator,
                    "decided_at": now,
                },
            )
            if verdict.decision == SceneDecisionKind.APPROVE:
                SceneApproval.objects.get_or_create(
                    content_hash=scene.content_hash,
                    defaults={"approved_by": moderator, "approved_at": now, "version": version},
                )
                action = ReviewAction.SCENE_APPROVE
            else:
                action = ReviewAction.SCENE_REJECT
            _event(
                action=action,
                actor=moderator,
                version=version,
                scene=scene,
                content_hash=scene.content_hash,
                reason_code=verdict.reason_code if action == ReviewAction.SCENE_REJECT else "",
                note=verdict.note.strip(),
            )
        review.claimed_by, review.claim_expires_at = None, None
        review.decided_by, review.decided_at = moderator, now
        if reject_version is not None or rejected_lines:
            whole = reject_version or SceneVerdict(SceneDecisionKind.REJECT)
            review.reason_code, review.note = whole.reason_code, whole.note.strip()
            review.rejected_by = moderator
            review.save()
            lines = []
            if reject_version is not None:
                lines.append(
                    _reason_label(whole.reason_code)
                    + (f" ({whole.note.strip()})" if whole.note.strip() else "")
                )
            _set_status(version, VersionStatus.REJECTED, "; ".join(lines + rejected_lines))
            _event(
                action=ReviewAction.REJECT,
                actor=moderator,
                version=version,
                reason_code=whole.reason_code,
                note=whole.note.strip(),
            )
            return version
        review.reason_code, review.note = "", ""
        review.save()
        _set_status(version, VersionStatus.APPROVED)
        _event(action=ReviewAction.APPROVE, actor=moderator, version=version)
        return lesson_version_publish(version=version, actor=moderator)


def review_appeal(*, version: LessonVersion, teacher, note: str) -> Review:
    """The teacher asks once for a rejection to be looked at again, by another moderator."""
    with transaction.atomic():
        review = _locked_review(version)
        if version.status != VersionStatus.REJECTED:
            raise ValidationError(_("Only a rejected version can be appealed."))
        if review.appealed_at is not None:
            raise ValidationError(_("This version was already appealed once."))
        if not note.strip():
            raise ValidationError(_("Say why the decision should change."))
        review.appealed_at, review.appeal_note = timezone.now(), note.strip()
        review.claimed_by, review.claim_expires_at = None, None
        review.save()
        _set_status(version, VersionStatus.SUBMITTED)
        _event(action=ReviewAction.APPEAL, actor=teacher, version=version, note=note.strip())
    return review


# Publishing -------------------------------------------------------------------------------


def lesson_version_publish(
    *, version: LessonVersion, actor, action: str = ReviewAction.PUBLISH
) -> LessonVersion:
    """Make this the one version students see; the lesson's previous one is superseded.

    Refused when the automatic checks find a problem, or (except for a trusted teacher's
    automatic publish) when a scene's content was not approved.
    """
    problems = automatic_check_problems(version)
    if problems:
        raise ValidationError(problems)
    if action != ReviewAction.AUTO_PUBLISH:
        hashes = list(version.scenes.values_list("content_hash", flat=True))
        approved = SceneApproval.objects.filter(content_hash__in=hashes).count()
        if "" in hashes or approved != len(set(hashes)):
            raise ValidationError(_("Every scene must be approved before publishing."))
    # Labels checked and the video signed last, once nothing else can refuse it.
    file_problems = published_file_problems(latest_successful_render(version))
    if file_problems:
        raise ValidationError(file_problems)
    with transaction.atomic():
        # Lock the lesson, so two publishes at once cannot both supersede the same version.
        Lesson.objects.select_for_update().filter(pk=version.lesson_id).first()
        for previous in LessonVersion.objects.filter(
            lesson=version.lesson_id, status=VersionStatus.PUBLISHED
        ).exclude(pk=version.pk):
            _set_status(previous, VersionStatus.APPROVED)
            _event(action=ReviewAction.SUPERSEDE, actor=actor, version=previous)
        version.status, version.status_reason = VersionStatus.PUBLISHED, ""
        version.published_at = timezone.now()
        version.save(update_fields=["status", "status_reason", "published_at"])
        # What students watch stays in the segment cache (pinned) while it is published.
        transaction.on_commit(lambda: published_segments_sync(version=version))
        transaction.on_commit(lambda: version_published.send(sender=LessonVersion, version=version))
        _event(action=action, actor=actor, version=version)
        if action == ReviewAction.AUTO_PUBLISH:
            # A trusted teacher's screened scenes count as approved, by them, so their
            # students' variants (learning.variants.check_approved) are not refused.
            for content_hash in set(version.scenes.values_list("content_hash", flat=True)):
                SceneApproval.objects.get_or_create(
                    content_hash=content_hash,
                    defaults={
                        "approved_by": actor,
                        "approved_at": version.published_at,
                        "version": version,
                    },
                )
        else:
            # A moderator approved new content: a takedown of the lesson ends here.
            LessonHold.objects.filter(lesson=version.lesson_id, state=HoldState.TAKEN_DOWN).delete()
    return version
