"""The render_lesson management command: a corpus lesson folder or a database lesson to MP4."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from courses import services
from courses.models import Scene
from tests.conftest import REPO_ROOT
from tests.corpus import copy_corpus_lesson
from tests.synthesis.media_checks import ffprobe, stream

SMALL = ["--size", "256x144", "--fps", "10", "--quality", "draft", "--engine", "espeak"]
SIDECARS = (".vtt", ".descriptions.vtt", ".chapters.vtt", ".txt", ".jpg", ".json")


def test_it_renders_a_trimmed_corpus_lesson_with_every_output(tmp_path, capsys):
    # en-git-basics: Software Carpentry, CC BY 4.0 (see its SOURCE.json).
    folder = copy_corpus_lesson("en-git-basics", tmp_path, max_blocks=4)
    out = tmp_path / "out" / "basics.mp4"

    call_command("render_lesson", str(folder), "-o", str(out), *SMALL, "--max-scenes", "3")

    assert out.is_file()
    for suffix in SIDECARS:
        assert (out.parent / f"basics{suffix}").is_file(), suffix
    info = ffprobe(out)
    assert stream(info, "video")["codec_name"] == "h264"
    manifest = json.loads((out.parent / "basics.json").read_text("utf-8"))
    assert 1 <= len(manifest["scenes"]) <= 3
    assert manifest["language"] == "en"
    printed = capsys.readouterr().out
    assert f"video: {out}" in printed
    assert f"captions: {out.parent / 'basics.vtt'}" in printed


def test_it_renders_a_lesson_from_the_database(tmp_path, alice, db):
    course = services.course_create(owner=alice, title="Version control", slug="git")
    lesson = services.lesson_create(course=course, title="Git basics", created_by=alice)
    version = lesson.versions.get()
    # Created out of order: the render follows position.
    second = Scene.objects.create(
        version=version,
        position=1,
        kind="text",
        title="Second",
        body="Keep history\n\nUndo mistakes",
        narration="History is kept.",
    )
    Scene.objects.create(
        version=version, position=0, kind="title", title="Git basics", narration="Welcome."
    )
    second.concepts.set(services.concepts_for_names(course=course, names=["Version history"]))
    out = tmp_path / "db.mp4"

    call_command("render_lesson", str(lesson.pk), "-o", str(out), *SMALL, "--burn-captions")

    manifest = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert manifest["settings"]["burn_captions"] is True  # an export: burned in on request
    call_command("render_lesson", str(lesson.pk), "-o", str(out), *SMALL, "--no-burn-captions")
    unburned = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert unburned["settings"]["burn_captions"] is False
    assert unburned["scenes"][0]["segment"] != manifest["scenes"][0]["segment"]
    assert unburned["opening"]["segment"] == manifest["opening"]["segment"]  # no captions
    assert [s["title"] for s in manifest["scenes"]] == ["Git basics", "Second"]
    assert manifest["scenes"][1]["concepts"] == ["version-history"]
    assert manifest["title"] == "Git basics"
    descriptions = out.with_name("db.descriptions.vtt").read_text("utf-8")
    assert "Second. Keep history. Undo mistakes." in descriptions


def test_a_missing_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(CommandError, match="neither a lesson folder nor a lesson id"):
        call_command("render_lesson", str(tmp_path / "nope"), "-o", str(tmp_path / "x.mp4"))
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_lesson_id_is_an_error(tmp_path, db):
    with pytest.raises(CommandError, match="no lesson with id 999"):
        call_command("render_lesson", "999", "-o", str(tmp_path / "x.mp4"))


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--size", "big"], "is not WIDTHxHEIGHT"),
        (["--size", "321x180"], "must be even"),
        (["--fps", "0"], "choose 1 to 60"),
    ],
)
def test_bad_settings_are_refused_before_rendering(tmp_path, option, message):
    folder = copy_corpus_lesson("en-git-basics", tmp_path, max_blocks=2)
    with pytest.raises(CommandError, match=message):
        call_command("render_lesson", str(folder), "-o", str(tmp_path / "x.mp4"), *option)


def test_the_output_must_be_an_mp4(tmp_path):
    with pytest.raises(CommandError, match="must be an .mp4"):
        call_command("render_lesson", str(tmp_path), "-o", str(tmp_path / "x.avi"))


def test_the_command_exits_non_zero_with_one_line_on_bad_input(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "render_lesson", str(tmp_path / "nope"), "-o", "x.mp4"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"CommandError: '{tmp_path / 'nope'}' is neither a lesson folder nor a lesson id."
    ]


def test_an_unwritable_output_folder_is_a_one_line_error(tmp_path):
    folder = copy_corpus_lesson("en-git-basics", tmp_path, max_blocks=2)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(CommandError, match="not-a-folder"):
        call_command("render_lesson", str(folder), "-o", str(blocker / "x.mp4"), *SMALL)
