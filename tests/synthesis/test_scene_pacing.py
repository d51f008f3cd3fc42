"""Scene planning on the corpus lessons, checked on the storyboard (nothing is rendered):
no fragment scenes, no title read aloud as a scene, unique chapters, 20-60 s scenes,
slides that keep up with the narration, output shown as output."""

from __future__ import annotations

import statistics

import pytest

from synthesis.captions import chapter_titles
from synthesis.code_output import code_lines
from synthesis.markdown import import_lesson_folder
from synthesis.markdown_pacing import is_fragment
from synthesis.markdown_scenes import MAX_SCENE_SPEECH_S, speech_seconds
from tests.corpus import LESSONS, corpus_lesson


@pytest.fixture(scope="module")
def storyboards():
    return {name: import_lesson_folder(corpus_lesson(name)) for name in LESSONS}


@pytest.mark.parametrize("name", LESSONS)
def test_no_scene_narrates_only_a_fragment(storyboards, name):
    storyboard = storyboards[name]

    fragments = [
        (scene.id, scene.narration)
        for scene in storyboard.scenes
        if is_fragment(scene.narration, storyboard.language)
    ]

    assert fragments == []


@pytest.mark.parametrize("name", LESSONS)
def test_no_scene_only_reads_its_heading_aloud(storyboards, name):
    for scene in storyboards[name].scenes:
        said = scene.narration.strip().rstrip(".。")
        title = scene.visual.title.strip()
        assert said != title, scene.id
        # "Solution: Solution 1." - a label and a heading that repeats it.
        label, _, heading = title.partition(": ")
        assert not (heading and heading.startswith(label) and said == title), scene.id


@pytest.mark.parametrize("name", LESSONS)
def test_chapter_titles_are_unique(storyboards, name):
    storyboard = storyboards[name]
    titles = [scene.visual.title for scene in storyboard.scenes]

    chapters = [title for _, title in chapter_titles(titles, storyboard.language)]

    assert len(chapters) == len(set(chapters))
    assert len(chapters) < len(titles)  # sections, not one chapter per scene


@pytest.mark.parametrize("name", LESSONS)
def test_scenes_aim_for_twenty_to_sixty_seconds(storyboards, name):
    seconds = [speech_seconds(scene.narration) for scene in storyboards[name].scenes[1:]]

    assert max(seconds) <= MAX_SCENE_SPEECH_S * 1.1
    assert statistics.median(seconds) >= 18
    # Short scenes are the exception (objectives, questions, key points, a lone figure).
    assert sum(1 for s in seconds if s < 10) <= max(3, len(seconds) // 5)


def test_git_conflict_is_not_split_into_dozens_of_tiny_scenes(storyboards):
    # Before pacing: 44 scenes, many of them one line ("Let's start by pulling:").
    assert len(storyboards["en-git-conflict"].scenes) <= 25


@pytest.mark.parametrize("name", LESSONS)
def test_long_text_scenes_show_a_bullet_per_twenty_seconds(storyboards, name):
    for scene in storyboards[name].scenes:
        visual = scene.visual
        if visual.kind != "text" or visual.math or not visual.bullets:
            continue
        seconds = speech_seconds(scene.narration)
        # Never one line on screen for most of a minute.
        if seconds > 40:
            assert len(visual.bullets) >= 2, (scene.id, seconds, visual.bullets)


@pytest.mark.parametrize("name", LESSONS)
def test_bullets_are_whole_sentences_not_cut_short(storyboards, name):
    bullets = [b for scene in storyboards[name].scenes for b in scene.visual.bullets]
    cut = [b for b in bullets if b.endswith("…") and len(b) < 100]

    assert len(cut) <= len(bullets) // 10


def test_output_blocks_follow_their_command_as_output(storyboards):
    code = [s.visual.code for s in storyboards["en-git-changes"].scenes if s.visual.kind == "code"]
    lines = [line for c in code for line in code_lines(c)]

    outputs = [text for is_output, text in lines if is_output]
    commands = [text for is_output, text in lines if not is_output]
    assert any(text.startswith("On branch main") for text in outputs)
    assert any(text.startswith("$ git status") for text in commands)
    assert not any(text.startswith("On branch main") for text in commands)
