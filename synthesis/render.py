"""The one entry point that renders a storyboard to a narrated, captioned, AI-labelled video.

Stages: speech (every sentence, cached) -> plan (timings, segment hashes) -> encode (only the
scene and transition segments the cache lacks) -> assemble (remux, tracks, poster, manifest).
Everything is written to a temporary folder beside out_path and moved into place at the end,
sidecars first and the MP4 last, so a failed or cancelled render leaves nothing at out_path.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from synthesis import captions as tracks
from synthesis.audio_track import MusicBed, scene_audio
from synthesis.encode import (
    SegmentFile,
    audio_samples_for_frames,
    boundary_frame,
    combine_parts,
    container_metadata,
    encode_audio,
    encode_segment,
    encoder_fingerprint,
    encoder_settings,
    frame_at,
    join_segments,
)
from synthesis.errors import RenderCancelled, SynthesisError
from synthesis.manifest import RenderStats, build_manifest, write_json
from synthesis.memory import return_large_buffers_to_the_os
from synthesis.prefetch import prefetched
from synthesis.segments import SegmentStore, content_key, file_digest
from synthesis.sentences import split_sentences
from synthesis.storyboard import (
    SUPPORTED_LANGUAGES,
    Progress,
    RenderSettings,
    Scene,
    Storyboard,
    Visual,
)
from synthesis.timeline import (
    FIRST_SCENE_MIN_S,
    OPENING_LABEL_S,
    Cue,
    LessonTimeline,
    SceneTiming,
    lesson_timeline,
    scene_timing,
    unwrap_caption,
)

MAX_AREA_PX = 1920 * 1080
MAX_SIDE_PX = 1920
MIN_SIDE_PX = 64
DEVICES = ("auto", "cpu", "cuda")
# Image scenes drift in slowly; slides hold still (cheaper to encode, easier to read).
IMAGE_MOVE = {"start_zoom": 1.0, "end_zoom": 1.06}
# Frames per batch from the compositor: about 8 MB of RGB whatever the size (24 MB
# measured the same speed with ~50 MB more peak memory, see bench/README.md).
_BATCH_BYTES = 8_000_000
# Scenes are encoded in parts of whole GOPs, at most this many (8 s at 30 fps), so the
# workers finish together: each gets about _PARTS_PER_WORKER parts of what there is to
# encode, and a lone edited scene is cut into single GOPs.
_MAX_PART_GOPS = 2
_PARTS_PER_WORKER = 4
# Progress shares: speech, then encoding, then assembling the outputs.
_SPEECH_SHARE, _ENCODE_SHARE = 10.0, 82.0


@dataclass(frozen=True)
class RenderResult:
    """Where the outputs are, how long the video is, and what went wrong along the way."""

    video: Path
    captions: Path
    descriptions: Path
    transcript: Path
    chapters: Path
    poster: Path
    manifest: Path
    duration_s: float
    warnings: tuple[str, ...]
    manifest_data: dict


def output_paths(out_path: Path) -> dict[str, Path]:
    """The output files of a render to out_path (X.mp4 and its sidecars)."""
    stem = out_path.with_suffix("")
    return {
        "captions": stem.with_suffix(".vtt"),
        "descriptions": Path(f"{stem}.descriptions.vtt"),
        "transcript": stem.with_suffix(".txt"),
        "chapters": Path(f"{stem}.chapters.vtt"),
        "poster": stem.with_suffix(".jpg"),
        "manifest": stem.with_suffix(".json"),
        "video": out_path,
    }


def validate_settings(settings: RenderSettings) -> None:
    """Raise SynthesisError naming the first setting a render cannot use."""
    width, height = settings.width_px, settings.height_px
    if not all(isinstance(v, int) for v in (width, height, settings.fps)):
        raise SynthesisError("video size and frame rate must be whole numbers")
    if width % 2 or height % 2:
        raise SynthesisError(f"video size {width}x{height}: width and height must be even")
    if min(width, height) < MIN_SIDE_PX:
        raise SynthesisError(
            f"video size {width}x{height}: each side must be at least {MIN_SIDE_PX} px"
        )
    if max(width, height) > MAX_SIDE_PX or width * height > MAX_AREA_PX:
        raise SynthesisError(
            f"video size {width}x{height} is too large: at most 1920x1080 (or 1080x1920 portrait)"
        )
    if not 1 <= settings.fps <= 60:
        raise SynthesisError(f"frame rate {settings.fps}: choose 1 to 60 frames per second")
    encoder_settings(settings.quality, settings.fps)  # raises for an unknown quality
    if settings.device not in DEVICES:
        raise SynthesisError(f"device {settings.device!r}: choose one of {', '.join(DEVICES)}")
    if settings.voice.rate <= 0:
        raise SynthesisError(f"speech rate {settings.voice.rate}: must be above 0")
    if not settings.voice.engines:
        raise SynthesisError("no speech engine is configured")


def _scene_language(position: int, scene: Scene, storyboard: Storyboard) -> str:
    language = (scene.language or storyboard.language or "").strip()
    base = language.lower().replace("_", "-").split("-")[0]
    if base not in SUPPORTED_LANGUAGES:
        raise SynthesisError(f"scene {position + 1}: unknown language '{language}'")
    return base


class _Reporter:
    """Sends monotonic Progress reports and checks for cancellation, on the caller's thread."""

    def __init__(self, progress, should_cancel, scene_count: int) -> None:
        self._progress = progress
        self._should_cancel = should_cancel
        self.scene_count = scene_count
        self._percent = 0.0

    def report(self, stage: str, scene_index: int, percent: float, *, eta_s=None, message=""):
        self._percent = max(self._percent, min(100.0, percent))
        if self._progress is not None:
            self._progress(
                Progress(
                    stage, scene_index, self.scene_count, round(self._percent, 2), eta_s, message
                )
            )

    def check_cancel(self) -> None:
        if self._should_cancel is not None and self._should_cancel():
            raise RenderCancelled("the render was cancelled")


