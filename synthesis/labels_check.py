"""Check that a rendered video still says it is AI-generated, before anyone publishes it.

Three labels, each read back from the files themselves: the visible opening label (on every
frame of the first MIN_LABEL_S seconds, its text at least MIN_TEXT_FRACTION of the short
side), the `AIGC` tag in the MP4 container, and the first caption cue. No OCR: the renderer
draws the opening label as a known patch (white text on a dark box, at a known place for the
frame size and language), so a frame carries the label when its pixels match that patch.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import av
import numpy as np

from synthesis.captions import AI_NOTICE, parse_webvtt
from synthesis.frames.overlays import LABEL_TEXTS, Overlay, opening_label_overlay

MIN_LABEL_S = 2.0
MIN_TEXT_FRACTION = 0.05
# The first caption cue must begin within this many seconds of the start.
NOTICE_START_MAX_S = 0.5
# Decoded H.264 moves the renderer's white (255) and dark box (<= 40 on white) by tens of
# levels at small sizes; these bounds keep a clear margin on both sides.
TEXT_MIN_LUMA = 170
BOX_MAX_LUMA = 100
MATCH_FRACTION = 0.8
_AI_GENERATED = re.compile(r"\bAI\b.*(generated|生成)|(AI|人工智能)生成", re.IGNORECASE)


def label_problems(video: Path, captions: Path) -> list[str]:
    """Every missing AI-content label of a rendered video and its captions; empty when fine."""
    return [
        *opening_label_problems(video),
        *aigc_metadata_problems(video),
        *caption_notice_problems(captions),
    ]


def aigc_metadata_problems(video: Path) -> list[str]:
    """The container must carry the AIGC tag (JSON) with Label "1"."""
    try:
        with av.open(str(video)) as container:
            tags = dict(container.metadata)
    except (av.error.FFmpegError, OSError) as error:
        return [f"{video.name}: cannot be read as a video ({error})"]
    raw = tags.get("AIGC") or tags.get("aigc")
    if not raw:
        return [f"{video.name}: the AIGC metadata tag is missing"]
    try:
        label = json.loads(raw)
    except json.JSONDecodeError:
        return [f"{video.name}: the AIGC metadata tag is not JSON"]
    if not isinstance(label, dict) or str(label.get("Label")) != "1":
        return [f"{video.name}: the AIGC metadata tag does not mark the video as AI-generated"]
    return []


def caption_notice_problems(captions: Path) -> list[str]:
    """The first caption cue, at the start, must say that the video is AI-generated."""
    try:
        cues = parse_webvtt(captions.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return [f"{captions.name}: the captions cannot be read ({error})"]
    if not cues:
        return [f"{captions.name}: the captions have no cues"]
    first = cues[0]
    text = " ".join(first.text.split())
    says_ai = any(notice in text for notice in AI_NOTICE.values()) or _AI_GENERATED.search(text)
    if first.start_s > NOTICE_START_MAX_S or not says_ai:
        return [f"{captions.name}: the first caption cue does not say the video is AI-generated"]
    return []


def opening_label_problems(video: Path) -> list[str]:
    """The opening label must be on every frame of the first MIN_LABEL_S seconds."""
    try:
        with av.open(str(video)) as container:
            if not container.streams.video:
                return [f"{video.name}: has no video stream"]
            languages = _candidate_languages(container.metadata.get("language", ""))
            labelled_until_s, glyph_px, short_side_px = _labelled_span(container, languages)
    except (av.error.FFmpegError, OSError) as error:
        return [f"{video.name}: cannot be decoded ({error})"]
    if labelled_until_s is None:
        return [f"{video.name}: the opening frame has no visible AI-generated label"]
    problems = []
    if labelled_until_s < MIN_LABEL_S:
        problems.append(
            f"{video.name}: the visible AI-generated label shows for {labelled_until_s:.2f} s, "
            f"less than {MIN_LABEL_S:g} s"
        )
    if glyph_px < MIN_TEXT_FRACTION * short_side_px:
        problems.append(
            f"{video.name}: the AI-generated label's text is {glyph_px} px tall, less than "
            f"{MIN_TEXT_FRACTION:.0%} of {short_side_px} px"
        )
    return problems


def _candidate_languages(tag: str) -> list[str]:
    """The tagged language first, then every other language the renderer labels in."""
    first = "zh" if tag.lower().startswith("zh") else "en"
    return [first, *(language for language in LABEL_TEXTS if language != first)]


def _labelled_span(container, languages: list[str]) -> tuple[float | None, int, int]:
    """(seconds from the start until the first frame without the label, or None if the first
    frame has none; the smallest text height seen in px; the short side in px)."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    language: str | None = None
    glyph_px = 0
    short_side_px = 0
    for frame in container.decode(stream):
        time_s = float(frame.time or 0.0)
        rgb = frame.to_ndarray(format="rgb24")  # (h, w, 3) uint8
        short_side_px = min(rgb.shape[:2])
        if language is None:
            language = next((lang for lang in languages if _text_height_px(rgb, lang)), None)
            if language is None:
                return None, 0, short_side_px
        height_px = _text_height_px(rgb, language)
        if not height_px:
            return time_s, glyph_px, short_side_px
        glyph_px = height_px if not glyph_px else min(glyph_px, height_px)
        if time_s >= MIN_LABEL_S:
            return time_s, glyph_px, short_side_px
    # The video ended while the label still showed: labelled for the whole video.
    end_s = float(stream.duration * stream.time_base) if stream.duration else 0.0
    return end_s, glyph_px, short_side_px


@functools.lru_cache(maxsize=8)
def _label_template(
    size_px: tuple[int, int], language: str
) -> tuple[Overlay, np.ndarray, np.ndarray]:
    """The renderer's label patch and its masks: (h, w) text pixels and (h, w) box pixels."""
    overlay = opening_label_overlay(size_px=size_px, language=language)
    rgba = overlay.rgba.astype(np.int16)  # (h, w, 4)
    luma = rgba[..., :3].mean(axis=-1)
    opaque = rgba[..., 3] >= 200
    text = opaque & (luma >= 240)
    box = opaque & (luma <= 20)
    # Keep the box pixels away from glyph edges, which H.264 smears.
    box &= ~_grown(text, 2)
    return overlay, text, box


def _grown(mask: np.ndarray, steps: int) -> np.ndarray:
    grown = mask.copy()
    for _ in range(steps):
        grown[1:] |= grown[:-1]
        grown[:-1] |= grown[1:]
        grown[:, 1:] |= grown[:, :-1]
        grown[:, :-1] |= grown[:, 1:]
    return grown


def _text_height_px(rgb: np.ndarray, language: str) -> int:
    """The label text's height in px when the frame shows the opening label, else 0."""
    height, width = rgb.shape[:2]
    overlay, text, box = _label_template((width, height), language)
    patch_h, patch_w = text.shape
    region = rgb[overlay.y : overlay.y + patch_h, overlay.x : overlay.x + patch_w]
    if region.shape[:2] != text.shape or not text.any() or not box.any():
        return 0
    luma = region.mean(axis=-1)  # (h, w)
    text_bright = (luma[text] >= TEXT_MIN_LUMA).mean()
    box_dark = (luma[box] <= BOX_MAX_LUMA).mean()
    if text_bright < MATCH_FRACTION or box_dark < MATCH_FRACTION:
        return 0
    # Tallest band of consecutive rows holding bright pixels: one line of label text.
    rows = (luma >= TEXT_MIN_LUMA).any(axis=1)
    tallest = current = 0
    for has_text in rows:
        current = current + 1 if has_text else 0
        tallest = max(tallest, current)
    return tallest
