"""What a lesson video shows and says, as plain frozen dataclasses.

A storyboard describes; renderers decide how pixels and samples are made. The Django
side builds one from the database, `synthesis.markdown` builds one from a lesson folder,
and tests can check one without rendering anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

VisualKind = Literal["title", "text", "image", "code"]
SceneRole = Literal["core", "remedial", "enrichment", "recap"]
Quality = Literal["draft", "standard", "high", "lossless"]
Motion = Literal["images", "everywhere"]
SUPPORTED_LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Visual:
    """What the scene shows. Fields unused by a kind stay empty.

    title: heading on a title card or slide.  bullets: one line each on a text slide.
    code/code_language: a code slide.  math: LaTeX sources shown on a text slide.
    image_path: absolute path of an uploaded or imported image.  alt: its description,
    used for the caption and the descriptions track.
    """

    kind: VisualKind
    title: str = ""
    subtitle: str = ""
    bullets: tuple[str, ...] = ()
    code: str = ""
    code_language: str = ""
    math: tuple[str, ...] = ()
    image_path: str | None = None
    alt: str = ""


@dataclass(frozen=True)
class SourceRef:
    """Where one narrated sentence came from in imported material.

    An importer gives a scene one SourceRef per sentence of its narration, in order, as
    `synthesis.sentences.split_sentences(narration, language)` splits it; `sentence`
    repeats that sentence so the pairing survives edits. An empty `file` marks a sentence
    the importer wrote itself ("Here is the code."), which comes from no file.
    """

    file: str
    paragraph: int | None = None
    page: int | None = None
    slide: int | None = None
    sentence: str = ""


@dataclass(frozen=True)
class Scene:
    """One scene: a visual, the narration read over it, and what it teaches."""

    id: str
    visual: Visual
    narration: str
    language: str = "en"
    concepts: tuple[str, ...] = ()
    role: SceneRole = "core"
    sources: tuple[SourceRef, ...] = ()
    # The question students answer after the scene, as canonical JSON ("" for none): not
    # drawn, but part of what moderation approves (synthesis.content_hash).
    checkpoint: str = ""


@dataclass(frozen=True)
class Storyboard:
    title: str
    language: str
    scenes: tuple[Scene, ...]
    # Problems found while building the storyboard, each naming the scene and the file.
    warnings: tuple[str, ...] = ()
    attribution: str = ""


@dataclass(frozen=True)
class VoiceSettings:
    """Engines in order of preference; the first that works for a sentence speaks it.

    `engines` serves every language; `language_engines` replaces it for the languages it
    names, e.g. (("zh", ("kokoro", "gtts")),). Engines that do not speak a language are
    passed over, so one list can serve both. `voice` names one engine's voice.
    """

    engines: tuple[str, ...] = ("piper", "kokoro", "espeak", "gtts")
    voice: str | None = None
    rate: float = 1.0
    language_engines: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def engines_for(self, language: str) -> tuple[str, ...]:
        """The preference order for one language ('en', 'zh')."""
        return dict(self.language_engines).get(language, self.engines)


@dataclass(frozen=True)
class RenderSettings:
    """How the video looks: everything here changes pixels, so it is part of cache keys."""

    width_px: int = 1280
    height_px: int = 720
    fps: int = 30
    quality: Quality = "standard"
    burn_captions: bool = True
    device: str = "auto"  # auto | cpu | cuda
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    # Which scenes zoom slowly: image scenes only, or every scene (as the bench's peers do).
    motion: Motion = "images"
    # The big AI-generated label over the opening segment. Off only for a staff export that
    # asks for it (render_lesson --unlabelled, audited); the web app never turns it off.
    ai_label: bool = True


@dataclass(frozen=True)
class Progress:
    """One progress report: stage name, scene i of n, overall percent, seconds left."""

    stage: str
    scene_index: int
    scene_count: int
    percent: float
    eta_s: float | None = None
    message: str = ""
