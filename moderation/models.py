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
    SCREENED = "screened", _("Screened automatically")
    REPORTED = "reported", _("Reported by a student")
    HIDE = "hide", _("Hidden after reports")
    RESTORE = "restore", _("Restored after reports")
    TAKEDOWN = "takedown", _("Taken down")


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


# Automatic screening ----------------------------------------------------------------------


class ScreeningLanguage(models.TextChoices):
    ENGLISH = "en", _("English")
    CHINESE = "zh", _("Chinese")
    ANY = "any", _("Any language")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class ScreeningTerm(models.Model):
    """A word or phrase admins want a person to look at before students see it.

    English (and "any") terms match whole words, case-insensitively; Chinese terms match
    as substrings, since Chinese text has no spaces between words.
    """

    term = models.CharField(_("term"), max_length=200)
    language = models.CharField(
        _("language"), max_length=3, choices=ScreeningLanguage.choices, default="any"
    )
    severity = models.CharField(
        _("severity"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["term"]
        verbose_name = _("screening term")
        verbose_name_plural = _("screening terms")
        constraints = [
            models.UniqueConstraint(fields=["term", "language"], name="unique_screening_term")
        ]

    def __str__(self) -> str:
        return self.term


class FindingKind(models.TextChoices):
    TERM = "term", _("Listed term")
    PHONE = "phone", _("Phone number")
    EMAIL = "email", _("E-mail address")
    ID_CARD = "id_card", _("ID card number")
    IMAGE = "image", _("Image could not be checked")


class ScreeningField(models.TextChoices):
    NARRATION = "narration", _("Narration")
    TITLE = "title", _("Slide title")
    BODY = "body", _("Slide text")
    CODE = "code", _("Code")
    IMAGE_ALT = "image_alt", _("Image description")
    IMAGE = "image", _("Image")


class ScreeningFinding(models.Model):
    """Something automatic screening found in a submitted version, where it is (field and
    character offsets [start, end) in that field's text) and how serious it is."""

    version = models.ForeignKey(
        "courses.LessonVersion", on_delete=models.CASCADE, related_name="screening_findings"
    )
    scene = models.ForeignKey(
        "courses.Scene", on_delete=models.CASCADE, related_name="screening_findings"
    )
    kind = models.CharField(max_length=10, choices=FindingKind.choices)
    field = models.CharField(max_length=10, choices=ScreeningField.choices)
    excerpt = models.CharField(max_length=300)
    start = models.PositiveIntegerField(default=0)
    end = models.PositiveIntegerField(default=0)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scene__position", "field", "start", "id"]

    def __str__(self) -> str:
        return f"{self.kind} in {self.field} of scene {self.scene_id}"


# Reports and takedown ---------------------------------------------------------------------


class ReportReason(models.TextChoices):
    WRONG = "wrong", _("Something in it is wrong")
    UPSETTING = "upsetting", _("It is upsetting or unkind")
    PERSONAL = "personal", _("It shows someone's personal information")
    BROKEN = "broken", _("It does not play or cannot be heard")
    OTHER = "other", _("Something else")


class Report(models.Model):
    """A student's report on a published lesson. The reporter is shown to moderators only;
    `reporter` is emptied when the student's data is deleted."""

    lesson = models.ForeignKey("courses.Lesson", on_delete=models.CASCADE, related_name="reports")
    version = models.ForeignKey(
        "courses.LessonVersion", null=True, on_delete=models.SET_NULL, related_name="reports"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=12, choices=ReportReason.choices)
    note = models.TextField(_("what is wrong?"), blank=True, max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=12, blank=True)  # "restored" or "taken_down"

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"report on {self.lesson_id}: {self.reason}"


class HoldState(models.TextChoices):
    HIDDEN = "hidden", _("Hidden pending review")
    TAKEN_DOWN = "taken_down", _("Taken down")


class LessonHold(models.Model):
    """A lesson students may not see whatever its versions' states: hidden after reports
    (until a moderator restores it or takes it down) or taken down by a moderator.

    A takedown also refuses every personalized variant of the lesson, now and later
    (`lesson_variants_allowed`); it ends only when a moderator publishes a new version.
    """

    lesson = models.OneToOneField(
        "courses.Lesson", on_delete=models.CASCADE, related_name="moderation_hold"
    )
    state = models.CharField(max_length=12, choices=HoldState.choices)
    version = models.ForeignKey(
        "courses.LessonVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Null when the reports hid it automatically.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.state}: {self.lesson_id}"


# Audit log --------------------------------------------------------------------------------


class AuditAction(models.TextChoices):
    MODERATION = "moderation", _("Moderation action")
    PUBLISH = "publish", _("Published")
    TAKEDOWN = "takedown", _("Taken down")
    VIEW_STUDENT_DATA = "view_student_data", _("Viewed student data")
    EXPORT_STUDENT_DATA = "export_student_data", _("Exported student data")
    DELETE_STUDENT = "delete_student", _("Deleted a student")
    REPORT = "report", _("Report")
    UNLABELLED_EXPORT = "unlabelled_export", _("Unlabelled export")


class AppendOnlyError(Exception):
    """An audit entry was about to be changed or deleted."""


class AuditEntryQuerySet(models.QuerySet):
    """Bulk changes are refused like single ones (the admin's bulk delete, a stray update)."""

    def update(self, **kwargs):
        raise AppendOnlyError("audit entries are never changed")

    def delete(self):
        raise AppendOnlyError("audit entries are never deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("audit entries are never changed")


class AuditEntry(models.Model):
    """One line of the append-only audit log (written by moderation.audit.audit_record).

    Append-only three times over: the instance and its queryset refuse changes, and on
    PostgreSQL a trigger refuses UPDATE and DELETE of a row (migration 0004), except the
    one change a deletion of the acting user makes (actor set to NULL, the name kept).

    One small model rather than django-auditlog: auditlog records changes to model rows,
    but the events we must show are mostly not row changes ("a teacher viewed class 7B's
    gradebook", "staff exported a student's data"), and we want one table with who, what,
    about whom and where, that the admin can search and export as CSV.
    """

    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("who"),
    )
    # Kept as text too: the row must still say who once the user is deleted.
    actor_name = models.CharField(_("who (name)"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=24, choices=AuditAction.choices)
    detail = models.CharField(_("detail"), max_length=40, blank=True)
    target = models.CharField(_("about"), max_length=200, blank=True)
    # Students whose data was concerned (ids; names would outlive a deletion).
    subject_ids = models.JSONField(default=list, blank=True)
    path = models.CharField(_("address"), max_length=300, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target}"

    def save(self, *args, **kwargs):
        if self.pk is not None or kwargs.get("force_update"):
            raise AppendOnlyError("audit entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries are never deleted")
