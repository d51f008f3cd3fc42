"""Step three of a render: stored segments remuxed into one MP4, and the tracks beside it.

Nothing here encodes a frame or a sample: `assemble(keys, out, store=...)` remuxes the
segments named by keys (in playing order) into a fast-start MP4, and `write_tracks` writes
the captions, descriptions, chapters, transcript and poster of a plan. An HLS playlist over
the same keys is `synthesis.hls.playlist`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

from synthesis import captions as tracks
from synthesis.encode import JoinedVideo, container_metadata, frame_at, join_segments
from synthesis.errors import SynthesisError
from synthesis.plan import RenderPlan
from synthesis.segments import SegmentStore
from synthesis.timeline import OPENING_LABEL_S, LessonTimeline


def segment_paths(
    keys: Sequence[str], store: SegmentStore, held: Callable[[str], Path | None] | None = None
) -> list[Path]:
    """The stored file of each key; SynthesisError naming the first that is not stored."""
    paths = []
    for key in keys:
        path = held(key) if held is not None else store.get(key)
        if path is None:
            raise SynthesisError(
                f"segment {key[:16]} is not in the segment store; encode the plan first"
            )
        paths.append(path)
    return paths


def assemble(
    keys: Sequence[str],
    out: Path,
    *,
    store: SegmentStore,
    fps: int,
    metadata: dict[str, str] | None = None,
    held: Callable[[str], Path | None] | None = None,
    on_segment: Callable[[int], None] | None = None,
) -> JoinedVideo:
    """Remux the stored segments of keys, in order, into the MP4 out (no re-encoding).

    held maps a key to a path the caller holds (a render's hard links); default: the store.
    """
    return join_segments(
        segment_paths(keys, store, held),
        Path(out),
        fps=fps,
        metadata=metadata or {},
        on_segment=on_segment,
    )


def plan_metadata(plan: RenderPlan) -> dict[str, str]:
    """The container tags of a plan's MP4 (the AIGC label names its render key)."""
    return container_metadata(title=plan.title, language=plan.language, render_key=plan.render_key)


def write_tracks(plan: RenderPlan, video: Path, paths: dict[str, Path]) -> None:
    """Captions, descriptions, chapters, transcript (and a poster from video) for a plan.

    paths maps "captions", "descriptions", "chapters", "transcript" and "poster" to files.
    """
    timeline, language = plan.timeline, plan.language
    paths["captions"].write_text(
        tracks.webvtt(tracks.caption_track(timeline, language)), encoding="utf-8"
    )
    paths["descriptions"].write_text(
        tracks.webvtt(tracks.description_track(timeline, language)), encoding="utf-8"
    )
    paths["chapters"].write_text(
        tracks.webvtt(tracks.chapter_track(timeline, language)), encoding="utf-8"
    )
    paths["transcript"].write_text(
        tracks.transcript(plan.title, timeline, language, attribution=plan.attribution),
        encoding="utf-8",
    )
    poster = frame_at(video, poster_time_s(timeline))
    Image.fromarray(poster).save(paths["poster"], "JPEG", quality=88)


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


__all__ = ["assemble", "plan_metadata", "poster_time_s", "segment_paths", "write_tracks"]
