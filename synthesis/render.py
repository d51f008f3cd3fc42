"""The one entry point that renders a storyboard to a narrated, captioned, AI-labelled video.

Stages: speech (every sentence, cached) -> plan (timings, segment hashes) -> encode (only the
scene and transition segments the cache lacks) -> assemble (remux, tracks, poster, manifest).
The first three overlap: sentences are spoken on a pool of threads, and each scene is planned
and encoded as soon as its sentences are spoken, while later scenes are still being spoken.
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
from synthesis.render_progress import RenderWork, TimeLeft
from synthesis.segments import SegmentStore, content_key, file_digest
from synthesis.sentences import split_sentences
from synthesis.speech_pool import Sentence, SentenceSpoken, SpeechPool, lesson_sentences
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
# Progress shares: speaking and encoding (together, weighted by their estimated work), then
# assembling the outputs.
_WORK_SHARE = 92.0


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
    """Sends monotonic Progress reports and checks for cancellation, on the caller's thread.

    Every report carries the time left once there is a basis for it: the percent is
    weighted by estimated work, so the time spent per percent predicts the rest.
    """

    def __init__(self, progress, should_cancel, scene_count: int) -> None:
        self._progress = progress
        self._should_cancel = should_cancel
        self.scene_count = scene_count
        self._percent = 0.0
        self._time_left = TimeLeft()

    def report(self, stage: str, scene_index: int, percent: float, *, eta_s=None, message=""):
        self._percent = max(self._percent, min(100.0, percent))
        if eta_s is None:
            eta_s = self._time_left.update(self._percent / 100.0)
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
        self.scene_warnings: dict[int, list[str]] = {}  # scene position -> planning warnings
        self.pins: dict[str, Path] = {}  # segment hash -> a path eviction cannot remove
        self.pin_dir: Path = Path()
        self.compositor = None  # chosen when something needs encoding

    def render(self, out_path: Path, temp_dir: Path) -> RenderResult:
        wall_start = time.perf_counter()
        self.pin_dir = temp_dir / "segments"
        self.pin_dir.mkdir()
        self.reporter.check_cancel()
        planned, transition_keys = _Pipeline(self, temp_dir).run()
        timeline = lesson_timeline([p.timing for p in planned], self.settings.fps)
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

    def _speak(self, sentence: Sentence):
        """One sentence's clip (on a speech thread): cached, or synthesised and cached."""
        from synthesis.speech import speak  # imported late: loading the engines takes a moment

        return speak(
            sentence.text,
            language=sentence.language,
            voice=self.settings.voice,
            cache_dir=self.cache_dir,
        )

    def _warn(self, position: int, warning: str) -> None:
        """A scene's planning warning; kept in lesson order whatever order scenes plan in."""
        self.scene_warnings.setdefault(position, []).append(warning)

    def _pixel_fields(self) -> dict[str, object]:
        return {
            "size": list(self.size_px),
            "fps": self.settings.fps,
            "quality": self.settings.quality,
            "encoder": encoder_fingerprint(self.encoder),
        }

    def _plan_scene(self, position: int, spoken: list) -> _PlannedScene:
        """A spoken scene's timing and segment key (the first scene outlasts the AI label)."""
        scene = self.storyboard.scenes[position]
        timing = scene_timing(
            position,
            scene,
            spoken,
            fps=self.settings.fps,
            min_duration_s=FIRST_SCENE_MIN_S if position == 0 else 0.0,
        )
        if timing.silent:
            self._warn(
                position,
                f"scene {position + 1} ({scene.id}): no narration; its visual is held "
                "for 3 s without sound",
            )
        return self._planned_scene(position, scene, timing)

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

    def _transition_key(
        self, leaving: _PlannedScene, arriving: _PlannedScene, transition_frames: int
    ) -> str:
        fields = {
            "from": leaving.key,
            "to": arriving.key,
            "frames": transition_frames,
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
        self._warn(
            position, f"scene {position + 1} ({scene.id}): {problem}; showing a text slide instead"
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

    def _transition_job(
        self,
        index: int,
        key: str,
        ends: tuple[_PlannedScene, _PlannedScene],
        frame_count: int,
        pool: _Jobs,
        plans_by_key: dict[str, _SharedPlan],
        shared: list[_SharedPlan],
    ) -> Callable[[], None]:
        """The job that crossfades from scene index to the next; shared holds one user of
        each scene plan it composes an end frame from, let go once the frames are made."""
        from synthesis.frames.compositor import crossfade_batches

        job_id = ("transition", index, 0)

        def job() -> None:
            try:
                leaving = self._end_frame(ends[0], "last", plans_by_key)
                arriving = self._end_frame(ends[1], "first", plans_by_key)
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
            share = _WORK_SHARE + 6.0 * (position + 1) / len(segment_paths)
            self.reporter.report("assemble", scene_count, share, message="joining segments")

        self.reporter.report("assemble", scene_count, _WORK_SHARE, message="joining segments")
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
    """Runs encode jobs on a small thread pool as they are submitted; progress and cancel
    checks stay on the caller's thread.

    Workers post (job id, frames done) events to a queue the caller's thread reads (it
    turns them into Progress reports and polls should_cancel()); leaving the block with an
    exception sets an event that the workers check between batches, and waits for them, so
    Django callbacks never run on a worker thread and no worker outlives the render.
    """

    def __init__(self, reporter: _Reporter, workers: int) -> None:
        self.reporter = reporter
        self.workers = workers
        self.events: queue.Queue = queue.Queue()
        self.cancelled = threading.Event()
        self.futures: list[Future] = []
        self._executor: ThreadPoolExecutor | None = None

    def worker_check(self, event: tuple[tuple[str, int, int], int]) -> None:
        """Called by a worker after each batch with (job id, frames done so far)."""
        self.events.put(event)
        if self.cancelled.is_set():
            raise RenderCancelled("the render was cancelled")

    def submit(self, job: Callable[[], None]) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.workers, thread_name_prefix="encode"
            )
        self.futures.append(self._executor.submit(job))

    @property
    def idle(self) -> bool:
        return all(future.done() for future in self.futures)

    def raise_failure(self) -> None:
        """Raise the error of the first submitted job that failed, if any did."""
        for future in self.futures:
            if future.done() and not future.cancelled() and future.exception() is not None:
                raise future.exception()

    def __enter__(self) -> _Jobs:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            # Stop the others at their next batch; the pool waits for them to finish.
            self.cancelled.set()
            for future in self.futures:
                future.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=True)


