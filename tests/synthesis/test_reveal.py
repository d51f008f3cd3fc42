"""Bullets appear as they are narrated: the schedule, the drawing, the compositor, a render."""

from __future__ import annotations

import wave
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from synthesis import reveal as reveal_module
from synthesis.frames.compositor import Reveal, ScenePlan, get_compositor
from synthesis.frames.slides import render_visual
from synthesis.plan import plan
from synthesis.render import encode
from synthesis.reveal import RevealStep, reveal_steps, reveal_times, scene_reveal
from synthesis.segments import SegmentStore
from synthesis.storyboard import RenderSettings, Scene, Storyboard, Visual, VoiceSettings
from synthesis.timeline import TimedSentence

FPS = 10
SIZE = (256, 144)
SETTINGS = RenderSettings(
    width_px=SIZE[0],
    height_px=SIZE[1],
    fps=FPS,
    quality="draft",
    device="cpu",
    burn_captions=False,
    voice=VoiceSettings(engines=("espeak",)),
)
BULLETS = ("Commits are snapshots", "Branches are pointers", "Merging joins histories")
NARRATION = (
    "Git stores commits as snapshots.",
    "Branches are cheap pointers to commits.",
    "Merging joins two histories.",
)
SLIDE = Visual(kind="text", title="Git", bullets=BULLETS)


def timed(*texts: str, length_s: float = 2.0) -> tuple[TimedSentence, ...]:
    """Sentences of length_s each, one after another from 0.4 s."""
    return tuple(
        TimedSentence(text, 0.4 + i * length_s, 0.4 + (i + 1) * length_s, None, "tone", "a4")
        for i, text in enumerate(texts)
    )


def test_each_bullet_appears_when_its_sentence_starts():
    sentences = timed(*NARRATION)
    # The first sentence narrates the first bullet: it shows from the start, not after 0.4 s.
    assert reveal_times(BULLETS, sentences) == (0.0, 2.4, 4.4)


def test_list_items_read_aloud_match_their_sentence():
    bullets = ("Working tree", "Staging area", "Repository")
    sentences = timed(
        "There are three places.",
        "First, the working tree holds your files.",
        "Then the staging area collects the next commit.",
        "Last, the repository keeps every commit.",
    )
    assert reveal_times(bullets, sentences) == (2.4, 4.4, 6.4)


def test_a_bullet_sharing_words_with_the_one_before_waits_for_its_own_sentence():
    bullets = (
        "Understand the benefits of an automated version control system.",
        "Understand the basics of how automated version control systems work.",
    )
    sentences = timed("Objectives.", *bullets)
    # The first sentence says 5 of the second bullet's 8 words; its own says all of them.
    assert reveal_times(bullets, sentences) == (2.4, 4.4)


def test_chinese_bullets_match_by_characters():
    bullets = ("线性模型是加权和", "损失函数衡量误差", "梯度下降更新参数")
    sentences = timed(
        "我们先看线性模型，它是输入的加权和。",
        "然后用损失函数衡量预测的误差。",
        "最后，梯度下降一步步更新参数。",
    )
    assert reveal_times(bullets, sentences) == (0.0, 2.4, 4.4)


def test_unmatched_bullets_appear_with_the_one_before():
    bullets = ("Rust is fast", "Cargo fetches crates", "Ferris is the mascot")
    sentences = timed("Rust compiles to fast code.", "Its build tool builds crates.")
    # Only "crates" of bullet two is said, the mascot never: both come with the first.
    assert reveal_times(bullets, sentences) == (0.0, 0.0, 0.0)
    unmatched_first = reveal_times(("Ferris", "Cargo builds crates"), timed("Hello.", *NARRATION))
    assert unmatched_first == (0.0, 0.0)


def test_a_bullet_never_appears_before_the_bullet_before_it():
    bullets = ("Merging joins histories", "Commits are snapshots")
    sentences = timed("Commits are snapshots.", "Merging joins histories.", "Commits again.")
    # Bullet two is said first, but is matched only from bullet one's sentence on.
    assert reveal_times(bullets, sentences) == (2.4, 2.4)


