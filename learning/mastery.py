"""Mastery on the Django side: the online update on each answer, the course's periodic fit
(EM per concept, model choice by held-out AUC) and the inputs the sequencing policy reads.

The maths is in learning/knowledge.py; this module only moves rows in and out of it.

The fit scores plain BKT, BKT with a prerequisite term and DKT on held-out students and
records the choice (CourseLearnerModel.chosen, .scores); the chosen model is then refitted on
every answer and is the one the policy uses for a student (student_policy_models): BKT with
transfer gives each concept the parameters (and bootstrap samples) of the student's group,
so mastering the prerequisite raises what follows; DKT gives each concept its P(known) now
(from its predicted P(right), through the concept's guess and slip), while the stopping rule
keeps the lower of that and BKT's lower credible bound, so a richer model never makes the
policy declare mastery earlier than the calibrated BKT bound would (bench/knowledge_tracing.py).
The heatmap shows the per-concept BKT estimate (Mastery rows) whatever is chosen.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import replace

from django.db import transaction
from django.utils import timezone

from courses.models import Checkpoint, Concept, Course
from learning import knowledge
from learning.knowledge import DEFAULT_PARAMS, BKTParams, Response
from learning.models import CheckpointAnswer, ConceptParams, CourseLearnerModel, Mastery
from learning.policy import ConceptModel, Thresholds, default_concept_model

logger = logging.getLogger(__name__)

BOOTSTRAP_SAMPLES = 20


def checkpoint_concepts(checkpoint: Checkpoint) -> list[Concept]:
    """The question's concepts, or else those of the scene it follows."""
    concepts = list(checkpoint.concepts.all())
    return concepts or list(checkpoint.scene.concepts.all())


def concept_params(concept: Concept) -> BKTParams:
    row = ConceptParams.objects.filter(concept=concept).first()
    if row is None:
        return DEFAULT_PARAMS
    return BKTParams(row.prior, row.learn, row.guess, row.slip)


def concept_samples(concept: Concept) -> list[BKTParams]:
    row = ConceptParams.objects.filter(concept=concept).first()
    if row is None or not row.samples:
        return knowledge.default_param_samples(samples=BOOTSTRAP_SAMPLES)
    return [BKTParams.from_dict(sample) for sample in row.samples]


def mastery_record_answer(*, student, checkpoint: Checkpoint, correct: bool) -> list[Mastery]:
    """The BKT step for each concept of the question (called in the answer's transaction)."""
    updated = []
    for concept in checkpoint_concepts(checkpoint):
        params = concept_params(concept)
        row, _created = Mastery.objects.select_for_update().get_or_create(
            student=student, concept=concept, defaults={"p_known": params.prior}
        )
        row.p_known = knowledge.bkt_update(row.p_known, correct, params)
        row.answers = [*row.answers, int(correct)]
        row.save(update_fields=["p_known", "answers", "updated_at"])
        updated.append(row)
    return updated


def course_responses(course: Course, *, student=None) -> list[Response]:
    """Every counted answer in the course (of one student, given) with a concept, in time
    order, as Responses."""
    answers = CheckpointAnswer.objects.filter(lesson__course=course)
    if student is not None:
        answers = answers.filter(student=student)
    answers = (
        answers.select_related("checkpoint__scene")
        .prefetch_related("checkpoint__concepts", "checkpoint__scene__concepts")
        .order_by("student_id", "answered_at", "id")
    )
    out = []
    for answer in answers:
        for concept in checkpoint_concepts(answer.checkpoint):
            out.append(Response(str(answer.student_id), concept.slug, int(answer.is_correct)))
    return out


def course_learner_model(course: Course) -> CourseLearnerModel:
    row, _created = CourseLearnerModel.objects.get_or_create(course=course)
    return row


