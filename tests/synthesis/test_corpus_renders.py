"""Every shared corpus lesson renders offline to a valid, labelled, captioned MP4.

The lessons are trimmed to a few scenes (the first two, plus the first image, code and
math scenes where the lesson has them) and rendered small so the suite stays fast.
Corpus lessons: Software Carpentry git-novice (CC BY 4.0) and Dive into Deep Learning
(zh; see each SOURCE.json for the licence and attribution).
"""

from __future__ import annotations

import dataclasses
import json
import random
import re

import pytest

from synthesis.encode import join_segments
from synthesis.markdown import import_lesson_folder
from synthesis.render import render
from synthesis.segments import SegmentStore
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


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict:
    """Every corpus lesson, trimmed, rendered once into one shared segment cache:
    {name: (storyboard, render result)}, and the cache folder under "cache"."""
    folder = tmp_path_factory.mktemp("corpus-renders")
    found: dict = {"cache": folder / "cache"}
    for name in LESSONS:
        storyboard = trimmed(import_lesson_folder(corpus_lesson(name)))
        result = render(
            storyboard, folder / f"{name}.mp4", settings=SMALL, cache_dir=found["cache"]
        )
        found[name] = (storyboard, result)
    return found


@pytest.mark.parametrize("name", LESSONS)
def test_corpus_lesson_renders_to_valid_labelled_captioned_mp4(name, renders):
    storyboard, result = renders[name]

    info = ffprobe(result.video)
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


def test_the_corpus_segments_join_in_any_order_without_drift(renders, tmp_path):
    """50 random orders of every segment the corpus renders stored (openings, scenes in
    both languages, crossfades): audio and video end within one frame of each other."""
    entries = {}
    for name in LESSONS:
        manifest = json.loads(renders[name][1].manifest.read_text("utf-8"))
        entries.update({entry["segment"]: entry["frames"] for entry in manifest["entries"]})
    store = SegmentStore(renders["cache"])
    keys = sorted(entries)
    assert len(keys) >= 30
    shuffle = random.Random(50)
    frame_s = 1 / SMALL.fps
    for attempt in range(50):
        order = [shuffle.choice(keys) for _ in range(shuffle.randint(2, 9))]
        out = tmp_path / f"{attempt}.mp4"

        joined = join_segments(
            [store.path_for(key) for key in order], out, fps=SMALL.fps, metadata={}
        )

        info = ffprobe(out)
        video_s = float(stream(info, "video")["duration"])
        audio_s = float(stream(info, "audio")["duration"])
        assert joined.frame_count == sum(entries[key] for key in order)
        assert abs(video_s - joined.frame_count * frame_s) <= frame_s
        assert abs(audio_s - video_s) <= frame_s, (attempt, order, video_s, audio_s)