def test_more_bullets_than_sentences_show_the_rest_with_the_last_said():
    bullets = (*BULLETS, "Tags name commits", "Remotes share work")
    assert reveal_times(bullets, timed(*NARRATION[:2])) == (0.0, 2.4, 2.4, 2.4, 2.4)


def test_steps_are_whole_frames_and_one_bullet_or_no_narration_reveals_nothing():
    steps = scene_reveal(BULLETS, timed(*NARRATION), fps=FPS, frame_count=70)
    assert steps == (RevealStep(0, 1), RevealStep(24, 2), RevealStep(44, 3))
    assert reveal_steps((0.0, 0.0, 0.0), fps=FPS, frame_count=70) == ()
    # Said after the scene's end (cannot happen with real timing): shown on the last frame.
    assert reveal_steps((0.0, 9.0), fps=FPS, frame_count=70)[-1] == RevealStep(69, 2)
    # A bullet said late on a slide with a title: the title shows alone until then.
    late = reveal_steps((1.01, 2.0), fps=FPS, frame_count=70)
    assert late == (RevealStep(0, 0), RevealStep(11, 1), RevealStep(20, 2))
    no_title = reveal_steps((1.01, 2.0), fps=FPS, frame_count=70, start_empty=False)
    assert no_title == (RevealStep(0, 1), RevealStep(20, 2))
    assert scene_reveal(BULLETS[:1], timed(*NARRATION), fps=FPS, frame_count=70) == ()
    assert scene_reveal(BULLETS, (), fps=FPS, frame_count=30) == ()


def _changed_box(a: np.ndarray, b: np.ndarray) -> tuple[slice, slice]:
    rows = np.flatnonzero((a != b).any(axis=(1, 2)))
    columns = np.flatnonzero((a != b).any(axis=(0, 2)))
    return slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1)


def _pictures(visual: Visual = SLIDE) -> list[np.ndarray]:
    return [
        np.asarray(render_visual(visual, size_px=SIZE, language="en", bullets_shown=count))
        for count in range(len(visual.bullets) + 1)
    ]


def test_a_partial_slide_keeps_the_full_layout():
    pictures = _pictures()
    full = np.asarray(render_visual(SLIDE, size_px=SIZE, language="en"))
    assert np.array_equal(pictures[3], full)
    rows, _ = _changed_box(pictures[2], pictures[3])
    # Everything above bullet three is drawn exactly as on the full slide, nothing below it.
    assert np.array_equal(pictures[2][: rows.start], full[: rows.start])
    assert (pictures[2][rows] == pictures[2][rows.start - 1, 0]).all()  # background only
    assert not np.array_equal(pictures[0], pictures[1])


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


