"""Students' learning records: one append-only event table, and progress derived from it.

`LearningEvent` rows are never changed or deleted by Lectern; `LessonProgress` and
`CheckpointAnswer` are derived from them by `learning.services.learning_events_record` in
the same transaction, so the gradebook can always be rebuilt from the events.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from moderation.models import AppendOnlyError


class LessonSettings(models.Model):
    """What the teacher chose for students watching a lesson."""

    lesson = models.OneToOneField(
        "courses.Lesson", on_delete=models.CASCADE, related_name="learning_settings"
    )
    # Edpuzzle's "prevent skipping": no seeking past a question not answered yet.
    prevent_skipping = models.BooleanField(_("prevent skipping"), default=False)

    def __str__(self) -> str:
        return f"settings of {self.lesson}"


class EventKind(models.TextChoices):
    WATCHED = "watched", _("Watched")
    ANSWERED = "answered", _("Answered")
    COMPLETED = "completed", _("Completed")


class LearningEvent(models.Model):
    """One thing a student did (or reached) in a lesson: append-only."""

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learning_events"
    )
    lesson = models.ForeignKey(
        "courses.Lesson", on_delete=models.CASCADE, related_name="learning_events"
    )
    version = models.ForeignKey(
        "courses.LessonVersion", on_delete=models.CASCADE, related_name="learning_events"
    )
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    # watched: {"start_s", "end_s", "position_s"}; answered: {"checkpoint", "choice",
    # "attempt", "correct"}; completed: {"watched_fraction", "score"}.
    payload = models.JSONField(default=dict)
    # Chosen by the player (a UUID), so a batch sent twice after a network gap counts once.
    client_event_id = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "client_event_id"], name="unique_client_event_per_student"
            )
        ]
        indexes = [models.Index(fields=["lesson", "student"])]

    def __str__(self) -> str:
        return f"{self.student} {self.kind} {self.lesson}"

    def save(self, *args, **kwargs):
        # Appended, never changed: progress is derived from events, so one must not move.
        # (Deleting a student's data removes their events with a query, not through here.)
        if not self._state.adding or kwargs.get("force_update"):
            raise AppendOnlyError("learning events are never changed")
        super().save(*args, **kwargs)


class LessonProgress(models.Model):
    """A student's progress in a lesson, derived from their events."""

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress"
    )
    lesson = models.ForeignKey(
        "courses.Lesson", on_delete=models.CASCADE, related_name="learning_progress"
    )
    # The version the intervals belong to; a newly published version starts them again.
    version = models.ForeignKey("courses.LessonVersion", on_delete=models.CASCADE, related_name="+")
    duration_s = models.FloatField(default=0)
    # Merged, sorted [start_s, end_s] pairs of what was really played.
    watched_intervals = models.JSONField(default=list)
    watched_fraction = models.FloatField(default=0)
    position_s = models.FloatField(default=0)  # where to resume
    attempt = models.PositiveIntegerField(default=1)
    # Right answers of the current attempt over the version's questions; None: no question.
    score = models.FloatField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "lesson"], name="unique_progress")
        ]

    def __str__(self) -> str:
        return f"{self.student} in {self.lesson}"

    @property
    def completed(self) -> bool:
        return self.completed_at is not None

    @property
    def watched_percent(self) -> int:
        return int(self.watched_fraction * 100)

    @property
    def score_percent(self) -> int | None:
        return None if self.score is None else round(self.score * 100)


class CheckpointAnswer(models.Model):
    """A student's answer to a question in one attempt (the first one counts)."""

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="checkpoint_answers"
    )
    lesson = models.ForeignKey("courses.Lesson", on_delete=models.CASCADE, related_name="+")
    checkpoint = models.ForeignKey(
        "courses.Checkpoint", on_delete=models.CASCADE, related_name="answers"
    )
    choice = models.ForeignKey("courses.Choice", on_delete=models.CASCADE, related_name="+")
    attempt = models.PositiveIntegerField()
    is_correct = models.BooleanField()
    event = models.OneToOneField(LearningEvent, on_delete=models.CASCADE, related_name="+")
    answered_at = models.DateTimeField()

    class Meta:
        ordering = ["answered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "checkpoint", "attempt"], name="one_answer_per_attempt"
            )
        ]

    def __str__(self) -> str:
        return f"{self.student} answered {self.checkpoint_id} (attempt {self.attempt})"


