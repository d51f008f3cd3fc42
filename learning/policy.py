"""The sequencing policy, pure (no Django): which scenes of a lesson a student sees, and why.

Two faces over the same rules:
- `lesson_plan` decides a whole variant at once from the student's answers so far (the
  video the app plays and `personalize` writes): every scene in or out with a reason;
- `next_action` decides one step at a time from a session's history (what `policy_serve`
  answers): a scene, a check question on a concept, or stop.

The rules: scenes without a concept are always shown; a core scene of a concept is its
introduction, skipped when the student has mastered the concept; remedial scenes come when
P(known) is under the remedial threshold after a wrong answer; enrichment when it is high;
recap scenes of weak concepts go at the end; among scenes given in several languages (same
`group`), the student's language. Mastery is calibrated for parameter uncertainty: P(known)
is traced under every bootstrap sample of the concept's parameters, and a concept counts as
mastered only when the lower credible bound reaches the threshold, not the point estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from learning.knowledge import BKTParams, bkt_learn, bkt_update, default_param_samples

CORE, REMEDIAL, ENRICHMENT, RECAP = "core", "remedial", "enrichment", "recap"
# Scenes that teach their concept: each is a learning opportunity in the model.
TEACHING_ROLES = (CORE, REMEDIAL, RECAP)


@dataclass(frozen=True)
class Thresholds:
    mastery: float = 0.98  # lower credible bound of P(known) that counts as mastered
    credible_level: float = 0.95
    remedial: float = 0.6  # P(known) under which a wrong answer brings the remedial scene
    enrichment: float = 0.85  # P(known) from which the enrichment scene is offered
    max_checks: int = 40  # questions on one concept before the policy moves on
    pre_checks: int = 3  # questions that may replace an introduction


@dataclass(frozen=True)
class PolicyScene:
    id: str
    concept: str | None
    role: str = CORE
    duration_s: float = 0.0
    language: str = ""
    group: str = ""  # scenes with the same group are one scene in several languages


@dataclass(frozen=True)
class ConceptModel:
    """A concept's fitted parameters and samples of them (their uncertainty); `point`, a
    richer model's P(known) now for a student, replaces the traced mean and caps the lower
    bound (learning.mastery.student_policy_models)."""

    params: BKTParams
    samples: tuple[BKTParams, ...]
    point: float | None = None


def default_concept_model() -> ConceptModel:
    samples = tuple(default_param_samples())
    return ConceptModel(BKTParams(), samples)


@dataclass(frozen=True)
class Estimate:
    mean: float
    lower: float
    answers: int

    def text(self) -> str:
        return f"P(known) {self.mean:.2f}, lower bound {self.lower:.2f}, {self.answers} answers"


# Evidence on a concept, in order: 1 or 0 (a right or wrong answer), or "learn" (a scene).
Evidence = Sequence[int | str]


def estimate(evidence: Evidence, model: ConceptModel, thresholds: Thresholds) -> Estimate:
    """P(known) now, traced under every parameter sample: their mean and lower bound."""
    values = []
    for params in model.samples or (model.params,):
        p = params.prior
        for item in evidence:
            p = bkt_learn(p, params) if item == "learn" else bkt_update(p, bool(item), params)
        values.append(p)
    arr = np.array(values)
    answers = sum(1 for item in evidence if item != "learn")
    mean, lower = float(arr.mean()), float(np.quantile(arr, 1 - thresholds.credible_level))
    if model.point is not None:
        mean, lower = model.point, min(lower, model.point)
    return Estimate(mean, lower, answers)


def _by_language(scenes: Sequence[PolicyScene], language: str) -> tuple[list, dict[str, str]]:
    """Scenes with one per group (the student's language if given); others' reasons."""
    kept, dropped, groups = [], {}, {}  # dropped: {id: (reason code, args)}
    for scene in scenes:
        if scene.group:
            groups.setdefault(scene.group, []).append(scene)
    chosen = {
        g: next((s for s in members if language and s.language == language), members[0]).id
        for g, members in groups.items()
    }
    for scene in scenes:
        if scene.group and chosen[scene.group] != scene.id:
            dropped[scene.id] = ("language", {"language": scene.language or "-"})
        else:
            kept.append(scene)
    return kept, dropped


# Why a scene is in or out: code -> English text (%-style). The app shows them translated
# (learning/variants.py holds the same texts for gettext); the CLI and JSON use these.
REASONS = {
    "everyone": "no concept: shown to everyone",
    "no_concept": "%(role)s scene without a concept",
    "language": "shown in another language (%(language)s)",
    "mastered": "introduces %(concept)s, already mastered (%(estimate)s >= %(threshold)s)",
    "introduces": "introduces %(concept)s, not mastered yet (%(estimate)s)",
    "remedial": "%(concept)s needs another explanation (%(estimate)s < %(threshold)s)",
    "no_answers": "no answers on %(concept)s yet",
    "understood": "%(concept)s understood well enough (%(estimate)s >= %(threshold)s)",
    "enrichment": "%(concept)s is strong: more depth (%(estimate)s >= %(threshold)s)",
    "not_strong": "%(concept)s not strong enough for enrichment (%(estimate)s < %(threshold)s)",
    "recap": "%(concept)s is weak: recap at the end (%(estimate)s)",
    "no_recap": "%(concept)s is strong: no recap needed (%(estimate)s)",
    "unknown_role": "unknown role %(role)s: shown",
}
ESTIMATE_TEXT = "P(known) %(mean)s, lower bound %(lower)s, %(answers)s answers"


@dataclass(frozen=True)
class PlanItem:
    scene: PolicyScene
    included: bool
    code: str
    args: dict = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return reason_text(self.code, self.args)


def reason_text(code: str, args: dict, *, templates=None, estimate_template=None) -> str:
    """A reason in words; the app passes translated templates."""
    values = dict(args)
    if "mean" in args:
        values["estimate"] = (estimate_template or ESTIMATE_TEXT) % args
    return (templates or REASONS)[code] % values


def _args(concept: str, e: Estimate, threshold: float | None = None) -> dict:
    args = {"concept": concept, "mean": f"{e.mean:.2f}", "lower": f"{e.lower:.2f}",
            "answers": e.answers}  # fmt: skip
    if threshold is not None:
        args["threshold"] = f"{threshold:.2f}"
    return args


@dataclass(frozen=True)
class LessonPlan:
    items: tuple[PlanItem, ...]  # every scene of the lesson, in lesson order
    order: tuple[str, ...]  # the ids shown, in playing order (recaps last)
    estimates: dict[str, Estimate] = field(default_factory=dict)

    def duration_s(self) -> float:
        shown = set(self.order)
        return sum(i.scene.duration_s for i in self.items if i.scene.id in shown)

    def as_dict(self) -> dict:
        return {
            "order": list(self.order),
            "duration_s": round(self.duration_s(), 2),
            "scenes": [
                {
                    "id": i.scene.id,
                    "concept": i.scene.concept,
                    "role": i.scene.role,
                    "included": i.included,
                    "reason": i.reason,
                }
                for i in self.items
            ],
            "mastery": {
                c: {"mean": round(e.mean, 3), "lower": round(e.lower, 3), "answers": e.answers}
                for c, e in self.estimates.items()
            },
        }


def lesson_plan(
    scenes: Sequence[PolicyScene],
    *,
    evidence: dict[str, Evidence],
    models: dict[str, ConceptModel],
    thresholds: Thresholds = Thresholds(),
    language: str = "",
) -> LessonPlan:
    """The student's variant of a lesson, each scene in or out with the reason."""
    kept, dropped = _by_language(scenes, language)
    estimates = {
        c: estimate(evidence.get(c, ()), models.get(c) or default_concept_model(), thresholds)
        for c in dict.fromkeys(s.concept for s in scenes if s.concept)
    }
    decisions: dict[str, tuple] = {k: (False, *v) for k, v in dropped.items()}
    for scene in kept:
        decisions[scene.id] = _static_decision(scene, estimates, thresholds)
    items = tuple(PlanItem(s, *decisions[s.id]) for s in scenes)
    shown = [i.scene for i in items if i.included]
    order = [s.id for s in shown if s.role != RECAP] + [s.id for s in shown if s.role == RECAP]
    return LessonPlan(items, tuple(order), estimates)


# Seconds a student takes to answer one question (policy_serve's default too).
CHECK_S = 15.0


def pre_check_concepts(
    plan: LessonPlan,
    scenes: Sequence[PolicyScene],
    *,
    evidence: dict[str, Evidence],
    models: dict[str, ConceptModel],
    questions: dict[str, int],
    thresholds: Thresholds = Thresholds(),
    check_s: float = CHECK_S,
) -> list[str]:
    """Concepts worth a few questions before the video (as next_action's pre-checks): the
    plan shows the concept's introduction, the student has no answer on it yet, answering
    its questions (at most thresholds.pre_checks) right would count it mastered, so the
    introduction would go, and the time that saves in expectation (P(known) x its length)
    exceeds the questions' time."""
    shown = {item.scene.id for item in plan.items if item.included}
    out = []
    for concept, e in plan.estimates.items():
        count = min(questions.get(concept, 0), thresholds.pre_checks)
        intro = [s for s in scenes if s.concept == concept and s.role == CORE and s.id in shown]
        intro_s = sum(s.duration_s for s in intro)
        if not count or e.answers or not intro or e.mean * intro_s <= count * check_s:
            continue
        model = models.get(concept) or default_concept_model()
        after = estimate([*evidence.get(concept, ()), *[1] * count], model, thresholds)
        if after.lower >= thresholds.mastery:
            out.append(concept)
    return out


def _static_decision(
    scene: PolicyScene, estimates: dict[str, Estimate], t: Thresholds
) -> tuple[bool, str, dict]:
    if not scene.concept:
        if scene.role in (CORE, RECAP):
            return True, "everyone", {}
        return False, "no_concept", {"role": scene.role}
    e = estimates[scene.concept]
    c = scene.concept
    mastered = e.lower >= t.mastery
    if scene.role == CORE:
        if mastered:
            return False, "mastered", _args(c, e, t.mastery)
        return True, "introduces", _args(c, e)
    if scene.role == REMEDIAL:
        if e.answers and e.mean < t.remedial:
            return True, "remedial", _args(c, e, t.remedial)
        if not e.answers:
            return False, "no_answers", {"concept": c}
        return False, "understood", _args(c, e, t.remedial)
    if scene.role == ENRICHMENT:
        if e.mean >= t.enrichment:
            return True, "enrichment", _args(c, e, t.enrichment)
        return False, "not_strong", _args(c, e, t.enrichment)
    if scene.role == RECAP:
        if not mastered and e.mean < t.enrichment:
            return True, "recap", _args(c, e)
        return False, "no_recap", _args(c, e)
    return True, "unknown_role", {"role": scene.role}


# --- One decision at a time --------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    type: str  # "scene" | "check" | "stop"
    id: str | None = None
    concept: str | None = None
    reason: str = ""
    # "learn" while concepts are being mastered, "extend" for enrichment and recaps after.
    phase: str = "learn"

    def as_dict(self) -> dict:
        if self.type == "scene":
            return {"type": "scene", "id": self.id}
        if self.type == "check":
            return {"type": "check", "concept": self.concept}
        return {"type": "stop"}


def session_evidence(
    history: Sequence[dict], scenes_by_id: dict[str, PolicyScene]
) -> dict[str, list]:
    """Evidence per concept from a session's history (checks and teaching scenes)."""
    out: dict[str, list] = {}
    for item in history:
        if item.get("type") == "check" and item.get("concept"):
            out.setdefault(str(item["concept"]), []).append(int(bool(item.get("correct"))))
        elif item.get("type") == "scene":
            scene = scenes_by_id.get(str(item.get("id")))
            if scene and scene.concept and scene.role in TEACHING_ROLES:
                out.setdefault(scene.concept, []).append("learn")
    return out


def next_action(
    scenes: Sequence[PolicyScene],
    *,
    concepts: Sequence[str],
    history: Sequence[dict],
    models: dict[str, ConceptModel],
    thresholds: Thresholds = Thresholds(),
    check_s: float = CHECK_S,
    t: float = 0.0,
    cap_s: float | None = None,
    prior_evidence: dict[str, Evidence] | None = None,
    language: str = "",
) -> Action:
    """The next step of a session: finish each concept in course order (pre-checks where
    they save time, the introduction, checks, remedial after wrong answers) until its lower
    bound reaches the threshold, then enrichment for strong concepts and recaps of weak ones
    while time allows, then stop."""
    scenes, _dropped = _by_language(scenes, language)
    by_id = {s.id: s for s in scenes}
    seen = {str(h.get("id")) for h in history if h.get("type") == "scene"}
    session = session_evidence(history, by_id)
    evidence = {c: [*(prior_evidence or {}).get(c, ()), *session.get(c, ())] for c in concepts}
    left_s = float("inf") if not cap_s else cap_s - t
    order = list(dict.fromkeys([*concepts, *(s.concept for s in scenes if s.concept)]))
    checks = {c: [h for h in history if h.get("type") == "check" and h.get("concept") == c]
              for c in order}  # fmt: skip

    def model(c: str) -> ConceptModel:
        return models.get(c) or default_concept_model()

    def first_position(c: str) -> int:
        return next((i for i, s in enumerate(scenes) if s.concept == c), len(scenes))

    weak: list[str] = []
    for c in order:
        # Scenes for everyone (a title card) that come before this concept's scenes.
        for s in scenes[: first_position(c)]:
            if not s.concept and s.role == CORE and s.id not in seen:
                return Action("scene", id=s.id, reason="no concept: shown to everyone")
        e = estimate(evidence.get(c, ()), model(c), thresholds)
        wrong = [h for h in checks[c] if not h.get("correct")]
        if wrong or e.mean < thresholds.remedial:
            weak.append(c)
        if e.lower >= thresholds.mastery and _ends_right(evidence.get(c, ())):
            continue
        if len(checks[c]) >= thresholds.max_checks:
            continue  # moved on: the recap and the teacher's dashboard take it from here
        if left_s <= 0:
            return Action("stop", reason="time is up")
        core = [s for s in scenes if s.concept == c and s.role == CORE and s.id not in seen]
        if core:
            intro_s = sum(s.duration_s for s in core)
            pre = checks[c]
            all_right = all(h.get("correct") for h in pre)
            # Pre-checks pay when the expected introduction time saved exceeds their cost.
            if (
                all_right
                and len(pre) < thresholds.pre_checks
                and e.mean * intro_s > thresholds.pre_checks * check_s
            ):
                return Action("check", concept=c, reason=f"pre-check on {c} ({e.text()})")
            return Action("scene", id=core[0].id, reason=f"introduces {c} ({e.text()})")
        last = _last_event(history, c, by_id)
        if last is not None and last.get("type") == "check" and not last.get("correct"):
            remedial = [
                s for s in scenes if s.concept == c and s.role == REMEDIAL and s.id not in seen
            ]
            if remedial and e.mean < thresholds.remedial:
                return Action(
                    "scene", id=remedial[0].id, reason=f"wrong answer on {c}: remedial ({e.text()})"
                )
        return Action("check", concept=c, reason=f"checking {c} ({e.text()})")
    for s in scenes:
        if not s.concept and s.role == CORE and s.id not in seen:
            return Action("scene", id=s.id, reason="no concept: shown to everyone", phase="extend")
    for c in order:
        e = estimate(evidence.get(c, ()), model(c), thresholds)
        for s in scenes:
            if (
                s.concept == c
                and s.role == ENRICHMENT
                and s.id not in seen
                and e.mean >= thresholds.enrichment
                and c not in weak
                and s.duration_s <= left_s
            ):
                return Action("scene", id=s.id, reason=f"{c} is strong: enrichment", phase="extend")
    for c in weak:
        for s in scenes:
            if s.concept == c and s.role == RECAP and s.id not in seen and s.duration_s <= left_s:
                return Action("scene", id=s.id, reason=f"{c} was weak: recap", phase="extend")
    return Action("stop", reason="every concept mastered", phase="extend")


def _ends_right(evidence: Evidence) -> bool:
    """The last answer on the concept was right (or it has no answer: mastered from the
    prior); a concept is never declared mastered on a wrong answer."""
    answers = [item for item in evidence if item != "learn"]
    return not answers or bool(answers[-1])


def _last_event(history: Sequence[dict], concept: str, by_id: dict[str, PolicyScene]):
    for item in reversed(history):
        if item.get("type") == "check" and item.get("concept") == concept:
            return item
        if item.get("type") == "scene":
            scene = by_id.get(str(item.get("id")))
            if scene and scene.concept == concept:
                return item
    return None
