"""WebVTT tracks and the transcript: captions, audio descriptions, chapters, plain text.

Captions come from the narration text itself (never recognised speech), and their first cue
tells the viewer that the video was generated with AI.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from synthesis.frames.latex_text import replace_inline_math
from synthesis.storyboard import Visual
from synthesis.timeline import OPENING_LABEL_S, Cue, LessonTimeline

AI_NOTICE = {
    "en": "This video was generated with AI.",
    "zh": "本视频由AI生成。",
}
_TRANSCRIPT_NOTICE = {
    "en": "This video was generated with AI: the narration is synthetic speech.",
    "zh": "本视频由AI生成：旁白为合成语音。",
}
_SCENE_FALLBACK = {"en": "Scene {n}", "zh": "第{n}部分"}
_CODE_SLIDE = {"en": "Code slide", "zh": "代码幻灯片"}
_SENTENCE_ENDS = tuple(".!?。！？…")
_TIMESTAMP = re.compile(r"(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})")


def _lang(language: str) -> str:
    return "zh" if language.lower().startswith("zh") else "en"


def ai_notice(language: str) -> str:
    """The sentence that says the video is AI-generated, in the lesson's language."""
    return AI_NOTICE[_lang(language)]


def vtt_timestamp(seconds: float) -> str:
    """Seconds as a WebVTT timestamp, HH:MM:SS.mmm."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _cue_text(text: str) -> str:
    # Cue payloads may not hold blank lines; escaping &, < and > also keeps "-->" out.
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines)


def webvtt(cues: Sequence[Cue], *, cue_ids: Sequence[str] | None = None) -> str:
    """A WebVTT document with the cues in order."""
    blocks = ["WEBVTT"]
    for position, cue in enumerate(cues):
        text = _cue_text(cue.text)
        if not text:
            continue
        timing = f"{vtt_timestamp(cue.start_s)} --> {vtt_timestamp(cue.end_s)}"
        header = f"{cue_ids[position]}\n" if cue_ids else ""
        blocks.append(f"{header}{timing}\n{text}")
    return "\n\n".join(blocks) + "\n"


def parse_webvtt(document: str) -> list[Cue]:
    """The cues of a WebVTT document (text unescaped); raises ValueError if it is not WebVTT."""
    lines = document.replace("\r\n", "\n").split("\n")
    if not lines or not lines[0].startswith("WEBVTT"):
        raise ValueError("not a WebVTT document: the first line must start with WEBVTT")
    cues: list[Cue] = []
    for block in "\n".join(lines[1:]).split("\n\n"):
        block_lines = [line for line in block.split("\n") if line.strip()]
        timing_at = next((i for i, line in enumerate(block_lines) if "-->" in line), None)
        if timing_at is None:
            continue
        start_text, end_text = (
            part.strip().split(" ")[0] for part in block_lines[timing_at].split("-->")
        )
        text = "\n".join(block_lines[timing_at + 1 :])
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        cues.append(Cue(_parse_timestamp(start_text), _parse_timestamp(end_text), text))
    return cues


def _parse_timestamp(text: str) -> float:
    match = _TIMESTAMP.fullmatch(text)
    if not match:
        raise ValueError(f"bad WebVTT timestamp {text!r}")
    hours, minutes, seconds, millis = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def caption_track(timeline: LessonTimeline, language: str) -> list[Cue]:
    """Lesson captions: the AI notice over the opening seconds, then every narration cue."""
    cues = [Cue(0.0, min(OPENING_LABEL_S, timeline.duration_s), ai_notice(language))]
    for position, timing in enumerate(timeline.scenes):
        offset_s = timeline.scene_start_s(position)
        cues.extend(
            Cue(offset_s + cue.start_s, offset_s + cue.end_s, cue.text) for cue in timing.cues
        )
    return cues


def describe_visual(visual: Visual, language: str) -> str:
    """What a scene shows, in words, for the audio-description track."""
    lang = _lang(language)
    parts: list[str] = []
    if visual.kind == "image":
        parts.extend(p for p in (visual.title, visual.alt) if p)
    elif visual.kind == "code":
        label = _CODE_SLIDE[lang]
        if visual.code_language:
            label += f" ({visual.code_language})"
        parts.extend(p for p in (visual.title, label) if p)
        first_line = next((line.strip() for line in visual.code.splitlines() if line.strip()), "")
        if first_line:
            parts.append(first_line)
    else:
        parts.extend(p for p in (visual.title, visual.subtitle) if p)
        parts.extend(replace_inline_math(bullet) for bullet in visual.bullets)
        parts.extend(visual.math)
        if visual.alt:
            parts.append(visual.alt)
    full_stop = "。" if lang == "zh" else "."
    sentences = [_as_sentence(part, full_stop) for part in parts if part.strip()]
    return ("" if lang == "zh" else " ").join(sentences)


def _as_sentence(text: str, full_stop: str) -> str:
    """The text on one line, ending in punctuation (a full stop added only if it has none)."""
    text = " ".join(text.split()).rstrip(",，;；:：")
    return text if text.endswith(_SENTENCE_ENDS) else text + full_stop


def description_track(timeline: LessonTimeline, language: str) -> list[Cue]:
    """One description cue per scene, spanning the scene."""
    cues = []
    for position, timing in enumerate(timeline.scenes):
        start_s = timeline.scene_start_s(position)
        text = describe_visual(timing.scene.visual, timing.scene.language or language)
        cues.append(Cue(start_s, start_s + timing.duration_s, text))
    return cues


def scene_title(position: int, visual: Visual, language: str) -> str:
    """A scene's title for chapters and the manifest: the visual's title, else 'Scene n'."""
    title = " ".join(visual.title.split())
    return title or _SCENE_FALLBACK[_lang(language)].format(n=position + 1)


_CONTINUED_SUFFIXES = (" (continued)", "（续）")


def chapter_titles(titles: Sequence[str], language: str) -> list[tuple[int, str]]:
    """(first scene, title) of each chapter: neighbouring scenes of one section form one
    chapter, and a title that comes back later is numbered ("Conflicts (2)"), so no two
    chapters read the same."""
    chapters: list[tuple[int, str]] = []
    previous = None
    for position, title in enumerate(titles):
        base = title
        for suffix in _CONTINUED_SUFFIXES:
            base = base.removesuffix(suffix)
        if base != previous:
            chapters.append((position, base))
        previous = base
    seen: dict[str, int] = {}
    unique: list[tuple[int, str]] = []
    for position, title in chapters:
        seen[title] = seen.get(title, 0) + 1
        if seen[title] > 1:
            title = (
                f"{title}（{seen[title]}）"
                if _lang(language) == "zh"
                else f"{title} ({seen[title]})"
            )
        unique.append((position, title))
    return unique


def chapter_track(timeline: LessonTimeline, language: str) -> list[Cue]:
    """One chapter per section (neighbouring scenes of one title), with unique titles."""
    titles = [
        scene_title(position, timing.scene.visual, language)
        for position, timing in enumerate(timeline.scenes)
    ]
    chapters = chapter_titles(titles, language)
    cues = []
    for number, (position, title) in enumerate(chapters):
        # The first chapter includes the opening label before it.
        start_s = timeline.scene_start_s(position) if number else 0.0
        if number + 1 < len(chapters):
            end_s = timeline.scene_start_s(chapters[number + 1][0])
        else:
            end_s = timeline.duration_s
        cues.append(Cue(start_s, end_s, title))
    return cues


def transcript(
    title: str, timeline: LessonTimeline, language: str, *, attribution: str = ""
) -> str:
    """Plain-text transcript: title, AI notice, then each scene's title and narration."""
    lang = _lang(language)
    lines = [title, "", _TRANSCRIPT_NOTICE[lang], ""]
    joiner = "" if lang == "zh" else " "
    for position, timing in enumerate(timeline.scenes):
        start_s = timeline.scene_start_s(position)
        heading = scene_title(position, timing.scene.visual, language)
        lines.append(f"[{vtt_timestamp(start_s)[:8]}] {heading}")
        spoken = joiner.join(sentence.text for sentence in timing.sentences)
        if spoken:
            lines.append(spoken)
        lines.append("")
    if attribution:
        lines.extend([attribution.strip(), ""])
    return "\n".join(lines)