class CourseLearnerModel(models.Model):
    """A course's learner-model choice and scores, and the thresholds its teacher set."""

    course = models.OneToOneField(
        "courses.Course", on_delete=models.CASCADE, related_name="learner_model"
    )
    # A concept counts as mastered when the lower credible bound of P(known) reaches this
    # (0.98 at 95%: 2.3% false stops on 600 simulated students of 4 concepts in
    # bench/knowledge_tracing.py; 0.98 at 90% gave 5%, 0.95 more).
    mastery_threshold = models.FloatField(_("mastery threshold"), default=0.98)
    credible_level = models.FloatField(_("credible level"), default=0.95)
    remedial_threshold = models.FloatField(_("remedial below"), default=0.6)
    enrichment_threshold = models.FloatField(_("enrichment from"), default=0.85)
    # "bkt", "bkt_transfer" or "dkt": the model with the best held-out AUC at the last fit.
    chosen = models.CharField(max_length=20, default="bkt")
    scores = models.JSONField(default=dict, blank=True)  # {"bkt_auc": ..., ...}
    # The chosen model refitted on every answer, when it is not plain BKT (whose parameters
    # are ConceptParams): BKT with transfer's parameters per concept and group as JSON, DKT's
    # weights as bytes (learning.mastery.student_policy_models reads them).
    model_state = models.JSONField(default=dict, blank=True)
    model_weights = models.BinaryField(default=b"", blank=True)
    answers = models.PositiveIntegerField(default=0)
    fitted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"learner model of {self.course}"


class ConceptParams(models.Model):
    """BKT parameters of a concept fitted by EM, with bootstrap samples of them."""

    concept = models.OneToOneField(
        "courses.Concept", on_delete=models.CASCADE, related_name="knowledge_params"
    )
    prior = models.FloatField()
    learn = models.FloatField()
    guess = models.FloatField()
    slip = models.FloatField()
    samples = models.JSONField(default=list)  # [{"prior", "learn", "guess", "slip"}, ...]
    answers = models.PositiveIntegerField(default=0)
    fitted_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"parameters of {self.concept}"


class Mastery(models.Model):
    """A student's estimated knowledge of a concept, updated on every counted answer."""

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mastery"
    )
    concept = models.ForeignKey("courses.Concept", on_delete=models.CASCADE, related_name="+")
    p_known = models.FloatField()
    # The answers in order (1 right, 0 wrong): the stopping rule re-traces them under
    # every parameter sample.
    answers = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "concept"], name="unique_mastery")
        ]

    def __str__(self) -> str:
        return f"{self.student} knows {self.concept}: {self.p_known:.2f}"


class VariantStatus(models.TextChoices):
    PENDING = "pending", _("Being prepared")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class LessonVariant(models.Model):
    """A sequence of a published version's scenes made playable: only the segment keys and
    frame counts (the files are the shared segment store's). Shared by every student whose
    plan is the same sequence, so no file and no row is made per student."""

    version = models.ForeignKey(
        "courses.LessonVersion", on_delete=models.CASCADE, related_name="variants"
    )
    # The scene ids in playing order, comma-separated, and the render settings' key.
    scene_order = models.CharField(max_length=1000)
    settings_key = models.CharField(max_length=64)
    status = models.CharField(
        max_length=10, choices=VariantStatus.choices, default=VariantStatus.PENDING
    )
    entries = models.JSONField(default=list)  # [[segment key, frames], ...] in playing order
    fps = models.PositiveIntegerField(default=30)
    encoded = models.PositiveIntegerField(default=0)  # segments encoded to make it ready
    captions = models.TextField(blank=True)  # WebVTT of the variant's narration
    # Its C2PA manifest store (a sidecar of the MP4 its segments assemble into, with the
    # SHA-256 of each TS file of its playlist, also kept here for the server's check) and
    # that MP4's container tags, so the MP4 remade on request is the one that was signed.
    manifest_store = models.BinaryField(default=b"", blank=True)
    ts_digests = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "scene_order", "settings_key"], name="unique_variant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version} [{self.scene_order}]"