BACKENDS = [
    "cpu",
    "torch-cpu",
    pytest.param(
        "cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not _cuda(), reason="no CUDA")]
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_compositor_switches_to_each_picture_at_its_frame(backend):
    if backend != "cpu":
        pytest.importorskip("torch")
    pictures = [
        render_visual(SLIDE, size_px=SIZE, language="en", bullets_shown=n) for n in (1, 2, 3)
    ]
    scene = ScenePlan(
        base=pictures[0],
        duration_s=1.0,
        fps=FPS,
        size_px=SIZE,
        reveals=(Reveal(4, pictures[1]), Reveal(7, pictures[2])),
    )
    bare = ScenePlan(base=pictures[0], duration_s=1.0, fps=FPS, size_px=SIZE)
    compositor = get_compositor(backend)
    frames = np.concatenate(list(compositor.scene_frames(scene, batch_size=4)))
    marked = np.concatenate(list(compositor.scene_frames(bare, batch_size=4)))[0]  # corner mark
    assert len(frames) == 10
    box = _changed_box(np.asarray(pictures[1]), np.asarray(pictures[2]))
    outside_mark = (marked == np.asarray(pictures[0])).all(axis=2)
    for index, shown in [(0, 0), (3, 0), (4, 1), (6, 1), (7, 2), (9, 2)]:
        expected = np.asarray(pictures[shown])
        assert np.array_equal(frames[index][outside_mark], expected[outside_mark])
    assert not np.array_equal(frames[6][box], frames[7][box])
    # A part of the scene is made exactly as in the whole one.
    part = np.concatenate(list(compositor.scene_frames(scene, frame_range=range(5, 8))))
    assert np.array_equal(part, frames[5:8])


def tone_wav(path: Path, seconds: float) -> Path:
    t = np.arange(int(48_000 * seconds)) / 48_000
    samples = (0.3 * np.sin(2 * np.pi * 330 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(48_000)
        wav.writeframes(samples.tobytes())
    return path


def _spoken(folder: Path, texts) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(
            text=text,
            wav_path=tone_wav(folder / f"{folder.name}{i}.wav", 0.8),
            duration_s=0.8,
            engine="espeak",
            voice="en-us",
        )
        for i, text in enumerate(texts)
    ]


def _decoded(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


@pytest.fixture
def lesson_plan(tmp_path):
    board = Storyboard(
        title="Git",
        language="en",
        scenes=(
            Scene("bullets", SLIDE, " ".join(NARRATION)),
            Scene("end", Visual(kind="title", title="The end"), "That is all."),
        ),
    )
    (tmp_path / "clips").mkdir()
    spoken = [_spoken(tmp_path / "clips", NARRATION), _spoken(tmp_path / "clips", ["End."])]
    return board, spoken


def test_rendered_scene_reveals_bullet_three_late_with_the_right_transitions(tmp_path, lesson_plan):
    board, spoken = lesson_plan
    store = SegmentStore(tmp_path / "cache")
    the_plan = plan(board, SETTINGS, spoken=spoken, store=store)
    scene = the_plan.scenes[0]
    # Sentences at 0.4, 1.45 and 2.5 s: whole frames at 10 fps.
    assert scene.reveal == (RevealStep(0, 1), RevealStep(15, 2), RevealStep(25, 3))
    assert scene.timing.frame_count == 39  # 0.4 + 3 x 0.8 + 2 x 0.25 + 0.6 s

    encode(the_plan, store)

    frames = _decoded(store.path_for(scene.key))
    assert len(frames) == scene.timing.frame_count  # the reveal does not change the length
    pictures = _pictures()
    box = _changed_box(pictures[2], pictures[3])  # where bullet three is drawn

    def shows(frame: np.ndarray, count: int) -> bool:
        """Whether bullet three's box looks like the picture with count bullets (x264 at
        draft quality blurs small text: nearer by far than to the other picture)."""
        near = {n: np.abs(frame[box].astype(int) - pictures[n][box]).mean() for n in (2, 3)}
        return near[count] * 3 < near[5 - count]

    assert all(shows(frames[index], 2) for index in range(25))
    assert all(shows(frames[index], 3) for index in range(25, 39))
    two = _changed_box(pictures[1], pictures[2])  # and bullet two's box
    assert np.abs(frames[0][two].astype(int) - pictures[1][two]).mean() < 3
    # The crossfade in ends on the first picture (one bullet), the one out starts on the last.
    arriving = _decoded(store.path_for(the_plan.transition_keys[0]))[-1]
    leaving = _decoded(store.path_for(the_plan.transition_keys[1]))[0]
    assert shows(arriving, 2) and shows(leaving, 3)
    assert np.abs(arriving[two].astype(int) - pictures[1][two]).mean() < 3


def test_the_reveal_is_part_of_the_segment_key(tmp_path, lesson_plan, monkeypatch):
    board, spoken = lesson_plan
    revealed = plan(board, SETTINGS, spoken=spoken)
    monkeypatch.setattr(reveal_module, "MATCH_SHARE", 2.0)  # nothing matches: all at once
    at_once = plan(board, SETTINGS, spoken=spoken)
    assert at_once.scenes[0].reveal == ()
    assert at_once.scenes[0].key != revealed.scenes[0].key
    assert at_once.scenes[1].key == revealed.scenes[1].key
    # A moving slide shows every bullet: a revealed one would not zoom with it.
    moving = plan(board, replace(SETTINGS, motion="everywhere"), spoken=spoken)
    assert moving.scenes[0].reveal == ()
