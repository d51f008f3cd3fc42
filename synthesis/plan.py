"""Step one of a render: a frozen plan of what the video is made of, without encoding a frame.

A render is three values and three steps (../shared/style.md): `plan(storyboard, settings,
spoken=...)` returns a RenderPlan you can print and test (each scene's timing and segment
key, the transition keys, the opening label segment, what the store lacks); `encode` fills
the store with what is missing; `assemble` and `playlist` only remux stored segments.

Planning is pure given the spoken sentences: it reads the narration clips (their digests go
into the keys) and, for an image scene whose segment is missing, the image (to fall back to a
text slide when it cannot be loaded), and writes nothing.

A segment key depends on what the segment shows and sounds like and on the render settings,
never on the scene's place in the lesson: the AI-generated opening label is a segment of its
own (the lesson title under the label) before a crossfade into whatever scene comes first,
so a variant that reorders, skips or inserts scenes reuses every scene segment and encodes
only the transitions between new neighbours.

A plan may also have hard cuts (`cuts`: the scenes entered without a transition): a
variant can be played before the crossfades between its new neighbours exist
(`with_hard_cuts`), and those are encoded afterwards from `crossfaded()` (bench/README.md,
"Personalized variants", measures that a cut there is clean). `plan(...)` never cuts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from synthesis.audio_track import MusicBed
from synthesis.content_hash import scene_content_hash
from synthesis.encode import encoder_fingerprint, encoder_settings
from synthesis.errors import SynthesisError
from synthesis.messages import Message, gettext_noop
from synthesis.reveal import RevealStep, scene_reveal
from synthesis.segments import SegmentStore, content_key, file_digest
from synthesis.sentences import split_sentences
from synthesis.storyboard import SUPPORTED_LANGUAGES, RenderSettings, Scene, Storyboard, Visual
from synthesis.timeline import (
    LessonTimeline,
    SceneTiming,
    lesson_timeline,
    opening_frames,
    scene_timing,
)

# Image scenes drift in slowly; slides hold still (cheaper to encode, easier to read).
IMAGE_MOVE = {"start_zoom": 1.0, "end_zoom": 1.06}
# RenderSettings.motion: which scenes move ("everywhere" is what the bench's peers do).
MOTION_CHOICES = ("images", "everywhere")


@dataclass(frozen=True)
class PlannedScene:
    """One segment of the lesson other than a transition: a scene, or the opening label."""

    timing: SceneTiming
    visual: Visual  # after any fallback to a text slide
    motion: dict[str, float] | None
    key: str
    language: str
    content_hash: str = ""  # what a viewer perceives (synthesis.content_hash); "" for the opening
    opening: bool = False  # the AI label is drawn: the opening, unless ai_label is off
    # A text slide's bullets appearing as they are said; (): all shown throughout.
    reveal: tuple[RevealStep, ...] = ()


@dataclass(frozen=True)
class RenderPlan:
    """What a render is made of: a value, printable and testable without encoding.

    parts are the opening then the scenes; transition_keys[i] leads from part i into part
    i + 1, that is into scene i. cuts names the scenes entered by a hard cut: their
    transition key is kept (the crossfade that would play) but not played, so the plan's
    segments, timeline and MP4 have no transition there. missing names the segment keys
    (of segments, so never a cut's crossfade) the store lacked when the plan was made.
    """

    title: str
    language: str
    attribution: str
    settings: RenderSettings
    opening: PlannedScene
    scenes: tuple[PlannedScene, ...]
    transition_keys: tuple[str, ...]
    missing: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    storyboard_warnings: tuple[str, ...] = ()
    music: MusicBed | None = field(default=None, compare=False)
    cuts: frozenset[int] = frozenset()

    @property
    def parts(self) -> tuple[PlannedScene, ...]:
        return (self.opening, *self.scenes)

    @property
    def timeline(self) -> LessonTimeline:
        return lesson_timeline(
            [s.timing for s in self.scenes], self.settings.fps, opening=True, cuts=self.cuts
        )

    @property
    def segments(self) -> tuple[str, ...]:
        """Every segment key in playing order: opening, transition, scene, transition, ...
        (no transition before a scene entered by a hard cut)."""
        keys = [self.opening.key]
        for position, (scene, transition) in enumerate(
            zip(self.scenes, self.transition_keys, strict=True)
        ):
            keys += [scene.key] if position in self.cuts else [transition, scene.key]
        return tuple(keys)

    @property
    def cut_transition_keys(self) -> tuple[str, ...]:
        """The crossfades the hard cuts stand in for (what `crossfaded()` adds)."""
        return tuple(self.transition_keys[position] for position in sorted(self.cuts))

    def crossfaded(self, store: SegmentStore | None = None) -> RenderPlan:
        """The same plan with a crossfade at every junction (its missing asked of store)."""
        return self.with_cuts(frozenset(), store)

    def with_cuts(self, cuts: frozenset[int], store: SegmentStore | None = None) -> RenderPlan:
        """The same plan with hard cuts into the scenes in cuts; missing asked of store
        (kept from this plan, less what no longer plays, when store is None)."""
        cut = replace(self, cuts=frozenset(cuts))
        if store is None:
            playing = set(cut.segments)
            return replace(cut, missing=tuple(k for k in self.missing if k in playing))
        missing = tuple(dict.fromkeys(key for key in cut.segments if not store.has(key)))
        return replace(cut, missing=missing)

    @property
    def segment_frames(self) -> tuple[tuple[str, int], ...]:
        """(key, frames) of each segment in playing order."""
        return tuple((self._key_of(entry), entry.frame_count) for entry in self.timeline.entries)

    def _key_of(self, entry) -> str:
        if entry.kind == "opening":
            return self.opening.key
        if entry.kind == "scene":
            return self.scenes[entry.scene_index].key
        return self.transition_keys[entry.scene_index + 1]

    @property
    def render_key(self) -> str:
        return content_key(
            "lesson",
            {"segments": list(self.segments), "title": self.title, "language": self.language},
        )

    def summary(self) -> str:
        """One line per segment: kind, frames, key prefix, and whether it must be encoded."""
        missing = set(self.missing)
        lines = []
        for (key, frames), entry in zip(self.segment_frames, self.timeline.entries, strict=True):
            flag = "missing" if key in missing else "stored"
            lines.append(f"{entry.kind:<10} {frames:>6} frames  {key[:16]}  {flag}")
        return "\n".join(lines)


def scene_language(position: int, scene: Scene, storyboard: Storyboard) -> str:
    """A scene's base language ('en', 'zh'); SynthesisError naming the scene if unknown."""
    language = (scene.language or storyboard.language or "").strip()
    base = language.lower().replace("_", "-").split("-")[0]
    if base not in SUPPORTED_LANGUAGES:
        raise SynthesisError(f"scene {position + 1}: unknown language '{language}'")
    return base


def pixel_fields(settings: RenderSettings) -> dict[str, object]:
    """The render settings that decide every segment's pixels and samples."""
    encoder = encoder_settings(settings.quality, settings.fps)
    return {
        "size": [settings.width_px, settings.height_px],
        "fps": settings.fps,
        "quality": settings.quality,
        "encoder": encoder_fingerprint(encoder),
    }


def music_fields(music: MusicBed | None) -> dict[str, object] | None:
    if music is None:
        return None
    return {
        "sha256": file_digest(music.path),
        "gain_db": music.gain_db,
        "duck_db": music.duck_db,
        "fade_s": music.fade_s,
    }


def scene_motion(visual: Visual, settings: RenderSettings) -> dict[str, float] | None:
    """The slow zoom of a scene: image scenes move; with motion 'everywhere' every scene."""
    motion = getattr(settings, "motion", "images")
    if motion not in MOTION_CHOICES:
        raise SynthesisError(f"motion {motion!r}: choose one of {', '.join(MOTION_CHOICES)}")
    return IMAGE_MOVE if visual.kind == "image" or motion == "everywhere" else None


def plan_opening(
    storyboard: Storyboard, settings: RenderSettings, *, music: MusicBed | None = None
) -> PlannedScene:
    """The opening label segment: the lesson title under the big AI-generated label (the
    title alone when settings.ai_label is off)."""
    first = storyboard.scenes[0].language if storyboard.scenes else ""
    lesson_language = Scene("opening", Visual("title"), "", language=storyboard.language or first)
    language = scene_language(0, lesson_language, storyboard)
    visual = Visual(kind="title", title=storyboard.title)
    frames = opening_frames(settings.fps)
    timing = SceneTiming(
        index=-1,
        scene=Scene("opening", visual, "", language=language),
        sentences=(),
        cues=(),
        frame_count=frames,
        fps=settings.fps,
    )
    fields = {
        "title": storyboard.title,
        "language": language,
        "frames": frames,
        "pixels": pixel_fields(settings),
        "music": music_fields(music),
    }
    if not settings.ai_label:
        # Named only when off, so every labelled opening keeps the key it had in the store.
        fields["ai_label"] = False
    key = content_key("opening", fields)
    # `opening` is what makes the compositor draw the label (render.py's ScenePlan).
    return PlannedScene(timing, visual, None, key, language, opening=settings.ai_label)


def plan_scene(
    storyboard: Storyboard,
    position: int,
    spoken: Sequence[object],
    settings: RenderSettings,
    *,
    music: MusicBed | None = None,
    stored: Callable[[str], bool] = lambda key: False,
) -> tuple[PlannedScene, list[str]]:
    """A spoken scene's timing and segment key, and its planning warnings.

    spoken items need text, wav_path, duration_s, engine and voice (SpokenSentence). An
    image is loaded (to check it) only when its segment is not stored: decoding pictures
    was most of a cached re-render's plan.
    """
    scene = storyboard.scenes[position]
    language = scene_language(position, scene, storyboard)
    timing = scene_timing(position, scene, spoken, fps=settings.fps)
    warnings = []
    if timing.silent:
        warnings.append(
            Message(
                gettext_noop(
                    "scene %(number)s (%(scene)s): no narration; its visual is held "
                    "for 3 s without sound"
                ),
                number=position + 1,
                scene=scene.id,
            )
        )
    content = scene_content_hash(scene, voice=settings.voice)
    visual = scene.visual
    if visual.kind == "image" and visual.image_path and Path(visual.image_path).is_file():
        with contextlib.suppress(OSError):  # unreadable: checked and reported below
            key = scene_key(timing, visual, language, settings, music)
            if stored(key):
                motion = scene_motion(visual, settings)
                return PlannedScene(timing, visual, motion, key, language, content), warnings
    usable, problem = usable_visual(scene, language)
    if problem:
        warnings.append(
            Message(
                gettext_noop(
                    "scene %(number)s (%(scene)s): %(problem)s; showing a text slide instead"
                ),
                number=position + 1,
                scene=scene.id,
                problem=problem,
            )
        )
    key = scene_key(timing, usable, language, settings, music)
    motion = scene_motion(usable, settings)
    reveal = slide_reveal(timing, usable, settings)
    planned = PlannedScene(timing, usable, motion, key, language, content, reveal=reveal)
    return planned, warnings


def slide_reveal(
    timing: SceneTiming, visual: Visual, settings: RenderSettings
) -> tuple[RevealStep, ...]:
    """When a held text slide's bullets appear (synthesis.reveal); () for every other scene.

    A moving slide shows all its bullets: a revealed bullet would not zoom with the slide.
    """
    if visual.kind != "text" or scene_motion(visual, settings) is not None:
        return ()
    return scene_reveal(
        visual.bullets,
        timing.sentences,
        fps=timing.fps,
        frame_count=timing.frame_count,
        start_empty=bool(visual.title),
    )


def scene_key(
    timing: SceneTiming,
    visual: Visual,
    language: str,
    settings: RenderSettings,
    music: MusicBed | None,
) -> str:
    """The segment key over everything that decides a scene's content; not its position."""
    fields = {
        "visual": visual_fields(visual),
        "language": language,
        "sentences": [
            [s.text, file_digest(s.wav_path), round(s.start_s, 6), round(s.end_s, 6)]
            for s in timing.sentences
        ],
        "captions": [[round(c.start_s, 6), round(c.end_s, 6), c.text] for c in timing.cues]
        if settings.burn_captions
        else None,
        "frames": timing.frame_count,
        "motion": scene_motion(visual, settings),
        "pixels": pixel_fields(settings),
        "music": music_fields(music),
    }
    reveal = slide_reveal(timing, visual, settings)
    if reveal:
        # Named only when bullets appear one by one, so other scenes keep their stored keys.
        fields["reveal"] = [[step.start_frame, step.bullet_count] for step in reveal]
    return content_key("scene", fields)


def transition_key(leaving: str, arriving: str, settings: RenderSettings) -> str:
    """A crossfade's key: both neighbours' keys, its length and the pixel settings."""
    frames = lesson_timeline((), settings.fps).transition_frames
    fields = {"from": leaving, "to": arriving, "frames": frames, "pixels": pixel_fields(settings)}
    return content_key("transition", fields)


def with_hard_cuts(render_plan: RenderPlan, store: SegmentStore) -> RenderPlan:
    """render_plan with a hard cut wherever store lacks the crossfade, when crossfades are
    all it lacks: it then plays with nothing encoded, and `crossfaded()` is the plan to
    encode them from afterwards. Unchanged when a scene or the opening is missing (encoding
    it takes longer than its crossfades)."""
    crossfades = set(render_plan.transition_keys)
    if any(not store.has(key) and key not in crossfades for key in render_plan.segments):
        return render_plan
    lacking = frozenset(
        position for position, key in enumerate(render_plan.transition_keys) if not store.has(key)
    )
    return render_plan.with_cuts(render_plan.cuts | lacking, store)


def usable_visual(scene: Scene, language: str) -> tuple[Visual, str]:
    """The scene's visual, or a text slide and the problem when its image cannot be loaded."""
    visual = scene.visual
    if visual.kind != "image":
        return visual, ""
    from synthesis.frames.images import load_image

    if not visual.image_path:
        problem = "the image scene has no image file"
    else:
        try:
            load_image(Path(visual.image_path))
            return visual, ""
        except SynthesisError as exc:
            problem = str(exc)  # names the file
    return text_fallback(scene, language), problem


def text_fallback(scene: Scene, language: str) -> Visual:
    visual = scene.visual
    line = visual.alt.strip()
    if not line:
        sentences = split_sentences(scene.narration, language)
        line = sentences[0] if sentences else ""
    return Visual(kind="text", title=visual.title, bullets=(line,) if line else ())


def visual_fields(visual: Visual) -> dict[str, object]:
    from synthesis.frames.latex_text import has_inline_math

    fields = asdict(visual)
    if visual.image_path:
        # The image's bytes, not its path, decide the pixels.
        path = Path(visual.image_path)
        fields["image_path"] = {"sha256": file_digest(path), "suffix": path.suffix.lower()}
    if visual.math or any(has_inline_math(bullet) for bullet in visual.bullets):
        # Another typesetter (or version of it) draws other pixels for the same LaTeX.
        from synthesis.frames.math_typeset import TYPESETTER_VERSION

        fields["math_typesetter"] = TYPESETTER_VERSION
    return fields


def make_plan(
    storyboard: Storyboard,
    settings: RenderSettings,
    *,
    opening: PlannedScene,
    scenes: Sequence[PlannedScene],
    transition_keys: Sequence[str],
    missing: Sequence[str] = (),
    warnings: Sequence[str] = (),
    music: MusicBed | None = None,
) -> RenderPlan:
    return RenderPlan(
        title=storyboard.title,
        language=storyboard.language,
        attribution=storyboard.attribution,
        settings=settings,
        opening=opening,
        scenes=tuple(scenes),
        transition_keys=tuple(transition_keys),
        missing=tuple(missing),
        warnings=tuple(warnings),
        storyboard_warnings=tuple(storyboard.warnings),
        music=music,
    )


def plan(
    storyboard: Storyboard,
    settings: RenderSettings,
    *,
    spoken: Sequence[Sequence[object]],
    store: SegmentStore | None = None,
    music: MusicBed | None = None,
) -> RenderPlan:
    """The plan of a storyboard whose sentences are spoken (spoken[i]: scene i's clips).

    Writes nothing; with a store, `missing` lists the keys it lacks (in playing order).
    """
    if not storyboard.scenes:
        raise SynthesisError("the lesson has no scenes")
    if len(spoken) != len(storyboard.scenes):
        raise SynthesisError(
            f"spoken sentences for {len(spoken)} scenes, but the lesson has "
            f"{len(storyboard.scenes)}"
        )
    stored = store.has if store is not None else (lambda key: False)
    opening = plan_opening(storyboard, settings, music=music)
    scenes, warnings = [], []
    for position, clips in enumerate(spoken):
        planned, scene_warnings = plan_scene(
            storyboard, position, clips, settings, music=music, stored=stored
        )
        scenes.append(planned)
        warnings += scene_warnings
    parts = [opening, *scenes]
    transitions = [
        transition_key(parts[i].key, parts[i + 1].key, settings) for i in range(len(scenes))
    ]
    result = make_plan(
        storyboard,
        settings,
        opening=opening,
        scenes=scenes,
        transition_keys=transitions,
        warnings=warnings,
        music=music,
    )
    if store is None:
        return result
    missing = tuple(dict.fromkeys(key for key in result.segments if not store.has(key)))
    return make_plan(
        storyboard,
        settings,
        opening=opening,
        scenes=scenes,
        transition_keys=transitions,
        missing=missing,
        warnings=warnings,
        music=music,
    )


__all__ = [
    "IMAGE_MOVE",
    "PlannedScene",
    "RenderPlan",
    "plan",
    "plan_opening",
    "plan_scene",
    "scene_key",
    "slide_reveal",
    "transition_key",
    "with_hard_cuts",
]