@dataclass(frozen=True)
class _PlannedScene:
    timing: SceneTiming
    visual: Visual  # after any fallback
    motion: dict[str, float] | None
    key: str


def render(
    storyboard: Storyboard,
    out_path: Path,
    *,
    settings: RenderSettings,
    cache_dir: Path,
    progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    cache_max_bytes: int | None = None,
    music: Path | None = None,
) -> RenderResult:
    """Render a storyboard to out_path (an .mp4) and its sidecar files; see the module docstring.

    Progress reports carry a 1-based scene_index. cache_max_bytes caps the segment store
    (least recently used segments go first; None: no cap). music is an optional audio file
    played quietly under every scene, ducked while someone speaks. Raises SynthesisError
    with a message a user can act on, and RenderCancelled once should_cancel() returns true.
    """
    validate_settings(settings)
    if not storyboard.scenes:
        raise SynthesisError("the lesson has no scenes")
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".mp4":
        raise SynthesisError(f"output {out_path.name}: the video file name must end in .mp4")
    languages = [_scene_language(i, s, storyboard) for i, s in enumerate(storyboard.scenes)]
    if music is not None and not Path(music).is_file():
        raise SynthesisError(f"music file '{music}' does not exist")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    return_large_buffers_to_the_os()
    run = _Render(
        storyboard,
        languages,
        settings,
        store=SegmentStore(Path(cache_dir), max_bytes=cache_max_bytes),
        cache_dir=Path(cache_dir),
        reporter=_Reporter(progress, should_cancel, len(storyboard.scenes)),
        music=MusicBed(Path(music)) if music is not None else None,
    )
    temp_dir = Path(tempfile.mkdtemp(prefix=f".{out_path.stem}.rendering-", dir=out_path.parent))
    try:
        result = run.render(out_path, temp_dir)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    run.reporter.report("done", len(storyboard.scenes), 100.0, eta_s=0.0, message="done")
    return result


