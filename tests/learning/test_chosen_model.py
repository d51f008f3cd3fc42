"""The learner model a course's fit chose is the one the policy uses for each student: BKT
with transfer through the student's group, DKT through its P(known) now."""

from __future__ import annotations

from dataclasses import replace

import pytest

from courses.models import Concept
from learning import mastery
from learning.knowledge import BKTParams, Response, simulate
from learning.mastery import chosen_model_state, course_policy_models, student_policy_models
from learning.models import CourseLearnerModel
from learning.policy import Thresholds, estimate

TRUE = BKTParams(prior=0.2, learn=0.15, guess=0.2, slip=0.1)
pytestmark = pytest.mark.django_db


@pytest.fixture
def concepts(course):
    for slug in ("a", "b"):
        Concept.objects.create(course=course, slug=slug, name=slug.upper())
    return course


@pytest.fixture
def class_answers():
    """A class where knowing a makes b come easier (transfer 0.6)."""
    return simulate({"a": TRUE, "b": TRUE}, students=300, answers_per_concept=6, transfer=0.6)


def models_for(course, sam, monkeypatch, answers: list[Response]):
    monkeypatch.setattr(mastery, "course_responses", lambda course, student=None: answers)
    return student_policy_models(student=sam, course=course)


def chosen(course, name: str, answers: list[Response]) -> None:
    state, weights = chosen_model_state(name, answers)
    CourseLearnerModel.objects.update_or_create(
        course=course, defaults={"chosen": name, "model_state": state, "model_weights": weights}
    )


def test_with_transfer_chosen_a_student_who_knows_the_prerequisite_starts_higher(
    concepts, sam, monkeypatch, class_answers
):
    chosen(concepts, "bkt_transfer", class_answers)
    groups = CourseLearnerModel.objects.get(course=concepts).model_state["groups"]
    assert groups["b|1"]["params"]["prior"] > groups["b|0"]["params"]["prior"] + 0.2
    knows_a = [Response("sam", "a", 1)] * 6
    lost_on_a = [Response("sam", "a", 0)] * 6

    strong = models_for(concepts, sam, monkeypatch, knows_a)["b"]
    weak = models_for(concepts, sam, monkeypatch, lost_on_a)["b"]

    assert strong.params.as_dict() == groups["b|1"]["params"]
    assert weak.params.as_dict() == groups["b|0"]["params"]
    assert len(strong.samples) == mastery.BOOTSTRAP_SAMPLES
    thresholds = Thresholds()
    assert estimate((), strong, thresholds).mean > estimate((), weak, thresholds).mean + 0.2


def test_with_dkt_chosen_each_concept_gets_its_estimate_and_a_bound_no_higher(
    concepts, sam, monkeypatch, class_answers
):
    chosen(concepts, "dkt", class_answers)
    right = [Response("sam", "a", 1)] * 6
    wrong = [Response("sam", "a", 0)] * 6

    after_right = models_for(concepts, sam, monkeypatch, right)["a"]
    after_wrong = models_for(concepts, sam, monkeypatch, wrong)["a"]

    assert after_right.point > after_wrong.point + 0.2
    thresholds = Thresholds()
    found = estimate([1] * 6, after_right, thresholds)
    bkt_only = estimate([1] * 6, replace(after_right, point=None), thresholds)
    assert found.mean == after_right.point
    assert found.lower <= min(found.mean, bkt_only.lower)


def test_with_plain_bkt_chosen_the_course_parameters_are_used(concepts, sam, monkeypatch):
    CourseLearnerModel.objects.create(course=concepts, chosen="bkt")

    assert models_for(concepts, sam, monkeypatch, [Response("sam", "a", 1)]) == (
        course_policy_models(concepts)
    )
