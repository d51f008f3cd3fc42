"""Courses, lessons and their versions, scenes, checkpoints and render jobs.

A lesson is a list of immutable-once-used versions: what was rendered, reviewed or
published stays reproducible, and an edit to such a version forks a new draft.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    CHINESE = "zh", _("Chinese (Mandarin)")


class Course(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="courses"
    )
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=80, unique=True, allow_unicode=True)
    description = models.TextField(_("description"), blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Concept(models.Model):
    """A course-level tag shared by scenes and checkpoints across lessons."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="concepts")
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(max_length=120, allow_unicode=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["course", "slug"], name="unique_concept_per_course")
        ]

    def __str__(self) -> str:
        return self.name


class Lesson(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons")
    title = models.CharField(_("title"), max_length=200)
    position = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def latest_version(self) -> "LessonVersion | None":
        return self.versions.order_by("-number").first()


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    PUBLISHED = "published", _("Published")


class LessonVersion(models.Model):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    status_reason = models.TextField(_("reason"), blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    import_report = models.JSONField(default=dict, blank=True)
    # Licence and credit of imported material (a corpus SOURCE.json, a PDF's author...).
    attribution = models.TextField(_("attribution"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The narration voice the teacher chose for this version's language; blank engine and
    # voice mean the site's default order (LECTERN_TTS_ENGINES_<LANG>) and each engine's voice.
    voice_engine = models.CharField(_("speech engine"), max_length=40, blank=True)
    voice_name = models.CharField(_("voice"), max_length=80, blank=True)
    voice_rate = models.FloatField(_("speaking rate"), default=1.0)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a moderator (or the trusted-teacher path) published it; kept once superseded.
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        ordering = ["lesson", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["lesson", "number"], name="unique_version_number"),
            # Students see exactly one version of a lesson (moderation.services publishes).
            models.UniqueConstraint(
                fields=["lesson"],
                condition=models.Q(status="published"),
                name="one_published_version_per_lesson",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lesson} v{self.number}"

    @property
    def accepts_renders(self) -> bool:
        """Only a draft is rendered: what moderation reviewed or published keeps its video.
        A version published before it had one (the demo lesson) gets its first video, which
        is checked and signed like a publish before students see it (courses.rendering)."""
        if self.status == VersionStatus.DRAFT:
            return True
        return (
            self.status == VersionStatus.PUBLISHED
            and not self.render_jobs.filter(status=RenderStatus.SUCCEEDED).exists()
        )


class SceneKind(models.TextChoices):
    TITLE = "title", _("Title card")
    TEXT = "text", _("Text slide")
    IMAGE = "image", _("Image")
    CODE = "code", _("Code slide")


class SceneRole(models.TextChoices):
    CORE = "core", _("Core")
    REMEDIAL = "remedial", _("Remedial")
    ENRICHMENT = "enrichment", _("Enrichment")
    RECAP = "recap", _("Recap")


def scene_image_path(scene: "Scene", filename: str) -> str:
    return f"scenes/{scene.version.lesson_id}/{filename}"


class Scene(models.Model):
    version = models.ForeignKey(LessonVersion, on_delete=models.CASCADE, related_name="scenes")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(
        _("visual"), max_length=8, choices=SceneKind.choices, default=SceneKind.TEXT
    )
    title = models.CharField(_("title"), max_length=300, blank=True)
    # Text slide: one bullet per line. Title card: the subtitle. Code slide: unused.
    body = models.TextField(_("slide text"), blank=True)
    # Shown under the title of any other slide (an image's caption, a section's second
    # heading) and read in the descriptions track; a title card keeps its subtitle in body.
    subtitle = models.CharField(_("subtitle"), max_length=300, blank=True)
    # LaTeX sources shown on a text slide, one formula per item.
    math = models.JSONField(_("formulas"), default=list, blank=True)
    code = models.TextField(_("code"), blank=True)
    code_language = models.CharField(_("code language"), max_length=40, blank=True)
    image = models.ImageField(_("image"), upload_to=scene_image_path, blank=True, max_length=300)
    image_alt = models.CharField(_("image description"), max_length=500, blank=True)
    narration = models.TextField(_("narration"), blank=True)
    # Per-sentence origin: [{"sentence": ..., "file": ..., "page": n, "slide": n, "paragraph": n}]
    # A sentence without "file" (or missing from the list) was typed by the teacher.
    narration_sources = models.JSONField(default=list, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    role = models.CharField(
        _("role"), max_length=12, choices=SceneRole.choices, default=SceneRole.CORE
    )
    concepts = models.ManyToManyField(Concept, blank=True, related_name="scenes")
    # synthesis.content_hash of what the scene shows and says, stored when its version is
    # submitted (moderation approves scenes by it); empty on drafts never submitted.
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["version", "position", "id"]

    def __str__(self) -> str:
        return self.title or f"#{self.position + 1}"


class Checkpoint(models.Model):
    """A question after a scene. Generated drafts reach students only once accepted."""

    scene = models.OneToOneField(Scene, on_delete=models.CASCADE, related_name="checkpoint")
    prompt = models.TextField(_("question"))
    explanation = models.TextField(_("explanation"), blank=True)
    concepts = models.ManyToManyField(Concept, blank=True, related_name="checkpoints")
    generated = models.BooleanField(default=False)
    accepted = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.prompt[:60]


class Choice(models.Model):
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(_("answer"), max_length=300)
    is_correct = models.BooleanField(_("correct"), default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class RenderStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class RenderJob(models.Model):
    """One render of a lesson version; progress is stored here so a reload shows the truth."""

    version = models.ForeignKey(LessonVersion, on_delete=models.CASCADE, related_name="render_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=12, choices=RenderStatus.choices, default=RenderStatus.QUEUED
    )
    # What the teacher picked on the render form; everything else comes from settings.
    width_px = models.PositiveIntegerField(default=1280)
    height_px = models.PositiveIntegerField(default=720)
    fps = models.PositiveIntegerField(default=30)
    quality = models.CharField(max_length=12, default="standard")
    stage = models.CharField(max_length=40, blank=True)
    scene_index = models.PositiveIntegerField(default=0)
    scene_count = models.PositiveIntegerField(default=0)
    percent = models.FloatField(default=0)
    eta_s = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # Relative to MEDIA_ROOT; set only once every output file is in place.
    output_dir = models.CharField(max_length=300, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # How many times a worker took the job up; each take-over adds one (courses/rendering.py).
    attempts = models.PositiveSmallIntegerField(default=0)
    # Written every few seconds by the worker rendering the job; a stale one means it is gone.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # "host:pid:pid-namespace" of the process rendering the job, empty before it starts.
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"render #{self.pk} of {self.version}"

    @property
    def group_name(self) -> str:
        return f"render-job-{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_RENDER_STATUSES


FINISHED_RENDER_STATUSES = (RenderStatus.SUCCEEDED, RenderStatus.FAILED, RenderStatus.CANCELLED)


class ImportKind(models.TextChoices):
    MARKDOWN_ZIP = "zip", _("Markdown lesson folder (.zip)")
    FOLDER = "folder", _("Markdown lesson folder")
    PDF = "pdf", _("PDF")
    PPTX = "pptx", _("PowerPoint (.pptx)")


class ImportStatus(models.TextChoices):
    PARSING = "parsing", _("Reading")
    READY = "ready", _("Ready to review")
    FAILED = "failed", _("Failed")


class PendingImport(models.Model):
    """A parsed upload waiting on the review page; confirming turns it into a lesson.

    The parsed scenes live in `scenes` (JSON) and their files in `folder`, outside
    MEDIA_ROOT, so discarding one leaves nothing behind. An upload is read by a worker
    (courses.tasks.import_lesson_file): until then it is `parsing`, with its progress
    in `stage`, `step` and `step_count`; a failed one keeps its message in `error`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pending_imports"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="pending_imports")
    kind = models.CharField(max_length=8, choices=ImportKind.choices)
    source_name = models.CharField(max_length=255)
    title = models.CharField(max_length=200)
    language = models.CharField(max_length=8, choices=Language.choices)
    attribution = models.TextField(blank=True)
    folder = models.CharField(max_length=500)
    scenes = models.JSONField(default=list)
    warnings = models.JSONField(default=list)
    summary = models.JSONField(default=list)  # what the importer did, one line each
    status = models.CharField(
        max_length=8, choices=ImportStatus.choices, default=ImportStatus.READY
    )
    stage = models.CharField(max_length=20, blank=True)  # lessonimport.draft.ImportProgress stages
    step = models.PositiveIntegerField(default=0)
    step_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source_name} ({self.get_kind_display()})"
