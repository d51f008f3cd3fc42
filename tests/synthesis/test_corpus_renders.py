"""Every shared corpus lesson renders offline to a valid, labelled, captioned MP4.

The lessons are trimmed to a few scenes (the first two, plus the first image, code and
math scenes where the lesson has them) and rendered small so the suite stays fast.
Corpus lessons: Software Carpentry git-novice (CC BY 4.0) and Dive into Deep Learning
(zh; see each SOURCE.json for the licence and attribution).
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from synthesis.markdown import import_lesson_folder
from synthesis.render import render
from synthesis.sentences import split_sentences
from synthesis.storyboard import RenderSettings, Scene, Storyboard
from tests.corpus import LESSONS, corpus_lesson
from tests.synthesis.media_checks import ffprobe, stream

SMALL = RenderSettings(width_px=256, height_px=144, fps=10, quality="draft")
AI_NOTICE = {"en": "generated with AI", "zh": "AI生成"}
CUE_TIME = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} --> ")


def trimmed(storyboard: Storyboard) -> Storyboard:
    """The first two scenes and the first scene of each other kind worth covering.

    Each keeps the first two sentences of its narration: scenes run 20-60 s, and the
    Mandarin voice speaks at about real time on one core.
    """
    scenes = list(storyboard.scenes[:2])
    wanted = (
        lambda s: s.visual.kind == "image",
        lambda s: s.visual.kind == "code",
        lambda s: bool(s.visual.math),
    )
    for matches in wanted:
        found = next((s for s in storyboard.scenes if matches(s)), None)
        if found is not None and found not in scenes:
            scenes.append(found)
    return dataclasses.replace(storyboard, scenes=tuple(_first_sentences(s) for s in scenes))


def _first_sentences(scene: Scene, count: int = 2) -> Scene:
    sentences = split_sentences(scene.narration, scene.language)[:count]
    joiner = "" if scene.language.startswith("zh") else " "
    return dataclasses.replace(scene, narration=joiner.join(sentences), sources=())


def caption_cues(vtt: str) -> list[str]:
    """The text of each cue, lines joined, in file order."""
    blocks = vtt.strip().split("\n\n")[1:]
    cues = []
    for block in blocks:
        lines = block.splitlines()
        timing = next(i for i, line in enumerate(lines) if CUE_TIME.match(line))
        cues.append("".join(lines[timing + 1 :]))
    return cues


def without_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("name", LESSONS)
def test_corpus_lesson_renders_to_valid_labelled_captioned_mp4(name, tmp_path):
    storyboard = trimmed(import_lesson_folder(corpus_lesson(name)))
    out = tmp_path / f"{name}.mp4"

    result = render(storyboard, out, settings=SMALL, cache_dir=tmp_path / "cache")

    info = ffprobe(out)
    video, audio = stream(info, "video"), stream(info, "audio")
    codecs = (video["codec_name"], video["pix_fmt"], audio["codec_name"])
    assert codecs == ("h264", "yuv420p", "aac")
    assert abs(float(video["duration"]) - float(audio["duration"])) <= 0.1
    aigc = json.loads(info["format"]["tags"]["AIGC"])
    assert aigc["Label"] == "1"

    cues = caption_cues(result.captions.read_text("utf-8"))
    assert AI_NOTICE[storyboard.language] in cues[0]
    # The captions are the narration itself, sentence for sentence, nothing dropped.
    narration = "".join(without_space(scene.narration) for scene in storyboard.scenes)
    assert without_space("".join(cues[1:])) == narration
    if storyboard.language == "zh":
        assert all(re.search(r"[\u4e00-\u9fff]", cue) for cue in cues)
    manifest = json.loads(result.manifest.read_text("utf-8"))
    assert len(manifest["scenes"]) == len(storyboard.scenes)
