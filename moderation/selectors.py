"""Queries for moderation: the queue, a version's review page, studio notices, and the
publish gate students go through (`published_lessons_for_student`).

Access: `version_for_moderator` and `version_for_owner` answer 404 for a version the user
may not know exists, so a view cannot forget the check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, Max, Min, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.safestring import SafeString

from courses.models import Checkpoint, Lesson, LessonVersion, Scene, VersionStatus
from courses.selectors import (
    REVIEWABLE_VERSION_STATUSES,
    latest_successful_render,
    scene_checkpoint,
    user_can_edit_course,
    user_can_review_version,
)
from moderation.hashing import version_scene_hashes
from moderation.models import (
    AuditEntry,
    LessonHold,
    ReasonCode,
    Report,
    Review,
    ReviewEvent,
    SceneApproval,
    SceneDecision,
    SceneDecisionKind,
    ScreeningField,
    ScreeningFinding,
)
from moderation.screening import highlighted
from moderation.services import PENDING_STATUSES
from synthesis.sentences import split_sentences

# Access -----------------------------------------------------------------------------------


def version_for_moderator(*, user, version_id: int) -> LessonVersion:
    """A version submitted for review (or later), for moderators and staff; else 404."""
    version = get_object_or_404(
        LessonVersion.objects.select_related("lesson__course", "created_by"), pk=version_id
    )
    if not user_can_review_version(user, version):
        raise Http404
    return version


def version_for_owner(*, user, version_id: int) -> LessonVersion:
    """A version of the user's own course (staff: any); 404 for anyone else."""
    version = get_object_or_404(
        LessonVersion.objects.select_related("lesson__course"), pk=version_id
    )
    if not user_can_edit_course(user, version.lesson.course):
        raise Http404
    return version


# The queue --------------------------------------------------------------------------------


def review_queue() -> QuerySet[LessonVersion]:
    """Versions waiting for a moderator (claimed ones too), oldest submission first, with
    how many scenes need a decision (the others were approved before)."""
    approved_hashes = SceneApproval.objects.values("content_hash")
    return (
        LessonVersion.objects.filter(status__in=PENDING_STATUSES)
        .select_related("lesson__course", "created_by", "review", "review__claimed_by")
        .annotate(
            scene_count=Count("scenes", distinct=True),
            scenes_to_review=Count(
                "scenes",
                filter=~Q(scenes__content_hash__in=approved_hashes),
                distinct=True,
            ),
            finding_count=Count("screening_findings", distinct=True),
        )
        .order_by("review__submitted_at", "pk")
    )


# The review page --------------------------------------------------------------------------


@dataclass
class SentenceRow:
    text: str
    source: dict | None  # None: typed by the teacher, no source to check against
    # The sentence escaped, screening findings wrapped in <mark>; set by review_scene_rows.
    marked: SafeString | None = None


@dataclass(frozen=True)
class MarkedField:
    """A screened field of a scene with findings, as the review page shows it."""

    field: str
    label: str
    marked: SafeString


@dataclass
class SceneReviewRow:
    """One scene as the review page shows it."""

    number: int
    scene: Scene
    sentences: list[SentenceRow]
    checkpoint: Checkpoint | None
    approved_before: bool
    decision: SceneDecision | None
    earlier_rejections: list[SceneDecision] = field(default_factory=list)
    findings: list[ScreeningFinding] = field(default_factory=list)
    marked_fields: list[MarkedField] = field(default_factory=list)

    @property
    def needs_review(self) -> bool:
        return not self.approved_before


def narration_sentences(scene: Scene) -> list[SentenceRow]:
    """Each narrated sentence with the source file it came from, or None when typed."""
    sources = {
        source.get("sentence"): source for source in scene.narration_sources if source.get("file")
    }
    return [
        SentenceRow(text=sentence, source=sources.get(sentence))
        for sentence in split_sentences(scene.narration, scene.language)
    ]


def _mark_sentences(scene: Scene, rows: list[SentenceRow], findings: list) -> None:
    """Give each sentence its text with the narration's findings marked in place.

    Findings hold offsets into the whole narration; each sentence is found in it in order
    (the splitter keeps sentences verbatim), so the offsets are moved into the sentence.
    """
    spans = [(f.start, f.end) for f in findings if f.field == ScreeningField.NARRATION]
    cursor = 0
    for row in rows:
        at = scene.narration.find(row.text, cursor)
        if at < 0:
            # Not verbatim: mark the excerpts wherever they occur in the sentence.
            local = []
            for finding in findings:
                if finding.field == ScreeningField.NARRATION and finding.excerpt:
                    index = row.text.find(finding.excerpt)
                    if index >= 0:
                        local.append((index, index + len(finding.excerpt)))
            row.marked = highlighted(row.text, local)
            continue
        end = at + len(row.text)
        row.marked = highlighted(
            row.text,
            [(start - at, stop - at) for start, stop in spans if start < end and stop > at],
        )
        cursor = end


