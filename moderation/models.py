"""Moderation records: each submitted version's review, decisions per scene, approvals by
scene content hash, trusted teachers and an append-only trail of who did what and when.

Later parts (screening findings, reports, takedowns, provenance) attach to `Review` (one
per submitted version) and `ReviewEvent` (one row per action) rather than to courses rows.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReasonCode(models.TextChoices):
    """Why a moderator rejects a scene or a version; the teacher sees the label."""

    INACCURATE = "inaccurate", _("Inaccurate or misleading")
    UNSUITABLE = "unsuitable", _("Not suitable for students")
    PERSONAL_DATA = "personal_data", _("Shows personal data")
    COPYRIGHT = "copyright", _("Copyright or missing credit")
    QUALITY = "quality", _("Hard to see, hear or follow")
    OTHER = "other", _("Other")


class ReviewAction(models.TextChoices):
    SUBMIT = "submit", _("Submitted")
    WITHDRAW = "withdraw", _("Replaced by a newer version")
    CLAIM = "claim", _("Claimed")
    RELEASE = "release", _("Released")
    CLAIM_EXPIRED = "claim_expired", _("Claim expired")
    SCENE_APPROVE = "scene_approve", _("Scene approved")
    SCENE_REJECT = "scene_reject", _("Scene rejected")
    APPROVE = "approve", _("Approved")
    REJECT = "reject", _("Rejected")
    APPEAL = "appeal", _("Appealed")
    PUBLISH = "publish", _("Published")
    AUTO_PUBLISH = "auto_publish", _("Published (trusted teacher)")
    SUPERSEDE = "supersede", _("Superseded by a newer version")
    TRUST_GRANT = "trust_grant", _("Teacher trusted")
    TRUST_REVOKE = "trust_revoke", _("Trust revoked")


class Review(models.Model):
    """The moderation case of one submitted lesson version: who submitted, who holds it."""

    version = models.OneToOneField(
        "courses.LessonVersion", on_delete=models.CASCADE, related_name="review"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField()
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    # The moderator of the last decision (an appeal must go to someone else).
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason_code = models.CharField(max_length=20, choices=ReasonCode.choices, blank=True)
    note = models.TextField(blank=True)
    # A teacher may appeal a rejection once; a different moderator decides it.
    appealed_at = models.DateTimeField(null=True, blank=True)
    appeal_note = models.TextField(blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["submitted_at", "id"]

    def __str__(self) -> str:
        return f"review of {self.version}"


class SceneDecisionKind(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")


class SceneDecision(models.Model):
    """A moderator's decision on one scene of a reviewed version, with the hash it judged."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="scene_decisions")
    scene = models.ForeignKey(
        "courses.Scene", on_delete=models.CASCADE, related_name="moderation_decisions"
    )
    content_hash = models.CharField(max_length=64, db_index=True)
    decision = models.CharField(max_length=8, choices=SceneDecisionKind.choices)
    reason_code = models.CharField(max_length=20, choices=ReasonCode.choices, blank=True)
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["scene__position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["review", "scene"], name="one_decision_per_scene")
        ]

    def __str__(self) -> str:
        return f"{self.decision} {self.content_hash[:12]}"


class SceneApproval(models.Model):
    """Content a moderator approved: any scene with this hash needs no new review."""

    content_hash = models.CharField(max_length=64, unique=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField()
    version = models.ForeignKey(
        "courses.LessonVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-approved_at"]

    def __str__(self) -> str:
        return self.content_hash[:12]


class TrustedTeacher(models.Model):
    """A teacher whose versions are published after the automatic checks alone."""

    teacher = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="moderation_trust",
        verbose_name=_("teacher"),
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("granted by"),
    )
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("trusted teacher")
        verbose_name_plural = _("trusted teachers")

    def __str__(self) -> str:
        return str(self.teacher)


class ReviewEvent(models.Model):
    """One moderation step: who did what to which version (and scene), when and why.

    Rows are only ever added (the audit log can read or mirror them).
    """

    version = models.ForeignKey(
        "courses.LessonVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_events",
    )
    scene = models.ForeignKey(
        "courses.Scene", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    content_hash = models.CharField(max_length=64, blank=True)
    # Null for the system (an expired claim); the teacher concerned by trust changes.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20, choices=ReviewAction.choices)
    reason_code = models.CharField(max_length=20, choices=ReasonCode.choices, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} on {self.version_id}"