def course_learner_model_fit(*, course: Course, seed: int = 0) -> CourseLearnerModel:
    """Fit each concept's BKT by EM with bootstrap samples, score the models on held-out
    students, record the choice, and re-trace every student's mastery with the new fit."""
    responses = course_responses(course)
    sequences = knowledge.concept_sequences(responses)
    fitted_at = timezone.now()
    model = course_learner_model(course)
    scores, chosen = {}, "bkt"
    if len(knowledge.by_student(responses)) >= 5:
        train, test = knowledge.split_students(responses, seed=seed)
        evaluation, _models = knowledge.evaluate_models(train, test)
        scores, chosen = evaluation.as_dict(), evaluation.chosen
    with transaction.atomic():
        for concept in course.concepts.all():
            seqs = sequences.get(concept.slug, [])
            params, _ll = knowledge.fit_bkt(seqs)
            params = BKTParams.from_dict(params.as_dict())  # as stored, so traces match
            samples = knowledge.bootstrap_params(
                seqs, fitted=params, samples=BOOTSTRAP_SAMPLES, seed=seed
            )
            ConceptParams.objects.update_or_create(
                concept=concept,
                defaults={
                    **params.as_dict(),
                    "samples": [s.as_dict() for s in samples],
                    "answers": sum(len(s) for s in seqs),
                    "fitted_at": fitted_at,
                },
            )
            for row in Mastery.objects.filter(concept=concept):
                _pred, row.p_known = knowledge.bkt_trace(row.answers, params)
                row.save(update_fields=["p_known", "updated_at"])
        model.chosen, model.scores = chosen, scores
        model.model_state, model.model_weights = chosen_model_state(chosen, responses, seed=seed)
        model.answers, model.fitted_at = len(responses), fitted_at
        model.save()
    return model


def chosen_model_state(chosen: str, responses: list[Response], *, seed: int = 0):
    """(JSON state, weights) of the chosen model refitted on every response; empty for BKT."""
    if chosen == knowledge.TransferBKTModel.name:
        fitted = knowledge.TransferBKTModel().fit(responses)
        samples = fitted.group_samples(samples=BOOTSTRAP_SAMPLES, seed=seed)
        groups = {
            f"{concept}|{int(group)}": {
                "params": params.as_dict(),
                "samples": [sample.as_dict() for sample in samples[(concept, group)]],
            }
            for (concept, group), params in fitted.params.items()
        }
        base = {c: params.as_dict() for c, params in fitted.base.params.items()}
        return {"order": fitted.order, "base": base, "groups": groups}, b""
    if chosen == knowledge.DKTModel.name:
        return {}, knowledge.dkt_state_bytes(knowledge.DKTModel().fit(responses))
    return {}, b""


def student_policy_models(*, student, course: Course | None) -> dict[str, ConceptModel]:
    """The concept models the policy uses for this student: the course's per-concept BKT,
    made the chosen model's when that is BKT with transfer or DKT (module docstring)."""
    models = course_policy_models(course)
    row = CourseLearnerModel.objects.filter(course=course).first() if course else None
    if row is None or row.chosen == knowledge.BKTModel.name:
        return models
    responses = course_responses(course, student=student)
    if row.chosen == knowledge.TransferBKTModel.name and row.model_state:
        return {**models, **_transfer_models(row.model_state, responses)}
    if row.chosen == knowledge.DKTModel.name and row.model_weights:
        dkt = _fitted_dkt(row.pk, row.fitted_at, bytes(row.model_weights))
        predicted = knowledge.dkt_next_p_correct(dkt, responses)
        for concept, p_correct in predicted.items():
            base = models.get(concept) or default_concept_model()
            point = knowledge.p_known_from_p_correct(p_correct, base.params)
            models[concept] = replace(base, point=point)
    return models


@functools.lru_cache(maxsize=16)
def _fitted_dkt(row_id: int, fitted_at, weights: bytes) -> knowledge.DKTModel:
    """A course's DKT, loaded once per fit: the variant page and its status poll ask for
    the student's models on every request."""
    return knowledge.dkt_from_bytes(weights)


def _transfer_models(state: dict, responses: list[Response]) -> dict[str, ConceptModel]:
    transfer = knowledge.TransferBKTModel()
    transfer.order = list(state["order"])
    transfer.base.params = {c: BKTParams.from_dict(p) for c, p in state["base"].items()}
    out = {}
    for concept, group in transfer.student_groups(responses).items():
        found = state["groups"].get(f"{concept}|{int(group)}")
        if found:
            params = BKTParams.from_dict(found["params"])
            samples = tuple(BKTParams.from_dict(s) for s in found["samples"]) or (params,)
            out[concept] = ConceptModel(params, samples)
    return out


