"""Learner models, pure maths (numpy and torch, no Django): Bayesian Knowledge Tracing with
its online update and an EM fit, BKT with a prerequisite transfer term, a small deep
knowledge-tracing LSTM, bootstrap parameter samples and the AUC used to choose among them.

A response log is a list of `Response(student, concept, correct)` in time order per student.
pyBKT does not run on numpy 2 (see ../shared/toolchain.md), so the EM is written here: the
two-state hidden Markov model with no forgetting, fitted on all students of a concept at once.
"""

from __future__ import annotations

import io
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

# Parameters clipped to keep the two states apart (guess and slip under 0.5 say "known"
# answers correctly more often than "unknown"), and away from 0 and 1.
PARAM_MIN = 1e-3
GUESS_SLIP_MAX = 0.45


@dataclass(frozen=True)
class BKTParams:
    """P(known before the first answer), P(learn per opportunity), P(guess), P(slip)."""

    prior: float = 0.3
    learn: float = 0.15
    guess: float = 0.2
    slip: float = 0.1

    def as_dict(self) -> dict[str, float]:
        return {k: round(getattr(self, k), 5) for k in ("prior", "learn", "guess", "slip")}

    @classmethod
    def from_dict(cls, data: dict) -> BKTParams:
        return cls(**{k: float(data[k]) for k in ("prior", "learn", "guess", "slip")})


# Sensible priors from zero data: a third of students know a concept, one in seven learn it
# per answer, a fifth guess right, one in ten slip (close to the defaults of pyBKT papers).
DEFAULT_PARAMS = BKTParams()


@dataclass(frozen=True)
class Response:
    student: str
    concept: str
    correct: int


# --- BKT: online update -----------------------------------------------------------------


def bkt_predict(p_known: float, params: BKTParams) -> float:
    """P(the next answer is right) given P(known)."""
    return p_known * (1 - params.slip) + (1 - p_known) * params.guess


def bkt_posterior(p_known: float, correct: bool, params: BKTParams) -> float:
    """P(known) after seeing one answer, before the learning step."""
    if correct:
        right = p_known * (1 - params.slip)
        return right / (right + (1 - p_known) * params.guess)
    wrong = p_known * params.slip
    return wrong / (wrong + (1 - p_known) * (1 - params.guess))


def bkt_learn(p_known: float, params: BKTParams) -> float:
    """One learning opportunity (an answer, or a scene that teaches the concept)."""
    return p_known + (1 - p_known) * params.learn


def bkt_update(p_known: float, correct: bool, params: BKTParams) -> float:
    """The standard BKT step: condition on the answer, then learn."""
    return bkt_learn(bkt_posterior(p_known, correct, params), params)


def bkt_trace(answers: Iterable[int], params: BKTParams) -> tuple[list[float], float]:
    """Predictions before each answer, and P(known) after the last one."""
    p = params.prior
    predictions = []
    for correct in answers:
        predictions.append(bkt_predict(p, params))
        p = bkt_update(p, bool(correct), params)
    return predictions, p


# --- BKT: EM fit ------------------------------------------------------------------------


