"""The one entry point that renders a storyboard to a narrated, captioned, AI-labelled video.

A render is three values and three steps: `synthesis.plan.plan` (a frozen RenderPlan: timings,
segment keys, what the store lacks), `encode(plan, store)` (only the missing segments), and
`synthesis.assemble.assemble` / `synthesis.hls.playlist` (remux, never re-encode). `render()`,
the one call Django makes, is built from them and speaks first: sentences are spoken on a
pool of threads, and each scene is planned (`plan_scene`, the same function `plan` uses) and
its missing segments queued for encoding as soon as its sentences are spoken, while later
scenes are still being spoken; the plan it ends with is the one `plan` makes from the same
spoken sentences. Everything is written to a temporary folder beside out_path and moved into
place at the end, sidecars first and the MP4 last, so a failed or cancelled render leaves
nothing at out_path.
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from synthesis.assemble import assemble, plan_metadata, poster_time_s, write_tracks
from synthesis.audio_track import MusicBed, scene_audio
from synthesis.encode import (
    SegmentFile,
    audio_samples_for_frames,
    boundary_frame,
    combine_parts,
    encode_audio,
    encode_segment,
    encoder_settings,
)
from synthesis.errors import RenderCancelled, SynthesisError
from synthesis.manifest import RenderStats, build_manifest, write_json
from synthesis.memory import return_large_buffers_to_the_os
from synthesis.plan import (
    IMAGE_MOVE,
    MOTION_CHOICES,
    PlannedScene,
    RenderPlan,
    make_plan,
    plan_opening,
    plan_scene,
    scene_language,
    text_fallback,
    transition_key,
)
from synthesis.prefetch import prefetched
from synthesis.render_progress import RenderWork, TimeLeft
from synthesis.segments import SegmentRemote, SegmentStore
from synthesis.sentences import split_sentences
from synthesis.speech_pool import Sentence, SentenceSpoken, SpeechPool, lesson_sentences
from synthesis.storyboard import Progress, RenderSettings, Storyboard
from synthesis.timeline import Cue, lesson_timeline, unwrap_caption

MAX_AREA_PX = 1920 * 1080
MAX_SIDE_PX = 1920
MIN_SIDE_PX = 64
DEVICES = ("auto", "cpu", "cuda")
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
    plan: RenderPlan | None = None


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
    if settings.motion not in MOTION_CHOICES:
        raise SynthesisError(
            f"motion {settings.motion!r}: choose one of {', '.join(MOTION_CHOICES)}"
        )
    if settings.voice.rate <= 0:
        raise SynthesisError(f"speech rate {settings.voice.rate}: must be above 0")
    if not settings.voice.engines:
        raise SynthesisError("no speech engine is configured")


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
    segment_remote: SegmentRemote | None = None,
) -> RenderResult:
    """Render a storyboard to out_path (an .mp4) and its sidecar files; see the module docstring.

    Progress reports carry a 1-based scene_index. cache_max_bytes caps the segment store
    (least recently used segments go first; None: no cap; pinned ones never). music is an
    optional audio file played quietly under every scene, ducked while someone speaks.
    segment_remote: a shared tier of the segment store (other machines' segments are fetched
    from it instead of being encoded again; new ones are written to it).
    Raises SynthesisError with a message a user can act on, and RenderCancelled once
    should_cancel() returns true.
    """
    validate_settings(settings)
    if not storyboard.scenes:
        raise SynthesisError("the lesson has no scenes")
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".mp4":
        raise SynthesisError(f"output {out_path.name}: the video file name must end in .mp4")
    for position, scene in enumerate(storyboard.scenes):
        scene_language(position, scene, storyboard)  # raises for an unknown language
    if music is not None and not Path(music).is_file():
        raise SynthesisError(f"music file '{music}' does not exist")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    return_large_buffers_to_the_os()
    store = SegmentStore(Path(cache_dir), max_bytes=cache_max_bytes, remote=segment_remote)
    reporter = _Reporter(progress, should_cancel, len(storyboard.scenes))
    temp_dir = Path(tempfile.mkdtemp(prefix=f".{out_path.stem}.rendering-", dir=out_path.parent))
    try:
        result = _render(
            storyboard,
            out_path,
            temp_dir,
            settings=settings,
            store=store,
            cache_dir=Path(cache_dir),
            reporter=reporter,
            music=MusicBed(Path(music)) if music is not None else None,
        )
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    reporter.report("done", len(storyboard.scenes), 100.0, eta_s=0.0, message="done")
    return result


def _render(storyboard, out_path, temp_dir, *, settings, store, cache_dir, reporter, music):
    wall_start = time.perf_counter()
    hold_dir = temp_dir / "segments"
    hold_dir.mkdir()
    reporter.check_cancel()
    encoder = _Encoder(settings, store, reporter, music, hold_dir)
    pipeline = _Pipeline(encoder, temp_dir, storyboard=storyboard, cache_dir=cache_dir)
    the_plan = pipeline.run()
    warnings = [*storyboard.warnings, *pipeline.speech_warnings(), *the_plan.warnings]
    stats = encoder.stats
    reporter.check_cancel()
    started = time.perf_counter()
    final = output_paths(out_path)
    staged = {name: temp_dir / path.name for name, path in final.items()}
    timeline = the_plan.timeline
    segments = the_plan.segments
    scene_count = reporter.scene_count

    def on_segment(position: int) -> None:
        reporter.check_cancel()
        share = _WORK_SHARE + 6.0 * (position + 1) / len(segments)
        reporter.report("assemble", scene_count, share, message="joining segments")

    reporter.report("assemble", scene_count, _WORK_SHARE, message="joining segments")
    joined = assemble(
        segments,
        staged["video"],
        store=store,
        fps=settings.fps,
        metadata=plan_metadata(the_plan),
        held=encoder.hold,
        on_segment=on_segment,
    )
    if joined.frame_count != timeline.frame_count:
        raise SynthesisError(
            f"the joined video has {joined.frame_count} frames, expected {timeline.frame_count}"
        )
    reporter.report("assemble", scene_count, 99.0, message="captions and poster")
    write_tracks(the_plan, staged["video"], staged)
    stats.stage_s["assemble"] = time.perf_counter() - started
    stats.evicted = len(store.evict(keep=segments).removed)
    statistics = stats.as_dict(
        wall_s=time.perf_counter() - wall_start, duration_s=timeline.duration_s
    )
    manifest = build_manifest(
        plan=the_plan,
        storyboard=storyboard,
        warnings=warnings,
        statistics=statistics,
        music=music.path.name if music else None,
    )
    write_json(staged["manifest"], manifest)
    reporter.check_cancel()
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
        warnings=tuple(warnings),
        manifest_data=manifest,
        plan=the_plan,
    )


def encode(
    plan: RenderPlan,
    store: SegmentStore,
    *,
    progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> RenderStats:
    """Step two: encode the segments of plan that store lacks (none if it has them all).

    Whatever the plan's `missing` said, the store is asked again (another render may have
    stored or evicted a segment since). Returns the counts and timings.
    """
    validate_settings(plan.settings)
    reporter = _Reporter(progress, should_cancel, len(plan.scenes))
    temp_dir = Path(tempfile.mkdtemp(prefix=".encoding-", dir=store.root))
    try:
        hold_dir = temp_dir / "segments"
        hold_dir.mkdir()
        encoder = _Encoder(plan.settings, store, reporter, plan.music, hold_dir)
        _Pipeline(encoder, temp_dir, given=plan).run()
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    return encoder.stats


def speak_lesson(storyboard: Storyboard, settings: RenderSettings, *, cache_dir: Path) -> list:
    """Every scene's spoken sentences (cached clips, or synthesised and cached): the input
    `plan` needs. spoken[i] are scene i's SpokenSentence objects, in order."""
    from synthesis.speech import speak

    spoken = []
    for position, scene in enumerate(storyboard.scenes):
        language = scene_language(position, scene, storyboard)
        spoken.append(
            [
                speak(text, language=language, voice=settings.voice, cache_dir=Path(cache_dir))
                for text in split_sentences(scene.narration, language)
            ]
        )
    return spoken


