"""The AI-content labels: big and legible at the start, gone after 2.5 s, a corner mark always."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from synthesis.frames.compositor import ScenePlan, get_compositor
from synthesis.frames.overlays import (
    OPENING_LABEL_S,
    corner_mark_overlay,
    label_text,
    opening_label_overlay,
)

FULL_HD_ISH = (1280, 720)


def _frames(size_px, *, background, language="en", duration_s=3.0, fps=10) -> np.ndarray:
    plan = ScenePlan(
        base=Image.new("RGB", size_px, background),
        duration_s=duration_s,
        fps=fps,
        size_px=size_px,
        motion=None,
        captions=(),
        language=language,
        opening_label=True,
    )
    return np.concatenate(list(get_compositor("cpu").scene_frames(plan, batch_size=8)))


def _white_text(pixels: np.ndarray) -> np.ndarray:
    return (pixels > 225).all(axis=-1)


def _tallest_text_run_px(mask: np.ndarray) -> int:
    """Height of the tallest band of consecutive rows that hold white text pixels."""
    rows = mask.any(axis=1)
    tallest = current = 0
    for has_text in rows:
        current = current + 1 if has_text else 0
        tallest = max(tallest, current)
    return tallest


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("size_px", [FULL_HD_ISH, (720, 1280)], ids=["landscape", "portrait"])
def test_opening_label_text_is_at_least_five_percent_of_the_short_side(language, size_px):
    frames = _frames(size_px, background=(128, 128, 128), language=language, duration_s=0.1)
    label = opening_label_overlay(size_px=size_px, language=language)
    region = frames[0][
        label.y : label.y + label.image.height, label.x : label.x + label.image.width
    ]

    glyph_height = _tallest_text_run_px(_white_text(region))

    assert glyph_height >= 0.05 * min(size_px)


def test_opening_label_shows_for_the_first_two_and_a_half_seconds_only():
    fps = 10
    frames = _frames(FULL_HD_ISH, background=(128, 128, 128), duration_s=4.0, fps=fps)
    label = opening_label_overlay(size_px=FULL_HD_ISH, language="en")
    box = (
        slice(label.y, label.y + label.image.height),
        slice(label.x, label.x + label.image.width),
    )

    last_labelled = round(OPENING_LABEL_S * fps) - 1
    for index in (0, last_labelled):
        assert _white_text(frames[index][box]).sum() > 1000
    for index in (last_labelled + 1, len(frames) - 1):
        assert (frames[index][box] == 128).all()


@pytest.mark.parametrize("language", ["en", "zh"])
def test_corner_mark_is_on_every_frame(language):
    frames = _frames(FULL_HD_ISH, background=(128, 128, 128), language=language, duration_s=3.5)
    mark = corner_mark_overlay(size_px=FULL_HD_ISH, language=language)
    corner = frames[:, mark.y : mark.y + mark.image.height, mark.x : mark.x + mark.image.width]

    white_per_frame = _white_text(corner).sum(axis=(1, 2))

    assert (white_per_frame > 20).all()
    assert mark.x + mark.image.width > FULL_HD_ISH[0] * 0.9  # it sits in the corner
    assert mark.y + mark.image.height < FULL_HD_ISH[1] * 0.1


@pytest.mark.parametrize("background", [(255, 255, 255), (0, 0, 0), (250, 220, 40)])
def test_opening_label_is_legible_on_any_background(background):
    frames = _frames(FULL_HD_ISH, background=background, duration_s=0.1)
    label = opening_label_overlay(size_px=FULL_HD_ISH, language="en")
    region = frames[0][
        label.y : label.y + label.image.height, label.x : label.x + label.image.width
    ].astype(int)

    text = _white_text(region)
    luminance = region.mean(axis=-1)
    behind_text = np.median(luminance[~text])

    assert text.sum() > 1000
    assert behind_text < 80  # a dark box behind white text, even on white


def test_label_words():
    english, chinese = label_text("en"), label_text("zh")

    assert "AI" in english.opening and "generated" in english.opening
    assert "AI" in english.corner and "generated" in english.corner
    assert "AI生成" in chinese.opening
    assert "AI生成" in chinese.corner
    assert label_text("fr") == english


@pytest.mark.parametrize("language", ["en", "zh"])
def test_long_captions_split_into_pieces_of_at_most_two_lines(language):
    from synthesis.frames.overlays import caption_chunks, caption_lines

    sentence = (
        "Version control records changes to a file or set of files over time so that you "
        "can recall specific versions later, compare them, and see who changed what."
        if language == "en"
        else "线性回归基于几个简单的假设：首先，假设自变量和因变量之间的关系是线性的，"
        "即可以表示为元素的加权和，这里通常允许包含观测值的一些噪声；其次，我们假设任何噪声都比较正常。"
    )
    size_px = (320, 180)

    chunks = caption_chunks(sentence, size_px=size_px)

    assert len(chunks) > 1
    joined = (" " if language == "en" else "").join(chunks)
    assert joined == sentence
    for chunk in chunks:
        assert 1 <= len(caption_lines(chunk, size_px=size_px)) <= 2


def test_prewrapped_cue_text_is_rejoined_without_spaces_between_chinese_characters():
    from synthesis.frames.overlays import caption_lines

    assert caption_lines("线性回归\n基于假设", size_px=FULL_HD_ISH) == ["线性回归基于假设"]
    assert caption_lines("Every commit\nis a snapshot", size_px=FULL_HD_ISH) == [
        "Every commit is a snapshot"
    ]