def learner_models_fit_all() -> int:
    """Refit every course with answers newer than its last fit; returns how many."""
    count = 0
    for course in Course.objects.filter(lessons__learning_events__kind="answered").distinct():
        model = CourseLearnerModel.objects.filter(course=course).first()
        newest = (
            CheckpointAnswer.objects.filter(lesson__course=course)
            .order_by("-answered_at")
            .values_list("answered_at", flat=True)
            .first()
        )
        if model and model.fitted_at and newest and newest <= model.fitted_at:
            continue
        course_learner_model_fit(course=course)
        count += 1
    return count


def student_mastery(*, student, course: Course) -> dict[str, list[int]]:
    """{concept slug: the student's answers in order} for the course's concepts."""
    rows = Mastery.objects.filter(student=student, concept__course=course).select_related("concept")
    return {row.concept.slug: list(row.answers) for row in rows}


def class_mastery(*, students, course: Course) -> dict[int, dict[str, float]]:
    """{student id: {concept slug: P(known)}} for a heatmap."""
    out: dict[int, dict[str, float]] = {s.pk: {} for s in students}
    rows = Mastery.objects.filter(student__in=students, concept__course=course).select_related(
        "concept"
    )
    for row in rows:
        out[row.student_id][row.concept.slug] = round(row.p_known, 3)
    return out


def course_policy_models(course: Course | None) -> dict[str, ConceptModel]:
    """{concept slug: fitted parameters and samples} of a course; {} (defaults) without one."""
    if course is None:
        return {}
    out = {}
    for row in ConceptParams.objects.filter(concept__course=course).select_related("concept"):
        params = BKTParams(row.prior, row.learn, row.guess, row.slip)
        samples = tuple(BKTParams.from_dict(s) for s in row.samples) or (params,)
        out[row.concept.slug] = ConceptModel(params, samples)
    return out


def course_thresholds(course: Course | None) -> Thresholds:
    row = CourseLearnerModel.objects.filter(course=course).first() if course else None
    if row is None:
        return Thresholds()
    return Thresholds(
        mastery=row.mastery_threshold,
        credible_level=row.credible_level,
        remedial=row.remedial_threshold,
        enrichment=row.enrichment_threshold,
    )


# The heatmap colours P(known) in five steps (CSS classes mastery-0 .. mastery-4).
def mastery_bucket(p: float | None) -> int | None:
    return None if p is None else min(4, int(p * 5))


def class_heatmap(classroom, students) -> dict:
    """Students by concepts of the class's courses: P(known) and its colour step per cell."""
    concepts = list(
        Concept.objects.filter(course__classrooms=classroom)
        .select_related("course")
        .order_by("course__title", "id")
    )
    by_student = {s.pk: {} for s in students}
    for row in Mastery.objects.filter(student__in=students, concept__in=concepts):
        by_student[row.student_id][row.concept_id] = row.p_known
    rows = []
    for student in students:
        cells = []
        for concept in concepts:
            p = by_student[student.pk].get(concept.pk)
            cells.append(
                {
                    "concept": concept.pk,
                    "p": None if p is None else round(p, 2),
                    "percent": None if p is None else round(p * 100),
                    "bucket": mastery_bucket(p),
                }
            )
        rows.append({"student": student, "cells": cells})
    return {"concepts": concepts, "rows": rows}


def student_mastery_payload(*, student, course: Course) -> list[dict]:
    """The student's cells of one course for a live heatmap update."""
    out = []
    for row in Mastery.objects.filter(student=student, concept__course=course):
        out.append(
            {
                "concept": row.concept_id,
                "percent": round(row.p_known * 100),
                "bucket": mastery_bucket(row.p_known),
            }
        )
    return out


THRESHOLD_FIELDS = (
    "mastery_threshold",
    "credible_level",
    "remedial_threshold",
    "enrichment_threshold",
)


def course_thresholds_update(*, course: Course, values: dict[str, float]) -> CourseLearnerModel:
    """A teacher's thresholds for a course; each between 0 and 1, remedial under enrichment."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    row = course_learner_model(course)
    for name in THRESHOLD_FIELDS:
        value = values.get(name)
        if value is None:
            continue
        if not 0 < value < 1:
            raise ValidationError(_("Each threshold is a number between 0 and 1."))
        setattr(row, name, value)
    if row.remedial_threshold >= row.enrichment_threshold:
        raise ValidationError(_("The remedial threshold must be below the enrichment one."))
    row.full_clean()
    row.save()
    return row