def _padded(sequences: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    n = len(sequences)
    length = max((len(s) for s in sequences), default=0)
    obs = np.zeros((n, length), dtype=np.int64)
    mask = np.zeros((n, length), dtype=bool)
    for i, seq in enumerate(sequences):
        obs[i, : len(seq)] = seq
        mask[i, : len(seq)] = True
    return obs, mask


def fit_bkt(
    sequences: Sequence[Sequence[int]],
    *,
    init: BKTParams = DEFAULT_PARAMS,
    max_iter: int = 200,
    tol: float = 1e-6,
    pseudo_count: float = 2.0,
) -> tuple[BKTParams, float]:
    """EM (Baum-Welch) for one concept over every student's answer sequence.

    The estimate is a MAP one with `pseudo_count` answers' worth of the default parameters
    (a Beta prior on each), so a concept with a handful of answers stays near the defaults
    and moves toward the data as it grows. Returns the parameters and the log-likelihood.
    """
    sequences = [s for s in sequences if len(s)]
    if not sequences:
        return init, 0.0
    obs, mask = _padded(sequences)  # (N, T)
    n, length = obs.shape
    prior, learn, guess, slip = init.prior, init.learn, init.guess, init.slip
    d = DEFAULT_PARAMS
    last_ll = -math.inf
    valid_next = mask[:, 1:]  # transitions t -> t+1 that exist, (N, T-1)
    for _ in range(max_iter):
        # Emission likelihoods (N, T, 2): state 0 unknown, 1 known; padding emits 1.
        p_right = np.array([guess, 1 - slip])
        e = np.where(obs[..., None] == 1, p_right, 1 - p_right)
        e = np.where(mask[..., None], e, 1.0)
        trans = np.array([[1 - learn, learn], [0.0, 1.0]])
        alpha = np.empty((n, length, 2))
        scale = np.empty((n, length))
        a = np.array([1 - prior, prior]) * e[:, 0]
        scale[:, 0] = a.sum(1)
        alpha[:, 0] = a / scale[:, 0, None]
        for t in range(1, length):
            a = (alpha[:, t - 1] @ trans) * e[:, t]
            scale[:, t] = a.sum(1)
            alpha[:, t] = a / scale[:, t, None]
        beta = np.ones((n, length, 2))
        for t in range(length - 2, -1, -1):
            beta[:, t] = (trans @ (e[:, t + 1] * beta[:, t + 1]).T).T / scale[:, t + 1, None]
        gamma = alpha * beta  # (N, T, 2)
        gamma /= gamma.sum(2, keepdims=True)
        # Expected unknown -> known transitions at each valid step.
        xi01 = alpha[:, :-1, 0] * learn * e[:, 1:, 1] * beta[:, 1:, 1] / scale[:, 1:]
        ll = float(np.log(scale).sum())
        w = mask.astype(float)
        g0 = gamma[..., 0] * w
        g1 = gamma[..., 1] * w
        k = pseudo_count
        prior = (gamma[:, 0, 1].sum() + k * d.prior) / (n + k)
        learn = (xi01[valid_next].sum() + k * d.learn) / (g0[:, :-1][valid_next].sum() + k)
        guess = ((g0 * obs).sum() + k * d.guess) / (g0.sum() + k)
        slip = ((g1 * (1 - obs)).sum() + k * d.slip) / (g1.sum() + k)
        prior = float(np.clip(prior, PARAM_MIN, 1 - PARAM_MIN))
        learn = float(np.clip(learn, PARAM_MIN, 1 - PARAM_MIN))
        guess = float(np.clip(guess, PARAM_MIN, GUESS_SLIP_MAX))
        slip = float(np.clip(slip, PARAM_MIN, GUESS_SLIP_MAX))
        if abs(ll - last_ll) < tol * max(1.0, abs(ll)):
            break
        last_ll = ll
    return BKTParams(prior, learn, guess, slip), ll


def bootstrap_params(
    sequences: Sequence[Sequence[int]],
    *,
    fitted: BKTParams,
    samples: int = 20,
    seed: int = 0,
) -> list[BKTParams]:
    """Parameter samples from refits on students drawn with replacement (the uncertainty
    the policy's stopping rule accounts for); with no data, draws around the defaults."""
    rng = np.random.default_rng(seed)
    sequences = [s for s in sequences if len(s)]
    if len(sequences) < 5:
        return default_param_samples(samples=samples, seed=seed)
    out = []
    for _ in range(samples):
        picks = rng.integers(0, len(sequences), len(sequences))
        params, _ll = fit_bkt([sequences[i] for i in picks], init=fitted, max_iter=40)
        out.append(params)
    return out


def default_param_samples(*, samples: int = 20, seed: int = 0) -> list[BKTParams]:
    """Beta draws centred on the defaults (about 10 answers' worth of certainty each)."""
    rng = np.random.default_rng(seed)
    d, k = DEFAULT_PARAMS, 10.0

    def draw(mean: float, upper: float = 1 - PARAM_MIN) -> float:
        return float(np.clip(rng.beta(mean * k, (1 - mean) * k), PARAM_MIN, upper))

    return [
        BKTParams(
            draw(d.prior),
            draw(d.learn),
            draw(d.guess, GUESS_SLIP_MAX),
            draw(d.slip, GUESS_SLIP_MAX),
        )
        for _ in range(samples)
    ]


def mastery_bounds(
    answers: Sequence[int],
    samples: Sequence[BKTParams],
    *,
    level: float = 0.9,
    extra_learning: int = 0,
) -> tuple[float, float]:
    """(mean, lower credible bound) of P(known) after `answers` over parameter samples;
    `extra_learning` counts teaching scenes seen after the answers."""
    values = []
    for params in samples:
        _pred, p = bkt_trace(answers, params)
        for _ in range(extra_learning):
            p = bkt_learn(p, params)
        values.append(p)
    arr = np.array(values)
    return float(arr.mean()), float(np.quantile(arr, 1 - level))


# --- AUC --------------------------------------------------------------------------------


def auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied scores averaged); 0.5 when one
    class is missing."""
    y = np.asarray(labels, dtype=float)
    s = np.asarray(scores, dtype=float)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return 0.5
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = ranks[y == 1].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


# --- Response logs ----------------------------------------------------------------------


def by_student(responses: Iterable[Response]) -> dict[str, list[Response]]:
    out: dict[str, list[Response]] = defaultdict(list)
    for r in responses:
        out[r.student].append(r)
    return dict(out)


def concept_order(responses: Iterable[Response]) -> list[str]:
    """Concepts in the order they first appear (the course's teaching order, in practice)."""
    seen: dict[str, None] = {}
    for r in responses:
        seen.setdefault(r.concept, None)
    return list(seen)


def concept_sequences(responses: Iterable[Response]) -> dict[str, list[list[int]]]:
    out: dict[str, list[list[int]]] = defaultdict(list)
    for rows in by_student(responses).values():
        per: dict[str, list[int]] = defaultdict(list)
        for r in rows:
            per[r.concept].append(int(r.correct))
        for concept, answers in per.items():
            out[concept].append(answers)
    return dict(out)


def split_students(
    responses: Sequence[Response], *, train_fraction: float = 0.8, seed: int = 0
) -> tuple[list[Response], list[Response]]:
    students = sorted(by_student(responses))
    random.Random(seed).shuffle(students)
    cut = max(1, int(round(len(students) * train_fraction))) if students else 0
    train = set(students[:cut])
    return [r for r in responses if r.student in train], [
        r for r in responses if r.student not in train
    ]


# --- Models with a common face: fit(train) then predict(responses) ----------------------


class BKTModel:
    """Plain per-concept BKT, each concept fitted by EM on its own."""

    name = "bkt"

    def __init__(self) -> None:
        self.params: dict[str, BKTParams] = {}

    def fit(self, responses: Sequence[Response]) -> BKTModel:
        for concept, seqs in concept_sequences(responses).items():
            self.params[concept], _ll = fit_bkt(seqs)
        return self

    def concept_params(self, concept: str) -> BKTParams:
        return self.params.get(concept, DEFAULT_PARAMS)

    def predict(self, responses: Sequence[Response]) -> list[float]:
        """P(right) for each response given only the same student's earlier ones."""
        return [p for _r, p in self._walk(responses)]

    def _walk(self, responses: Sequence[Response]):
        state: dict[tuple[str, str], float] = {}
        for r in responses:
            params = self.concept_params(r.concept)
            p = state.get((r.student, r.concept), params.prior)
            yield r, bkt_predict(p, params)
            state[(r.student, r.concept)] = bkt_update(p, bool(r.correct), params)


class TransferBKTModel:
    """BKT sharing evidence across concepts: each concept has two parameter sets, one for
    students whose estimated mastery of the previous concept (its prerequisite, in course
    order) was at least one half when they first met it, one for the others. Mastering a
    prerequisite can so raise the prior and the learning rate of what follows."""

    name = "bkt_transfer"

    def __init__(self) -> None:
        self.base = BKTModel()
        self.order: list[str] = []
        self.params: dict[tuple[str, bool], BKTParams] = {}
        self.sequences: dict[tuple[str, bool], list[list[int]]] = {}

    def _groups(self, responses: Sequence[Response]):
        """Yield (response, group, base P(known) of the prerequisite) in order."""
        state: dict[tuple[str, str], float] = {}
        group_of: dict[tuple[str, str], bool] = {}
        prereq = {c: (self.order[i - 1] if i else None) for i, c in enumerate(self.order)}
        for r in responses:
            key = (r.student, r.concept)
            if key not in group_of:
                pre = prereq.get(r.concept)
                p_pre = state.get((r.student, pre)) if pre else None
                group_of[key] = p_pre is not None and p_pre >= 0.5
            yield r, group_of[key]
            params = self.base.concept_params(r.concept)
            p = state.get(key, params.prior)
            state[key] = bkt_update(p, bool(r.correct), params)

    def fit(self, responses: Sequence[Response]) -> TransferBKTModel:
        self.base.fit(responses)
        self.order = concept_order(responses)
        seqs: dict[tuple[str, bool], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for r, group in self._groups(responses):
            seqs[(r.concept, group)][r.student].append(int(r.correct))
        self.sequences = {key: list(per_student.values()) for key, per_student in seqs.items()}
        for key, sequences in self.sequences.items():
            self.params[key], _ll = fit_bkt(sequences, init=self.base.concept_params(key[0]))
        return self

    def group_samples(self, *, samples: int, seed: int = 0) -> dict[tuple[str, bool], list]:
        """Bootstrap parameter samples of each (concept, group), as bootstrap_params."""
        return {
            key: bootstrap_params(self.sequences[key], fitted=params, samples=samples, seed=seed)
            for key, params in self.params.items()
        }

    def student_groups(self, responses: Sequence[Response]) -> dict[str, bool]:
        """For one student's responses in order: each concept's group, as fitted (decided
        when the student first met it), or for a concept not met yet, the group the
        student's prerequisite mastery now puts them in."""
        groups = {r.concept: group for r, group in self._groups(responses)}
        state: dict[str, float] = {}
        for r in responses:
            params = self.base.concept_params(r.concept)
            p = state.get(r.concept, params.prior)
            state[r.concept] = bkt_update(p, bool(r.correct), params)
        for index, concept in enumerate(self.order):
            if concept not in groups and index:
                groups[concept] = state.get(self.order[index - 1], 0.0) >= 0.5
        return groups

    def predict(self, responses: Sequence[Response]) -> list[float]:
        out = []
        state: dict[tuple[str, str], float] = {}
        for r, group in self._groups(responses):
            params = self.params.get((r.concept, group), self.base.concept_params(r.concept))
            key = (r.student, r.concept)
            p = state.get(key, params.prior)
            out.append(bkt_predict(p, params))
            state[key] = bkt_update(p, bool(r.correct), params)
        return out


@dataclass(frozen=True)
class DKTConfig:
    hidden: int = 32
    epochs: int = 8
    batch: int = 32
    lr: float = 0.01
    seed: int = 0


class DKTModel:
    """Deep knowledge tracing (Piech et al. 2015): an LSTM reads (concept, right) one-hots
    and predicts P(right) for every concept at the next step. Small, CPU, seeded."""

    name = "dkt"

    def __init__(self, config: DKTConfig = DKTConfig()) -> None:
        self.config = config
        self.concepts: list[str] = []
        self.net = None

    def _tensors(self, responses: Sequence[Response]):
        import torch

        index = {c: i for i, c in enumerate(self.concepts)}
        k = len(self.concepts)
        students = by_student(responses)
        names = list(students)
        length = max(len(rows) for rows in students.values())
        x = torch.zeros(len(names), length, 2 * k)  # (B, T, 2K): input at t is answer t-1
        q = torch.zeros(len(names), length, dtype=torch.long)  # concept asked at t
        y = torch.zeros(len(names), length)
        m = torch.zeros(len(names), length, dtype=torch.bool)
        for b, name in enumerate(names):
            for t, r in enumerate(students[name]):
                c = index.get(r.concept)
                if c is None:
                    continue
                q[b, t], y[b, t], m[b, t] = c, float(r.correct), True
                if t + 1 < length:
                    x[b, t + 1, c + k * int(r.correct)] = 1.0
        return names, students, x, q, y, m

    def fit(self, responses: Sequence[Response]) -> DKTModel:
        import torch
        from torch import nn

        torch.manual_seed(self.config.seed)
        self.concepts = concept_order(responses)
        k = len(self.concepts)
        self.net = _DKTNet(k, self.config.hidden)
        _names, _students, x, q, y, m = self._tensors(responses)
        optimiser = torch.optim.Adam(self.net.parameters(), lr=self.config.lr)
        loss_fn = nn.BCEWithLogitsLoss()
        generator = torch.Generator().manual_seed(self.config.seed)
        for _epoch in range(self.config.epochs):
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), self.config.batch):
                pick = order[start : start + self.config.batch]
                logits = self.net(x[pick]).gather(2, q[pick].unsqueeze(2)).squeeze(2)
                loss = loss_fn(logits[m[pick]], y[pick][m[pick]])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        return self

    def predict(self, responses: Sequence[Response]) -> list[float]:
        import torch

        names, students, x, q, _y, m = self._tensors(responses)
        with torch.no_grad():
            probs = torch.sigmoid(self.net(x).gather(2, q.unsqueeze(2)).squeeze(2))
        lookup = {}
        for b, name in enumerate(names):
            for t, r in enumerate(students[name]):
                lookup[id(r)] = float(probs[b, t]) if m[b, t] else 0.5
        return [lookup[id(r)] for r in responses]


