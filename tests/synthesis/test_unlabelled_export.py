"""render_lesson --unlabelled --staff: no visible AI label over the opening, staff only, audited."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role
from moderation.models import AuditAction, AuditEntry
from synthesis.labels_check import label_problems, opening_label_problems
from synthesis.plan import plan_opening
from synthesis.storyboard import RenderSettings, Scene, Storyboard, Visual
from tests.conftest import make_user
from tests.corpus import copy_corpus_lesson

SMALL = ["--size", "256x144", "--fps", "10", "--quality", "draft", "--engine", "espeak"]


@pytest.fixture
def lesson_folder(tmp_path):
    # en-git-basics: Software Carpentry, CC BY 4.0 (see its SOURCE.json).
    return copy_corpus_lesson("en-git-basics", tmp_path, max_blocks=2)


@pytest.fixture
def root(db):
    """A staff user (a site admin)."""
    return make_user("root", Role.TEACHER, is_staff=True)


def test_the_label_switch_changes_the_opening_key_only_when_off():
    storyboard = Storyboard("Git basics", "en", (Scene("s1", Visual("text"), "Hello."),))
    labelled = plan_opening(storyboard, RenderSettings())
    unlabelled = plan_opening(storyboard, replace(RenderSettings(), ai_label=False))

    assert labelled.opening is True
    assert unlabelled.opening is False
    assert unlabelled.key != labelled.key
    assert unlabelled.timing.frame_count == labelled.timing.frame_count


def test_unlabelled_without_staff_is_refused_and_writes_nothing(tmp_path, lesson_folder, db):
    out = tmp_path / "out" / "x.mp4"
    with pytest.raises(CommandError, match="--unlabelled needs --staff USERNAME"):
        call_command("render_lesson", str(lesson_folder), "-o", str(out), *SMALL, "--unlabelled")
    assert not out.parent.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "make",
    [
        lambda: make_user("alice", Role.TEACHER),
        lambda: make_user("mo", Role.MODERATOR),
        lambda: make_user("alice", Role.TEACHER, is_staff=True, is_active=False),
        lambda: None,
    ],
    ids=["teacher", "moderator", "inactive-staff", "no-such-user"],
)
def test_unlabelled_for_a_non_staff_user_is_refused(tmp_path, lesson_folder, db, make):
    user = make()
    username = user.username if user else "ghost"
    out = tmp_path / "out" / "x.mp4"
    with pytest.raises(CommandError, match=f"'{username}' is not an active staff user"):
        call_command(
            "render_lesson",
            str(lesson_folder),
            "-o",
            str(out),
            *SMALL,
            "--unlabelled",
            "--staff",
            username,
        )
    assert not out.parent.exists()
    assert not AuditEntry.objects.exists()


def test_staff_without_unlabelled_is_refused(tmp_path, lesson_folder, root):
    with pytest.raises(CommandError, match="--staff is only for --unlabelled"):
        call_command(
            "render_lesson", str(lesson_folder), "-o", str(tmp_path / "x.mp4"), "--staff", "root"
        )
    assert not AuditEntry.objects.exists()


def test_staff_export_has_no_opening_label_and_is_audited(tmp_path, lesson_folder, root, capsys):
    labelled = tmp_path / "labelled" / "basics.mp4"
    unlabelled = tmp_path / "unlabelled" / "basics.mp4"

    call_command("render_lesson", str(lesson_folder), "-o", str(labelled), *SMALL)
    assert not AuditEntry.objects.exists()
    call_command(
        "render_lesson",
        str(lesson_folder),
        "-o",
        str(unlabelled),
        *SMALL,
        "--unlabelled",
        "--staff",
        "root",
    )

    assert label_problems(labelled, labelled.with_suffix(".vtt")) == []
    # Only the visible label is gone: the AIGC tag and the first caption cue stay.
    assert label_problems(unlabelled, unlabelled.with_suffix(".vtt")) == [
        "basics.mp4: the opening frame has no visible AI-generated label"
    ]
    assert opening_label_problems(unlabelled)
    first = json.loads(labelled.with_suffix(".json").read_text("utf-8"))
    second = json.loads(unlabelled.with_suffix(".json").read_text("utf-8"))
    assert second["opening"]["segment"] != first["opening"]["segment"]
    assert [s["segment"] for s in second["scenes"]] == [s["segment"] for s in first["scenes"]]
    entry = AuditEntry.objects.get()
    assert entry.action == AuditAction.UNLABELLED_EXPORT
    assert entry.actor == root
    assert entry.actor_name == "root"
    assert entry.target == str(lesson_folder)
    assert f"output: {unlabelled}" in entry.note
    assert "logged for root" in capsys.readouterr().out