class _Encoder:
    """What encoding needs: settings, the segment store, progress, statistics, the compositor,
    and the segments this run holds (hard links eviction elsewhere cannot take away)."""

    def __init__(self, settings, store, reporter, music, hold_dir: Path) -> None:
        self.settings: RenderSettings = settings
        self.store: SegmentStore = store
        self.reporter: _Reporter = reporter
        self.music: MusicBed | None = music
        self.encoder = encoder_settings(
            settings.quality, settings.fps, threads=_x264_threads(_worker_count())
        )
        self.size_px = (settings.width_px, settings.height_px)
        self.stats = RenderStats()
        self.holds: dict[str, Path] = {}  # segment hash -> a path eviction cannot remove
        self.hold_dir = hold_dir
        self.compositor = None  # chosen when something needs encoding

    def hold(self, key: str) -> Path | None:
        """Keep a stored segment for this run (a hard link in its folder); None if absent."""
        if key not in self.holds:
            path = self.store.hold(key, self.hold_dir)
            if path is None:
                return None
            self.holds[key] = path
        return self.holds[key]

    def held(self, key: str) -> Path:
        path = self.hold(key)
        if path is None:
            raise SynthesisError("a segment left the cache during the render; render again")
        return path

    def need_compositor(self) -> None:
        if self.compositor is None:
            from synthesis.frames.compositor import get_compositor

            # Choosing a backend may load torch; a render served from the cache needs none.
            self.compositor = get_compositor(self.settings.device)

    def scene_jobs(
        self,
        item: int,
        plan: PlannedScene,
        scene_plan: _SharedPlan,
        pool: _Jobs,
        parts_dir: Path,
        part_size: int,
    ) -> list[Callable[[], None]]:
        """Jobs that encode one scene (or the opening): a single job, or its audio and one
        job per part. The audio and the parts run on different workers; the worker that
        finishes the last of them joins them and stores the segment.
        """
        settings = self.settings
        frame_count = plan.timing.frame_count
        ranges = part_ranges(frame_count, part_size)
        whole = len(ranges) == 1
        part_paths = [parts_dir / f"{item}.{n}.mp4" for n in range(len(ranges))]
        audio_part: list[SegmentFile] = []  # made by the audio job
        unfinished = _Countdown(len(ranges) + (0 if whole else 1))
        pixel_format = self.pixel_format(plan)
        scene_plan.add_users(len(ranges))

        def encode(number: int, frame_range: range) -> None:
            try:
                encode_part(number, frame_range)
            finally:
                scene_plan.done()
            finish()

        def encode_part(number: int, frame_range: range) -> None:
            job_id = ("scene", item, number)
            frames = self.composed(scene_plan.get(), frame_range, pixel_format)
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
                    self.scene_audio(plan) if whole else None,
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
            audio = self.scene_audio(plan)
            started = time.perf_counter()
            audio_part.append(
                encode_audio(
                    parts_dir / f"{item}.audio.mp4",
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
            self.hold(plan.key)

        parts = [functools.partial(encode, n, r) for n, r in enumerate(ranges)]
        # The audio goes first: mixed and encoded beside the first parts, not after the last.
        return parts if whole else [encode_sound, *parts]

    def scene_plan(self, plan: PlannedScene):
        from synthesis.frames.compositor import Reveal, ScenePlan
        from synthesis.frames.slides import render_visual

        started = time.perf_counter()
        captions = (
            burned_cues(plan.timing.cues, self.size_px) if self.settings.burn_captions else ()
        )
        # A slide whose bullets appear as they are said: one picture per step, the first
        # the base; the compositor (either backend) switches at the steps' frames.
        pictures = [
            render_visual(
                plan.visual,
                size_px=self.size_px,
                language=plan.language,
                bullets_shown=step.bullet_count,
            )
            for step in plan.reveal
        ]
        base = pictures[0] if pictures else self.base_image(plan)
        reveals = tuple(
            Reveal(step.start_frame, picture)
            for step, picture in zip(plan.reveal[1:], pictures[1:], strict=True)
        )
        self.stats.add_worker_time("slides", time.perf_counter() - started)
        return ScenePlan(
            base=base,
            duration_s=plan.timing.duration_s,
            fps=self.settings.fps,
            size_px=self.size_px,
            motion=_motion(plan.motion),
            captions=captions,
            language=plan.language,
            opening_label=plan.opening,
            reveals=reveals,
        )

    def pixel_format(self, plan: PlannedScene) -> str:
        """Moving scenes are composed in the encoder's YUV 4:2:0; held ones in RGB, each
        picture converted once by the encoder."""
        return "yuv420p" if plan.motion is not None else "rgb24"

    def composed(self, scene_plan, frame_range: range, pixel_format: str):
        """The frames of frame_range, composed on a second thread while x264 encodes."""
        batch = max(1, min(32, _BATCH_BYTES // (self.size_px[0] * self.size_px[1] * 3)))
        frames = _exact_frames(
            self.frame_batches(scene_plan, frame_range, pixel_format, batch_size=batch),
            len(frame_range),
        )
        composed = _TimedBatches(frames, lambda s: self.stats.add_worker_time("frames", s))
        return _TimedBatches(prefetched(composed))

    def frame_batches(self, scene_plan, frame_range: range, pixel_format: str, *, batch_size):
        make = (
            self.compositor.scene_frames_yuv420
            if pixel_format == "yuv420p"
            else self.compositor.scene_frames
        )
        return make(scene_plan, batch_size=batch_size, frame_range=frame_range)

    def scene_audio(self, plan: PlannedScene) -> np.ndarray:
        started = time.perf_counter()
        audio = scene_audio(
            plan.timing.sentences,
            audio_samples_for_frames(plan.timing.frame_count, self.settings.fps),
            music=self.music,
        )
        self.stats.add_worker_time("audio", time.perf_counter() - started)
        return audio

    def base_image(self, plan: PlannedScene) -> Image.Image:
        from synthesis.frames.images import ImageLoadError
        from synthesis.frames.slides import render_visual

        try:
            return render_visual(plan.visual, size_px=self.size_px, language=plan.language)
        except ImageLoadError:
            # It loaded while planning and changed since; show the text slide after all.
            fallback = text_fallback(plan.timing.scene, plan.language)
            return render_visual(fallback, size_px=self.size_px, language=plan.language)

    def transition_job(
        self,
        index: int,
        key: str,
        ends: tuple[PlannedScene, PlannedScene],
        frame_count: int,
        pool: _Jobs,
        plans_by_key: dict[str, _SharedPlan],
        shared: list[_SharedPlan],
    ) -> Callable[[], None]:
        """The job that crossfades from part index to the next; shared holds one user of
        each scene plan it composes an end frame from, let go once the frames are made."""
        from synthesis.frames.compositor import crossfade_batches

        job_id = ("transition", index, 0)

        def job() -> None:
            try:
                leaving = self.end_frame(ends[0], "last", plans_by_key)
                arriving = self.end_frame(ends[1], "first", plans_by_key)
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
            self.hold(key)

        return job

    def end_frame(self, plan: PlannedScene, which: str, plans_by_key) -> np.ndarray:
        """A scene's first or last frame in planar YUV 4:2:0 (H * 3 // 2, W): composed as
        its segment is if it is being encoded now, else decoded from its cached segment."""
        scene_plan = plans_by_key.get(plan.key)
        if scene_plan is None:
            return boundary_frame(self.held(plan.key), which)
        frame = 0 if which == "first" else plan.timing.frame_count - 1
        pixel_format = self.pixel_format(plan)
        batches = self.frame_batches(
            scene_plan.get(), range(frame, frame + 1), pixel_format, batch_size=1
        )
        picture = next(iter(batches))[0]
        if pixel_format == "yuv420p":
            return picture
        from synthesis.frames.yuv import rgb_to_yuv420

        return rgb_to_yuv420(picture)


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

    Parts are numbered in playing order: part 0 is the opening label segment, part k is
    scene k - 1 (so a part's number is its scene's 1-based number); transition t leads from
    part t into part t + 1. With given (a RenderPlan), nothing is spoken or planned: every
    part is known at once and only its missing segments are encoded.

    Speaking and encoding run on thread pools; everything else (planning, progress, cancel
    checks, warnings) runs on the caller's thread, woken by the pools' events. Jobs are
    queued in lesson order, each transition right after the part it leads into, once both
    of its parts are planned. Encoding waits until the cached sentences are back (at once),
    so the parts a scene is cut into are sized from the known missing frames.
    """

    def __init__(
        self,
        encoder: _Encoder,
        temp_dir: Path,
        *,
        storyboard: Storyboard | None = None,
        cache_dir: Path | None = None,
        given: RenderPlan | None = None,
    ) -> None:
        self.encoder = encoder
        self.reporter = encoder.reporter
        self.given = given
        settings = encoder.settings
        if given is not None:
            self.count = len(given.scenes)
            self.sentences: list[list[Sentence]] = [[] for _ in range(self.count)]
            opening = given.opening
        else:
            scenes = storyboard.scenes
            self.storyboard = storyboard
            self.count = len(scenes)
            languages = [scene_language(i, s, storyboard) for i, s in enumerate(scenes)]
            self.sentences = lesson_sentences(
                [split_sentences(s.narration, languages[i]) for i, s in enumerate(scenes)],
                languages,
                voice=settings.voice,
                cache_dir=cache_dir,
            )
            self.cache_dir = cache_dir
            opening = plan_opening(storyboard, settings, music=encoder.music)
        self.spoken: list[list] = [[None] * len(s) for s in self.sentences]
        self.unspoken = [len(s) for s in self.sentences]
        self.notes: dict[tuple[int, int], tuple[str, ...]] = {}
        self.scene_warnings: dict[int, list[str]] = {}
        # Cached clips the encoder waits for before it starts (they come back at once).
        self.cached_unspoken = sum(1 for s in self._all_sentences() if s.engine is None)
        self.planned: list[PlannedScene | None] = [opening] + [None] * self.count
        self.to_encode: set[int] = set()  # parts whose segments this run encodes
        self.scheduled = [False] * (self.count + 1)
        self.transition_keys: list[str | None] = [None] * self.count
        self.encoded_transitions: set[int] = set()
        self.transition_frames = lesson_timeline((), settings.fps).transition_frames
        # A scene plan lives while any job needs it: its parts, and the transitions beside
        # it, which hold it from the moment the scene is planned until they are queued.
        self.plans_by_key: dict[str, _SharedPlan] = {}
        self.held_for_transition: dict[int, list[_SharedPlan]] = {t: [] for t in range(self.count)}
        self.part_size: int | None = None
        self.speech_done_at: float | None = None
        self.encode_started_at: float | None = None
        self.pool = _Jobs(self.reporter, _worker_count())
        self.parts_dir = temp_dir / "parts"
        self.work = RenderWork(
            [[], *self.sentences],
            fps=settings.fps,
            size_px=encoder.size_px,
            transition_frames=self.transition_frames,
        )

    def _all_sentences(self) -> list[Sentence]:
        return [sentence for scene in self.sentences for sentence in scene]

    def run(self) -> RenderPlan:
        """Speak, plan and encode what is missing; return the plan."""
        encoder, stats = self.encoder, self.encoder.stats
        stats.device = encoder.settings.device
        stats.encoder = {**encoder.encoder.as_dict(), "codec": "libx264", "audio": "aac"}
        stats.workers = self.pool.workers
        self.parts_dir.mkdir()
        started = time.perf_counter()
        stats.stage_s["plan"] = 0.0
        self.reporter.report("speech", 1, 0.0, message=f"speaking scene 1 of {self.count}")
        speech = SpeechPool(
            self._all_sentences(),
            speak=self._speak,
            workers=_speech_workers(),
            events=self.pool.events,
        )
        with self.pool, speech:
            self._part_planned(0)
            for position, sentences in enumerate(self.sentences):
                if not sentences:
                    self._part_planned(position + 1)
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
        misses = self.to_encode - {0}
        stats.scene_misses = len(misses)
        stats.scene_hits = self.count - stats.scene_misses
        stats.opening_misses = 1 if 0 in self.to_encode else 0
        stats.transition_misses = len(self.encoded_transitions)
        stats.transition_hits = len(self.transition_keys) - stats.transition_misses
        stats.compositor = (
            encoder.compositor.name if encoder.compositor else "none: every scene was cached"
        )
        if self.given is not None:
            return self.given
        warnings = []
        for position in sorted(self.scene_warnings):
            warnings += self.scene_warnings[position]
        parts = self.planned
        missing = [parts[p].key for p in sorted(self.to_encode)]
        missing += [self.transition_keys[t] for t in sorted(self.encoded_transitions)]
        return make_plan(
            self.storyboard,
            encoder.settings,
            opening=parts[0],
            scenes=parts[1:],
            transition_keys=self.transition_keys,
            missing=missing,
            warnings=warnings,
            music=encoder.music,
        )

    def _speak(self, sentence: Sentence):
        """One sentence's clip (on a speech thread): cached, or synthesised and cached."""
        from synthesis.speech import speak  # imported late: loading the engines takes a moment

        return speak(
            sentence.text,
            language=sentence.language,
            voice=self.encoder.settings.voice,
            cache_dir=self.cache_dir,
        )

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
            self._part_planned(position + 1)
        self._open_encoding_when_ready()

    def speech_warnings(self) -> list[str]:
        warnings, seen = [], set()
        for _, notes in sorted(self.notes.items()):
            for note in notes:
                # A missing language is expected (Piper has no Mandarin); other notes matter.
                if "does not speak" not in note and note not in seen:
                    seen.add(note)
                    warnings.append(f"speech: {note}")
        return warnings

    # Planning -----------------------------------------------------------------------------

    def _plan_part(self, part: int) -> PlannedScene:
        if part == 0:
            return self.planned[0]
        if self.given is not None:
            return self.given.scenes[part - 1]
        encoder = self.encoder
        planned, warnings = plan_scene(
            self.storyboard,
            part - 1,
            self.spoken[part - 1],
            encoder.settings,
            music=encoder.music,
            stored=lambda key: encoder.hold(key) is not None,
        )
        if warnings:
            self.scene_warnings[part - 1] = warnings
        return planned

    def _part_planned(self, part: int) -> None:
        """Plan a part whose sentences are all spoken, and queue its jobs when encoding is
        open; a missing segment gets a shared plan held for the transitions beside it."""
        encoder = self.encoder
        started = time.perf_counter()
        plan = self._plan_part(part)
        self.planned[part] = plan
        # A scene shown twice (same key) is encoded once.
        if plan.key not in self.plans_by_key and encoder.hold(plan.key) is None:
            self.to_encode.add(part)
            self.plans_by_key[plan.key] = _SharedPlan(functools.partial(encoder.scene_plan, plan))
            encoder.need_compositor()
        scene_plan = self.plans_by_key.get(plan.key)
        if scene_plan is not None:
            for t in (part - 1, part):
                if 0 <= t < self.count:
                    scene_plan.add_users(1)
                    self.held_for_transition[t].append(scene_plan)
        self.work.scene_planned(part, plan.timing.frame_count if part in self.to_encode else 0)
        encoder.stats.stage_s["plan"] += time.perf_counter() - started
        if self.part_size is not None:
            self._schedule(part)

    def _open_encoding_when_ready(self) -> None:
        """Once the cached clips are back, size the parts and queue what is planned."""
        if self.part_size is not None or self.cached_unspoken > 0:
            return
        self.part_size = part_frames(
            self.work.frames_to_encode, self.encoder.encoder.gop_frames, self.pool.workers
        )
        self.encode_started_at = time.perf_counter()
        for part in range(self.count + 1):
            if self.planned[part] is not None:
                self._schedule(part)

    def _schedule(self, part: int) -> None:
        """Queue a planned part's jobs, then each transition beside it both ends allow."""
        encoder = self.encoder
        plan = self.planned[part]
        if part in self.to_encode:
            scene_plan = self.plans_by_key[plan.key]
            for job in encoder.scene_jobs(
                part, plan, scene_plan, self.pool, self.parts_dir, self.part_size
            ):
                self.pool.submit(job)
        self.scheduled[part] = True
        for t in (part - 1, part):
            if 0 <= t < self.count and self.scheduled[t] and self.scheduled[t + 1]:
                self._schedule_transition(t)

    def _schedule_transition(self, index: int) -> None:
        encoder = self.encoder
        ends = (self.planned[index], self.planned[index + 1])
        key = (
            self.given.transition_keys[index]
            if self.given is not None
            else transition_key(ends[0].key, ends[1].key, encoder.settings)
        )
        self.transition_keys[index] = key
        held = self.held_for_transition.pop(index)
        missing = encoder.hold(key) is None
        self.work.transition_decided(index, missing)
        if not missing:
            for scene_plan in held:
                scene_plan.done()
            return
        self.encoded_transitions.add(index)
        self.pool.submit(
            encoder.transition_job(
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
        if kind == "scene":
            message = f"scene {index} of {self.count}" if index else "opening label"
        else:
            message = f"transition into scene {index + 1} of {self.count}"
        self.reporter.report(
            "encode",
            max(1, min(index + (kind != "scene"), self.count)),
            _WORK_SHARE * self.work.fraction(),
            message=message,
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


def _publish(temp_dir: Path, final: dict[str, Path]) -> None:
    """Move staged files into place: sidecars first, the MP4 last (it marks a complete render)."""
    for name, path in final.items():
        if name != "video":
            os.replace(temp_dir / path.name, path)
    os.replace(temp_dir / final["video"].name, final["video"])


__all__ = [
    "IMAGE_MOVE",
    "RenderResult",
    "encode",
    "output_paths",
    "poster_time_s",
    "render",
    "speak_lesson",
    "validate_settings",
]
