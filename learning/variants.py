"""A student's variant of a published lesson: the policy's plan over the version's scenes,
then the synthesis steps (plan, encode what is missing, assemble or playlist).

A variant is only a list of segment keys: scenes and transitions already in the segment
store are reused, so a cached variant costs a remux. Moderation carries over: every scene of
a variant must carry a content hash some moderator approved (SceneApproval), else it is
refused, whatever the policy says.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from courses.models import Lesson, LessonVersion, RenderJob, RenderStatus, Scene
from courses.storyboards import storyboard_from_version
from courses.voices import version_voice_settings
from learning.mastery import (
    course_policy_models,
    course_thresholds,
    student_mastery,
)
from learning.policy import LessonPlan, PolicyScene, lesson_plan
from moderation.models import SceneApproval
from moderation.selectors import published_version
from synthesis.storyboard import RenderSettings, Storyboard

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

    def reasons(self) -> list[dict]:
        """Per scene of the lesson: title, role, concept, shown or not, why."""
        by_id = {str(row.pk): row for row in self.rows}
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
                    "reason": item.reason,
                }
            )
        return out


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
    durations = scene_durations_s(version, rows)
    scenes = []
    for row in rows:
        concepts = sorted(row.concepts.all(), key=lambda c: c.pk)
        scenes.append(
            PolicyScene(
                id=str(row.pk),
                concept=concepts[0].slug if concepts else None,
                role=row.role,
                duration_s=durations[row.pk],
                language=row.language,
            )
        )
    return scenes


def student_variant(*, student, lesson: Lesson) -> StudentVariant:
    """The student's plan for the lesson's published version (no encoding; fast)."""
    version = published_version(lesson)
    if version is None:
        raise VariantError(_("This lesson is not published."))
    rows = list(version.scenes.prefetch_related("concepts").order_by("position", "id"))
    plan = lesson_plan(
        policy_scenes(version, rows),
        evidence=student_mastery(student=student, course=lesson.course),
        models=course_policy_models(lesson.course),
        thresholds=course_thresholds(lesson.course),
        language=getattr(student, "language", "") or "",
    )
    storyboard = storyboard_from_version(version)
    index = {str(row.pk): i for i, row in enumerate(rows)}
    variant = replace(
        storyboard, scenes=tuple(storyboard.scenes[index[scene_id]] for scene_id in plan.order)
    )
    return StudentVariant(lesson, version, tuple(rows), plan, variant)


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