def dkt_state_bytes(model: DKTModel) -> bytes:
    """A fitted DKT model as bytes (its weights, concepts and size), for the database."""
    import torch

    buffer = io.BytesIO()
    torch.save(
        {"concepts": model.concepts, "hidden": model.config.hidden, "net": model.net.state_dict()},
        buffer,
    )
    return buffer.getvalue()


def dkt_from_bytes(data: bytes) -> DKTModel:
    import torch

    state = torch.load(io.BytesIO(data), weights_only=True)
    model = DKTModel(DKTConfig(hidden=int(state["hidden"])))
    model.concepts = list(state["concepts"])
    model.net = _DKTNet(len(model.concepts), model.config.hidden)
    model.net.load_state_dict(state["net"])
    model.net.eval()
    return model


def dkt_next_p_correct(model: DKTModel, responses: Sequence[Response]) -> dict[str, float]:
    """P(the next answer on each concept is right) after one student's responses."""
    import torch

    k = len(model.concepts)
    index = {c: i for i, c in enumerate(model.concepts)}
    steps = [r for r in responses if r.concept in index]
    x = torch.zeros(1, len(steps) + 1, 2 * k)
    for t, r in enumerate(steps):
        x[0, t + 1, index[r.concept] + k * int(r.correct)] = 1.0
    with torch.no_grad():
        probs = torch.sigmoid(model.net(x))[0, -1]
    return {c: float(probs[i]) for c, i in index.items()}