class _Pipeline:
    """Speech, planning and encoding, overlapped: a scene is planned and its segments are
    queued for encoding as soon as its sentences are spoken, while later ones are spoken.

    Speaking and encoding run on thread pools; everything else (planning, progress, cancel
    checks, warnings) runs on the caller's thread, woken by the pools' events. Jobs are
    queued in lesson order, each transition right after the scene it leads into, once
    both of its scenes are planned. Encoding waits until the cached sentences are back
    (at once), so the parts a scene is cut into are sized from the known missing frames,
    as when nothing overlapped.
    """

    def __init__(self, render: _Render, temp_dir: Path) -> None:
        self.render = render
        self.reporter = render.reporter
        scenes = render.storyboard.scenes
        self.count = len(scenes)
        self.sentences = lesson_sentences(
            [split_sentences(s.narration, render.languages[i]) for i, s in enumerate(scenes)],
            render.languages,
            voice=render.settings.voice,
            cache_dir=render.cache_dir,
        )
        self.spoken: list[list] = [[None] * len(s) for s in self.sentences]
        self.unspoken = [len(s) for s in self.sentences]
        self.notes: dict[tuple[int, int], tuple[str, ...]] = {}
        # Cached clips the encoder waits for before it starts (they come back at once).
        self.cached_unspoken = sum(1 for s in self._all_sentences() if s.engine is None)
        self.planned: list[_PlannedScene | None] = [None] * self.count
        self.to_encode: set[int] = set()  # scenes whose segments this render encodes
        self.scheduled = [False] * self.count
        self.transition_keys: list[str | None] = [None] * (self.count - 1)
        self.encoded_transitions: set[int] = set()
        self.transition_frames = lesson_timeline((), render.settings.fps).transition_frames
        # A scene plan lives while any job needs it: its parts, and the transitions beside
        # it, which hold it from the moment the scene is planned until they are queued.
        self.plans_by_key: dict[str, _SharedPlan] = {}
        self.held_for_transition: dict[int, list[_SharedPlan]] = {
            t: [] for t in range(self.count - 1)
        }
        self.part_size: int | None = None
        self.speech_done_at: float | None = None
        self.encode_started_at: float | None = None
        self.pool = _Jobs(self.reporter, _worker_count())
        self.parts_dir = temp_dir / "parts"
        self.work = RenderWork(
            self.sentences,
            fps=render.settings.fps,
            size_px=render.size_px,
            transition_frames=self.transition_frames,
        )

    def _all_sentences(self) -> list[Sentence]:
        return [sentence for scene in self.sentences for sentence in scene]

    def run(self) -> tuple[list[_PlannedScene], list[str]]:
        """Speak, plan and encode what is missing; return the plans and transition keys."""
        render, stats = self.render, self.render.stats
        stats.device = render.settings.device
        stats.encoder = {**render.encoder.as_dict(), "codec": "libx264", "audio": "aac"}
        stats.workers = self.pool.workers
        self.parts_dir.mkdir()
        started = time.perf_counter()
        stats.stage_s["plan"] = 0.0
        self.reporter.report("speech", 1, 0.0, message=f"speaking scene 1 of {self.count}")
        speech = SpeechPool(
            self._all_sentences(),
            speak=render._speak,
            workers=_speech_workers(),
            events=self.pool.events,
        )
        with self.pool, speech:
            for position, sentences in enumerate(self.sentences):
                if not sentences:
                    self._scene_spoken(position)
            self._open_encoding_when_ready()
            while not self._finished():
                # Wake on every sentence and finished batch (or after a short wait) to plan,
                # report and check for cancellation.
                with contextlib.suppress(queue.Empty):
                    self._handle(self.pool.events.get(timeout=0.2))
                self._drain()
                self.pool.raise_failure()
                self.reporter.check_cancel()
            self._drain()
        ended = time.perf_counter()
        stats.stage_s["speech"] = (self.speech_done_at or started) - started
        stats.stage_s["encode"] = ended - (self.encode_started_at or ended)
        stats.frames_encoded = self.work.frames_encoded
        stats.scene_misses = len(self.to_encode)
        stats.scene_hits = self.count - stats.scene_misses
        stats.transition_misses = len(self.encoded_transitions)
        stats.transition_hits = len(self.transition_keys) - stats.transition_misses
        stats.compositor = (
            render.compositor.name if render.compositor else "none: every scene was cached"
        )
        render.warnings += self._speech_warnings()
        for position in sorted(render.scene_warnings):
            render.warnings += render.scene_warnings[position]
        return list(self.planned), list(self.transition_keys)

    def _finished(self) -> bool:
        return (
            all(self.scheduled)
            and all(key is not None for key in self.transition_keys)
            and self.pool.idle
        )

    def _drain(self) -> None:
        while True:
            try:
                event = self.pool.events.get_nowait()
            except queue.Empty:
                return
            self._handle(event)

    def _handle(self, event) -> None:
        if isinstance(event, SentenceSpoken):
            self._sentence_spoken(event)
        else:
            self._encoded(*event)

    # Speech -------------------------------------------------------------------------------

    def _sentence_spoken(self, event: SentenceSpoken) -> None:
        sentence = event.sentence
        position = sentence.scene_index
        if event.error is not None:
            error = event.error
            if isinstance(error, SynthesisError):
                raise type(error)(f"scene {position + 1}: {error}") from error
            raise error
        self.spoken[position][sentence.number] = event.spoken
        self.notes[(position, sentence.number)] = tuple(getattr(event.spoken, "notes", ()))
        self.unspoken[position] -= 1
        if sentence.engine is None:
            self.cached_unspoken -= 1
        self.work.spoke(sentence)
        self.reporter.report(
            "speech",
            position + 1,
            _WORK_SHARE * self.work.fraction(),
            message=f"speaking scene {position + 1} of {self.count}",
        )
        if not any(self.unspoken):
            self.speech_done_at = time.perf_counter()
        if self.unspoken[position] == 0:
            self._scene_spoken(position)
        self._open_encoding_when_ready()

    def _speech_warnings(self) -> list[str]:
        warnings, seen = [], set()
        for _, notes in sorted(self.notes.items()):
            for note in notes:
                # A missing language is expected (Piper has no Mandarin); other notes matter.
                if "does not speak" not in note and note not in seen:
                    seen.add(note)
                    warnings.append(f"speech: {note}")
        return warnings

    # Planning -----------------------------------------------------------------------------

    def _scene_spoken(self, position: int) -> None:
        """Plan a scene whose sentences are all spoken, and queue its jobs when encoding is
        open; a missing segment gets a shared plan held for the transitions beside it."""
        render = self.render
        started = time.perf_counter()
        plan = render._plan_scene(position, self.spoken[position])
        self.planned[position] = plan
        # A scene shown twice (same key) is encoded once.
        if plan.key not in self.plans_by_key and render._pin(plan.key) is None:
            self.to_encode.add(position)
            self.plans_by_key[plan.key] = _SharedPlan(functools.partial(render._scene_plan, plan))
            if render.compositor is None:
                from synthesis.frames.compositor import get_compositor

                # Choosing a backend may load torch; a render served from the cache needs none.
                render.compositor = get_compositor(render.settings.device)
        scene_plan = self.plans_by_key.get(plan.key)
        if scene_plan is not None:
            for t in (position - 1, position):
                if 0 <= t < self.count - 1:
                    scene_plan.add_users(1)
                    self.held_for_transition[t].append(scene_plan)
        self.work.scene_planned(
            position, plan.timing.frame_count if position in self.to_encode else 0
        )
        render.stats.stage_s["plan"] += time.perf_counter() - started
        if self.part_size is not None:
            self._schedule(position)

    def _open_encoding_when_ready(self) -> None:
        """Once the cached clips are back, size the parts and queue what is planned."""
        if self.part_size is not None or self.cached_unspoken > 0:
            return
        self.part_size = part_frames(
            self.work.frames_to_encode, self.render.encoder.gop_frames, self.pool.workers
        )
        self.encode_started_at = time.perf_counter()
        for position in range(self.count):
            if self.planned[position] is not None:
                self._schedule(position)

    def _schedule(self, position: int) -> None:
        """Queue a planned scene's jobs, then each transition beside it both ends allow."""
        render = self.render
        plan = self.planned[position]
        if position in self.to_encode:
            scene_plan = self.plans_by_key[plan.key]
            for job in render._scene_jobs(
                plan, scene_plan, self.pool, self.parts_dir, self.part_size
            ):
                self.pool.submit(job)
        self.scheduled[position] = True
        for t in (position - 1, position):
            if 0 <= t < self.count - 1 and self.scheduled[t] and self.scheduled[t + 1]:
                self._schedule_transition(t)

    def _schedule_transition(self, index: int) -> None:
        render = self.render
        ends = (self.planned[index], self.planned[index + 1])
        key = render._transition_key(*ends, self.transition_frames)
        self.transition_keys[index] = key
        held = self.held_for_transition.pop(index)
        missing = render._pin(key) is None
        self.work.transition_decided(index, missing)
        if not missing:
            for scene_plan in held:
                scene_plan.done()
            return
        self.encoded_transitions.add(index)
        self.pool.submit(
            render._transition_job(
                index,
                key,
                ends,
                self.transition_frames,
                self.pool,
                self.plans_by_key,
                held,
            )
        )

    # Encoding -----------------------------------------------------------------------------

    def _encoded(self, job_id: tuple[str, int, int], frames_done: int) -> None:
        self.work.encoded(job_id, frames_done)
        kind, index, _ = job_id
        message = (
            f"scene {index + 1} of {self.count}"
            if kind == "scene"
            else f"transition after scene {index + 1} of {self.count}"
        )
        self.reporter.report(
            "encode", index + 1, _WORK_SHARE * self.work.fraction(), message=message
        )


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


def _speech_workers() -> int:
    """One speaking thread per core: Kokoro runs one thread per sentence (about real time),
    and the encoder's threads take what speech leaves."""
    return _usable_cpus()


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
