"""Learner models and the sequencing policy on simulated classes with known parameters.

(a) Held-out AUC: two classes (several concepts, hundreds of students) answer from known BKT
parameters, one of them with transfer (knowing a concept when it ends raises the prior and
the learning rate of the next). Models are fitted on 80% of the students; Lectern chooses
among them on a validation part of those (so the choice never sees the test students) and
the chosen model's AUC on the held-out 20% is set beside plain per-concept BKT fitted by EM.

(b) Time to mastery: simulated students (true knowledge hidden) go through a lesson of a
title card and, per concept, core 90 s, remedial 60 s, enrichment 60 s, recap 30 s, with
15 s check questions. Lectern's policy (learning.policy.next_action, parameters fitted by
EM with bootstrap samples on another simulated class) runs until it declares every concept
mastered; its time is counted up to that moment, and a false stop is declaring it while a
concept is not truly known. The fixed lesson plays every scene in order, again and again,
until the student truly knows every concept (counted at that exact moment: generous to the
fixed lesson). The same false-stop count for a plain online BKT policy with default
parameters and a point threshold of 0.95 shows what the calibration buys.

python -m bench.knowledge_tracing [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from learning.knowledge import (  # noqa: E402
    DEFAULT_PARAMS,
    BKTParams,
    bootstrap_params,
    concept_sequences,
    evaluate_models,
    fit_bkt,
    simulate,
    split_students,
)
from learning.policy import (  # noqa: E402
    TEACHING_ROLES,
    ConceptModel,
    PolicyScene,
    Thresholds,
    next_action,
)

TRUE_PARAMS = {
    "fractions": BKTParams(0.25, 0.15, 0.2, 0.1),
    "ratios": BKTParams(0.15, 0.12, 0.25, 0.08),
    "percentages": BKTParams(0.35, 0.2, 0.2, 0.12),
    "proportion": BKTParams(0.2, 0.1, 0.15, 0.1),
}
TRANSFER = 0.5
CHECK_S = 15.0
DURATIONS_S = {"core": 90.0, "remedial": 60.0, "enrichment": 60.0, "recap": 30.0}


def lesson_scenes(concepts) -> list[PolicyScene]:
    scenes = [PolicyScene("title", None, "core", 10.0)]
    for c in concepts:
        scenes += [PolicyScene(f"{c}-{role}", c, role, s) for role, s in DURATIONS_S.items()]
    return scenes


def auc_section(*, students: int, answers: int, transfer: float, seed: int) -> dict:
    """Held-out AUC of every model, the one chosen on validation, and plain BKT."""
    data = simulate(
        TRUE_PARAMS, students=students, answers_per_concept=answers, seed=seed, transfer=transfer
    )
    train, test = split_students(data, seed=seed)
    inner_fit, inner_val = split_students(train, seed=seed + 1)
    started = time.perf_counter()
    validation, _ = evaluate_models(inner_fit, inner_val)
    held_out, _ = evaluate_models(train, test)
    chosen = validation.chosen
    return {
        "students": students,
        "answers": len(data),
        "transfer": transfer,
        "validation_auc": {k: round(v, 4) for k, v in validation.scores.items()},
        "test_auc": {k: round(v, 4) for k, v in held_out.scores.items()},
        "chosen": chosen,
        "chosen_auc": round(held_out.scores[f"{chosen}_auc"], 4),
        "plain_bkt_auc": round(held_out.scores["bkt_auc"], 4),
        "chosen_minus_bkt": round(held_out.scores[f"{chosen}_auc"] - held_out.scores["bkt_auc"], 4),
        "seconds": round(time.perf_counter() - started, 1),
    }


def fitted_models(*, students: int, answers: int, seed: int) -> dict[str, ConceptModel]:
    """Per-concept EM fits with bootstrap samples on a training class (as the app does)."""
    data = simulate(TRUE_PARAMS, students=students, answers_per_concept=answers, seed=seed)
    out = {}
    for concept, seqs in concept_sequences(data).items():
        params, _ll = fit_bkt(seqs)
        out[concept] = ConceptModel(params, tuple(bootstrap_params(seqs, fitted=params)))
    return out


def _learns(rng, known, concept, true) -> None:
    if not known[concept] and rng.random() < true[concept].learn:
        known[concept] = True


def policy_student(rng, scenes, models, thresholds) -> tuple[float, bool]:
    """One simulated student under the policy: (seconds until it declared mastery, false?)."""
    true = TRUE_PARAMS
    known = {c: rng.random() < p.prior for c, p in true.items()}
    by_id = {s.id: s for s in scenes}
    history, t = [], 0.0
    for _step in range(1000):
        action = next_action(
            scenes,
            concepts=list(true),
            history=history,
            models=models,
            thresholds=thresholds,
            check_s=CHECK_S,
            t=t,
        )
        if action.phase == "extend":
            return t, not all(known.values())
        if action.type == "check":
            p = true[action.concept]
            right = rng.random() < ((1 - p.slip) if known[action.concept] else p.guess)
            history.append({"type": "check", "concept": action.concept, "correct": right, "t": t})
            t += CHECK_S
            _learns(rng, known, action.concept, true)
        else:
            scene = by_id[action.id]
            history.append({"type": "scene", "id": scene.id, "t": t})
            t += scene.duration_s
            if scene.concept and scene.role in TEACHING_ROLES:
                _learns(rng, known, scene.concept, true)
    return t, not all(known.values())


def fixed_student(rng, scenes) -> float:
    """The fixed lesson, looped until every concept is truly known: seconds to that moment."""
    known = {c: rng.random() < p.prior for c, p in TRUE_PARAMS.items()}
    t = 0.0
    while not all(known.values()):
        for scene in scenes:
            t += scene.duration_s
            if scene.concept and scene.role in TEACHING_ROLES:
                _learns(rng, known, scene.concept, TRUE_PARAMS)
            if all(known.values()):
                break
    return t


def policy_section(*, students: int, train_students: int, seed: int) -> dict:
    scenes = lesson_scenes(TRUE_PARAMS)
    started = time.perf_counter()
    models = fitted_models(students=train_students, answers=10, seed=seed + 100)
    rng = random.Random(seed)
    runs = [policy_student(rng, scenes, models, Thresholds()) for _ in range(students)]
    fixed = [fixed_student(random.Random(seed + i), scenes) for i in range(students)]
    default = {c: ConceptModel(DEFAULT_PARAMS, (DEFAULT_PARAMS,)) for c in TRUE_PARAMS}
    plain = Thresholds(mastery=0.95, credible_level=0.5)
    rng = random.Random(seed + 1)
    plain_runs = [policy_student(rng, scenes, default, plain) for _ in range(students)]
    policy_mean = statistics.mean(t for t, _false in runs)
    fixed_mean = statistics.mean(fixed)
    return {
        "students": students,
        "concepts": len(TRUE_PARAMS),
        "fixed_lesson_s": round(sum(s.duration_s for s in scenes), 1),
        "fixed_time_to_mastery_s": round(fixed_mean, 1),
        "policy_time_to_mastery_s": round(policy_mean, 1),
        "time_saved_fraction": round(1 - policy_mean / fixed_mean, 4),
        "false_stop_rate": round(sum(f for _t, f in runs) / students, 4),
        "plain_bkt_default_false_stop_rate": round(sum(f for _t, f in plain_runs) / students, 4),
        "plain_bkt_default_time_s": round(statistics.mean(t for t, _f in plain_runs), 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


def classes_section(*, students: int, transfer: float, seeds: list[int]) -> dict:
    """auc_section over several simulated classes (one per seed): a single class of a few
    hundred students moves the AUC differences by about 0.003 from seed to seed."""
    runs = [
        auc_section(students=students, answers=6, transfer=transfer, seed=seed) for seed in seeds
    ]
    names = list(runs[0]["test_auc"])
    return {
        "classes": len(runs),
        "students": students,
        "transfer": transfer,
        "mean_test_auc": {
            n: round(statistics.mean(r["test_auc"][n] for r in runs), 4) for n in names
        },
        "chosen": [r["chosen"] for r in runs],
        "chosen_auc": round(statistics.mean(r["chosen_auc"] for r in runs), 4),
        "plain_bkt_auc": round(statistics.mean(r["plain_bkt_auc"] for r in runs), 4),
        "chosen_minus_bkt": round(statistics.mean(r["chosen_minus_bkt"] for r in runs), 4),
        "runs": runs,
    }


def measure_knowledge_tracing(*, quick: bool = False, seed: int = 0) -> dict:
    students = 200 if quick else 600
    seeds = [seed + 1] if quick else [seed + 1, seed + 2, seed + 3]
    return {
        "bkt_class": classes_section(students=students, transfer=0.0, seeds=seeds),
        "transfer_class": classes_section(students=students, transfer=TRANSFER, seeds=seeds),
        "policy": policy_section(
            students=150 if quick else 600, train_students=students, seed=seed
        ),
    }


def summary_lines(results: dict) -> list[str]:
    lines = []
    for name in ("bkt_class", "transfer_class"):
        r = results[name]
        lines.append(
            f"{name} ({r['classes']} classes): chosen {','.join(r['chosen'])} AUC "
            f"{r['chosen_auc']:.4f} vs plain BKT {r['plain_bkt_auc']:.4f} "
            f"({r['chosen_minus_bkt']:+.4f}); mean of each {r['mean_test_auc']}"
        )
    p = results["policy"]
    lines.append(
        f"policy: time to mastery {p['policy_time_to_mastery_s']:.0f} s vs fixed lesson "
        f"{p['fixed_time_to_mastery_s']:.0f} s ({p['time_saved_fraction']:.0%} less, target "
        f">= 45%); false stops {p['false_stop_rate']:.1%} (target < 3%); plain BKT with "
        f"default parameters {p['plain_bkt_default_false_stop_rate']:.1%}"
    )
    return lines


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results = measure_knowledge_tracing(quick=args.quick, seed=args.seed)
    for line in summary_lines(results):
        print(line)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