def p_known_from_p_correct(p_correct: float, params: BKTParams) -> float:
    """The P(known) that predicts p_correct under a concept's guess and slip (inverting
    bkt_predict), kept inside (0, 1)."""
    spread = max(1 - params.slip - params.guess, PARAM_MIN)
    return float(np.clip((p_correct - params.guess) / spread, PARAM_MIN, 1 - PARAM_MIN))


def _DKTNet(concepts: int, hidden: int):
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(2 * concepts, hidden, batch_first=True)
            self.out = nn.Linear(hidden, concepts)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, 2K) -> (B, T, K) logits
            h, _state = self.lstm(x)
            return self.out(h)

    torch.set_num_threads(1)  # the machine's cores are shared; small batches gain little
    return Net()


MODEL_CLASSES = (BKTModel, DKTModel, TransferBKTModel)
# AUC a richer model must gain over plain BKT to be chosen: smaller gains are within the
# noise of a few hundred held-out students (bench/knowledge_tracing.py), and BKT's mastery
# estimate is the one the policy can put bounds on.
CHOICE_MARGIN = 0.003


@dataclass(frozen=True)
class Evaluation:
    scores: dict[str, float]  # {"bkt_auc": ..., ...}
    chosen: str
    train_answers: int
    test_answers: int

    def as_dict(self) -> dict[str, object]:
        return {
            **{k: round(v, 4) for k, v in self.scores.items()},
            "chosen": self.chosen,
            "train_answers": self.train_answers,
            "test_answers": self.test_answers,
        }