class _Render:
    """One render's state: settings, the segment store, progress, warnings and statistics."""

    def __init__(
        self, storyboard, languages, settings, *, store, cache_dir, reporter, music
    ) -> None:
        self.storyboard: Storyboard = storyboard
        self.languages: list[str] = languages
        self.settings: RenderSettings = settings
        self.store: SegmentStore = store
        self.cache_dir: Path = cache_dir
        self.reporter: _Reporter = reporter
        self.music: MusicBed | None = music
        self.encoder = encoder_settings(
            settings.quality, settings.fps, threads=_x264_threads(_worker_count())
        )
        self.size_px = (settings.width_px, settings.height_px)
        self.stats = RenderStats()
        self.warnings: list[str] = list(storyboard.warnings)
        self.pins: dict[str, Path] = {}  # segment hash -> a path eviction cannot remove
        self.pin_dir: Path = Path()
        self.compositor = None  # chosen when something needs encoding

    def render(self, out_path: Path, temp_dir: Path) -> RenderResult:
        wall_start = time.perf_counter()
        self.pin_dir = temp_dir / "segments"
        self.pin_dir.mkdir()
        with self._stage("speech"):
            spoken = self._speak_all()
        with self._stage("plan"):
            planned = self._plan_scenes(spoken)
            timeline = lesson_timeline([p.timing for p in planned], self.settings.fps)
            transition_keys = [
                self._transition_key(planned[i], planned[i + 1], timeline)
                for i in range(len(planned) - 1)
            ]
        with self._stage("encode"):
            self._encode_missing(planned, timeline, transition_keys, temp_dir)
        with self._stage("assemble"):
            scene_keys = [p.key for p in planned]
            ordered = [
                scene_keys[e.scene_index] if e.kind == "scene" else transition_keys[e.scene_index]
                for e in timeline.entries
            ]
            render_key = content_key(
                "lesson",
                {
                    "segments": ordered,
                    "title": self.storyboard.title,
                    "language": self.storyboard.language,
                },
            )
            final = output_paths(out_path)
            self._write_outputs(timeline, ordered, render_key, temp_dir, final)
        self.stats.evicted = len(self.store.evict(keep=ordered).removed)
        statistics = self.stats.as_dict(
            wall_s=time.perf_counter() - wall_start, duration_s=timeline.duration_s
        )
        manifest = build_manifest(
            storyboard=self.storyboard,
            timeline=timeline,
            settings=self.settings,
            render_key=render_key,
            scene_keys=scene_keys,
            transition_keys=transition_keys,
            warnings=self.warnings,
            statistics=statistics,
            music=self.music.path.name if self.music else None,
        )
        write_json(temp_dir / final["manifest"].name, manifest)
        self.reporter.check_cancel()
        _publish(temp_dir, final)
        return RenderResult(
            video=final["video"],
            captions=final["captions"],
            descriptions=final["descriptions"],
            transcript=final["transcript"],
            chapters=final["chapters"],
            poster=final["poster"],
            manifest=final["manifest"],
            duration_s=timeline.duration_s,
            warnings=tuple(self.warnings),
            manifest_data=manifest,
        )

    @contextlib.contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        self.reporter.check_cancel()
        started = time.perf_counter()
        yield
        self.stats.stage_s[name] = time.perf_counter() - started

    # Speech and planning ------------------------------------------------------------------

    def _speak_all(self) -> list[list]:
        from synthesis.speech import speak  # imported late: loading the engines takes a moment

        spoken: list[list] = []
        notes_seen: set[str] = set()
        count = len(self.storyboard.scenes)
        for position, scene in enumerate(self.storyboard.scenes):
            self.reporter.check_cancel()
            language = self.languages[position]
            self.reporter.report(
                "speech",
                position + 1,
                _SPEECH_SHARE * position / count,
                message=f"speaking scene {position + 1} of {count}",
            )
            said = []
            for text in split_sentences(scene.narration, language):
                self.reporter.check_cancel()
                try:
                    sentence = speak(
                        text, language=language, voice=self.settings.voice, cache_dir=self.cache_dir
                    )
                except SynthesisError as exc:
                    raise type(exc)(f"scene {position + 1}: {exc}") from exc
                said.append(sentence)
                for note in getattr(sentence, "notes", ()):
                    # A missing language is expected (Piper has no Mandarin); other notes matter.
                    if "does not speak" not in note and note not in notes_seen:
                        notes_seen.add(note)
                        self.warnings.append(f"speech: {note}")
            spoken.append(said)
        return spoken

    def _pixel_fields(self) -> dict[str, object]:
        return {
            "size": list(self.size_px),
            "fps": self.settings.fps,
            "quality": self.settings.quality,
            "encoder": encoder_fingerprint(self.encoder),
        }

    def _plan_scenes(self, spoken: list[list]) -> list[_PlannedScene]:
        planned = []
        for position, scene in enumerate(self.storyboard.scenes):
            timing = scene_timing(
                position,
                scene,
                spoken[position],
                fps=self.settings.fps,
                min_duration_s=FIRST_SCENE_MIN_S if position == 0 else 0.0,
            )
            if timing.silent:
                self.warnings.append(
                    f"scene {position + 1} ({scene.id}): no narration; its visual is held "
                    "for 3 s without sound"
                )
            planned.append(self._planned_scene(position, scene, timing))
        return planned

    def _planned_scene(self, position: int, scene: Scene, timing: SceneTiming) -> _PlannedScene:
        # An image is loaded (to check it) only when its segment is not in the cache:
        # decoding pictures and drawing SVGs was most of a cached re-render's plan.
        visual = scene.visual
        keyed = None
        if visual.kind == "image" and visual.image_path and Path(visual.image_path).is_file():
            with contextlib.suppress(OSError):  # unreadable: checked and reported below
                keyed = self._scene_key(position, timing, visual)
                if self._pin(keyed[1]) is not None:
                    return _PlannedScene(timing, visual, *keyed)
        usable = self._usable_visual(position, scene)
        if keyed is None or usable is not visual:
            keyed = self._scene_key(position, timing, usable)
        return _PlannedScene(timing, usable, *keyed)

    def _scene_key(self, position: int, timing: SceneTiming, visual: Visual):
        """The scene's motion and the segment key over everything that decides its content."""
        motion = IMAGE_MOVE if visual.kind == "image" else None
        burned = self.settings.burn_captions
        fields = {
            "visual": _visual_fields(visual),
            "language": self.languages[position],
            "sentences": [
                [s.text, file_digest(s.wav_path), round(s.start_s, 6), round(s.end_s, 6)]
                for s in timing.sentences
            ],
            "captions": [[round(c.start_s, 6), round(c.end_s, 6), c.text] for c in timing.cues]
            if burned
            else None,
            "frames": timing.frame_count,
            "motion": motion,
            "opening_label": position == 0,
            "pixels": self._pixel_fields(),
            "music": self._music_fields(),
        }
        return motion, content_key("scene", fields)

    def _music_fields(self) -> dict[str, object] | None:
        if self.music is None:
            return None
        return {
            "sha256": file_digest(self.music.path),
            "gain_db": self.music.gain_db,
            "duck_db": self.music.duck_db,
            "fade_s": self.music.fade_s,
        }

    def _transition_key(self, leaving: _PlannedScene, arriving: _PlannedScene, timeline) -> str:
        fields = {
            "from": leaving.key,
            "to": arriving.key,
            "frames": timeline.transition_frames,
            "pixels": self._pixel_fields(),
        }
        return content_key("transition", fields)

    def _usable_visual(self, position: int, scene: Scene) -> Visual:
        """The scene's visual, or a text slide when its image cannot be loaded (warning)."""
        visual = scene.visual
        if visual.kind != "image":
            return visual
        from synthesis.frames.images import load_image

        problem = None
        if not visual.image_path:
            problem = "the image scene has no image file"
        else:
            try:
                load_image(Path(visual.image_path))
            except SynthesisError as exc:
                problem = str(exc)  # names the file
        if problem is None:
            return visual
        self.warnings.append(
            f"scene {position + 1} ({scene.id}): {problem}; showing a text slide instead"
        )
        return _text_fallback(scene, self.languages[position])

    # Segments -----------------------------------------------------------------------------

    def _pin(self, key: str) -> Path | None:
        """Keep a stored segment for this render (a hard link in its folder); None if absent."""
        if key not in self.pins:
            path = self.store.pin(key, self.pin_dir)
            if path is None:
                return None
            self.pins[key] = path
        return self.pins[key]

    def _pinned(self, key: str) -> Path:
        path = self._pin(key)
        if path is None:
            raise SynthesisError("a segment left the cache during the render; render again")
        return path

    # Encoding -----------------------------------------------------------------------------

    def _encode_missing(self, planned, timeline: LessonTimeline, transition_keys, temp_dir):
        from synthesis.frames.compositor import get_compositor

        stats = self.stats
        stats.device = self.settings.device
        stats.encoder = {**self.encoder.as_dict(), "codec": "libx264", "audio": "aac"}
        # A scene shown twice (same key) is encoded once.
        first_of_key = {p.key: p.timing.index for p in reversed(planned)}
        missing_scenes = [
            p.timing.index
            for p in planned
            if first_of_key[p.key] == p.timing.index and not self._pin(p.key)
        ]
        # Choosing a backend may load torch; a render served from the cache needs none.
        self.compositor = get_compositor(self.settings.device) if missing_scenes else None
        stats.compositor = (
            self.compositor.name if self.compositor else "none: every scene was cached"
        )
        missing_transitions = [i for i, key in enumerate(transition_keys) if not self._pin(key)]
        stats.scene_misses, stats.scene_hits = (
            len(missing_scenes),
            len(planned) - len(missing_scenes),
        )
        stats.transition_misses = len(missing_transitions)
        stats.transition_hits = len(transition_keys) - len(missing_transitions)
        total_frames = sum(planned[i].timing.frame_count for i in missing_scenes)
        total_frames += timeline.transition_frames * len(missing_transitions)

        pool = _Jobs(self.reporter, _worker_count())
        stats.workers = pool.workers
        part_size = part_frames(total_frames, self.encoder.gop_frames, pool.workers)
        progress = _EncodeProgress(self.reporter, total_frames)
        self.reporter.report("encode", 1, _SPEECH_SHARE, message="encoding")
        parts_dir = temp_dir / "parts"
        parts_dir.mkdir()
        # Each scene's plan is made once, by whichever job needs it first: one of its parts,
        # or a transition composing its end frame.
        plans_by_key = {
            planned[i].key: _SharedPlan(functools.partial(self._scene_plan, planned[i]))
            for i in missing_scenes
        }
        # In lesson order, each transition right after the scene it leads into: it needs
        # no scene finished (it composes the end frames it fades between), it fills gaps
        # between parts, and the plans it shares are let go early.
        scene_jobs = {
            i: self._scene_jobs(
                planned[i], plans_by_key[planned[i].key], pool, parts_dir, part_size
            )
            for i in missing_scenes
        }
        transitions = set(missing_transitions)
        jobs = []
        for position in range(len(planned)):
            jobs += scene_jobs.get(position, [])
            if position - 1 in transitions:
                jobs.append(
                    self._transition_job(
                        position - 1,
                        transition_keys[position - 1],
                        planned,
                        timeline,
                        pool,
                        plans_by_key,
                    )
                )
        pool.run(jobs, progress.tick)
        stats.frames_encoded = progress.frames_done

    def _scene_jobs(
        self,
        plan: _PlannedScene,
        scene_plan: _SharedPlan,
        pool: _Jobs,
        parts_dir: Path,
        part_size: int,
    ) -> list[Callable[[], None]]:
        """Jobs that encode one scene: a single job, or its audio and one job per part.

        The audio and the parts of a scene run on different workers; the worker that
        finishes the last of them joins them and stores the segment.
        """
        settings = self.settings
        frame_count = plan.timing.frame_count
        ranges = part_ranges(frame_count, part_size)
        whole = len(ranges) == 1
        index = plan.timing.index
        part_paths = [parts_dir / f"{index}.{n}.mp4" for n in range(len(ranges))]
        audio_part: list[SegmentFile] = []  # made by the audio job
        unfinished = _Countdown(len(ranges) + (0 if whole else 1))
        pixel_format = self._pixel_format(plan)
        scene_plan.add_users(len(ranges))

        def encode(number: int, frame_range: range) -> None:
            try:
                encode_part(number, frame_range)
            finally:
                scene_plan.done()
            finish()

        def encode_part(number: int, frame_range: range) -> None:
            job_id = ("scene", index, number)
            frames = self._composed(scene_plan.get(), frame_range, pixel_format)
            started = time.perf_counter()
            # A whole scene is stored with its audio; parts are joined to theirs in finish().
            target = (
                self.store.writing(plan.key)
                if whole
                else contextlib.nullcontext(part_paths[number])
            )
            with target as path:
                encode_segment(
                    path,
                    frames,
                    self._scene_audio(plan) if whole else None,
                    fps=settings.fps,
                    size_px=self.size_px,
                    encoder=self.encoder,
                    still=plan.motion is None,
                    on_frames=lambda n: pool.worker_check((job_id, n)),
                    pixel_format=pixel_format,
                )
            # Encoding time without the time spent waiting for composed frames.
            self.stats.add_worker_time("encode", time.perf_counter() - started - frames.seconds)

        def encode_sound() -> None:
            audio = self._scene_audio(plan)
            started = time.perf_counter()
            audio_part.append(
                encode_audio(
                    parts_dir / f"{index}.audio.mp4",
                    audio,
                    frame_count=frame_count,
                    fps=settings.fps,
                    encoder=self.encoder,
                )
            )
            self.stats.add_worker_time("encode", time.perf_counter() - started)
            finish()

        def finish() -> None:
            if not unfinished.done_one():
                return
            if not whole:
                with self.store.writing(plan.key) as temp_path:
                    combine_parts(part_paths, audio_part[0], temp_path, fps=settings.fps)
                for path in [*part_paths, audio_part[0].path]:
                    path.unlink()
            self._pin(plan.key)

        parts = [functools.partial(encode, n, r) for n, r in enumerate(ranges)]
        # The audio goes first: mixed and encoded beside the first parts, not after the last.
        return parts if whole else [encode_sound, *parts]

    def _scene_plan(self, plan: _PlannedScene):
        from synthesis.frames.compositor import ScenePlan

        started = time.perf_counter()
        captions = (
            burned_cues(plan.timing.cues, self.size_px) if self.settings.burn_captions else ()
        )
        base = self._base_image(plan)
        self.stats.add_worker_time("slides", time.perf_counter() - started)
        return ScenePlan(
            base=base,
            duration_s=plan.timing.duration_s,
            fps=self.settings.fps,
            size_px=self.size_px,
            motion=_motion(plan.motion),
            captions=captions,
            language=self.languages[plan.timing.index],
            opening_label=plan.timing.index == 0,
        )

    def _pixel_format(self, plan: _PlannedScene) -> str:
        """Moving scenes are composed in the encoder's YUV 4:2:0; held ones in RGB, each
        picture converted once by the encoder."""
        return "yuv420p" if plan.motion is not None else "rgb24"

    def _composed(self, scene_plan, frame_range: range, pixel_format: str):
        """The frames of frame_range, composed on a second thread while x264 encodes."""
        batch = max(1, min(32, _BATCH_BYTES // (self.size_px[0] * self.size_px[1] * 3)))
        frames = _exact_frames(
            self._frame_batches(scene_plan, frame_range, pixel_format, batch_size=batch),
            len(frame_range),
        )
        composed = _TimedBatches(frames, lambda s: self.stats.add_worker_time("frames", s))
        return _TimedBatches(prefetched(composed))

    def _frame_batches(self, scene_plan, frame_range: range, pixel_format: str, *, batch_size):
        make = (
            self.compositor.scene_frames_yuv420
            if pixel_format == "yuv420p"
            else self.compositor.scene_frames
        )
        return make(scene_plan, batch_size=batch_size, frame_range=frame_range)

    def _scene_audio(self, plan: _PlannedScene) -> np.ndarray:
        started = time.perf_counter()
        audio = scene_audio(
            plan.timing.sentences,
            audio_samples_for_frames(plan.timing.frame_count, self.settings.fps),
            music=self.music,
        )
        self.stats.add_worker_time("audio", time.perf_counter() - started)
        return audio

    def _base_image(self, plan: _PlannedScene) -> Image.Image:
        from synthesis.frames.images import ImageLoadError
        from synthesis.frames.slides import render_visual

        language = self.languages[plan.timing.index]
        try:
            return render_visual(plan.visual, size_px=self.size_px, language=language)
        except ImageLoadError:
            # It loaded while planning and changed since; show the text slide after all.
            fallback = _text_fallback(plan.timing.scene, language)
            return render_visual(fallback, size_px=self.size_px, language=language)

    def _transition_job(self, index, key, planned, timeline, pool: _Jobs, plans_by_key):
        from synthesis.frames.compositor import crossfade_batches

        job_id = ("transition", index, 0)
        frame_count = timeline.transition_frames
        ends = (planned[index], planned[index + 1])
        shared = [plans_by_key[p.key] for p in ends if p.key in plans_by_key]
        for scene_plan in shared:
            scene_plan.add_users(1)

        def job() -> None:
            try:
                leaving = self._end_frame(planned[index], "last", plans_by_key)
                arriving = self._end_frame(planned[index + 1], "first", plans_by_key)
            finally:
                for scene_plan in shared:
                    scene_plan.done()
            frames = crossfade_batches(leaving, arriving, frame_count, batch_size=4)
            silence = np.zeros(audio_samples_for_frames(frame_count, self.settings.fps))
            with self.store.writing(key) as temp_path:
                encode_segment(
                    temp_path,
                    frames,
                    silence,
                    fps=self.settings.fps,
                    size_px=self.size_px,
                    encoder=self.encoder,
                    still=False,
                    on_frames=lambda n: pool.worker_check((job_id, n)),
                    pixel_format="yuv420p",
                )
            self._pin(key)

        return job

    def _end_frame(self, plan: _PlannedScene, which: str, plans_by_key) -> np.ndarray:
        """A scene's first or last frame in planar YUV 4:2:0 (H * 3 // 2, W): composed as
        its segment is if it is being encoded now, else decoded from its cached segment."""
        scene_plan = plans_by_key.get(plan.key)
        if scene_plan is None:
            return boundary_frame(self._pinned(plan.key), which)
        frame = 0 if which == "first" else plan.timing.frame_count - 1
        pixel_format = self._pixel_format(plan)
        batches = self._frame_batches(
            scene_plan.get(), range(frame, frame + 1), pixel_format, batch_size=1
        )
        picture = next(iter(batches))[0]
        if pixel_format == "yuv420p":
            return picture
        from synthesis.frames.yuv import rgb_to_yuv420

        return rgb_to_yuv420(picture)

    # Outputs ------------------------------------------------------------------------------

    def _write_outputs(self, timeline, ordered, render_key, temp_dir, final) -> None:
        staged = {name: temp_dir / path.name for name, path in final.items()}
        language = self.storyboard.language
        segment_paths = [self._pinned(key) for key in ordered]
        scene_count = self.reporter.scene_count

        def on_segment(position: int) -> None:
            self.reporter.check_cancel()
            share = _SPEECH_SHARE + _ENCODE_SHARE + 6.0 * (position + 1) / len(segment_paths)
            self.reporter.report("assemble", scene_count, share, message="joining segments")

        self.reporter.report(
            "assemble", scene_count, _SPEECH_SHARE + _ENCODE_SHARE, message="joining segments"
        )
        joined = join_segments(
            segment_paths,
            staged["video"],
            fps=self.settings.fps,
            metadata=container_metadata(
                title=self.storyboard.title, language=language, render_key=render_key
            ),
            on_segment=on_segment,
        )
        if joined.frame_count != timeline.frame_count:
            raise SynthesisError(
                f"the joined video has {joined.frame_count} frames, expected {timeline.frame_count}"
            )
        self.reporter.report("assemble", scene_count, 99.0, message="captions and poster")
        staged["captions"].write_text(
            tracks.webvtt(tracks.caption_track(timeline, language)), encoding="utf-8"
        )
        staged["descriptions"].write_text(
            tracks.webvtt(tracks.description_track(timeline, language)), encoding="utf-8"
        )
        staged["chapters"].write_text(
            tracks.webvtt(tracks.chapter_track(timeline, language)), encoding="utf-8"
        )
        staged["transcript"].write_text(
            tracks.transcript(
                self.storyboard.title, timeline, language, attribution=self.storyboard.attribution
            ),
            encoding="utf-8",
        )
        poster = frame_at(staged["video"], poster_time_s(timeline))
        Image.fromarray(poster).save(staged["poster"], "JPEG", quality=88)


class _EncodeProgress:
    """Turns (job, frames done) events into overall percent and an ETA."""

    def __init__(self, reporter: _Reporter, total_frames: int) -> None:
        self.reporter = reporter
        self.total_frames = total_frames
        self.per_job: dict[tuple[str, int, int], int] = {}
        self.started = time.perf_counter()

    @property
    def frames_done(self) -> int:
        return sum(self.per_job.values())

    def tick(self, event: tuple[tuple[str, int, int], int]) -> None:
        job_id, frames = event
        self.per_job[job_id] = frames
        fraction = min(1.0, self.frames_done / self.total_frames) if self.total_frames else 1.0
        elapsed_s = time.perf_counter() - self.started
        eta_s = round(elapsed_s / fraction * (1 - fraction), 1) if fraction > 0.02 else None
        kind, index, _ = job_id
        count = self.reporter.scene_count
        message = (
            f"scene {index + 1} of {count}"
            if kind == "scene"
            else f"transition after scene {index + 1} of {count}"
        )
        self.reporter.report(
            "encode",
            index + 1,
            _SPEECH_SHARE + _ENCODE_SHARE * fraction,
            eta_s=eta_s,
            message=message,
        )


def burned_cues(cues: Sequence[Cue], size_px: tuple[int, int]) -> tuple:
    """Cues for burned-in captions: unwrapped, and split again where the caption box is smaller.

    A cue that needs more than two lines of the box at this size is shown in pieces, its
    time shared by character counts.
    """
    from synthesis.frames.compositor import CaptionCue
    from synthesis.frames.overlays import caption_chunks

    burned = []
    for cue in cues:
        chunks = caption_chunks(unwrap_caption(cue.text), size_px=size_px) or [cue.text]
        total = sum(len(chunk) for chunk in chunks)
        clock_s = cue.start_s
        for chunk in chunks:
            end_s = clock_s + (cue.end_s - cue.start_s) * len(chunk) / total
            burned.append(CaptionCue(clock_s, end_s, chunk))
            clock_s = end_s
    return tuple(burned)


def _text_fallback(scene: Scene, language: str) -> Visual:
    visual = scene.visual
    line = visual.alt.strip()
    if not line:
        sentences = split_sentences(scene.narration, language)
        line = sentences[0] if sentences else ""
    return Visual(kind="text", title=visual.title, bullets=(line,) if line else ())


def _visual_fields(visual: Visual) -> dict[str, object]:
    fields = asdict(visual)
    if visual.image_path:
        # The image's bytes, not its path, decide the pixels.
        path = Path(visual.image_path)
        fields["image_path"] = {"sha256": file_digest(path), "suffix": path.suffix.lower()}
    return fields


class _Jobs:
    """Runs encode jobs on a small thread pool; progress and cancel checks stay on this thread.

    Workers post (job id, frames done) events to a queue; the caller's thread turns them into
    Progress reports and polls should_cancel(), and sets an event that the workers check
    between batches, so Django callbacks never run on a worker thread.
    """

    def __init__(self, reporter: _Reporter, workers: int) -> None:
        self.reporter = reporter
        self.workers = workers
        self.events: queue.Queue = queue.Queue()
        self.cancelled = threading.Event()

    def worker_check(self, event: tuple[tuple[str, int, int], int]) -> None:
        """Called by a worker after each batch with (job id, frames done so far)."""
        self.events.put(event)
        if self.cancelled.is_set():
            raise RenderCancelled("the render was cancelled")

    def run(self, jobs: Sequence[Callable[[], None]], on_event: Callable) -> None:
        if not jobs:
            return
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="encode") as pool:
            futures: list[Future] = [pool.submit(job) for job in jobs]
            try:
                while True:
                    # Wake on every finished batch (or after a short wait) to report and
                    # check for cancellation between batches.
                    with contextlib.suppress(queue.Empty):
                        on_event(self.events.get(timeout=0.2))
                    self._drain(on_event)
                    failed = [f for f in futures if f.done() and f.exception() is not None]
                    if failed:
                        raise failed[0].exception()
                    if all(f.done() for f in futures):
                        break
                    self.reporter.check_cancel()
            except BaseException:
                # Stop the others at their next batch; the pool waits for them to finish.
                self.cancelled.set()
                for future in futures:
                    future.cancel()
                raise
        self._drain(on_event)

    def _drain(self, on_event: Callable) -> None:
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            on_event(event)


def part_frames(total_frames: int, gop_frames: int, workers: int) -> int:
    """Frames per part when total_frames are to be encoded: 1 to _MAX_PART_GOPS whole GOPs.

    Small enough that each worker gets about _PARTS_PER_WORKER parts, so a one-scene edit
    is spread over every worker and no worker is left alone with a long last part.
    """
    gops = math.ceil(total_frames / (workers * _PARTS_PER_WORKER * gop_frames))
    return gop_frames * min(_MAX_PART_GOPS, max(1, gops))


def part_ranges(frame_count: int, part_size: int) -> list[range]:
    """How a scene is split for encoding: parts of part_size frames (whole GOPs).

    Parts start on GOP boundaries, so together they have the GOP layout of a single
    encode; a last part shorter than half a part is added to the one before it.
    """
    if frame_count < part_size + part_size // 2:
        return [range(frame_count)]
    starts = list(range(0, frame_count, part_size))
    if frame_count - starts[-1] < part_size // 2:
        starts.pop()
    ends = [*starts[1:], frame_count]
    return [range(start, end) for start, end in zip(starts, ends, strict=True)]


class _SharedPlan:
    """A scene's plan (its slide drawn, its image loaded), shared by the jobs that need it.

    Made by whichever job asks first (the others wait for it) and let go when the last
    user is done, so a long lesson holds the pictures of the scenes in progress only
    (holding every plan to the end grew a 24-scene render by 50 MB).
    """

    def __init__(self, make: Callable[[], object]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._value: object = None
        self._users = 0

    def add_users(self, count: int) -> None:
        with self._lock:
            self._users += count

    def get(self):
        with self._lock:
            if self._value is None:
                self._value = self._make()
            return self._value

    def done(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users <= 0:
                self._value = None


class _Countdown:
    """Counts finished parts across threads; done_one() is true for the last one only."""

    def __init__(self, count: int) -> None:
        self._remaining = count
        self._lock = threading.Lock()

    def done_one(self) -> bool:
        with self._lock:
            self._remaining -= 1
            return self._remaining == 0


def _usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _worker_count() -> int:
    return max(1, min(2, _usable_cpus()))


def _x264_threads(workers: int) -> int:
    """x264 threads per encoder: the cores shared out among the workers.

    x264's own choice (1.5 threads per core) put 6 frame threads on 2 cores while both
    workers encoded: one thread each made a one-scene edit 6% quicker, a lesson no slower.
    """
    return max(1, _usable_cpus() // workers)


def _motion(motion: dict[str, float] | None):
    if motion is None:
        return None
    from synthesis.frames.compositor import KenBurnsMove

    return KenBurnsMove(
        start_zoom=motion["start_zoom"],
        end_zoom=motion["end_zoom"],
        start_center=(0.5, 0.5),
        end_center=(0.5, 0.5),
    )


class _TimedBatches:
    """Wraps a batch iterator and sums the time spent waiting for each batch (on_wait too)."""

    def __init__(
        self, batches: Iterator[np.ndarray], on_wait: Callable[[float], None] | None = None
    ) -> None:
        self.batches, self.on_wait = batches, on_wait
        self.seconds = 0.0

    def __iter__(self) -> _TimedBatches:
        return self

    def __next__(self) -> np.ndarray:
        started = time.perf_counter()
        try:
            return next(self.batches)
        finally:
            elapsed = time.perf_counter() - started
            self.seconds += elapsed
            if self.on_wait is not None:
                self.on_wait(elapsed)


def _exact_frames(batches: Iterator[np.ndarray], frame_count: int) -> Iterator[np.ndarray]:
    """Exactly frame_count frames: cut extra ones, repeat the last if the compositor ran short."""
    produced = 0
    last = None
    for batch in batches:
        if produced >= frame_count:
            break
        batch = batch[: frame_count - produced]
        produced += len(batch)
        last = batch[-1:]
        yield batch
    if last is None:
        raise SynthesisError("the compositor made no frames")
    while produced < frame_count:
        fill = min(32, frame_count - produced)
        produced += fill
        yield np.repeat(last, fill, axis=0)


def poster_time_s(timeline: LessonTimeline) -> float:
    """A moment in the first content scene (not a title card), after the opening AI label."""
    position = next((i for i, t in enumerate(timeline.scenes) if t.scene.visual.kind != "title"), 0)
    start_s = timeline.scene_start_s(position)
    timing = timeline.scenes[position]
    # Before the scene's first caption, so the poster shows the slide itself.
    moment_s = start_s + min(0.2, timing.duration_s / 2)
    if moment_s < OPENING_LABEL_S + 0.1:
        moment_s = min(OPENING_LABEL_S + 0.1, start_s + timing.duration_s - 1 / timeline.fps)
    return max(0.0, min(moment_s, timeline.duration_s - 1 / timeline.fps))


def _publish(temp_dir: Path, final: dict[str, Path]) -> None:
    """Move staged files into place: sidecars first, the MP4 last (it marks a complete render)."""
    for name, path in final.items():
        if name != "video":
            os.replace(temp_dir / path.name, path)
    os.replace(temp_dir / final["video"].name, final["video"])


__all__ = ["RenderResult", "output_paths", "render", "validate_settings"]
