"""kt_evaluate and policy_serve, run as the commands a learning scientist runs."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
from io import StringIO
from pathlib import Path

import pytest

from courses.models import Concept, Course
from learning.knowledge import BKTParams, simulate
from learning.models import ConceptParams, CourseLearnerModel
from tests.conftest import make_user, subprocess_env

ROOT = Path(__file__).resolve().parents[2]
TRUE = {"a": BKTParams(0.2, 0.15, 0.25, 0.1), "b": BKTParams(0.3, 0.1, 0.2, 0.1)}


def manage(*args: str, stdin: str = "", env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip


def write_log(path: Path, *, split: bool = False, students: int = 120) -> Path:
    rows = simulate(TRUE, students=students, answers_per_concept=6, seed=2)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "concept", "correct", *(["split"] if split else [])])
        for r in rows:
            part = ["test" if int(r.student[1:]) % 4 == 0 else "train"] if split else []
            writer.writerow([r.student, r.concept, r.correct, *part])
    return path


def test_kt_evaluate_prints_held_out_auc_of_each_model_and_the_choice(tmp_path):
    result = manage("kt_evaluate", str(write_log(tmp_path / "log.csv")))
    assert result.returncode == 0, result.stderr
    last = json.loads(result.stdout.strip().splitlines()[-1])
    aucs = {k: v for k, v in last.items() if k.endswith("_auc")}
    assert set(aucs) == {"bkt_auc", "dkt_auc", "bkt_transfer_auc"}
    assert all(0.6 < v <= 1 for v in aucs.values()), aucs
    assert last["chosen"] in {k.removesuffix("_auc") for k in aucs}
    # A richer model is chosen only when it beats plain BKT by more than 0.003.
    assert last[f"{last['chosen']}_auc"] == max(aucs.values()) or (
        last["chosen"] == "bkt" and max(aucs.values()) <= last["bkt_auc"] + 0.003
    )
    # 80% of 120 students fit: 96 x 12 answers.
    assert last["train_answers"] == 96 * 12


def test_kt_evaluate_follows_the_split_column(tmp_path):
    result = manage("kt_evaluate", str(write_log(tmp_path / "log.csv", split=True)))
    assert result.returncode == 0, result.stderr
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["test_answers"] == 30 * 12 and last["train_answers"] == 90 * 12


def test_kt_evaluate_names_a_missing_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("learner,concept,correct\nx,a,1\n")
    result = manage("kt_evaluate", str(bad))
    assert result.returncode != 0
    assert "student" in result.stderr


SCENES = [
    {"id": "t", "concept": None, "role": "core", "duration_s": 10},
    {"id": "a1", "concept": "a", "role": "core", "duration_s": 90},
    {"id": "a2", "concept": "a", "role": "remedial", "duration_s": 60},
    {"id": "b1", "concept": "b", "role": "core", "duration_s": 90},
    {"id": "b3", "concept": "b", "role": "recap", "duration_s": 30},
]


def request(history, t=0.0, cap_s=900):
    course = {"concepts": ["a", "b"], "check_s": 15, "lesson": "L", "scenes": SCENES}
    return json.dumps({"student": "s1", "t": t, "cap_s": cap_s, "course": course,
                       "history": history})  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_policy_serve_answers_each_line_with_defaults_for_an_unknown_course():
    lines = [
        request([]),
        request([{"type": "scene", "id": "t", "t": 0}], t=10),
        request([{"type": "scene", "id": "t", "t": 0}, {"type": "scene", "id": "a1", "t": 10},
                 {"type": "check", "concept": "a", "correct": False, "t": 100}], t=115),
        request([{"type": "scene", "id": "t", "t": 0}], t=900, cap_s=900),
    ]  # fmt: skip
    result = manage(
        "policy_serve", "--course", "no-such-course",
        stdin="\n".join(lines) + "\n", env=subprocess_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert answers == [
        {"type": "scene", "id": "t"},
        {"type": "scene", "id": "a1"},
        {"type": "scene", "id": "a2"},
        {"type": "stop"},
    ]


@pytest.mark.django_db(transaction=True)
def test_policy_serve_uses_the_courses_parameters_and_thresholds():
    teacher = make_user("tina", "teacher")
    course = Course.objects.create(owner=teacher, title="C", slug="c-serve")
    for slug in ("a", "b"):
        concept = Concept.objects.create(course=course, name=slug, slug=slug)
        # Everyone knows these concepts already: one right pre-check is enough.
        params = BKTParams(0.95, 0.3, 0.05, 0.05)
        ConceptParams.objects.create(
            concept=concept, **params.as_dict(), samples=[params.as_dict()]
        )
    CourseLearnerModel.objects.create(course=course, mastery_threshold=0.9)
    history = [{"type": "scene", "id": "t", "t": 0}]
    lines = [
        request(history, t=10),
        request([*history, {"type": "check", "concept": "a", "correct": True, "t": 10}], t=25),
    ]
    result = manage("policy_serve", "--course", "c-serve", stdin="\n".join(lines) + "\n",
                    env=subprocess_env())  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    # Prior 0.95 is already over 0.9: concept a is skipped without a question; b likewise.
    assert answers[0] == {"type": "stop"}
    # With the default parameters the same session starts with a's introduction.
    default = manage("policy_serve", "--course", "no-such-course", stdin=lines[0] + "\n",
                     env=subprocess_env())  # fmt: skip
    assert json.loads(default.stdout.splitlines()[0]) == {"type": "scene", "id": "a1"}


@pytest.mark.django_db
def test_periodic_fit_records_parameters_choice_and_retraces_mastery(settings, tmp_path):
    from django.core.management import call_command

    from courses.models import Course
    from learning.mastery import learner_models_fit_all
    from learning.models import Mastery
    from learning.tasks import learner_models_fit

    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", stdout=StringIO())
    course = Course.objects.get(slug="demo-rainbows")
    assert Mastery.objects.filter(concept__course=course).count() == 4  # 2 students x 2
    assert learner_models_fit.apply().get() == 2  # both demo courses have answers
    model = CourseLearnerModel.objects.get(course=course)
    assert model.fitted_at is not None and model.answers == 15 and model.chosen == "bkt"
    params = ConceptParams.objects.get(concept__course=course, concept__slug="refraction")
    assert len(params.samples) == 20 and params.answers == 8
    assert 0 < params.guess < 0.5 and 0 < params.slip < 0.5
    from learning.knowledge import bkt_trace

    row = Mastery.objects.get(concept=params.concept, student__username="demo-student1")
    fitted = BKTParams(params.prior, params.learn, params.guess, params.slip)
    assert row.answers == [0, 1, 0]
    assert row.p_known == pytest.approx(bkt_trace(row.answers, fitted)[1])
    # Nothing new since the fit: the next sweep skips the course.
    assert learner_models_fit_all() == 0


@pytest.mark.django_db(transaction=True)
def test_policy_serve_answers_each_line_before_the_next_is_sent():
    """A simulator waits for each action before it sends the next state: flushed lines."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "policy_serve", "--course", "none"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=subprocess_env(),
    )  # fmt: skip
    watchdog = threading.Timer(60, process.kill)  # an unflushed answer would block forever
    watchdog.start()
    try:
        history: list[dict] = []
        actions = []
        for _step in range(3):
            process.stdin.write(request(history, t=len(history) * 10.0) + "\n")
            process.stdin.flush()
            action = json.loads(process.stdout.readline())
            actions.append(action)
            if action["type"] == "scene":
                history.append({"type": "scene", "id": action["id"], "t": 0})
            else:
                history.append({"type": "check", "concept": action["concept"], "correct": True})
    finally:
        process.stdin.close()
        process.wait(timeout=60)
        watchdog.cancel()
    assert [a.get("id") for a in actions[:2]] == ["t", "a1"]
    assert actions[2] == {"type": "check", "concept": "a"}
    assert process.returncode == 0