def _marked_fields(scene: Scene, findings: list) -> list[MarkedField]:
    fields = []
    for screened in (
        ScreeningField.TITLE,
        ScreeningField.BODY,
        ScreeningField.CODE,
        ScreeningField.IMAGE_ALT,
    ):
        spans = [(f.start, f.end) for f in findings if f.field == screened]
        if spans:
            text = getattr(scene, screened) or ""
            fields.append(MarkedField(screened, str(screened.label), highlighted(text, spans)))
    return fields


def review_scene_rows(version: LessonVersion) -> list[SceneReviewRow]:
    """The version's scenes in order, each marked approved before or needing a decision."""
    scenes = list(
        version.scenes.select_related("checkpoint")
        .prefetch_related("checkpoint__choices")
        .order_by("position", "id")
    )
    hashes = [scene.content_hash for scene in scenes if scene.content_hash]
    approved = set(
        SceneApproval.objects.filter(content_hash__in=hashes).values_list("content_hash", flat=True)
    )
    decisions = {
        decision.scene_id: decision
        for decision in SceneDecision.objects.filter(review__version=version).select_related(
            "decided_by"
        )
    }
    findings: dict[int, list[ScreeningFinding]] = {}
    for finding in ScreeningFinding.objects.filter(version=version).order_by("field", "start"):
        findings.setdefault(finding.scene_id, []).append(finding)
    earlier: dict[str, list[SceneDecision]] = {}
    for decision in (
        SceneDecision.objects.filter(content_hash__in=hashes, decision=SceneDecisionKind.REJECT)
        .exclude(review__version=version)
        .select_related("decided_by", "review__version")
        .order_by("decided_at")
    ):
        earlier.setdefault(decision.content_hash, []).append(decision)
    rows = []
    for number, scene in enumerate(scenes, start=1):
        scene_findings = findings.get(scene.pk, [])
        sentences = narration_sentences(scene)
        _mark_sentences(scene, sentences, scene_findings)
        rows.append(
            SceneReviewRow(
                number=number,
                scene=scene,
                sentences=sentences,
                checkpoint=scene_checkpoint(scene),
                approved_before=scene.content_hash in approved,
                decision=decisions.get(scene.pk),
                earlier_rejections=earlier.get(scene.content_hash, []),
                findings=scene_findings,
                marked_fields=_marked_fields(scene, scene_findings),
            )
        )
    return rows


def review_for_version(version: LessonVersion) -> Review | None:
    return Review.objects.filter(version=version).select_related("claimed_by").first()


def review_events(version: LessonVersion) -> QuerySet[ReviewEvent]:
    """Who did what to this version and when, oldest first."""
    return version.review_events.select_related("actor", "scene").order_by("created_at", "id")


def review_video(version: LessonVersion):
    """The render the moderator watches: the version's latest successful one."""
    return latest_successful_render(version)


# Notices in the studio --------------------------------------------------------------------


@dataclass(frozen=True)
class SceneNotice:
    reason: str
    note: str
    version_number: int


def scene_rejection_notices(version: LessonVersion) -> dict[int, SceneNotice]:
    """{scene id: why a moderator rejected that scene} for the teacher's studio.

    A submitted version shows its own decisions. A draft shows the rejections of an earlier
    version whose content it still has (matched by content hash), so the notice goes away
    once the teacher changes the scene, and comes back if the change is undone.
    """
    rejections = SceneDecision.objects.filter(
        review__version__lesson=version.lesson_id, decision=SceneDecisionKind.REJECT
    ).select_related("review__version")
    if version.status in REVIEWABLE_VERSION_STATUSES:
        return {
            decision.scene_id: _notice(decision)
            for decision in rejections.filter(review__version=version)
        }
    rejected = list(rejections.order_by("-decided_at"))
    if not rejected:
        return {}
    approved = set(
        SceneApproval.objects.filter(
            content_hash__in=[decision.content_hash for decision in rejected]
        ).values_list("content_hash", flat=True)
    )
    by_hash: dict[str, SceneDecision] = {}
    for decision in rejected:
        if decision.content_hash not in approved:
            by_hash.setdefault(decision.content_hash, decision)
    if not by_hash:
        return {}
    return {
        scene_id: _notice(by_hash[content_hash])
        for scene_id, content_hash in version_scene_hashes(version).items()
        if content_hash in by_hash
    }