def evaluate_models(
    train: Sequence[Response],
    test: Sequence[Response],
    *,
    models=MODEL_CLASSES,
    margin: float = CHOICE_MARGIN,
) -> tuple[Evaluation, dict[str, object]]:
    """Fit every model on `train`, score held-out AUC on `test`, and choose: plain BKT unless
    another model beats it by more than `margin` (then the best). Returns the evaluation and
    the fitted models."""
    scores, fitted = {}, {}
    labels = [r.correct for r in test]
    for cls in models:
        model = cls().fit(train)
        fitted[cls.name] = model
        scores[f"{cls.name}_auc"] = auc(labels, model.predict(test)) if test else 0.5
    best = max(fitted, key=lambda name: scores[f"{name}_auc"])
    base = scores.get("bkt_auc")
    chosen = best if base is None or scores[f"{best}_auc"] > base + margin else "bkt"
    return Evaluation(scores, chosen, len(train), len(test)), fitted


# --- Simulation (tests and bench) --------------------------------------------------------


def simulate(
    params: dict[str, BKTParams],
    *,
    students: int,
    answers_per_concept: int,
    seed: int = 0,
    transfer: float = 0.0,
) -> list[Response]:
    """A class answering each concept in turn from known BKT parameters. With `transfer`,
    a student who knows the previous concept when it ends learns the next one faster and
    more often knows it already (prior and learn raised by that share of what is left)."""
    rng = random.Random(seed)
    out = []
    concepts = list(params)
    for s in range(students):
        knew_previous = False
        for concept in concepts:
            p = params[concept]
            prior, learn = p.prior, p.learn
            if transfer and knew_previous:
                prior += (1 - prior) * transfer
                learn += (1 - learn) * transfer
            known = rng.random() < prior
            for _ in range(answers_per_concept):
                right = rng.random() < ((1 - p.slip) if known else p.guess)
                out.append(Response(f"s{s:04d}", concept, int(right)))
                if not known and rng.random() < learn:
                    known = True
            knew_previous = known
    return out
