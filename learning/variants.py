"""A student's variant of a published lesson: the policy's plan over the version's scenes,
then the synthesis steps (plan, encode what is missing, assemble or playlist).

A variant is only a list of segment keys: scenes and transitions already in the segment
store are reused, so a cached variant costs a remux. Moderation carries over: every scene of
a variant must carry a content hash some moderator approved (SceneApproval), else it is
refused, whatever the policy says.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Checkpoint, Lesson, LessonVersion, RenderJob, RenderStatus, Scene
from courses.storyboards import storyboard_from_version
from courses.voices import version_voice_settings
from learning.mastery import (
    checkpoint_concepts,
    course_thresholds,
    student_mastery,
    student_policy_models,
)
from learning.models import LessonVariant, VariantStatus
from learning.policy import (
    LessonPlan,
    PolicyScene,
    lesson_plan,
    pre_check_concepts,
    reason_text,
)
from moderation.models import SceneApproval
from moderation.reports import lesson_variants_allowed
from moderation.selectors import published_version
from synthesis.storyboard import RenderSettings, Storyboard

logger = logging.getLogger(__name__)

# A variant still pending after this long lost its task (a worker restart): it is sent again.
PENDING_RESEND_S = 300
# Seconds of narration per word when a scene has no rendered length yet (about 150 wpm).
SECONDS_PER_WORD = 0.4


class VariantError(Exception):
    """A variant cannot be made (no published version, an unapproved scene); the message
    says why in words a teacher can act on."""


@dataclass(frozen=True)
class StudentVariant:
    lesson: Lesson
    version: LessonVersion
    rows: tuple[Scene, ...]  # the version's scenes in lesson order
    plan: LessonPlan
    storyboard: Storyboard  # the variant: only the planned scenes, in playing order
    # Questions worth answering before the video: right answers skip an introduction.
    pre_checks: tuple[Checkpoint, ...] = ()

    def reasons(self) -> list[dict]:
        """Per scene of the lesson: title, role, concept, shown or not, why (in the active
        language)."""
        by_id = {str(row.pk): row for row in self.rows}
        templates, estimate = reason_templates()
        out = []
        for item in self.plan.items:
            row = by_id[item.scene.id]
            out.append(
                {
                    "scene": row.pk,
                    "title": str(row),
                    "role": row.role,
                    "concept": item.scene.concept,
                    "included": item.included,
                    "reason": reason_text(
                        item.code, item.args, templates=templates, estimate_template=estimate
                    ),
                }
            )
        return out


def reason_templates() -> tuple[dict[str, str], str]:
    """learning.policy.REASONS in the active language (the same English msgids)."""
    return (
        {
            "everyone": _("no concept: shown to everyone"),
            "no_concept": _("%(role)s scene without a concept"),
            "language": _("shown in another language (%(language)s)"),
            "mastered": _(
                "introduces %(concept)s, already mastered (%(estimate)s >= %(threshold)s)"
            ),
            "introduces": _("introduces %(concept)s, not mastered yet (%(estimate)s)"),
            "remedial": _("%(concept)s needs another explanation (%(estimate)s < %(threshold)s)"),
            "no_answers": _("no answers on %(concept)s yet"),
            "understood": _("%(concept)s understood well enough (%(estimate)s >= %(threshold)s)"),
            "enrichment": _("%(concept)s is strong: more depth (%(estimate)s >= %(threshold)s)"),
            "not_strong": _(
                "%(concept)s not strong enough for enrichment (%(estimate)s < %(threshold)s)"
            ),
            "recap": _("%(concept)s is weak: recap at the end (%(estimate)s)"),
            "no_recap": _("%(concept)s is strong: no recap needed (%(estimate)s)"),
            "unknown_role": _("unknown role %(role)s: shown"),
        },
        _("P(known) %(mean)s, lower bound %(lower)s, %(answers)s answers"),
    )


def _latest_render(version: LessonVersion) -> RenderJob | None:
    return (
        version.render_jobs.filter(status=RenderStatus.SUCCEEDED).order_by("-finished_at").first()
    )


def scene_durations_s(version: LessonVersion, rows: list[Scene]) -> dict[int, float]:
    """Each scene's length from the latest render's manifest, else from its word count."""
    job = _latest_render(version)
    measured = (job.manifest or {}).get("scenes") if job else None
    out = {}
    for index, row in enumerate(rows):
        if measured and index < len(measured):
            scene = measured[index]
            out[row.pk] = float(scene.get("end_s", 0)) - float(scene.get("start_s", 0))
        else:
            out[row.pk] = max(3.0, len(row.narration.split()) * SECONDS_PER_WORD)
    return out


def policy_scenes(version: LessonVersion, rows: list[Scene]) -> list[PolicyScene]:
    """The rows as the policy reads them. Neighbouring scenes with the same role and concepts
    in different languages are one scene in several languages (a teacher's translation):
    they share a group, and the student sees the one in their language."""
    durations = scene_durations_s(version, rows)
    scenes: list[PolicyScene] = []
    previous = None  # (role, concept slugs, languages so far, group)
    for row in rows:
        slugs = tuple(sorted(c.slug for c in row.concepts.all()))
        if previous and previous[:2] == (row.role, slugs) and row.language not in previous[2]:
            group = previous[3]
            previous = (row.role, slugs, {*previous[2], row.language}, group)
        else:
            group = f"scene-{row.pk}"
            previous = (row.role, slugs, {row.language}, group)
        scenes.append(
            PolicyScene(
                id=str(row.pk),
                concept=slugs[0] if slugs else None,
                role=row.role,
                duration_s=durations[row.pk],
                language=row.language,
                group=group,
            )
        )
    return scenes


def student_language(student) -> str:
    """A scene language ("en", "zh") from the student's interface language ("zh-hans")."""
    return (getattr(student, "language", "") or "").split("-")[0]


def student_variant(*, student, lesson: Lesson) -> StudentVariant:
    """The student's plan for the lesson's published version (no encoding; fast)."""
    version = published_version(lesson)
    if version is None:
        raise VariantError(_("This lesson is not published."))
    if not lesson_variants_allowed(lesson):
        raise VariantError(_("This lesson is hidden until a moderator has looked at it."))
    rows = list(version.scenes.prefetch_related("concepts").order_by("position", "id"))
    scenes = policy_scenes(version, rows)
    evidence = student_mastery(student=student, course=lesson.course)
    models = student_policy_models(student=student, course=lesson.course)
    thresholds = course_thresholds(lesson.course)
    plan = lesson_plan(
        scenes,
        evidence=evidence,
        models=models,
        thresholds=thresholds,
        language=student_language(student),
    )
    questions = _questions_by_concept(version, thresholds.pre_checks)
    concepts = pre_check_concepts(
        plan,
        scenes,
        evidence=evidence,
        models=models,
        questions={c: len(found) for c, found in questions.items()},
        thresholds=thresholds,
    )
    storyboard = storyboard_from_version(version)
    index = {str(row.pk): i for i, row in enumerate(rows)}
    variant = replace(
        storyboard, scenes=tuple(storyboard.scenes[index[scene_id]] for scene_id in plan.order)
    )
    pre_checks = tuple(checkpoint for c in concepts for checkpoint in questions[c])
    return StudentVariant(lesson, version, tuple(rows), plan, variant, pre_checks)


def precheck_answers(variant: StudentVariant, data, *, student) -> list:
    """The pre-check answers in a posted form (`choice-<checkpoint id>`: a choice id) as
    answered events of the current attempt; questions not offered, or choices not theirs,
    are ignored."""
    from learning.selectors import student_progress
    from learning.services import EventIn

    progress = student_progress(student=student, lesson=variant.lesson)
    attempt = progress.attempt if progress else 1
    now = timezone.now()
    out = []
    for checkpoint in variant.pre_checks:
        picked = data.get(f"choice-{checkpoint.pk}")
        choice = next((c for c in checkpoint.choices.all() if str(c.pk) == picked), None)
        if choice is None:
            continue
        out.append(
            EventIn(
                client_event_id=f"precheck-{checkpoint.pk}-{uuid.uuid4().hex[:16]}",
                kind="answered",
                lesson=variant.lesson,
                version=variant.version,
                occurred_at=now,
                payload={"checkpoint": checkpoint.pk, "choice": choice.pk, "attempt": attempt},
            )
        )
    return out


def _questions_by_concept(version: LessonVersion, most: int) -> dict[str, list[Checkpoint]]:
    """{concept slug: up to `most` of the version's questions on it}, in lesson order."""
    found: dict[str, list[Checkpoint]] = {}
    checkpoints = (
        Checkpoint.objects.filter(scene__version=version)
        .select_related("scene")
        .prefetch_related("concepts", "scene__concepts", "choices")
        .order_by("scene__position", "scene_id")
    )
    for checkpoint in checkpoints:
        for concept in checkpoint_concepts(checkpoint):
            if len(found.setdefault(concept.slug, [])) < most:
                found[concept.slug].append(checkpoint)
    return found


def unapproved_scenes(variant: StudentVariant) -> list[Scene]:
    """Planned scenes whose content hash no moderator approved."""
    shown = set(variant.plan.order)
    rows = [row for row in variant.rows if str(row.pk) in shown]
    approved = set(
        SceneApproval.objects.filter(
            content_hash__in=[row.content_hash for row in rows if row.content_hash]
        ).values_list("content_hash", flat=True)
    )
    return [row for row in rows if not row.content_hash or row.content_hash not in approved]


def check_approved(variant: StudentVariant) -> None:
    missing = unapproved_scenes(variant)
    if missing:
        raise VariantError(
            _("Scenes not approved by a moderator: %(scenes)s.")
            % {"scenes": ", ".join(str(row) for row in missing)}
        )


def variant_render_settings(version: LessonVersion) -> RenderSettings:
    """The settings of the version's latest render (its size, quality, voice), so the
    variant reuses that render's segments; the site's defaults when it has none."""
    from courses.rendering import render_settings_for

    job = _latest_render(version)
    if job is not None:
        return render_settings_for(job)
    return RenderSettings(
        burn_captions=False, device=settings.LECTERN_DEVICE, voice=version_voice_settings(version)
    )


def variant_render_plan(variant: StudentVariant, render_settings: RenderSettings):
    """synthesis' RenderPlan of the variant (speech from the cache, or spoken now)."""
    from courses.playlists import segment_store
    from synthesis.plan import plan
    from synthesis.render import speak_lesson

    cache_dir = Path(settings.LECTERN_CACHE_DIR)
    spoken = speak_lesson(variant.storyboard, render_settings, cache_dir=cache_dir)
    return plan(variant.storyboard, render_settings, spoken=spoken, store=segment_store())


@dataclass(frozen=True)
class WrittenVariant:
    path: Path
    encoded: int  # segments that had to be encoded
    reused: int
    plan_s: float
    encode_s: float
    assemble_s: float


def variant_write(variant: StudentVariant, out: Path) -> WrittenVariant:
    """Plan, encode the missing segments, assemble the MP4 (and its tracks) at out."""
    from courses.playlists import segment_store
    from synthesis.assemble import assemble, plan_metadata, write_tracks
    from synthesis.render import encode, output_paths

    check_approved(variant)
    if not variant.plan.order:
        raise VariantError(_("The plan has no scene to show."))
    started = time.perf_counter()
    render_plan = variant_render_plan(variant, variant_render_settings(variant.version))
    planned = time.perf_counter()
    store = segment_store()
    missing = len(render_plan.missing)
    if missing:
        encode(render_plan, store)
    encoded = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    assemble(
        render_plan.segments,
        out,
        store=store,
        fps=render_plan.settings.fps,
        metadata=plan_metadata(render_plan),
    )
    write_tracks(render_plan, out, output_paths(out))
    done = time.perf_counter()
    return WrittenVariant(
        out,
        encoded=missing,
        reused=len(set(render_plan.segments)) - missing,
        plan_s=planned - started,
        encode_s=encoded - planned,
        assemble_s=done - encoded,
    )


# --- Variants in the app: a shared LessonVariant row per scene sequence -----------------


def settings_key(render_settings: RenderSettings) -> str:
    return hashlib.sha256(repr(render_settings).encode()).hexdigest()


def _ordered_storyboard(version: LessonVersion, scene_order: list[str]) -> Storyboard:
    rows = list(version.scenes.order_by("position", "id"))
    storyboard = storyboard_from_version(version)
    index = {str(row.pk): i for i, row in enumerate(rows)}
    return replace(
        storyboard, scenes=tuple(storyboard.scenes[index[scene_id]] for scene_id in scene_order)
    )


def lesson_variant_ready(row: LessonVariant) -> bool:
    """Ready and every segment still in the store (eviction may have taken one)."""
    from courses.playlists import segment_store

    if row.status != VariantStatus.READY or not row.entries or not row.ts_digests:
        return False  # (a variant made before its TS files had digests is made again)
    store = segment_store()
    return all(store.has(key) for key, _frames in row.entries)


def lesson_variant_request(variant: StudentVariant) -> LessonVariant:
    """The LessonVariant of a student's plan; when it is not ready, a task prepares it (the
    page waits). Raises VariantError for a scene no moderator approved."""
    check_approved(variant)
    if not variant.plan.order:
        raise VariantError(_("The plan has no scene to show."))
    render_settings = variant_render_settings(variant.version)
    row, created = LessonVariant.objects.get_or_create(
        version=variant.version,
        scene_order=",".join(variant.plan.order),
        settings_key=settings_key(render_settings),
    )
    if lesson_variant_ready(row):
        return row
    stale = timezone.now() - timedelta(seconds=PENDING_RESEND_S)
    if created or row.status != VariantStatus.PENDING or row.created_at < stale:
        LessonVariant.objects.filter(pk=row.pk).update(
            status=VariantStatus.PENDING, error="", created_at=timezone.now()
        )
        row.status = VariantStatus.PENDING
        transaction.on_commit(lambda: _send_prepare(row.pk))
    return row


def _send_prepare(variant_id: int) -> None:
    from learning.tasks import lesson_variant_prepare

    try:
        lesson_variant_prepare.delay(variant_id)
    except Exception:  # the broker is away: the next request after PENDING_RESEND_S resends
        logger.exception("variant %s: could not send the prepare task", variant_id)


def lesson_variant_prepare(*, variant_id: int) -> str:
    """Speak, plan and encode what the store lacks for one LessonVariant; mark it ready;
    then encode the crossfades it plays without.

    When every scene segment is stored and only crossfades between new neighbours are
    missing, the variant is made ready at once with a hard cut at each of those junctions
    (a plan and a playlist, nothing encoded: bench/README.md, "Personalized variants",
    measures the cut as clean), and the missing crossfades are encoded after the row is
    ready, in this same task, so later variants with the same neighbours find them. When a
    scene must be encoded anyway, its crossfades are encoded with it and nothing is cut.

    A ready row's entries never change, so the playlist a student is playing stays valid
    to its end: a variant made with cuts keeps them while its segments are stored (they
    are pinned while the lesson is published). The simplest design that never breaks a
    playing HLS client; a crossfaded replacement would need a new row per sequence.
    """
    from courses.playlists import segment_store
    from synthesis.assemble import plan_metadata
    from synthesis.plan import plan, with_hard_cuts
    from synthesis.render import encode, speak_lesson

    row = LessonVariant.objects.select_related("version__lesson").filter(pk=variant_id).first()
    if row is None:
        return "gone"
    if lesson_variant_ready(row):
        return "ready"
    try:
        storyboard = _ordered_storyboard(row.version, row.scene_order.split(","))
        render_settings = variant_render_settings(row.version)
        spoken = speak_lesson(
            storyboard, render_settings, cache_dir=Path(settings.LECTERN_CACHE_DIR)
        )
        store = segment_store()
        full_plan = plan(storyboard, render_settings, spoken=spoken, store=store)
        render_plan = with_hard_cuts(full_plan, store)
        if render_plan.missing:
            encode(render_plan, store)
        metadata = plan_metadata(render_plan)
        digests = variant_ts_digests(render_plan.segment_frames, render_settings.fps)
    except Exception as error:  # recorded on the row; the page says it failed
        logger.exception("variant %s: prepare failed", variant_id)
        LessonVariant.objects.filter(pk=row.pk).update(
            status=VariantStatus.FAILED, error=str(error)[:2000]
        )
        return "failed"
    from courses.playlists import variant_segments_pin
    from synthesis import captions

    variant_segments_pin(version=row.version, keys=[key for key, _ in render_plan.segment_frames])
    LessonVariant.objects.filter(pk=row.pk).update(
        status=VariantStatus.READY,
        captions=captions.webvtt(
            captions.caption_track(render_plan.timeline, render_plan.language)
        ),
        entries=[[key, frames] for key, frames in render_plan.segment_frames],
        fps=render_settings.fps,
        manifest_store=b"",
        ts_digests=[digest["sha256"] for digest in digests],
        metadata=metadata,
        encoded=len(render_plan.missing),
        ready_at=timezone.now(),
    )
    # The page waiting for it hears now, not at its next status poll (about 0.3 s later).
    transaction.on_commit(lambda: lesson_variant_ready_push(row.pk))
    # Signed just after it is ready (the player streams the TS files, whose digests are
    # known already; the sidecar covers the MP4 download), so it plays 0.1-0.2 s sooner.
    try:
        manifest_store = variant_manifest_store(
            row.version, render_plan.segment_frames, render_settings.fps, metadata, digests
        )
    except Exception as error:  # without its signature the variant is not served
        logger.exception("variant %s: signing failed", variant_id)
        LessonVariant.objects.filter(pk=row.pk).update(
            status=VariantStatus.FAILED, error=str(error)[:2000]
        )
        return "failed"
    LessonVariant.objects.filter(pk=row.pk).update(manifest_store=manifest_store)
    if render_plan.cuts:
        crossfades_encode(row.version, full_plan, store)
    return "ready"


def lesson_variant_group_name(variant_id: int) -> str:
    """The channel-layer group of the pages waiting for one LessonVariant row."""
    return f"lesson-variant-{variant_id}"


def lesson_variant_ready_push(variant_id: int) -> None:
    """Tell the pages waiting for the variant (learning.consumers.VariantConsumer) that it
    is ready. Best effort: a failure is logged, and their status polls still find it."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    try:
        layer = get_channel_layer()
        if layer is not None:
            message = {"type": "variant.ready", "variant": variant_id}
            async_to_sync(layer.group_send)(lesson_variant_group_name(variant_id), message)
    except Exception:  # the row is ready; the page's next poll says so
        logger.exception("variant %s: could not push ready", variant_id)


def crossfades_encode(version: LessonVersion, full_plan, store) -> None:
    """Encode the crossfades a variant made ready with hard cuts plays without, for later
    variants (pinned with the version's variants). A failure is logged: the variant is
    already ready and plays with its cuts."""
    from courses.playlists import variant_segments_pin
    from synthesis.render import encode

    crossfades = [key for key in full_plan.transition_keys if not store.has(key)]
    try:
        encode(full_plan, store)
    except Exception:  # the ready variant is unaffected; a later variant encodes them
        logger.exception("version %s: encoding %s crossfades failed", version.pk, len(crossfades))
        return
    variant_segments_pin(version=version, keys=crossfades)


def variant_video_write(segment_frames, fps: int, metadata: dict, out: Path) -> Path:
    """The MP4 a variant's segments assemble into: remuxed, nothing encoded, and the same
    bytes every time (so the sidecar signed when it was prepared matches it on request)."""
    from courses.playlists import segment_store
    from synthesis.assemble import assemble

    keys = [key for key, _frames in segment_frames]
    # Tags in one order whatever the database kept (PostgreSQL's jsonb reorders keys).
    tags = dict(sorted(metadata.items()))
    assemble(keys, out, store=segment_store(), fps=fps, metadata=tags)
    return out


def variant_ts_digests(segment_frames, fps: int) -> list[dict]:
    """The SHA-256 of each TS file the variant's playlist serves (what its sidecar lists)."""
    from moderation.publishing import segment_digests
    from synthesis.hls import playlist_entries

    return segment_digests(playlist_entries(list(segment_frames), fps), fps)


def variant_manifest_store(
    version: LessonVersion, segment_frames, fps: int, metadata: dict, digests: list[dict]
) -> bytes:
    """The variant's signed C2PA sidecar (over its MP4, listing its TS files' digests)."""
    from moderation.publishing import playlist_manifest_store

    with tempfile.TemporaryDirectory(prefix="lectern-variant-") as folder:
        video = variant_video_write(segment_frames, fps, metadata, Path(folder) / "variant.mp4")
        return playlist_manifest_store(video, digests, version=version)


def lesson_variant_entries(row: LessonVariant):
    """synthesis.hls playlist entries of a ready variant."""
    from synthesis.hls import playlist_entries

    return playlist_entries([(key, frames) for key, frames in row.entries], row.fps)


def class_variants_prepare(*, lesson_ids: list[int] | None = None) -> int:
    """Ask for every student's variant of every published lesson with concept-tagged scenes
    (of lesson_ids only, when given: a lesson just published): each missing one is prepared
    by a task, so the student's video starts at once. Returns how many were requested; a
    lesson no longer published (or gone) asks for none."""
    from accounts.models import Classroom
    from moderation.selectors import published_lessons

    lessons = (
        published_lessons()
        .filter(versions__scenes__concepts__isnull=False)
        .select_related("course")
        .distinct()
    )
    if lesson_ids is not None:
        lessons = lessons.filter(pk__in=lesson_ids)
    requested = 0
    for lesson in lessons:
        classrooms = Classroom.objects.filter(courses=lesson.course)
        students = {s for c in classrooms for s in c.students.all()}
        for student in students:
            try:
                with transaction.atomic():
                    lesson_variant_request(student_variant(student=student, lesson=lesson))
            except VariantError:
                continue  # an unapproved scene: the student's page says so
            requested += 1
    return requested