def _notice(decision: SceneDecision) -> SceneNotice:
    reason = (
        str(ReasonCode(decision.reason_code).label)
        if decision.reason_code in ReasonCode.values
        else ""
    )
    return SceneNotice(
        reason=reason, note=decision.note, version_number=decision.review.version.number
    )


# The publish gate -------------------------------------------------------------------------


def published_lessons() -> QuerySet[Lesson]:
    """Lessons that have a published version (at most one each, by a constraint) and are
    not held: hidden after students' reports or taken down by a moderator."""
    published = LessonVersion.objects.filter(lesson=OuterRef("pk"), status=VersionStatus.PUBLISHED)
    held = LessonHold.objects.filter(lesson=OuterRef("pk"))
    return Lesson.objects.filter(Exists(published), ~Exists(held))


def published_lessons_for_student(student) -> QuerySet[Lesson]:
    """What a student may see: published lessons of the courses of the classes they are in,
    in course order. Drafts and lessons under review do not exist for them."""
    if not (student.is_authenticated and student.is_student):
        return Lesson.objects.none()
    return (
        published_lessons()
        .filter(
            Exists(Lesson.objects.filter(pk=OuterRef("pk"), course__classrooms__students=student))
        )
        .select_related("course")
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=LessonVersion.objects.filter(status=VersionStatus.PUBLISHED),
                to_attr="published_versions",
            )
        )
        .order_by("course__title", "position", "id")
    )


def published_version_for_student(*, student, lesson_id: int) -> LessonVersion | None:
    """The published version of a lesson the student may see (as published_lessons_for_student
    decides), its lesson and course joined: one query, for the pages students open most."""
    if not (student.is_authenticated and student.is_student):
        return None
    return (
        LessonVersion.objects.select_related("lesson__course", "lesson__learning_settings")
        .filter(
            lesson_id=lesson_id,
            status=VersionStatus.PUBLISHED,
            lesson__moderation_hold__isnull=True,
            lesson__course__classrooms__students=student,
        )
        .first()
    )


def lesson_is_visible_to_student(*, student, lesson: Lesson) -> bool:
    return published_lessons_for_student(student).filter(pk=lesson.pk).exists()


def published_version(lesson: Lesson) -> LessonVersion | None:
    """The one version of a lesson students see, or None (no query when the lesson came
    from published_lessons_for_student, which fetched it)."""
    fetched = getattr(lesson, "published_versions", None)
    if fetched is not None:
        return fetched[0] if fetched else None
    return lesson.versions.filter(status=VersionStatus.PUBLISHED).first()


# Reports ----------------------------------------------------------------------------------


def reported_lessons() -> QuerySet[Lesson]:
    """Lessons with open reports, the priority queue: hidden ones first, then by how many
    students reported them, then the oldest report first."""
    return (
        Lesson.objects.filter(reports__resolved_at__isnull=True)
        .select_related("course", "moderation_hold")
        .annotate(
            open_reports=Count("reports", filter=Q(reports__resolved_at__isnull=True)),
            reporters=Count(
                "reports__reporter", filter=Q(reports__resolved_at__isnull=True), distinct=True
            ),
            first_reported_at=Min(
                "reports__created_at", filter=Q(reports__resolved_at__isnull=True)
            ),
            last_reported_at=Max(
                "reports__created_at", filter=Q(reports__resolved_at__isnull=True)
            ),
            held=Exists(LessonHold.objects.filter(lesson=OuterRef("pk"))),
        )
        .order_by("-held", "-reporters", "first_reported_at", "pk")
    )


def lesson_for_moderator(*, user, lesson_id: int) -> Lesson:
    """A lesson that was published at some point (moderators and staff); 404 otherwise."""
    lesson = get_object_or_404(Lesson.objects.select_related("course"), pk=lesson_id)
    if not (user.is_authenticated and (user.is_staff or user.is_moderator)):
        raise Http404
    if not lesson.versions.filter(published_at__isnull=False).exists():
        raise Http404
    return lesson


def lesson_reports(lesson: Lesson) -> QuerySet[Report]:
    """Every report on the lesson, open ones first; for moderators only (names the reporter)."""
    return lesson.reports.select_related("reporter", "resolved_by").order_by(
        F("resolved_at").desc(nulls_first=True), "created_at"
    )


def lesson_hold(lesson: Lesson) -> LessonHold | None:
    return LessonHold.objects.filter(lesson=lesson).first()


# Audit ------------------------------------------------------------------------------------


def audit_entries() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.select_related("actor")
