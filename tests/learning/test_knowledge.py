"""Learner-model maths: EM recovers known BKT parameters, the online update, AUC, choice."""

from __future__ import annotations

import pytest

from learning.knowledge import (
    DEFAULT_PARAMS,
    BKTParams,
    Response,
    auc,
    bkt_posterior,
    bkt_update,
    bootstrap_params,
    concept_sequences,
    evaluate_models,
    fit_bkt,
    mastery_bounds,
    simulate,
    split_students,
)

TRUE = BKTParams(prior=0.2, learn=0.15, guess=0.25, slip=0.1)


def test_em_recovers_known_parameters_from_simulated_answers():
    data = simulate({"a": TRUE}, students=800, answers_per_concept=15, seed=3)
    fitted, _ll = fit_bkt(concept_sequences(data)["a"])
    for name in ("prior", "learn", "guess", "slip"):
        assert getattr(fitted, name) == pytest.approx(getattr(TRUE, name), abs=0.04), name


def test_em_with_no_or_little_data_stays_near_the_defaults():
    assert fit_bkt([])[0] == DEFAULT_PARAMS
    few, _ll = fit_bkt([[1], [0]])
    assert few.learn == pytest.approx(DEFAULT_PARAMS.learn, abs=0.1)
    assert few.slip < 0.45 and few.guess < 0.45


def test_online_update_follows_bayes_then_learning():
    p = BKTParams(prior=0.5, learn=0.2, guess=0.2, slip=0.1)
    # Right: 0.5*0.9 / (0.5*0.9 + 0.5*0.2) = 0.8181...; then learn: + (1-.)*0.2.
    assert bkt_posterior(0.5, True, p) == pytest.approx(0.45 / 0.55)
    assert bkt_update(0.5, True, p) == pytest.approx(0.45 / 0.55 + (1 - 0.45 / 0.55) * 0.2)
    # Wrong: 0.5*0.1 / (0.5*0.1 + 0.5*0.8) = 1/9.
    assert bkt_posterior(0.5, False, p) == pytest.approx(1 / 9)
    assert bkt_update(0.5, False, p) > bkt_posterior(0.5, False, p)


def test_auc_counts_ranked_pairs_and_ties():
    assert auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]) == 0.0
    assert auc([0, 1], [0.5, 0.5]) == 0.5
    # 2 positives x 2 negatives: pairs (0.8>0.3), (0.8>0.6), (0.4>0.3), (0.4<0.6) -> 3/4.
    assert auc([1, 0, 1, 0], [0.8, 0.3, 0.4, 0.6]) == 0.75
    assert auc([1, 1], [0.2, 0.3]) == 0.5


def test_models_are_scored_on_held_out_students_and_one_is_chosen():
    data = simulate({"a": TRUE, "b": TRUE}, students=200, answers_per_concept=8, seed=4)
    train, test = split_students(data, seed=1)
    assert {r.student for r in train}.isdisjoint({r.student for r in test})
    evaluation, _models = evaluate_models(train, test)
    assert set(evaluation.scores) == {"bkt_auc", "dkt_auc", "bkt_transfer_auc"}
    assert evaluation.scores["bkt_auc"] > 0.65
    best = max(evaluation.scores.values())
    if evaluation.chosen != "bkt":
        assert evaluation.scores[f"{evaluation.chosen}_auc"] == best
        assert best > evaluation.scores["bkt_auc"] + 0.003
    else:
        assert best <= evaluation.scores["bkt_auc"] + 0.003


def test_lower_bound_is_below_the_mean_and_rises_with_right_answers():
    samples = bootstrap_params(
        concept_sequences(simulate({"a": TRUE}, students=60, answers_per_concept=6))["a"],
        fitted=TRUE,
        samples=10,
    )
    mean2, low2 = mastery_bounds([1, 1], samples)
    mean5, low5 = mastery_bounds([1, 1, 1, 1, 1], samples)
    assert low2 <= mean2 and low5 <= mean5
    assert low5 > low2


def test_responses_keep_the_csv_shape():
    assert Response("s1", "a", 1).correct == 1
